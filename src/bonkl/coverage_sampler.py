"""The coverage study of the intervals when the pool is drawn from a sampler ``q``, not from the
reference ``pi`` (docs/MATH.md, "Best-of-n from another sampler"; ``benchmarks/coverage_study.py --samplers``).

Each model of :func:`bonkl.coverage.study_models` (and a two-token model whose sampler works token by
token, as a language model's does) is drawn from through a sampler: temperature, then top-p over the
outcomes, renormalised (the order of :mod:`bonkl.lm.processors`). Every pool carries ``log pi``,
``log q``, the reward that selects and a gold reward that evaluates (the reward's standard score plus
independent noise: it differs between tied answers). The targets are exact:
``E_{BoN_q}[log q - log pi]``, ``E_{BoN_q}[gold]``, and the columns of :func:`bonkl.coverage.exact_values`
on ``q`` (best-of-n's own step).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .coverage import coverage_rows, exact_values, study_models, study_ns
from .intervals import IntervalSettings
from .pool_table import estimate_table, interval_columns
from .pools import build_pools
from .ties import tied_bon_pmf

#: name -> (temperature, top_p)
SAMPLERS = {"t0.7": (0.7, 1.0), "t0.7_top_p0.9": (0.7, 0.9), "t1.5": (1.5, 1.0)}


def processed(p: np.ndarray, temperature: float = 1.0, top_p: float = 1.0) -> np.ndarray:
    """``q``: ``p`` tempered (``p^(1/T)``, renormalised), then cut to the smallest set of most likely
    outcomes whose mass reaches ``top_p`` (the top outcome always stays), renormalised."""
    log_q = np.log(p) / temperature
    q = np.exp(log_q - log_q.max())
    q /= q.sum()
    if top_p < 1:
        order = np.argsort(-q, kind="stable")
        kept = int(np.searchsorted(np.cumsum(q[order]), top_p)) + 1
        q[order[kept:]] = 0.0
        q /= q.sum()
    return q


def two_token_model(vocab: int = 12, seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pi, q per token, reward)`` over the ``vocab**2`` sequences of two tokens: the sampler
    (temperature 0.7, top-p 0.9) applies to each token's distribution, so ``log q - log pi`` is not
    a function of ``log pi`` alone. Reward: 6 tied levels (integers 0..5)."""
    rng = np.random.default_rng(seed)
    first = rng.dirichlet(np.full(vocab, 0.5))
    second = rng.dirichlet(np.full(vocab, 0.5), size=vocab)
    pi = (first[:, None] * second).ravel()
    q_second = np.stack([processed(row, 0.7, 0.9) for row in second])
    q = (processed(first, 0.7, 0.9)[:, None] * q_second).ravel()
    return pi, q, rng.integers(0, 6, pi.size).astype(float)


def gold_reward(reward: np.ndarray, seed: int) -> np.ndarray:
    """The evaluation reward: the selecting reward's standard score plus N(0, 1) noise per outcome."""
    spread = reward.std()
    score = (reward - reward.mean()) / (spread if spread > 0 else 1.0)
    return score + np.random.default_rng(seed).normal(size=reward.size)


def sampler_models() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``name -> (pi, q, reward, gold)`` on the support of ``q``, in increasing (reward, log pi) order."""
    out = {}
    cases = [(f"{m}/{s}", p, processed(p, *SAMPLERS[s]), r) for m, (p, r) in study_models().items() for s in SAMPLERS]
    cases.append(("two_token/per-token t0.7_top_p0.9", *two_token_model()))
    for i, (name, p, q, reward) in enumerate(cases):
        keep = q > 0
        p, q, reward = p[keep], q[keep], reward[keep]
        order = np.lexsort((np.log(p), reward))
        out[name] = (p[order], q[order], reward[order], gold_reward(reward[order], 900 + i))
    return out


def sampler_exact_values(p, q, reward, gold, ns) -> dict[str, np.ndarray]:
    """Per ``n``: ``E_{BoN_q}[log q - log pi]``, ``E_{BoN_q}[gold]``, and :func:`bonkl.coverage.exact_values`
    with ``q`` as the model (best-of-n's own step)."""
    pin = tied_bon_pmf(q, reward, np.asarray(ns, dtype=np.float64))
    return {
        **exact_values(q, reward, ns),
        "sampler_log_ratio": pin @ (np.log(q) - np.log(p)),
        "expected_eval_reward": pin @ gold,
    }


def draw_sampler_pools(p, q, reward, gold, size: int, pools: int, seed: int):
    """``pools`` pools of ``size`` draws from ``q``, as :class:`bonkl.pools.Pools`."""
    rng = np.random.default_rng([seed, size])
    draws = rng.choice(q.size, size=(pools, size), p=q).ravel()
    return build_pools(
        np.repeat(np.arange(pools), size),
        np.log(p[draws]),
        reward[draws],
        draws,
        sampler_logprob=np.log(q[draws]),
        eval_reward=gold[draws],
    )


def sampler_coverage(name: str, size: int, pools: int, settings: IntervalSettings, seed: int = 0) -> pd.DataFrame:
    """One row per (n, column): pools, intervals reported, and the fraction that covers the exact value."""
    p, q, reward, gold = sampler_models()[name]
    ns = study_ns(size)
    built = draw_sampler_pools(p, q, reward, gold, size, pools, seed)
    table = estimate_table(built, ns, intervals=settings)
    exact = sampler_exact_values(p, q, reward, gold, ns)
    return coverage_rows(name, size, pools, table, exact, ns, interval_columns(built.groups[0]))
