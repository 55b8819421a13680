"""CSV as pandas writes it (``frame.to_csv(index=False)``), byte for byte, in a fraction of its time.

pandas formats every float with Python's ``repr`` (about a microsecond each): for a table of 10^4
prompts x 7 values of ``n`` that is most of the time ``bonkl estimate`` spends outside the
mathematics. Here Arrow's shortest round-trip formatting writes the floats whose text is the same as
``repr``'s (``1e-4 <= |x| < 1e10`` and not whole, or whole below 1e15 with ``.0`` appended: checked
on a sample of every column), and ``repr`` the rest; Python's ``csv`` writer, which pandas uses
too, quotes the fields. Frames holding anything else than float64, integer, bool and text columns
are written by pandas itself (:func:`formats` says which).
"""

from __future__ import annotations

import csv
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ROWS = 50_000  # rows formatted at once: bounds the memory of the text
SAMPLE = 200  # floats of each kind per column whose Arrow text is checked against repr


def _floats(values: np.ndarray) -> list[str]:
    """``repr`` of each float, ``''`` for NaN: Arrow's text where it is ``repr``'s (whole numbers
    with ``.0`` appended), checked on a sample; ``repr`` for the rest."""
    size, missing = np.abs(values), np.isnan(values)
    with np.errstate(invalid="ignore"):
        whole = (values == np.floor(values)) & (size < 1e15)
        plain = np.isfinite(values) & ~whole & (size >= 1e-4) & (size < 1e10)
    text = pc.cast(pa.array(values, mask=missing), pa.string())
    text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, ".0", ""), text)
    text = pc.fill_null(text, "").to_pylist()
    sample = [i for kind in (plain, whole) for i in _spread(np.flatnonzero(kind))]
    if any(text[i] != repr(float(values[i])) for i in sample):  # another Arrow's format: repr throughout
        plain[:], whole[:] = False, False
    for i in np.flatnonzero(~(plain | whole | missing)).tolist():
        text[i] = repr(float(values[i]))
    return text


def _spread(positions: np.ndarray) -> list[int]:
    """Up to ``SAMPLE`` of ``positions``, evenly spread."""
    if positions.size <= SAMPLE:
        return positions.tolist()
    return positions[np.linspace(0, positions.size - 1, SAMPLE).astype(np.int64)].tolist()


def _texts(values: np.ndarray) -> list[str]:
    """Text fields, ``''`` for missing values."""
    return ["" if value is None or value is pd.NA or value != value else value for value in values.tolist()]


def _column(values: np.ndarray) -> list[str]:
    """One column's fields (of a type :func:`formats` accepts)."""
    if values.dtype == np.float64:
        return _floats(values)
    if values.dtype.kind == "b":
        return ["True" if value else "False" for value in values.tolist()]
    if values.dtype.kind in "iu":
        return list(map(str, values.tolist()))
    return _texts(values)


def formats(frame: pd.DataFrame) -> bool:
    """Whether every column is one this module writes as pandas does: float64, integer, bool, text."""
    names = list(frame.columns)
    if len(names) < 2 or not all(isinstance(name, str) for name in names):
        return False  # one column: csv quotes an empty row; pandas owns the odd cases
    for j, kind in enumerate(frame.dtypes):
        if isinstance(kind, np.dtype) and (kind == np.float64 or kind.kind in "biu"):
            continue
        if not (kind == np.dtype(object) or isinstance(kind, pd.StringDtype)):  # nullable, categorical, dates...
            return False
        if pd.api.types.infer_dtype(frame.iloc[:, j], skipna=True) not in ("string", "empty"):
            return False
    return True


def write_csv(frame: pd.DataFrame, path) -> None:
    """Write ``frame`` to ``path`` as ``frame.to_csv(path, index=False)`` does (by pandas itself where
    :func:`formats` is False)."""
    if not formats(frame):
        frame.to_csv(path, index=False)
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator=os.linesep)  # as pandas' writer: it quotes where needed
        writer.writerow(frame.columns)
        for start in range(0, len(frame), ROWS):
            part = frame.iloc[start : start + ROWS]
            writer.writerows(zip(*(_column(part.iloc[:, j].to_numpy()) for j in range(part.shape[1]))))
