"""Users' sample tables (CSV, JSONL or Parquet), read by the strict reader of :mod:`bonkl.files.tables`.

Values keep their meaning on the way in: prompt ids and sample keys are the text the user wrote
(``"01"`` is not ``"1"``, an empty response is the key ``""``, not a missing value), and numbers are
read to the exact double that was written, so equal log-probabilities stay equal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .tables import BOOL, IDS, KEY, NUMBER, TEXT, read_table

#: The key column read when it is there (``read_sample_table(key_col=None)``).
DEFAULT_KEY = "sample_key"
_FLAGS = (
    "choose other names with --prompt-col/--logprob-col/--reward-col/--key-col/--group-col/"
    "--sampler-logprob-col/--eval-reward-col"
)


def _groups(frame: pd.DataFrame, path, group_col: str) -> pd.Series:
    """The ``--group-col`` values, one per prompt."""
    spread = frame["group"].groupby(frame["prompt_id"].to_numpy()).nunique()
    if (spread > 1).any():
        raise ValueError(
            f"{path}: column {group_col!r} must be one value per prompt; prompt "
            f"{spread[spread > 1].index[0]!r} has {int(spread.max())}"
        )
    return frame["group"]


def read_sample_table(
    path,
    *,
    prompt_col="prompt_id",
    logprob_col="logprob",
    reward_col="reward",
    key_col=None,
    group_col=None,
    sampler_logprob_col=None,
    eval_reward_col=None,
) -> pd.DataFrame:
    """Load one row per draw; returns columns ``prompt_id, logprob, reward[, sample_key][, group]``, and
    ``sampler_logprob`` / ``eval_reward`` when their columns are named.

    ``key_col`` names the column of sample keys (identical responses, one key); without it the
    column ``sample_key`` is used when the file has one. Raises ``ValueError`` naming the file, the
    column, the row and the fix: every problem of :func:`bonkl.files.tables.read_table`, a column
    named twice, a positive log-probability, an empty prompt id. Pool identities (one
    log-probability and one reward per key, total mass at most 1) are checked by
    :func:`bonkl.pools.build_pools`.
    """
    path = Path(path)
    key = key_col or DEFAULT_KEY
    extra = {sampler_logprob_col: "sampler_logprob", eval_reward_col: "eval_reward"}
    extra = {column: name for column, name in extra.items() if column}
    named = [prompt_col, logprob_col, reward_col, key, *([group_col] if group_col else []), *extra]
    if len(set(named)) < len(named):
        raise ValueError(
            f"{path}: the prompt, logprob, reward, key and other named columns must be different "
            f"columns, got {named} (--prompt-col/--logprob-col/--reward-col/--key-col...)"
        )
    wanted = {prompt_col: "prompt_id", logprob_col: "logprob", reward_col: "reward", key: "sample_key"}
    kinds = {prompt_col: TEXT, logprob_col: NUMBER, reward_col: NUMBER, key: KEY}
    if group_col:
        wanted[group_col], kinds[group_col] = "group", KEY
    for column, name in extra.items():
        wanted[column], kinds[column] = name, NUMBER
    optional = () if key_col else (key,)
    frame = read_table(path, kinds, optional=optional, what="samples", fix=_FLAGS).rename(columns=wanted)
    if frame.empty:
        raise ValueError(f"{path}: no samples")
    for column in [c for c in ("logprob", "sampler_logprob") if c in frame]:
        if (frame[column] > 0).any():
            row = int(np.argmax(frame[column].to_numpy() > 0))
            raise ValueError(
                f"{path}: {column} must be a natural log-probability (<= 0); row {row} has {frame[column].iloc[row]!r}"
            )
    blank = [value for value in pd.unique(frame["prompt_id"]) if not value.strip()]  # each id checked once
    if blank:
        row = int(np.argmax(frame["prompt_id"].isin(blank).to_numpy()))
        raise ValueError(
            f"{path}: column {prompt_col!r} has empty values, first at row {row}; give every sample its prompt's id"
        )
    if group_col:
        frame["group"] = _groups(frame, path, group_col)
    return frame


def read_token_pool(
    path,
    *,
    prompt_col="prompt_id",
    logprob_col="logprob",
    token_col="token_ids",
    prompt_token_col="prompt_token_ids",
    sampler_logprob_col=None,
    optional=(),
    keep_other=False,
    fix=None,
) -> pd.DataFrame:
    """A pool to re-score (``bonkl audit``, ``bonkl rescore``): ``prompt_id, token_ids, logprob``, and
    ``sampler_logprob`` when its column is named, ``prompt_token_ids`` and ``finished`` if present,
    every value checked by the strict reader and renamed to these names.

    ``optional``: which of ``logprob`` and ``sampler_logprob`` may be absent (by those names);
    ``keep_other``: the file's other columns too, as written (``read_table``); ``fix``: what a
    missing column's error adds (default: the audit's). A positive ``sampler_logprob`` is an error
    here; a positive ``logprob`` is left to the caller (the audit reports it as a finding)."""
    path = Path(path)
    named = [
        prompt_col,
        logprob_col,
        token_col,
        prompt_token_col,
        *([sampler_logprob_col] if sampler_logprob_col else []),
    ]
    if len(set(named)) < len(named):
        raise ValueError(
            f"{path}: the prompt, token, logprob and sampler columns must be different columns, got {named} "
            "(--prompt-col/--token-col/--logprob-col/--sampler-logprob-col)"
        )
    kinds = {prompt_col: TEXT, logprob_col: NUMBER, token_col: IDS, prompt_token_col: IDS, "finished": BOOL}
    names = {
        prompt_col: "prompt_id",
        logprob_col: "logprob",
        token_col: "token_ids",
        prompt_token_col: "prompt_token_ids",
    }
    if sampler_logprob_col:
        kinds[sampler_logprob_col], names[sampler_logprob_col] = NUMBER, "sampler_logprob"
    fix = fix or (
        "the audit re-scores each response, so it needs its token ids: keep the ids your sampler returned, "
        "end-of-sequence token included (or name the columns with --prompt-col/--logprob-col/--token-col)"
    )
    absent = (prompt_token_col, "finished", *(column for column, name in names.items() if name in optional))
    frame = read_table(path, kinds, optional=absent, what="pool", fix=fix, keep_other=keep_other)
    if frame.empty:
        raise ValueError(f"{path}: no samples")
    clash = [name for column, name in names.items() if name != column and name in frame and name not in names]
    if clash:
        raise ValueError(
            f"{path}: has a column {clash[0]!r} besides the one named for it; rename one of them "
            "(the re-scored pool names its columns prompt_id, token_ids, logprob, sampler_logprob)"
        )
    frame = frame.rename(columns=names)
    if "sampler_logprob" in frame and (frame["sampler_logprob"] > 0).any():
        row = int(np.argmax(frame["sampler_logprob"].to_numpy() > 0))
        raise ValueError(
            f"{path}: column {sampler_logprob_col!r} must be a natural log-probability (<= 0); row {row} has "
            f"{frame['sampler_logprob'].iloc[row]!r}"
        )
    return frame
