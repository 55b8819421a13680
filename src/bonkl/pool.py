"""Best-of-n estimators over a finite pool of reference samples (Section 4 experiments, Appendix C).

A pool is ``N`` draws from the reference ``pi`` with their log-probabilities and rewards. Identical
samples are merged into one outcome; the pool's empirical distribution then plays the role of
``pi`` in Lemma 2.3, so every expectation below is exact over that distribution (no Monte Carlo).
The estimators themselves see only ``eps = pi(y)`` from the log-probability, as in eq. 19.

Ties in reward between distinct samples are broken by the reference log-probability (the more
likely sample ranks higher), then by the sample key, so the order is strict (Assumption 2.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _validate
from .bon import bon_pmf, kl_bon
from .estimators import kl_alternate, kl_estimator, kl_log_ratio
from .tilted import tilted_mean
from .win_rate import calibrated_reward

# exp(logprob) underflows for long sequences; the estimators are flat in eps this close to 0.
_SMALLEST_MASS = np.finfo(np.float64).tiny


@dataclass(frozen=True)
class Pool:
    """Distinct outcomes of a sample pool in increasing reward order."""

    key: np.ndarray  # sample key of each outcome
    count: np.ndarray  # how many draws gave it
    logprob: np.ndarray  # log pi(y), nats
    reward: np.ndarray

    @property
    def mass(self) -> np.ndarray:
        """Empirical masses (the pool's distribution)."""
        return self.count / self.count.sum()

    @property
    def eps(self) -> np.ndarray:
        """``pi(y)`` under the reference (eq. 19), floored at the smallest positive double."""
        return np.maximum(np.exp(self.logprob), _SMALLEST_MASS)

    @property
    def cdf(self) -> np.ndarray:
        """``F(y)`` for Corollary 4.2, from the pool: the fraction of draws whose reward is at most
        ``r(y)`` (at least ``pi(y)`` itself, since ``F(y) >= pi(y)``).

        It is exact when the pool's frequencies are the model's, and unbiased for each fixed ``y``.
        """
        return np.clip(np.cumsum(self.mass), np.minimum(self.eps, 1.0), 1.0)


def make_pool(logprob, reward, key=None) -> Pool:
    """Merge identical draws and order them by reward (ties: log-probability, then key).

    ``key`` identifies identical samples (e.g. their token ids as text); without it, draws with
    equal ``(logprob, reward)`` are taken to be the same outcome.
    """
    frame = pd.DataFrame({"logprob": np.asarray(logprob, dtype=np.float64),
                          "reward": np.asarray(reward, dtype=np.float64)})
    if frame.empty:
        raise ValueError("the pool is empty: at least one sample is needed")
    frame["key"] = (frame["logprob"].map(repr) + "|" + frame["reward"].map(repr)
                    if key is None else pd.Series(np.asarray(key)).astype(str).to_numpy())
    if not np.all(np.isfinite(frame[["logprob", "reward"]].to_numpy())):
        raise ValueError("logprob and reward must be finite (found NaN or infinity)")
    if np.any(frame["logprob"] > 0):
        raise ValueError(f"logprob must be <= 0 (a log-probability), got max {frame['logprob'].max()!r}")
    grouped = frame.groupby("key", sort=False).agg(
        count=("key", "size"), logprob=("logprob", "first"), reward=("reward", "first"),
        lowest=("logprob", "min"), highest=("logprob", "max"))
    if np.any(grouped["highest"] - grouped["lowest"] > 1e-6):
        raise ValueError("identical samples (same key) must carry one log-probability")
    grouped = grouped.reset_index().sort_values(["reward", "logprob", "key"], kind="stable")
    return Pool(key=grouped["key"].to_numpy(), count=grouped["count"].to_numpy(np.float64),
                logprob=grouped["logprob"].to_numpy(), reward=grouped["reward"].to_numpy())


def pool_estimates(pool: Pool, ns) -> pd.DataFrame:
    """Per ``n``: eq. 4, the means under best-of-n of eq. 25, eq. 23 and Corollary 4.2, and the
    expected reward and win rate of best-of-n against the pool (Lemma 5.2)."""
    ns = _validate.sample_size(np.atleast_1d(ns))
    pin = bon_pmf(pool.mass, ns)  # (len(ns), outcomes)
    column = ns[:, None]
    return pd.DataFrame({
        "n": ns,
        "kl_bon": kl_bon(ns),
        "kl_estimator_mean": np.sum(pin * kl_estimator(pool.eps, column), axis=1),
        "kl_alternate": np.sum(pin * kl_alternate(pool.eps, column), axis=1),
        "kl_corollary_4_2": np.sum(pin * kl_log_ratio(pool.eps, pool.cdf, column), axis=1),
        "expected_reward": pin @ pool.reward,
        "win_rate": pin @ calibrated_reward(pool.mass),
    })


def estimator_distribution(pool: Pool, ns) -> pd.DataFrame:
    """The law of ``KLhat(eps_n)`` (eq. 25) under best-of-n for each ``n``: one row per outcome."""
    ns = _validate.sample_size(np.atleast_1d(ns))
    pin = bon_pmf(pool.mass, ns)
    values = kl_estimator(pool.eps, ns[:, None])
    outcomes = np.arange(pool.key.size)
    return pd.DataFrame({
        "n": np.repeat(ns, outcomes.size),
        "outcome": np.tile(outcomes, ns.size),
        "kl_estimator": values.ravel(),
        "weight": pin.ravel(),
    })


def tilted_summary(distribution: pd.DataFrame, tilts) -> pd.DataFrame:
    """Eq. 133 per ``n``: the tilted min (``-t``) and max (``+t``) of ``KLhat`` for each tilt ``t > 0``."""
    tilts = _validate.positive(np.atleast_1d(tilts), "tilts")
    rows = []
    for n, group in distribution.groupby("n", sort=True):
        signed = np.concatenate((-tilts, tilts))
        values = tilted_mean(group["kl_estimator"], signed, weights=group["weight"])
        for tilt, low, high in zip(tilts, values[: tilts.size], values[tilts.size:]):
            rows.append({"n": n, "tilt": tilt, "kl_estimator_tilted_min": low,
                         "kl_estimator_tilted_max": high})
    return pd.DataFrame(rows)
