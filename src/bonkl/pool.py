"""One prompt's pool of samples: the single-pool face of :mod:`bonkl.pool_table` (same code).

A pool is ``N`` i.i.d. draws from the model with their log-probabilities and rewards; identical
draws (one key) are one outcome. Every column estimates a property of the MODEL's best-of-n, from
the pool (docs/MATH.md, "Finite pools"; what each column is and its bias: :mod:`bonkl.columns`):

* ``method="unbiased"`` (default): the average over all ``n``-subsets of the pool's draws, an
  unbiased estimate of the model's best-of-n expectation; ``n <= N`` (``n + 1 <= N`` for the win rate).
* ``method="plugin"``: the pool's empirical distribution stands in for the model (Lemma 2.3, draws
  with replacement). Biased as ``n`` nears ``N``; past ``N`` it describes the pool's top sample.

Ties in reward: ``ties="random"`` (default) is ``argmax`` over i.i.d. draws, uniform among tied
winners; the KL columns then work with the winner's reward level, whose mass is bounded from below
by its distinct sampled answers. ``ties="logprob"``: the likelier of two tied outcomes ranks
higher (then the key), a strict order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import ustat
from ._validate import subset_sizes
from .estimators import kl_estimator
from .intervals import IntervalSettings
from .pool_table import METHODS, estimate_table
from .pools import SMALLEST_MASS, TIES, build_pools, one_pool

__all__ = ["METHODS", "TIES", "Pool", "bon_weights", "estimator_distribution", "make_pool", "pool_estimates"]


@dataclass(frozen=True)
class Pool:
    """Distinct outcomes of a sample pool, ordered by (reward, log-probability, key)."""

    key: np.ndarray  # sample key of each outcome
    count: np.ndarray  # how many draws gave it
    logprob: np.ndarray  # log pi(y), nats
    reward: np.ndarray

    @property
    def num_draws(self) -> int:
        return int(self.count.sum())

    @property
    def mass(self) -> np.ndarray:
        """Empirical masses (the pool's distribution)."""
        return self.count / self.count.sum()

    @property
    def eps(self) -> np.ndarray:
        """``pi(y)`` under the reference (eq. 19), floored at the smallest positive double."""
        return np.maximum(np.exp(self.logprob), SMALLEST_MASS)

    def pools(self, ties: str = "random"):
        """This pool as :class:`bonkl.pools.Pools` (one prompt), levels as ``ties`` says."""
        return one_pool(self.key, self.count, self.logprob, self.reward, ties=ties)


def make_pool(logprob, reward, key=None) -> Pool:
    """Merge identical draws and order them by reward (then log-probability, then key).

    ``key`` identifies identical samples (e.g. their token ids as text); without it, draws with
    equal ``(logprob, reward)`` are one outcome. Raises ``ValueError`` for a pool no model can have
    produced: non-finite values, a positive log-probability, one key with two log-probabilities or
    two rewards, or distinct outcomes whose probabilities sum past 1.
    """
    logprob = np.ravel(np.asarray(logprob, dtype=np.float64))
    group = build_pools(np.zeros(logprob.size, dtype=np.int64), logprob, reward, key, ties="logprob").groups[0]
    return Pool(key=group.key[0], count=group.count[0], logprob=group.logprob[0], reward=group.reward[0])


def pool_estimates(
    pool: Pool,
    ns,
    *,
    ties: str = "random",
    method: str = "unbiased",
    tilt: float = 1.0,
    intervals: IntervalSettings | None = None,
    alphas=None,
) -> pd.DataFrame:
    """Per ``n``: every column of :mod:`bonkl.columns` (:func:`bonkl.pool_table.estimate_table`)."""
    table = estimate_table(pool.pools(ties), ns, method=method, tilt=tilt, intervals=intervals, alphas=alphas)
    return table.drop(columns="prompt_id")


def bon_weights(pool: Pool, ns, *, ties: str = "random", method: str = "unbiased") -> np.ndarray:
    """Weight of each outcome under best-of-n (``(len(ns), outcomes)``): its level's weight shared in
    proportion to the outcome's draws (a tie is broken uniformly among the tied draws)."""
    group = pool.pools(ties).groups[0]
    levels = ustat.levels_of(group, group.count)
    out = []
    for n in np.atleast_1d(np.asarray(ns, dtype=np.float64)):
        if method == "unbiased":
            weights = ustat.subset_weights(levels, int(subset_sizes(n, pool.num_draws)[0]))
        elif method == "plugin":
            weights = ustat.plugin_weights(levels, n)
        else:
            raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
        share = group.count / np.where(group.real, group.at_outcomes(levels.m), 1.0)
        out.append((group.at_outcomes(weights) * share)[0])
    return np.array(out)


def estimator_distribution(pool: Pool, ns, *, ties: str = "random", method: str = "unbiased") -> pd.DataFrame:
    """The law of ``KLhat(eps)`` (eq. 25, ``eps`` the winner's level mass bound) under best-of-n
    for each ``n``: one row per outcome with its weight."""
    group = pool.pools(ties).groups[0]
    mass = group.at_outcomes(np.minimum(group.level_sum(group.eps), 1.0))[0]
    weights = bon_weights(pool, ns, ties=ties, method=method)
    ns = np.atleast_1d(np.asarray(ns, dtype=np.float64))
    outcomes = np.arange(pool.key.size)
    return pd.DataFrame(
        {
            "n": np.repeat(ns, outcomes.size),
            "outcome": np.tile(outcomes, ns.size),
            "kl_estimator": kl_estimator(mass, ns[:, None]).ravel(),
            "weight": weights.ravel(),
        }
    )
