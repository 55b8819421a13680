"""The ``score``, ``estimate`` and ``aggregate`` rules: rewards, the estimate table, the prompt average."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..files.keys import sequence_keys
from ..intervals import IntervalSettings
from ..pool_table import estimate_table
from ..pools import build_pools
from ..summary import prompt_average

if TYPE_CHECKING:
    from ..lm.reward_spec import RewardSpec


def score_samples(
    samples: pd.DataFrame, reward: RewardSpec | str, reference: str | None, prompt: str | None = None
) -> pd.DataFrame:
    """One reward per sample: a built-in reward by name, or the user's (``bonkl.lm.reward_spec``),
    given the prompt's text when it accepts it; the values are checked (one finite float per sample)."""
    from ..lm.reward_spec import load_reward

    values = load_reward(reward)(samples, reference=reference, prompt=prompt)
    return pd.DataFrame({"sample_index": samples["sample_index"].to_numpy(), "reward": values})


def estimate_set(
    samples: list[pd.DataFrame],
    rewards: list[pd.DataFrame],
    ns,
    *,
    method: str = "unbiased",
    ties: str = "random",
    tilt: float = 1.0,
    bootstrap: dict | None = None,
    sampler_logprob: bool = False,
    threads: int = 1,
) -> pd.DataFrame:
    """The estimate table (``bonkl.pool_table``) of every prompt of one set for one reward, with the
    pools' own facts (samples, distinct outcomes, finished fraction) and, with ``bootstrap``
    (``replicates``, ``level``, ``seed``), the intervals. ``sampler_logprob``: the pools were drawn
    from a sampler variant, whose ``log q`` they carry; the table then adds the KL to the reference
    (``kl_to_reference_*``, ``sampler_log_ratio``). Left off for the default pools, where q is pi.
    ``threads``: the job's threads, for the intervals (the numbers do not depend on it)."""
    merged = pd.concat(
        [s.merge(r, on="sample_index", validate="one_to_one") for s, r in zip(samples, rewards)], ignore_index=True
    )
    pools = build_pools(
        merged["prompt_id"],
        merged["logprob"],
        merged["reward"],
        sequence_keys(merged),
        ties=ties,
        sampler_logprob=merged["sampler_logprob"] if sampler_logprob else None,
    )
    intervals = IntervalSettings(**bootstrap) if bootstrap else None
    table = estimate_table(pools, ns, method=method, tilt=tilt, intervals=intervals, threads=threads)
    finished = merged.groupby("prompt_id")["finished"].mean()
    return table.assign(
        method=method,
        ties=ties,
        tilt=tilt,
        finished_fraction=finished.reindex(table["prompt_id"]).to_numpy(),
    )


def aggregate(estimates: list[pd.DataFrame], labels: list[dict], level: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One tidy table (a row per prompt set, prompt, reward and n) and its average over the prompts
    of each set and reward (``bonkl.summary``)."""
    tables = [table.assign(**label) for table, label in zip(estimates, labels)]
    result = pd.concat(tables, ignore_index=True)
    first = ["prompt_set", "prompt_id", "reward", "n"]
    result = result[first + [c for c in result.columns if c not in first]]
    return result, prompt_average(result, by=["prompt_set", "reward"], level=level)
