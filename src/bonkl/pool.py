"""Best-of-n estimates from a pool of reference samples (Section 4, Appendix C; docs/MATH.md, "Finite pools").

A pool is ``N`` i.i.d. draws from the model with their log-probabilities and rewards. Identical
draws (same key) are one outcome. Every column is an estimate of a property of the MODEL's
best-of-n, computed exactly over the pool (no Monte Carlo):

* ``method="unbiased"`` (default): the average over all ``n``-subsets of the pool's draws
  (:mod:`bonkl.subsets`), an unbiased estimate of the model's best-of-n expectation; ``n <= N``
  (``n + 1 <= N`` for the win rate).
* ``method="plugin"``: the pool's empirical distribution stands in for the model (Lemma 2.3, draws
  with replacement). Biased as ``n`` nears ``N``; past ``N`` it describes the pool's top sample,
  not the model (``beyond_pool``).

Ties in reward: ``ties="random"`` (default) is ``argmax`` over i.i.d. draws, which picks uniformly
among tied winners (:mod:`bonkl.ties`); ``ties="logprob"`` ranks the likelier of two tied outcomes
higher (then the key), a strict order.

The estimators see only ``eps = pi(y)``, from the log-probability (eq. 19). The Corollary 4.2
column is the paper's upper bound: ``F(y)`` is bounded from above by one minus the summed
probabilities of the distinct sampled outcomes ranked above ``y``, and a tied level's mass from below
by the summed probabilities of its distinct sampled outcomes; it is never above eq. 23.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _validate
from .bon import bon_pmf, kl_bon
from .estimators import kl_alternate, kl_estimator, kl_log_ratio
from .subsets import subset_bon_weights, subset_win_rate
from .tilted import tilted_mean
from .win_rate import bon_win_rate

TIES = ("random", "logprob")
METHODS = ("unbiased", "plugin")
# Distinct outcomes' probabilities may exceed 1 by float rounding of the log-probabilities, no more.
TOTAL_MASS_TOLERANCE = 1e-6
# exp(logprob) underflows for long sequences; the estimators are flat in eps this close to 0.
_SMALLEST_MASS = np.finfo(np.float64).tiny

ESTIMATE_COLUMNS = [
    "kl_bon",
    "kl_estimator_mean",
    "kl_alternate",
    "kl_corollary_4_2_bound",
    "expected_reward",
    "win_rate",
]


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
        return np.maximum(np.exp(self.logprob), _SMALLEST_MASS)

    def levels(self, ties: str = "random") -> np.ndarray:
        """Level index of each outcome: equal rewards share a level (``random``), or none do (``logprob``)."""
        _choice(ties, TIES, "ties")
        if ties == "logprob":
            return np.arange(self.key.size)
        return np.concatenate(([0], np.cumsum(np.diff(self.reward) > 0)))

    def resampled(self, counts) -> Pool:
        """The same outcomes with other draw counts (outcomes with no draw removed)."""
        keep = counts > 0
        return Pool(self.key[keep], counts[keep].astype(np.float64), self.logprob[keep], self.reward[keep])


def _choice(value: str, allowed: tuple, name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def make_pool(logprob, reward, key=None) -> Pool:
    """Merge identical draws and order them by reward (then log-probability, then key).

    ``key`` identifies identical samples (e.g. their token ids as text); without it, draws with
    equal ``(logprob, reward)`` are taken to be the same outcome. Raises ``ValueError`` for a pool
    no model can have produced: non-finite values, a positive log-probability, one key with two
    log-probabilities or two rewards, or distinct outcomes whose probabilities sum past 1.
    """
    columns = {
        "logprob": np.ravel(np.asarray(logprob, dtype=np.float64)),
        "reward": np.ravel(np.asarray(reward, dtype=np.float64)),
    }
    if key is not None:
        key = np.ravel(np.asarray(key, dtype=object))
    lengths = {name: len(values) for name, values in [*columns.items(), ("key", key)] if values is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"logprob, reward and key must have one entry per sample; got lengths {lengths}")
    frame = pd.DataFrame(columns)
    if frame.empty:
        raise ValueError("the pool is empty: at least one sample is needed")
    values = frame[["logprob", "reward"]].to_numpy()
    if not np.all(np.isfinite(values)):
        row = int(np.argmax(~np.all(np.isfinite(values), axis=1)))
        raise ValueError(f"logprob and reward must be finite numbers; row {row} has NaN or infinity")
    if np.any(frame["logprob"] > 0):
        row = int(np.argmax(frame["logprob"].to_numpy() > 0))
        raise ValueError(
            f"logprob must be a natural log-probability (<= 0); row {row} has {float(frame['logprob'].iloc[row])}"
        )
    if key is None:
        frame["key"] = frame["logprob"].map(repr) + "|" + frame["reward"].map(repr)
    else:
        keys = pd.Series(key)
        if keys.isna().any():
            raise ValueError(
                f"sample key is missing at row {int(np.argmax(keys.isna().to_numpy()))}: "
                "give every sample a key (an empty response is the empty string)"
            )
        frame["key"] = keys.astype(str).to_numpy()
    grouped = frame.groupby("key", sort=False).agg(
        count=("key", "size"),
        logprob=("logprob", "first"),
        reward=("reward", "first"),
        low_lp=("logprob", "min"),
        high_lp=("logprob", "max"),
        low_r=("reward", "min"),
        high_r=("reward", "max"),
    )
    for low, high, what in (("low_lp", "high_lp", "log-probability"), ("low_r", "high_r", "reward")):
        spread = grouped[high] - grouped[low]
        if np.any(spread > 1e-6 * np.maximum(1.0, grouped[high].abs())):
            bad = spread.idxmax()
            raise ValueError(
                f"identical samples must carry one {what}; key {bad!r} has "
                f"{float(grouped.loc[bad, low])} and {float(grouped.loc[bad, high])}"
            )
    total = float(np.exp(grouped["logprob"]).sum())
    if total > 1 + TOTAL_MASS_TOLERANCE:
        raise ValueError(
            f"the distinct samples' probabilities sum to {total:.6g} > 1, which no model can "
            "produce: logprob must be the natural log-probability of the whole response "
            "(not a per-token average, not from a tempered or top-k sampler), and identical "
            "responses must share one key"
        )
    grouped = grouped.reset_index().sort_values(["reward", "logprob", "key"], kind="stable")
    return Pool(
        key=grouped["key"].to_numpy(),
        count=grouped["count"].to_numpy(np.float64),
        logprob=grouped["logprob"].to_numpy(),
        reward=grouped["reward"].to_numpy(),
    )


def _sample_sizes(pool: Pool, ns, method: str) -> np.ndarray:
    _choice(method, METHODS, "method")
    ns = _validate.sample_size(np.atleast_1d(ns))
    if method == "unbiased" and ns.max() > pool.num_draws:
        raise ValueError(
            f"n = {ns.max():g} is larger than the pool ({pool.num_draws} samples): the unbiased "
            "estimate needs n <= the number of samples; draw more samples, lower n, or use "
            "method 'plugin' (which past the pool size describes the pool, not the model)"
        )
    return ns


def level_weights(pool: Pool, ns, *, ties: str = "random", method: str = "unbiased") -> np.ndarray:
    """Probability that best-of-n's winner is in each level (``(len(ns), levels)``)."""
    levels = pool.levels(ties)
    counts = np.bincount(levels, weights=pool.count)
    ns = _sample_sizes(pool, ns, method)
    if method == "plugin":
        return bon_pmf(counts / counts.sum(), ns)
    return subset_bon_weights(np.rint(counts), ns)


