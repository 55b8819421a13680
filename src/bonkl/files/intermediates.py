"""The workflow's own intermediates (samples, rewards, estimates): their format, written and read with checks.

The sample file (rule ``sample``) is one prompt's pool: :data:`SAMPLE_COLUMNS`, with the manifest of
everything the draws depend on in its Parquet metadata (:func:`write_pool`, :func:`read_manifest`).
A damaged intermediate (a disk that filled up, a file copied half-way, an edit by hand) must not
make every later run fail: the reading rule moves it aside to ``<name>.corrupt`` and stops with one
message naming the file, what is wrong and the command that rebuilds it (``snakemake`` with the file
as target: Snakemake does not redraw a missing intermediate while the files made from it exist).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path

# logprob: under the model (pi); sampler_logprob: under the distribution drawn from (q), equal to
# logprob when no sampler setting is on.
SAMPLE_COLUMNS = [
    "prompt_id",
    "sample_index",
    "token_ids",
    "text",
    "logprob",
    "sampler_logprob",
    "num_tokens",
    "finished",
]
LOGPROB_COLUMNS = ("logprob", "sampler_logprob")
#: A shard of a pool being drawn: the sample file's columns but the prompt id.
SHARD_COLUMNS = SAMPLE_COLUMNS[1:]
MANIFEST_KEY = b"bonkl.sample_manifest"


def check_shard(frame: pd.DataFrame, start: int, count: int) -> str | None:
    """Why a shard cannot be used, or None when it holds exactly samples ``start .. start+count-1``."""
    try:
        return _shard_problem(frame, start, count)
    except (TypeError, ValueError) as error:  # values of the wrong kind (text for numbers, ...)
        return f"malformed values ({type(error).__name__}: {str(error)[:200]})"


def _shard_problem(frame: pd.DataFrame, start: int, count: int) -> str | None:
    missing = [c for c in SHARD_COLUMNS if c not in frame.columns]
    if missing:
        return f"missing column(s) {missing}"
    if len(frame) != count:
        return f"{len(frame)} rows, expected {count}"
    if not np.array_equal(frame["sample_index"].to_numpy(), np.arange(start, start + count)):
        return f"sample_index is not {start}..{start + count - 1}"
    for column in LOGPROB_COLUMNS:
        logprob = frame[column].to_numpy(np.float64)
        if not np.all(np.isfinite(logprob) & (logprob <= 0)):
            return f"a value of {column} is missing, infinite or positive"
    if not np.array_equal(frame["num_tokens"].to_numpy(), frame["token_ids"].map(len).to_numpy()):
        return "num_tokens does not match token_ids"
    return None


def read_manifest(path) -> dict | None:
    """The manifest stored in a finished pool's Parquet metadata (None if absent or unreadable)."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
        return json.loads(metadata[MANIFEST_KEY]) if MANIFEST_KEY in metadata else None
    except Exception:  # noqa: BLE001 - a damaged file has no usable manifest
        return None


def write_pool(samples: pd.DataFrame, path, manifest: dict) -> None:
    """Write a finished pool (:data:`SAMPLE_COLUMNS`) with its manifest in the Parquet metadata, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(samples[SAMPLE_COLUMNS], preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[MANIFEST_KEY] = json.dumps(manifest, sort_keys=True).encode()
    with atomic_path(path) as partial:
        pq.write_table(table.replace_schema_metadata(metadata), partial)


class CorruptIntermediate(ValueError):
    """An intermediate file that cannot be used; it has been moved aside."""


def _reject(path: Path, problem: str) -> CorruptIntermediate:
    aside = path.with_name(path.name + ".corrupt")
    rebuild = f"rebuild it with `snakemake --cores all {path}` (add your --configfile), then run your command again"
    try:
        os.replace(path, aside)
        moved = f"it was moved to {aside}; {rebuild}"
    except OSError:
        moved = f"delete it (rm {path}) and {rebuild}"
    return CorruptIntermediate(f"{path}: {problem}; {moved}")


def read_intermediate(path, columns) -> pd.DataFrame:
    """A Parquet intermediate with at least ``columns``, or :class:`CorruptIntermediate`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; run the snakemake command that builds it")
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 - pyarrow raises many kinds for a damaged file
        raise _reject(path, f"unreadable Parquet ({type(error).__name__}: {str(error)[:200]})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _reject(path, f"missing column(s) {missing}")
    return frame


def read_samples_file(path) -> pd.DataFrame:
    """A pool written by the ``sample`` rule: every column, indices 0..N-1, valid log-probabilities,
    and as many samples, of the one prompt, as the manifest in its metadata records."""
    path = Path(path)
    frame = read_intermediate(path, SAMPLE_COLUMNS)
    manifest = read_manifest(path)
    problem = check_shard(frame, 0, len(frame)) if len(frame) else "no samples"
    if problem is None and manifest is None:
        problem = "no sampling manifest in its metadata (not written by this version's sample rule)"
    elif problem is None and len(frame) != manifest["num_samples"]:
        problem = f"{len(frame)} samples where its manifest says {manifest['num_samples']}"
    elif problem is None and set(frame["prompt_id"]) != {manifest["prompt_id"]}:
        problem = f"prompt_id is not {manifest['prompt_id']!r} throughout"
    if problem is not None:
        raise _reject(path, problem)
    return frame


def read_rewards_file(path, samples: pd.DataFrame) -> pd.DataFrame:
    """A reward per sample written by the ``score`` rule, matching ``samples`` one to one."""
    path = Path(path)
    frame = read_intermediate(path, ["sample_index", "reward"])
    if not np.array_equal(frame["sample_index"].to_numpy(), samples["sample_index"].to_numpy()):
        raise _reject(path, f"its sample_index does not match the {len(samples)} samples")
    if not np.all(np.isfinite(frame["reward"].to_numpy(np.float64))):
        raise _reject(path, "a reward is missing or infinite")
    return frame
