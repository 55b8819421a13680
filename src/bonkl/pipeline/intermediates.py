"""Reading the workflow's own intermediates (samples, rewards, estimates) with checks.

A damaged intermediate (a disk that filled up, a file copied half-way, an edit by hand) must not
make every later run fail: the reading rule moves it aside to ``<name>.corrupt`` and stops with one
message naming the file, what is wrong and the command that rebuilds it (``snakemake`` with the file
as target: Snakemake does not redraw a missing intermediate while the files made from it exist).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .sample_step import SAMPLE_COLUMNS, check_shard, read_manifest


def one_line_errors() -> None:
    """In a rule's script: a bad input (ValueError, FileNotFoundError) goes to the log as its one-line
    message, not a traceback; anything else (a bug) keeps its traceback."""

    def hook(kind, error, traceback):
        if issubclass(kind, (ValueError, FileNotFoundError)):
            print(f"{kind.__name__}: {error}", file=sys.stderr)
        else:
            sys.__excepthook__(kind, error, traceback)

    sys.excepthook = hook


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
