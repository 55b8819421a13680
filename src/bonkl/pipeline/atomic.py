"""Atomic file writes: a crash or kill never leaves a file that looks complete."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary sibling path; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_table(frame, path) -> None:
    """Write a DataFrame as Parquet or CSV (by suffix), atomically."""
    path = Path(path)
    with atomic_path(path) as partial:
        if path.suffix == ".parquet":
            frame.to_parquet(partial, index=False)
        elif path.suffix == ".csv":
            frame.to_csv(partial, index=False)
        else:
            raise ValueError(f"{path}: write .parquet or .csv")
