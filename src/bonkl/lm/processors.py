"""The logits processing that the sampler's settings (temperature, top-k, top-p, min-p) switch on.

The settings themselves are :class:`bonkl.lm.settings.SamplerSettings` (no torch, so the workflow
checks them while it builds its jobs).

The processed distribution ``q`` is what tokens are drawn from; the model's own ``pi`` (raw logits,
temperature 1) is still recorded beside it. Order and semantics are those of transformers'
``generate(do_sample=True, ...)``: ``GenerationMixin._get_logits_processor`` appends, in this order,
``TemperatureLogitsWarper`` (if temperature != 1), ``TopKLogitsWarper`` (if top_k != 0),
``TopPLogitsWarper`` (if top_p < 1) and ``MinPLogitsWarper``, each with ``min_tokens_to_keep=1``
(transformers 4.57 to 5.25, ``generation/utils.py``), so

1. temperature: ``logits / temperature`` (float32);
2. top-k: remove every token whose scaled logit is below the k-th largest (ties with the k-th are
   all kept, so more than k tokens may stay);
3. top-p: sort ascending, float32 softmax and cumulative sum, remove the tokens whose cumulative
   mass is ``<= 1 - top_p``, always keep the largest; i.e. keep the smallest set of most likely
   tokens whose mass reaches ``top_p`` (computed on what top-k left);
4. min-p: remove the tokens whose float32 probability (softmax of what is left) is below
   ``min_p`` times the top token's.

Each step is written with the very float32 operations of its transformers class, so the kept set
is the same bit for bit, with one deliberate exception: the top-p sort is stable. transformers'
``torch.sort(stable=False)`` leaves the order of equal logits unspecified (it differs between
CPU algorithms and devices), so which of several tokens with one logit straddling the top-p
boundary survives is arbitrary there; here the higher token id survives, on every device and
batch shape. The kept logits are the same multiset either way (tests/lm/test_lm_processors.py).
"""

from __future__ import annotations

import math

import torch

from .settings import SamplerSettings

__all__ = ["SamplerSettings", "process_logits"]


def process_logits(logits: torch.Tensor, settings: SamplerSettings) -> torch.Tensor:
    """The processed logits (float32 [R, V] in, same out; ``-inf`` for removed tokens) whose softmax
    is the distribution ``q`` that tokens are drawn from (see the module docstring). Pure: the input
    is not modified. Returns ``logits`` itself when no processor is on."""
    scores = logits
    if settings.temperature != 1.0:
        scores = scores / settings.temperature
    if settings.top_k != 0:
        k = min(settings.top_k, scores.size(-1))
        scores = scores.masked_fill(scores < torch.topk(scores, k)[0][..., -1, None], -math.inf)
    if settings.top_p < 1.0:
        sorted_logits, order = torch.sort(scores, descending=False, stable=True)
        remove = sorted_logits.softmax(dim=-1).cumsum(dim=-1) <= (1 - settings.top_p)
        remove[..., -1:] = False  # min_tokens_to_keep=1: the most likely token stays
        scores = scores.masked_fill(remove.scatter(1, order, remove), -math.inf)
    if settings.min_p > 0.0:
        probs = torch.softmax(scores, dim=-1)
        # min_p < 1 keeps the top token by itself: transformers' min_tokens_to_keep scatter is a no-op.
        scores = scores.masked_fill(probs < settings.min_p * probs.amax(dim=-1, keepdim=True), -math.inf)
    return scores