def bon_weights(pool: Pool, ns, *, ties: str = "random", method: str = "unbiased") -> np.ndarray:
    """Weight of each outcome under best-of-n (``(len(ns), outcomes)``): its level's weight shared in
    proportion to the outcome's draws (a tie is broken uniformly among the tied draws)."""
    levels = pool.levels(ties)
    per_level = level_weights(pool, ns, ties=ties, method=method)
    level_draws = np.bincount(levels, weights=pool.count)
    return per_level[:, levels] * (pool.count / level_draws[levels])


def corollary_4_2_inputs(pool: Pool, ties: str = "random") -> tuple[np.ndarray, np.ndarray]:
    """``(mass, cdf)`` per outcome for the Corollary 4.2 bound: the level's mass bounded from below
    and its CDF from above by the distinct sampled outcomes' own probabilities."""
    levels = pool.levels(ties)
    level_eps = np.bincount(levels, weights=pool.eps)
    above = np.concatenate((np.cumsum(level_eps[::-1])[::-1][1:], [0.0]))
    mass = np.minimum(level_eps, 1.0)
    cdf = np.clip(1.0 - above, mass, 1.0)
    return mass[levels], cdf[levels]


def _win_rate(pool: Pool, ns, method: str) -> np.ndarray:
    """Win rate against the model (a tie in reward counts 1/2); the tie-break does not matter."""
    counts = np.bincount(pool.levels("random"), weights=pool.count)
    if method == "plugin":
        return bon_win_rate(counts / counts.sum(), ns)
    out = np.full(ns.size, np.nan)
    ok = ns + 1 <= pool.num_draws
    if ok.any():
        out[ok] = subset_win_rate(np.rint(counts), ns[ok])
    return out


