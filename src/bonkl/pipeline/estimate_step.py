"""The ``score``, ``estimate`` and ``aggregate`` rules: rewards, exact pool estimators, tilted bands."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pool import bootstrap_intervals, estimator_distribution, make_pool, pool_estimates, tilted_summary
from .keys import sequence_keys


def score_samples(samples: pd.DataFrame, reward: str, reference: str | None) -> pd.DataFrame:
    """One reward per sample from the registry in ``bonkl.lm.rewards``."""
    from ..lm.rewards import get_reward

    values = np.asarray(get_reward(reward)(samples, reference=reference), dtype=np.float64)
    return pd.DataFrame({"sample_index": samples["sample_index"].to_numpy(), "reward": values})


def estimate_prompt(
    samples: pd.DataFrame,
    rewards: pd.DataFrame,
    ns,
    *,
    ties: str = "random",
    method: str = "unbiased",
    bootstrap: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pool's estimates of the model's best-of-n (``bonkl.pool``), with bootstrap intervals when
    ``bootstrap`` (``replicates``, ``level``, ``seed``) is given, and the law of eq. 25 per ``n``."""
    merged = samples.merge(rewards, on="sample_index", validate="one_to_one")
    pool = make_pool(merged["logprob"], merged["reward"], sequence_keys(merged))
    table = pool_estimates(pool, ns, ties=ties, method=method).assign(
        method=method,
        ties=ties,
        num_samples=len(merged),
        num_outcomes=pool.key.size,
        finished_fraction=float(merged["finished"].mean()),
    )
    if bootstrap:
        intervals = bootstrap_intervals(pool, ns, ties=ties, method=method, **bootstrap)
        table = table.merge(intervals, on="n", validate="one_to_one")
    return table, estimator_distribution(pool, ns, ties=ties, method=method)


def aggregate(
    estimates: list[pd.DataFrame], distributions: list[pd.DataFrame], labels: list[dict], tilts
) -> pd.DataFrame:
    """One tidy table: a row per (prompt set, prompt, reward, n, tilt) with every estimator."""
    tables = []
    for table, distribution, label in zip(estimates, distributions, labels):
        tilted = tilted_summary(distribution, tilts)
        tables.append(table.merge(tilted, on="n").assign(**label))
    result = pd.concat(tables, ignore_index=True)
    first = list(labels[0]) + ["n", "tilt"]
    return result[first + [c for c in result.columns if c not in first]]
