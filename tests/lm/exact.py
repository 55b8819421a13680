"""Exact references for the sampler's tests: every outcome of a tiny model enumerated, with its
probability under the model and under transformers' own processing of the logits, and a
chi-square test of drawn frequencies against them."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch
from scipy import stats


def generate_processors(model, settings):
    """The warpers transformers' ``generate(do_sample=True, ...)`` builds for these settings, in its
    own order (``GenerationMixin._get_logits_processor``): the reference the sampler must match."""
    from transformers import GenerationConfig

    config = GenerationConfig(do_sample=True, **asdict(settings))
    return model._get_logits_processor(generation_config=config, device="cpu")


def enumerate_pairs(model, prompt_ids, max_new, eos, processors=None) -> dict[tuple, tuple[float, float]]:
    """Every outcome (ended by EOS, or cut at ``max_new``) that the processed distribution q can
    draw, with ``(log pi, log q)``: from full forward passes over prompt + prefix (no cache), the
    float32 logits processed by ``processors`` (transformers' LogitsProcessorList; None: q = pi),
    both log-softmaxes in float64."""
    outcomes = {}

    def expand(prefix, log_pi, log_q):
        ids = torch.tensor([prompt_ids + prefix])
        with torch.inference_mode():
            logits = model(input_ids=ids, use_cache=False).logits[:, -1].float()
        processed = logits if processors is None else processors(ids, logits.clone())
        pi = torch.log_softmax(logits[0].double(), dim=-1).tolist()
        q = torch.log_softmax(processed[0].double(), dim=-1).tolist()
        for token, (lp, lq) in enumerate(zip(pi, q)):
            if lq == -np.inf:
                continue
            seq = prefix + [token]
            if token in eos or len(seq) == max_new:
                outcomes[tuple(seq)] = (log_pi + lp, log_q + lq)
            else:
                expand(seq, log_pi + lp, log_q + lq)

    expand([], 0.0, 0.0)
    return outcomes


def enumerate_outcomes(model, prompt_ids, max_new, eos) -> dict[tuple, float]:
    """Every outcome of the model itself with its exact log-probability."""
    return {seq: lp for seq, (lp, _) in enumerate_pairs(model, prompt_ids, max_new, eos).items()}


def chisquare_pvalue(observed: dict, logprobs: dict, total: int) -> float:
    """Pearson chi-square over all outcomes; bins expected < 5 are merged into one."""
    keys = sorted(logprobs, key=logprobs.get)
    expected = np.array([np.exp(logprobs[k]) for k in keys]) * total
    counts = np.array([observed.get(k, 0) for k in keys], dtype=float)
    small = expected < 5
    exp_bins, obs_bins = expected[~small], counts[~small]
    if small.any():
        exp_bins, obs_bins = np.append(exp_bins, expected[small].sum()), np.append(obs_bins, counts[small].sum())
    exp_bins *= obs_bins.sum() / exp_bins.sum()
    return stats.chisquare(obs_bins, exp_bins).pvalue