def pool_estimates(pool: Pool, ns, *, ties: str = "random", method: str = "unbiased") -> pd.DataFrame:
    """Per ``n``: eq. 4; the best-of-n means of eq. 25, eq. 23 and the Corollary 4.2 bound; the
    expected reward and the win rate against the reference (NaN where ``method='unbiased'`` and
    ``n + 1 > N``); ``beyond_pool`` marks ``n > N``."""
    ns = _sample_sizes(pool, ns, method)
    weights = bon_weights(pool, ns, ties=ties, method=method)
    column = ns[:, None]
    mass, cdf = corollary_4_2_inputs(pool, ties)
    bound = kl_bon(ns)
    # Weights are non-negative and sum to 1; clip only the last-bit drift out of each range.
    alternate = np.clip(np.sum(weights * kl_alternate(pool.eps, column), axis=1), 0.0, np.log(ns))
    return pd.DataFrame(
        {
            "n": ns,
            "kl_bon": bound,
            "kl_estimator_mean": np.clip(np.sum(weights * kl_estimator(pool.eps, column), axis=1), 0.0, bound),
            "kl_alternate": alternate,
            "kl_corollary_4_2_bound": np.clip(
                np.sum(weights * kl_log_ratio(mass, cdf, column), axis=1), 0.0, alternate
            ),
            "expected_reward": np.clip(weights @ pool.reward, pool.reward.min(), pool.reward.max()),
            "win_rate": _win_rate(pool, ns, method),
            "beyond_pool": ns > pool.num_draws,
        }
    )


def estimator_distribution(pool: Pool, ns, *, ties: str = "random", method: str = "unbiased") -> pd.DataFrame:
    """The law of ``KLhat(eps_n)`` (eq. 25) under best-of-n for each ``n``: one row per outcome."""
    ns = _sample_sizes(pool, ns, method)
    weights = bon_weights(pool, ns, ties=ties, method=method)
    values = kl_estimator(pool.eps, ns[:, None])
    outcomes = np.arange(pool.key.size)
    return pd.DataFrame(
        {
            "n": np.repeat(ns, outcomes.size),
            "outcome": np.tile(outcomes, ns.size),
            "kl_estimator": values.ravel(),
            "weight": weights.ravel(),
        }
    )


def tilted_summary(distribution: pd.DataFrame, tilts) -> pd.DataFrame:
    """Eq. 133 per ``n``: the tilted min (``-t``) and max (``+t``) of ``KLhat`` for each tilt ``t > 0``."""
    tilts = _validate.positive(np.atleast_1d(tilts), "tilts")
    signed = np.concatenate((-tilts, tilts))
    rows = []
    for n, group in distribution.groupby("n", sort=True):
        values = tilted_mean(group["kl_estimator"], signed, weights=group["weight"])
        for tilt, low, high in zip(tilts, values[: tilts.size], values[tilts.size :]):
            rows.append({"n": n, "tilt": tilt, "kl_estimator_tilted_min": low, "kl_estimator_tilted_max": high})
    return pd.DataFrame(rows)


def bootstrap_intervals(
    pool: Pool,
    ns,
    *,
    ties: str = "random",
    method: str = "unbiased",
    replicates: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Percentile bootstrap over the pool's draws: per ``n``, ``<column>_ci_low``/``_ci_high`` of the
    estimate columns at confidence ``level`` from ``replicates`` resamples (seeded)."""
    if int(replicates) != replicates or replicates < 2:
        raise ValueError(f"replicates must be a whole number >= 2, got {replicates!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    ns = _sample_sizes(pool, ns, method)
    rng = np.random.default_rng(seed)
    columns = ESTIMATE_COLUMNS[1:]
    draws = np.empty((int(replicates), ns.size, len(columns)))
    for b in range(int(replicates)):
        counts = rng.multinomial(pool.num_draws, pool.mass)
        table = pool_estimates(pool.resampled(counts), ns, ties=ties, method=method)
        draws[b] = table[columns].to_numpy(np.float64)
    tail = (1 - level) / 2 * 100
    with warnings.catch_warnings():  # the win rate at n = N is NaN in every replicate
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(draws, [tail, 100 - tail], axis=0)
    out = {"n": ns}
    for j, column in enumerate(columns):
        out[f"{column}_ci_low"], out[f"{column}_ci_high"] = low[:, j], high[:, j]
    return pd.DataFrame(out)
