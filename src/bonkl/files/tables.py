"""The one reader of users' tables (CSV, JSONL, Parquet): the header and every row checked before any value is used.

:func:`read_table` takes the columns it needs with their kind, and returns them converted, or raises
one ``ValueError`` naming the file, the column, the row (0-based, with its line in a text file) and
the fix. It checks the class of problems, not a list of cases:

* the header: a column named twice, a needed column missing;
* the shape: every CSV row has as many fields as the header (a field more must not shift the
  others), every JSONL line is one JSON object without a repeated key;
* every value of a needed column against its kind:

  - ``NUMBER``: a finite, plain decimal number (``-12.5``, ``3e-4``; spaces around it allowed),
    read to the exact double it writes; not ``nan``, ``inf``, ``1_000``, hex, other scripts' digits
    or text; JSON numbers and Parquet numbers;
  - ``TEXT``: kept as the text the user wrote (``"01"`` stays ``"01"``, the JSON number ``3.0`` is
    ``"3.0"``, not ``3``; an empty CSV field is the empty text);
  - ``KEY``: text, or a list (such as token ids) written as JSON text;
  - ``BOOL``: ``true``/``false`` (JSON or Parquet booleans; text ``true``, ``false``, ``1``, ``0`` in
    any case): the text ``"false"`` is false;
  - ``IDS``: a list of integers of any size (JSON or Parquet lists, or text ``"[1, 2]"``/``"1 2"``).

A pandas index is a column of a Parquet file like any other (pyarrow reads it as one), so ids kept
in the index are found.
"""

from __future__ import annotations

import csv
import errno
import json
import operator
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import table_format

