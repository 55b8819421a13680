"""The sampling kernel: one token per row drawn by inverting the softmax CDF of the logits as the
sampler's settings process them (``bonkl.lm.processors``), and the per-sample uniform streams that
make a pool independent of batch size and order (up to float rounding at CDF boundaries: see
``bonkl.lm.decoder``)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .processors import SamplerSettings, process_logits

BLOCK = 16  # vocabulary block of the two-level CDF search (see sample_tokens)


def _block_masses(logits: torch.Tensor):
    """The row maxima, the float32 masses ``exp(logit - max)`` (padded to whole blocks), the same
    viewed as blocks of ``BLOCK``, and each block's float32 sum as float64."""
    rows, vocab = logits.shape
    top = logits.amax(dim=-1, keepdim=True)
    mass = torch.sub(logits, top).exp_()  # in place: one vocabulary-sized allocation, not two
    if vocab % BLOCK:
        mass = F.pad(mass, (0, BLOCK - vocab % BLOCK))
    blocks = mass.view(rows, -1, BLOCK)
    return top, mass, blocks, blocks.sum(dim=-1).double()


def sample_tokens(logits: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw one token per row of ``logits`` (float32, [R, V]) by inverting its softmax CDF at ``u``.

    ``u`` holds uniforms in [0, 1) (float64, [R]). Returns ``(tokens, logprobs)``: int64 and float64
    [R], the log-probability being ``logit - logsumexp(logits)``.

    Precision: the masses ``exp(logit - max)`` are float32 and summed in blocks of ``BLOCK`` in
    float32 (relative error under 1e-6 per block, no larger than that of the float32 logits
    themselves); everything after that is float64: the cumulative sum over blocks, and within the
    chosen block the cumulative sum of its own masses, rescaled to the block's width so the draw
    inside the block is exact. (A float32 cumulative sum over the whole vocabulary would bias the
    draw by up to ~1e-3 in total variation; converting the whole vocabulary to float64 costs more
    than the rest of the step on a CPU.) If float64 rounding ever lands past the block's last
    token with mass (probability ~1e-16), the row's most likely token is taken instead, so no
    zero-probability token is ever drawn.
    """
    rows, vocab = logits.shape
    top, mass, blocks, block_mass = _block_masses(logits)
    block_cdf = block_mass.cumsum(dim=-1)
    total = block_cdf[:, -1]
    target = (u * total).unsqueeze(1)
    block = torch.searchsorted(block_cdf, target, right=True).clamp_(max=block_cdf.shape[1] - 1)
    below = torch.where(block > 0, block_cdf.gather(1, (block - 1).clamp(min=0)), 0.0)
    arange = torch.arange(rows, device=logits.device)
    inner = blocks[arange, block.squeeze(1)].double().cumsum(dim=-1)
    inside = (target - below) / block_mass.gather(1, block) * inner[:, -1:]
    offset = torch.searchsorted(inner, inside, right=True).clamp_(max=BLOCK - 1)
    tokens = (block * BLOCK + offset).squeeze(1)
    ok = (tokens < vocab) & (mass[arange, tokens.clamp(max=vocab - 1)] > 0)
    if not bool(ok.all()):
        tokens = torch.where(ok, tokens, logits.argmax(dim=-1))
    logprobs = logits[arange, tokens].double() - top.squeeze(1).double() - torch.log(total)
    return tokens, logprobs


def log_softmax_at(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``log_softmax(logits)[r, tokens[r]]`` (float64 [R]) by the very arithmetic of
    ``sample_tokens``: on the same logits, the same bits as the log-probability it returns."""
    top, _, _, block_mass = _block_masses(logits)
    total = block_mass.cumsum(dim=-1)[:, -1]
    arange = torch.arange(logits.shape[0], device=logits.device)
    return logits[arange, tokens].double() - top.squeeze(1).double() - torch.log(total)


def draw_tokens(
    logits: torch.Tensor, u: torch.Tensor, sampler: SamplerSettings
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw one token per row from the sampler's distribution q (``process_logits``) at ``u``.

    Returns ``(tokens, logprobs, sampler_logprobs)``: the log-probabilities under the model's raw
    logits (pi) and under q. With no processor on, q is pi: the draw is ``sample_tokens``' own and
    both log-probabilities are its value (one tensor, returned twice).
    """
    if not sampler.active:
        tokens, logprobs = sample_tokens(logits, u)
        return tokens, logprobs, logprobs
    tokens, sampler_logprobs = sample_tokens(process_logits(logits, sampler), u)
    return tokens, log_softmax_at(logits, tokens), sampler_logprobs


def sample_uniforms(seed: int, index: int, length: int) -> np.ndarray:
    """Sample ``index``'s own stream of uniforms (one per token position): independent of the
    batch size and of the order in which samples are decoded."""
    return np.random.default_rng([int(seed), int(index)]).random(length)
