"""The KL and win rate averaged over prompts (Section 1: a prompt distribution), with a t interval.

Each prompt's estimate is unbiased (or biased the same way) for that prompt's value, so their mean
is an estimate of the prompt average of the same kind; the spread of the per-prompt estimates
across prompts gives its standard error, which includes each pool's own noise. The t interval
``mean +- t_{k-1} se`` assumes the prompts are many and independent (drawn from the prompt
distribution the average is about); with few prompts, or prompts chosen by hand, it describes
these prompts, not a population. A prompt whose estimate is empty at some ``n`` (its pool is
smaller than ``n``) is left out of that ``n``'s average; ``num_prompts`` says how many remain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # the t quantile, as scipy.stats' t.ppf (without its second of imports)

# Columns whose prompt average is a property of best-of-n over the prompt distribution. Quantiles,
# tilted means and flags describe one prompt's spread and are not averaged.
AVERAGED = (
    "kl_bon",
    "kl_estimator_mean",
    "kl_alternate",
    "kl_corollary_4_2_bound",
    "sampler_log_ratio",  # this and the next three: only in tables from a sampler / an evaluation reward
    "kl_to_reference_estimator_mean",
    "kl_to_reference_corollary_4_2_bound",
    "expected_reward",
    "expected_eval_reward",
    "win_rate",
)
DIVERGENCE_PREFIXES = ("renyi_", "chi2", "tv")


def averaged_columns(table: pd.DataFrame) -> list[str]:
    """The estimate columns of ``table`` that the summary averages."""
    divergences = [
        c
        for c in table.columns
        if c.startswith(DIVERGENCE_PREFIXES) and not c.endswith(("_bound", "_above_bound", "_ci_low", "_ci_high"))
    ]
    return [c for c in AVERAGED if c in table.columns] + divergences


def prompt_average(table: pd.DataFrame, *, by=(), level: float = 0.9) -> pd.DataFrame:
    """One row per ``n`` (and per value of the ``by`` columns): ``num_prompts``, the mean over
    prompts of each averaged column, ``<col>_se`` and the t interval ``<col>_ci_low/_ci_high``."""
    keys = [*by, "n"]
    columns = averaged_columns(table)
    rows = []
    for values, part in table.groupby(keys, sort=False):
        values = values if isinstance(values, tuple) else (values,)
        row = dict(zip(keys, values))
        row["num_prompts"] = int(part["kl_estimator_mean"].notna().sum())
        for column in columns:
            x = part[column].to_numpy(np.float64)
            x = x[~np.isnan(x)]
            k = x.size
            mean = float(x.mean()) if k else np.nan
            se = float(x.std(ddof=1) / np.sqrt(k)) if k > 1 else np.nan
            half = float(stdtrit(k - 1, (1 + level) / 2) * se) if k > 1 else np.nan
            row[column], row[f"{column}_se"] = mean, se
            row[f"{column}_ci_low"], row[f"{column}_ci_high"] = mean - half, mean + half
            if column == "win_rate" and k != row["num_prompts"]:
                row["win_rate_num_prompts"] = k
        rows.append(row)
    out = pd.DataFrame(rows)
    if "win_rate" in columns and "win_rate_num_prompts" not in out:
        out["win_rate_num_prompts"] = out["num_prompts"]
    out["win_rate_num_prompts"] = out["win_rate_num_prompts"].fillna(out["num_prompts"]).astype(int)
    return out
