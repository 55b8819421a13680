"""The package's one atomic writer: a crash, a kill or a failed write never leaves a file that looks
complete, and never damages the file it was to replace.

Everything bonkl writes (tables, figures, manifests, the fetched model) goes through
:func:`atomic_path`: the data goes to a hidden sibling, is flushed to disk, and is renamed onto the
final name only when the whole write succeeded (a rename within one folder is atomic on POSIX).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .csv_text import write_csv

# Table formats by suffix; anything else is refused (never a CSV under a .parquet name).
TABLE_FORMATS = (".csv", ".parquet", ".jsonl")


@contextmanager
def atomic_path(path):
    """Yield a temporary sibling path; move it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        yield partial
        if not partial.is_file():
            raise RuntimeError(f"atomic write of {path}: nothing was written")
        with open(partial, "rb+") as handle:  # on disk before the rename, so a crash cannot swap in an empty file
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def table_format(path) -> str:
    """The table format of ``path`` from its suffix, or a ``ValueError`` naming the allowed ones."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise ValueError(
            f"{path}: cannot tell the table format from the suffix {suffix!r}; "
            f"name the file with one of {', '.join(TABLE_FORMATS)}"
        )
    return suffix


def write_table(frame, path) -> None:
    """Write a DataFrame as CSV, Parquet or JSONL (by suffix), atomically."""
    suffix = table_format(path)
    with atomic_path(path) as partial:
        if suffix == ".parquet":
            frame.to_parquet(partial, index=False)
        elif suffix == ".csv":
            write_csv(frame, partial)  # pandas' text, faster
        else:  # json, not pandas' to_json: that rounds floats to 15 digits
            with open(partial, "w", encoding="utf-8") as handle:
                for record in frame.to_dict(orient="records"):
                    handle.write(json.dumps(json_value(record), allow_nan=False) + "\n")


def json_value(value):
    """``value`` as plain JSON: numpy scalars and arrays as numbers and lists, NaN and infinities as
    null (JSON has neither; ``json.dumps`` would write the bare ``NaN`` that parsers reject)."""
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_value(value.tolist())
    if (isinstance(value, float) and not math.isfinite(value)) or value is pd.NA:
        return None
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_json(data, path) -> None:
    """Write ``data`` as one JSON document, atomically (NaN and infinities as null)."""
    write_text(json.dumps(json_value(data), indent=1, allow_nan=False) + "\n", path)


def write_text(text: str, path) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")


def check_outputs(inputs, outputs) -> None:
    """Before a command does any work: no output is an input or another output, and every output can
    be written (so that a command never stops half-way with its first output written). One
    ``ValueError`` naming the path; ``None`` entries (an option not given) are skipped."""
    refuse_overwrite(inputs, outputs)
    for out in outputs:
        if out is not None:
            _check_writable(Path(out))


def _resolved(path: Path) -> Path:
    """``path`` with its links followed, or a ``ValueError`` for a loop of links."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as error:  # Python 3.11/3.12 raise RuntimeError for a loop
        raise ValueError(f"{path}: a loop of symbolic links ({error}); point it at a real file") from None


def _check_writable(path: Path) -> None:
    target = _resolved(path)
    if target.is_dir():
        raise ValueError(f"{path}: a folder; give a file name")
    folder = target.parent
    while not folder.exists():  # write creates the missing folders: the nearest existing one decides
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{path}: cannot create its folder, {folder} is a file")
    try:  # a real write tells what permission bits cannot (read-only file systems, root, ACLs)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.probe-", delete=True)
        probe.close()
    except OSError as error:
        raise ValueError(
            f"{path}: cannot write in {folder} ({error.strerror or error}); choose another place"
        ) from None


def refuse_overwrite(inputs, outputs) -> None:
    """A ``ValueError`` if an output would replace an input, or two outputs are one file.

    Compares resolved paths, and inode identity where both exist (hard links, symlinks, ``./x``).
    """

    def same(a: Path, b: Path) -> bool:
        if _resolved(a) == _resolved(b):
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)

    inputs = [Path(p) for p in inputs if p is not None]
    outputs = [Path(p) for p in outputs if p is not None]
    for i, out in enumerate(outputs):
        for source in inputs:
            if same(out, source):
                raise ValueError(
                    f"{out}: the output is the input file {source}; write to another path "
                    "(bonkl never overwrites its input)"
                )
        for other in outputs[:i]:
            if same(out, other):
                raise ValueError(f"{out}: given as two different outputs; use two paths")
