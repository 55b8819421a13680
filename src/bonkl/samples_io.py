"""Reading a user's best-of-n sample log (CSV, JSONL or Parquet) with clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

READERS = {".csv": pd.read_csv, ".jsonl": lambda path: pd.read_json(path, lines=True),
           ".parquet": pd.read_parquet}


def read_samples(path, *, prompt_col="prompt_id", logprob_col="logprob", reward_col="reward",
                 key_col="sample_key") -> pd.DataFrame:
    """Load one row per reference draw; returns columns ``prompt_id, logprob, reward[, sample_key]``.

    Raises ``ValueError`` naming the file and the problem: unknown format, missing column, NaN,
    a positive log-probability, a prompt with no samples.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"{path}: unknown format {path.suffix!r}; use one of {sorted(READERS)}")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    frame = reader(path)
    wanted = {prompt_col: "prompt_id", logprob_col: "logprob", reward_col: "reward"}
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(frame.columns)} "
                         "(choose other names with --prompt-col/--logprob-col/--reward-col)")
    if key_col in frame.columns:
        wanted[key_col] = "sample_key"
    frame = frame[list(wanted)].rename(columns=wanted)
    if frame.empty:
        raise ValueError(f"{path}: no samples")
    for column in ("logprob", "reward"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(np.float64))
        if bad.any():
            raise ValueError(f"{path}: column {column!r} has {bad.sum()} missing or non-numeric "
                             f"value(s), first at row {int(np.argmax(bad))}")
        frame[column] = values.astype(np.float64)
    if (frame["logprob"] > 0).any():
        row = int(np.argmax(frame["logprob"].to_numpy() > 0))
        raise ValueError(f"{path}: logprob must be a natural log-probability (<= 0); row {row} "
                         f"has {frame['logprob'].iloc[row]!r}")
    if frame["prompt_id"].isna().any() or (frame["prompt_id"].astype(str).str.strip() == "").any():
        raise ValueError(f"{path}: column 'prompt_id' has empty values")
    return frame