NUMBER, TEXT, KEY, BOOL, IDS = "number", "text", "key", "bool", "ids"
_DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(rf"[ \t]*{_DECIMAL}[ \t]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TRUE, _FALSE = {"true", "1"}, {"false", "0"}
_FIX = {
    NUMBER: "write a plain decimal number such as -12.5 or 3e-4",
    TEXT: "write it as text",
    KEY: "give every sample a key (an empty response is the empty text)",
    BOOL: "write true or false",
    IDS: "write a list of integer token ids such as [12, 7, 2]",
}


class Number(str):
    """A JSON number as the text it was written with (``3.0`` stays ``"3.0"``)."""


class _Bad(ValueError):
    """What is wrong with one value (the reader adds the file, column and row)."""


def read_table(
    path, columns: Mapping[str, str], *, optional=(), what="table", fix="", keep_other=False
) -> pd.DataFrame:
    """The ``columns`` (name -> kind) of the table at ``path``, checked and converted; a column in
    ``optional`` is left out when the file lacks it. One ``ValueError`` for the first problem
    (``fix``: what a missing column's error adds, e.g. the flags that name the columns).

    ``keep_other``: also return every other column of the file, in the file's order, as written and
    unchecked (:func:`_as_written`), for a command that passes a table through with columns added."""
    path = Path(path)
    suffix = table_format(path)
    _check_file(path, what)
    read = {".csv": _read_csv, ".jsonl": _read_jsonl, ".parquet": _read_parquet}[suffix]
    names, raw, line_of = read(path, None if keep_other else list(columns))
    missing = [c for c in columns if c not in names and c not in optional]
    if missing:
        hint = f"; {fix}" if fix else ""
        raise ValueError(f"{path}: no column {', '.join(map(repr, missing))}; found {names}{hint}")
    out = {}
    for name, kind in columns.items():
        if name in raw:
            out[name] = _convert(raw[name], kind, lambda row, n=name: _where(path, n, row, line_of))
    # Checked text stays Python objects: pandas' own string type would copy millions of ids twice.
    out = {name: pd.Series(values, dtype=object) if values.dtype == object else values for name, values in out.items()}
    if keep_other:
        out = {name: out[name] if name in columns else _as_written(raw[name]) for name in raw}
    return pd.DataFrame(out)


def _check_file(path: Path, what: str) -> None:
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ValueError(f"{path}: a loop of symbolic links; point it at the {what} file itself") from None
        raise ValueError(f"{path}: no such {what} file") from None
    if not path.is_file():
        raise ValueError(f"{path}: not a file; give the {what} file itself")


def _where(path: Path, column: str, row: int, line_of: Callable | None) -> str:
    line = f" (line {line_of(row)})" if line_of is not None else ""
    return f"{path}: column {column!r}, row {row}{line}"


# ------------------------------------------------------------------------------------ formats
# Each returns (column names, {needed name: raw values}, row -> its line in the file, or None);
# ``needed`` None: every column.


def _repeated(names, path: Path, where: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{path}: {where} names the column {name!r} twice; give each column its own name")
        seen.add(name)


def _read_csv(path: Path, needed):
    """Every field as the text it holds (no value is interpreted), rows of the header's width only."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{path}: empty file, no header; the first line names the columns")
            _repeated(header, path, "the header")
            present = list(header) if needed is None else [name for name in needed if name in header]
            take = operator.itemgetter(*(header.index(name) for name in present)) if present else (lambda f: ())
            rows, lines, width = [], [], len(header)
            for fields in reader:
                if len(fields) != width:
                    if not fields:  # a blank line
                        continue
                    raise ValueError(
                        f"{path}: row {len(rows)} (line {reader.line_num}) has {len(fields)} fields where the "
                        f"header has {width}; quote a field that holds a comma, or fix the row or the header"
                    )
                rows.append(take(fields))
                lines.append(reader.line_num)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    except csv.Error as error:
        raise ValueError(f"{path}: not a readable CSV file at line {reader.line_num} ({error})") from None
    if len(present) == 1:
        rows = [(value,) for value in rows]
    columns = [list(values) for values in zip(*rows)] if rows else [[] for _ in present]
    return header, dict(zip(present, columns)), lines.__getitem__


class _RepeatedKey(ValueError):
    """A JSON object that names one key twice (json keeps the last value without a word)."""


def _object(pairs) -> dict:
    record = dict(pairs)
    if len(record) < len(pairs):
        seen = set()
        raise _RepeatedKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return record


# One decoder for every line (json.loads with options builds a new one per call): numbers keep their text.
_DECODER = json.JSONDecoder(parse_int=Number, parse_float=Number, parse_constant=Number, object_pairs_hook=_object)


def _read_jsonl(path: Path, needed):
    names, records, lines = {}, [], []
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    for line, content in enumerate(text.split("\n"), start=1):  # only \n ends a line: U+2028 may be in a string
        if not content.strip():
            continue
        try:
            record = _DECODER.decode(content)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: line {line} is not JSON ({error.msg} at column {error.colno})") from None
        except _RepeatedKey as error:
            name = str(error)
            raise ValueError(f"{path}: line {line} names the column {name!r} twice; give each its own name") from None
        if not isinstance(record, dict):
            kind = "an array" if isinstance(record, list) else "a single value"
            raise ValueError(
                f"{path}: line {line} holds {kind}, not a JSON object; a .jsonl file holds one object per line "
                '({"prompt_id": ..., ...}); for one JSON array of objects, convert it with jq -c ".[]"'
            )
        names.update(dict.fromkeys(record))
        records.append(record)
        lines.append(line)
    if not records:
        raise ValueError(f"{path}: no rows; a .jsonl file holds one JSON object per line")
    wanted = list(names) if needed is None else [name for name in needed if name in names]
    raw = {name: [record.get(name) for record in records] for name in wanted}
    return list(names), raw, lines.__getitem__


def _read_parquet(path: Path, needed):
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        _repeated(schema.names, path, "the schema")
        names = [n for n in schema.names if not n.startswith("__index_level_")]
        present = list(names) if needed is None else [name for name in needed if name in names]
        table = pq.read_table(path, columns=present)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        if "names the column" in str(error):
            raise
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise ValueError(f"{path}: not a readable Parquet file ({first}); rewrite or replace the file") from None
    return names, {name: table.column(name) for name in present}, None


# ------------------------------------------------------------------------------------ values


def _convert(values, kind: str, where):
    """``values`` (a list of raw values, or a pyarrow column) as ``kind``; errors name the first bad row."""
    if not isinstance(values, list):
        import pyarrow.types as pt

        if kind == NUMBER and (pt.is_integer(values.type) or pt.is_floating(values.type)):
            return _arrow_numbers(values, where)
        if kind in (TEXT, KEY) and values.null_count == 0:  # whole columns, as the value path writes them
            if pt.is_integer(values.type) or pt.is_string(values.type) or pt.is_large_string(values.type):
                return _distinct_texts(values)
        values = values.to_pylist()
    fast = _all_text(values) and _FAST.get(kind)
    if fast:  # every value is text (CSV, JSON numbers and strings): whole-column checks
        result = fast(values)
        if result is not None:
            return result
    parse = {NUMBER: _number, TEXT: _as_text, KEY: _as_key, BOOL: _as_bool, IDS: _as_ids}[kind]
    out, bad = [], []
    for row, value in enumerate(values):
        try:
            out.append(parse(value))
        except _Bad as problem:
            bad.append((row, problem))
    if bad:
        row, problem = bad[0]
        more = f" ({len(bad) - 1} more row(s) like it)" if len(bad) > 1 else ""
        raise ValueError(f"{where(row)}: {problem}{more}; {_FIX[kind]}")
    if kind == NUMBER:
        return np.array(out, dtype=np.float64)
    return np.array(out, dtype=bool) if kind == BOOL else _objects(out)


def _distinct_texts(column) -> np.ndarray:
    """A Parquet text or integer column as Python text (an integer as its decimal digits), made once
    per distinct value: millions of rows of a few prompts share a few objects."""
    import pyarrow.compute as pc

    distinct = pc.unique(column)
    texts = distinct.to_numpy(zero_copy_only=False)
    texts = texts.astype(str) if texts.dtype.kind in "iu" else texts
    return _objects(list(texts.tolist()))[pc.index_in(column, value_set=distinct).to_numpy()]


def _as_written(values):
    """An unchecked column as the file holds it: CSV fields as their text, JSON values as decoded
    (numbers as ``int`` or ``float`` from their text, missing keys as None), Parquet columns with
    their own types (nested ones as Python lists), so that writing them back keeps their values."""
    if isinstance(values, list):
        return _objects([_plain(value) for value in values])
    import pyarrow.types as pt

    return _objects(values.to_pylist()) if pt.is_nested(values.type) else values.to_pandas()


def _plain(value):
    """A JSON value with its numbers (kept as text by the decoder) as Python numbers."""
    if isinstance(value, Number):
        return int(value) if _INTEGER.fullmatch(value) else float(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _all_text(values) -> bool:
    return pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty")


def _text_numbers(values) -> np.ndarray | None:
    """The whole column at once, or None (then the value-by-value path names the first bad row)."""
    if not pd.Series(values, dtype=object).str.fullmatch(_NUMBER).all():
        return None
    numbers = np.array(values, dtype=object).astype(np.float64)  # Python's parser: the nearest double
    return numbers if np.all(np.isfinite(numbers)) else None


def _texts(values) -> np.ndarray:
    return _objects([str(value) for value in values])  # JSON numbers' text as plain str


_FAST = {NUMBER: _text_numbers, TEXT: _texts, KEY: _texts}


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _arrow_numbers(column, where) -> np.ndarray:
    missing = np.asarray(column.is_null())
    values = column.to_numpy(zero_copy_only=False).astype(np.float64)
    bad = missing | ~np.isfinite(np.where(missing, 0.0, values))
    if bad.any():
        row = int(np.argmax(bad))
        what = "missing value" if missing[row] else f"{values[row]!r} is not a finite number"
        raise ValueError(f"{where(row)}: {what}; {_FIX[NUMBER]}")
    return values


def _number(value) -> float:
    if isinstance(value, bool) or value is None:
        raise _Bad("missing value" if value is None else f"{_show(value)} is not a number")
    if isinstance(value, str) and not _NUMBER.fullmatch(value):
        raise _Bad(f"{_show(value)} is not a plain decimal number")
    if not isinstance(value, str | int | float):
        raise _Bad(f"{_show(value)} is not a number")
    number = float(value)  # Python's parser: the double nearest the text, for integers of any size
    if not np.isfinite(number):
        raise _Bad(f"{_show(value)} is not a finite number (a double holds at most about 1.8e308)")
    return number


def _as_text(value) -> str:
    if isinstance(value, str):  # CSV fields, JSON strings and JSON numbers as written
        return str(value)
    if value is None:
        raise _Bad("missing value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"{_show(value)} is not text")
    return repr(value)  # a Parquet number: 7 -> "7", 3.0 -> "3.0"


def _as_key(value) -> str:
    return _json_text(value) if isinstance(value, list | tuple) else _as_text(value)


def _json_text(value) -> str:
    """A list as JSON text, its numbers as written (``[1, 2]`` from JSON or Parquet alike)."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json_text(item) for item in value) + "]"
    return str(value) if isinstance(value, Number) else json.dumps(value)


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise _Bad(f"{_show(value)} is not true or false")


def _as_ids(value) -> list[int]:
    if isinstance(value, str) and not isinstance(value, Number):
        text = value.strip()
        if text.startswith("["):
            try:
                value = _DECODER.decode(text)
            except (json.JSONDecodeError, _RepeatedKey):
                raise _Bad(f"{_show(value)} is not a list of token ids") from None
        else:
            value = text.split()
    if not isinstance(value, list | tuple):
        raise _Bad(f"{_show(value)} is not a list of token ids")
    ids = []
    for token in value:
        if isinstance(token, bool) or not (
            isinstance(token, int) or (isinstance(token, str) and _INTEGER.fullmatch(token))
        ):
            raise _Bad(f"token id {_show(token)} is not an integer")
        ids.append(int(token))
    if not ids:
        raise _Bad("no token ids")
    return ids


def _show(value) -> str:
    text = repr(str(value) if isinstance(value, Number) else value)
    return text if len(text) <= 60 else text[:57] + "..."
