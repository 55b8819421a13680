"""Reading a user's best-of-n sample log (CSV, JSONL or Parquet) with clear errors.

Values keep their meaning on the way in: prompt ids and sample keys are text (``"01"`` is not
``"1"``, and an empty response is the key ``""``, not a missing value), and floats are parsed to
the exact double that was written, so equal log-probabilities stay equal.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .pipeline.atomic import TABLE_FORMATS, table_format

# pandas < 3 turns date-like column names into dates unless told not to; 3 deprecates the switch.
_NO_DATES = {"convert_dates": False} if int(pd.__version__.split(".")[0]) < 3 else {}
# What counts as missing in a numeric column of a CSV (never in a text column).
_NUMERIC_NA = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "-NaN", "-nan"]


def _read(path: Path, suffix: str, text_cols: list[str], numeric_cols: list[str]) -> pd.DataFrame:
    if suffix == ".csv":
        return pd.read_csv(
            path,
            dtype={c: str for c in text_cols},
            keep_default_na=False,
            na_values={c: _NUMERIC_NA for c in numeric_cols},
        )
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False, precise_float=True, **_NO_DATES)
    return pd.read_parquet(path)


def read_table(path, what: str = "table", text_cols=(), numeric_cols=()) -> pd.DataFrame:
    """Any table the package reads, by suffix; a missing, empty or corrupt file is one ``ValueError``
    naming the file (never a parser traceback)."""
    path = Path(path)
    suffix = table_format(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such {what} file")
    try:
        return _read(path, suffix, list(text_cols), list(numeric_cols))
    except (
        OSError,
        ValueError,
        TypeError,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
    ) as error:  # pyarrow's ArrowInvalid is a ValueError
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"{path}: not a readable {suffix[1:].upper()} {what} ({first}); rewrite or replace the file"
        ) from None


def _as_key(value, path: Path, column: str, row: int) -> str:
    """A sample key as text; lists (token ids) as JSON. A missing key is an error, not a new outcome."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise ValueError(
            f"{path}: column {column!r} is missing at row {row}; give every sample a key "
            "(an empty response is the empty string) or drop the column"
        )
    if isinstance(value, (list, tuple, np.ndarray)):
        return json.dumps([v.item() if hasattr(v, "item") else v for v in value])
    return str(value.item() if hasattr(value, "item") else value)


def _numbers(column: pd.Series) -> np.ndarray:
    """float64 values; anything that is not a real number (text, bool, null) becomes NaN."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(np.float64, na_value=np.nan)

    def number(value):
        if isinstance(value, (bool, np.bool_)) or value is None:
            return np.nan
        try:
            return float(value)  # Python's parser: the exact double of the text
        except (TypeError, ValueError):
            return np.nan

    return np.array([number(v) for v in column], dtype=np.float64)


def _groups(frame: pd.DataFrame, path, group_col: str) -> list[str]:
    """The ``--group-col`` values as text, one per prompt."""
    groups = [_as_key(v, path, group_col, i) for i, v in enumerate(frame["group"])]
    spread = pd.Series(groups).groupby(frame["prompt_id"].to_numpy()).nunique()
    if (spread > 1).any():
        raise ValueError(
            f"{path}: column {group_col!r} must be one value per prompt; prompt "
            f"{spread[spread > 1].index[0]!r} has {int(spread.max())}"
        )
    return groups


def _numeric_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Every numeric column as float64 (each value finite), then every log-probability ``<= 0``."""
    numeric = [c for c in ("logprob", "reward", "sampler_logprob", "eval_reward") if c in frame]
    for column in numeric:
        raw = frame[column]
        values = _numbers(raw)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"{path}: column {column!r} has {bad.sum()} missing, infinite or non-numeric "
                f"value(s), first at row {row} ({raw.iloc[row]!r}); every sample needs a finite number"
            )
        frame[column] = values
    for column in [c for c in numeric if c.endswith("logprob")]:
        if (frame[column] > 0).any():
            row = int(np.argmax(frame[column].to_numpy() > 0))
            raise ValueError(
                f"{path}: {column} must be a natural log-probability (<= 0); row {row} has {frame[column].iloc[row]!r}"
            )
    return frame


def read_sample_table(
    path,
    *,
    prompt_col="prompt_id",
    logprob_col="logprob",
    reward_col="reward",
    key_col="sample_key",
    group_col=None,
    sampler_logprob_col=None,
    eval_reward_col=None,
) -> pd.DataFrame:
    """Load one row per draw; returns columns ``prompt_id, logprob, reward[, sample_key][, group]``, and
    ``sampler_logprob`` / ``eval_reward`` when their columns are named.

    Raises ``ValueError`` naming the file, the column, the row and the fix: unknown format, a
    corrupt file, missing column, NaN, a positive log-probability, an empty prompt id, a missing key.
    Pool identities (one log-probability and one reward per key, total mass at most 1) are checked
    by :func:`bonkl.pool.make_pool`.
    """
    path = Path(path)
    if Path(path).suffix.lower() not in TABLE_FORMATS:
        raise ValueError(f"{path}: unknown format {path.suffix!r}; use one of {list(TABLE_FORMATS)}")
    optional = {group_col: "group", sampler_logprob_col: "sampler_logprob", eval_reward_col: "eval_reward"}
    optional = {column: name for column, name in optional.items() if column}
    text_cols = [prompt_col, key_col] + ([group_col] if group_col else [])
    numeric_cols = [logprob_col, reward_col, *(c for c in (sampler_logprob_col, eval_reward_col) if c)]
    frame = read_table(path, "samples", text_cols=text_cols, numeric_cols=numeric_cols)
    named = [prompt_col, logprob_col, reward_col, key_col, *optional]
    if len(set(named)) < len(named):
        raise ValueError(
            f"{path}: the prompt, logprob, reward, key and other named columns must be different "
            f"columns, got {named} (--prompt-col/--logprob-col/--reward-col/--key-col...)"
        )
    wanted = {prompt_col: "prompt_id", logprob_col: "logprob", reward_col: "reward"}
    missing = [name for name in [*wanted, *optional] if name not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; found {list(frame.columns)} "
            "(choose other names with --prompt-col/--logprob-col/--reward-col/--group-col/"
            "--sampler-logprob-col/--eval-reward-col)"
        )
    wanted |= optional
    if key_col in frame.columns:
        wanted[key_col] = "sample_key"
    frame = frame[list(wanted)].rename(columns=wanted).reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"{path}: no samples")
    frame = _numeric_columns(frame, path)
    prompt_ids = frame["prompt_id"]
    empty = prompt_ids.isna().to_numpy() | (prompt_ids.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        raise ValueError(
            f"{path}: column 'prompt_id' has empty values, first at row "
            f"{int(np.argmax(empty))}; give every sample its prompt's id"
        )
    frame["prompt_id"] = [_as_key(v, path, prompt_col, i) for i, v in enumerate(prompt_ids)]
    if group_col:
        frame["group"] = _groups(frame, path, group_col)
    if "sample_key" in frame:
        frame["sample_key"] = [_as_key(v, path, key_col, i) for i, v in enumerate(frame["sample_key"])]
    return frame
