"""The coverage study behind the intervals (docs/coverage.md): models whose best-of-n is known
exactly, many pools drawn from each, the intervals of :func:`bonkl.pool_table.estimate_table`
computed in every pool, and the fraction that contains the exact value.

Each model is built to break a different method (docs/MATH.md, "Intervals"):

* ``heavy_ties``: 12 reward levels (lengths) of 40 answers each, a rare top level (negative length);
* ``ties_rare_top``: 12 answers in 4 tied levels, the top level of mass 0.02;
* ``zipf200``: Zipf masses over 200 answers, reward independent of mass;
* ``loglik``: reward = log-probability (Figure 4's setting), Zipf exponent 1.5 over 2,000 answers;
* ``loglik_dominant``: reward = log-probability, one answer of mass 0.9 ("capital of France");
* ``high_entropy``: Dirichlet(1) masses over 20,000 answers, random reward;
* ``rare_top``: 30 equally likely answers and a top answer of mass 0.01 (distinct rewards).

Targets are exact (:mod:`bonkl.ties`): the expected reward and the win rate of the tie-aware
best-of-n, and for eq. 25 and eq. 23 the paper's estimator on the model whose outcomes are the
reward levels, ``E_{pi_n}[KLhat(P_g)]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import INTERVAL_COLUMNS
from .estimators import kl_alternate, kl_estimator
from .intervals import IntervalSettings
from .pool_table import estimate_table
from .pools import build_pools
from .ties import level_masses, tied_bon_pmf, tied_bon_win_rate


def _sorted(p: np.ndarray, reward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((np.log(p), reward))
    return p[order] / p.sum(), reward[order]


def study_models() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``name -> (masses, rewards)`` in increasing reward order (fixed seed)."""
    rng = np.random.default_rng(12345)
    models = {}
    level_mass = np.r_[np.full(11, 0.99 / 11), 0.01]
    p = np.concatenate([m * rng.dirichlet(np.full(40, 0.5)) for m in level_mass])
    models["heavy_ties"] = _sorted(p, np.repeat(np.arange(12.0), 40))
    p = np.array([0.2, 0.15, 0.1, 0.05, 0.12, 0.1, 0.08, 0.06, 0.04, 0.03, 0.05, 0.02])
    models["ties_rare_top"] = _sorted(p, np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3.0]))
    p = np.arange(1, 201) ** -1.0
    models["zipf200"] = _sorted(p, rng.permutation(200).astype(float))
    p = np.arange(1, 2001) ** -1.5
    models["loglik"] = _sorted(p, np.log(p / p.sum()))
    tail = np.arange(1, 500) ** -1.2
    p = np.r_[0.9, 0.1 * tail / tail.sum()]
    models["loglik_dominant"] = _sorted(p, np.log(p))
    p = rng.dirichlet(np.ones(20_000))
    models["high_entropy"] = _sorted(p, rng.permutation(20_000).astype(float))
    models["rare_top"] = _sorted(np.r_[np.full(30, 0.99 / 30), 0.01], np.arange(31.0))
    return models


def exact_values(p: np.ndarray, reward: np.ndarray, ns) -> dict[str, np.ndarray]:
    """The model's best-of-n value of each interval column, per ``n``."""
    ns = np.asarray(ns, dtype=np.float64)
    masses, levels = level_masses(p, reward)
    pin = tied_bon_pmf(p, reward, ns)
    level_pin = np.stack([np.bincount(levels, weights=row, minlength=masses.size) for row in pin])
    return {
        "expected_reward": pin @ reward,
        "win_rate": np.atleast_1d(tied_bon_win_rate(p, reward, ns)),
        "kl_estimator_mean": np.sum(level_pin * kl_estimator(masses, ns[:, None]), axis=1),
        "kl_alternate": np.sum(level_pin * kl_alternate(masses, ns[:, None]), axis=1),
    }


def study_ns(size: int) -> list[int]:
    """Small n, then N/16 ... N/2 (where the intervals stop)."""
    return sorted({n for n in (1, 2, 3, 4, size // 16, size // 8, size // 4, size // 2) if 1 <= n <= size - 2})


def draw_pools(p: np.ndarray, reward: np.ndarray, size: int, pools: int, seed: int) -> pd.DataFrame:
    """``pools`` pools of ``size`` draws, as one sample table (prompt ``pool<i>``)."""
    rng = np.random.default_rng([seed, size])
    draws = rng.choice(p.size, size=(pools, size), p=p)
    return pd.DataFrame(
        {
            "prompt_id": np.repeat([f"pool{i:05d}" for i in range(pools)], size),
            "logprob": np.log(p[draws.ravel()]),
            "reward": reward[draws.ravel()],
            "sample_key": draws.ravel().astype(str),
        }
    )


def coverage(name: str, size: int, pools: int, settings: IntervalSettings, seed: int = 0) -> pd.DataFrame:
    """One row per (n, column): pools, how many reported an interval, and the fraction that covers."""
    p, reward = study_models()[name]
    ns = study_ns(size)
    samples = draw_pools(p, reward, size, pools, seed)
    table = estimate_table(
        build_pools(samples["prompt_id"], samples["logprob"], samples["reward"], samples["sample_key"]),
        ns,
        intervals=settings,
    )
    return coverage_rows(name, size, pools, table, exact_values(p, reward, ns), ns, INTERVAL_COLUMNS)


def coverage_rows(name: str, size: int, pools: int, table: pd.DataFrame, exact: dict, ns, columns) -> pd.DataFrame:
    """One row per (n, column) of ``table``: how many pools reported an interval, and the fraction of
    those that contains ``exact[column]`` at that ``n`` (to a relative 1e-12)."""
    rows = []
    for j, n in enumerate(ns):
        part = table[table["n"] == n]
        for column in columns:
            low, high = part[f"{column}_ci_low"].to_numpy(), part[f"{column}_ci_high"].to_numpy()
            shown = ~np.isnan(low)
            truth = exact[column][j]
            tolerance = 1e-12 * (1 + abs(truth))
            hit = (low[shown] - tolerance <= truth) & (truth <= high[shown] + tolerance)
            rows.append(
                {
                    "model": name,
                    "N": size,
                    "n": n,
                    "column": column,
                    "pools": pools,
                    "reported": int(shown.sum()),
                    "coverage": float(hit.mean()) if shown.any() else np.nan,
                    "mean_width": float(np.mean(high[shown] - low[shown])) if shown.any() else np.nan,
                }
            )
    return pd.DataFrame(rows)


def run_study(names=None, sizes=(16, 64, 256), pools: int = 1000, settings: IntervalSettings | None = None):
    """The whole study: every model, pool size and ``n``; one row per cell."""
    settings = settings or IntervalSettings()
    names = list(study_models()) if names is None else list(names)
    return pd.concat([coverage(name, size, pools, settings) for name in names for size in sizes], ignore_index=True)
