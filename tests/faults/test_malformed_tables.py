"""Generated malformed tables through ``bonkl estimate``: the contract of the strict reader.

Hypothesis draws a valid pool (prompts, outcomes with masses summing to at most 1, copies, rewards,
keys), writes it as CSV, JSONL or Parquet, and changes it in one way drawn from a list of
mutations of the file or of its values. A *harmless* change (blank lines, CRLF, a BOM, columns in
another order, an extra column, a number written another way, a quoted field, ids in a Parquet
index) must give exactly the numbers of the unchanged pool. A *malformed* one (a field more or
less, a column named twice, a value that is not a plain decimal number, text for a boolean or a
number, null, NaN, a JSON array or scalar line, a repeated JSON key, broken JSON, bytes that are not
UTF-8, an empty prompt id, a positive log-probability) must end in exit 2 with one line naming the
file and nothing written. Nothing else may happen: no traceback, no other exit code, no output that
differs from the unchanged pool's.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bonkl.cli import main

COLUMNS = ["prompt_id", "logprob", "reward", "sample_key"]
# Text that is not a plain decimal number, each a way a number column has been seen to go wrong.
JUNK = ["nan", "NaN", "inf", "-Infinity", "1_0", "0x1p-3", "", " ", "١", "1e999", "true", "--1", "1.2.3", "−1", "1,5"]


@st.composite
def pools(draw) -> pd.DataFrame:
    """A valid pool of one to three prompts (ids that look like numbers included)."""
    rows = []
    ids = draw(st.lists(st.sampled_from(["q", "01", "1", "7", "a b", "x-y"]), min_size=1, max_size=3, unique=True))
    for prompt in ids:
        k = draw(st.integers(1, 4))
        weights = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k)))
        masses = weights / weights.sum() * draw(st.sampled_from([1.0, 0.9, 0.25]))
        rewards = draw(st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=k, max_size=k, unique=True))
        for i in range(k):
            row = [prompt, float(np.log(masses[i])), float(rewards[i]), f"k{i}"]
            rows += [row] * draw(st.integers(1, 3))
    return pd.DataFrame(rows, columns=COLUMNS)


# -- writing the pool as a user's file would hold it --


def csv_text(frame: pd.DataFrame) -> str:
    return "".join(",".join(_cell(v) for v in row) + "\n" for row in [COLUMNS, *frame.itertuples(index=False)])


def _cell(value) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    return f'"{text}"' if "," in text else text


def jsonl_text(frame: pd.DataFrame) -> str:
    return "".join(json.dumps(record) + "\n" for record in frame.to_dict("records"))


# -- the mutations: (name, format, harmless?, change) --


def _lines(text):
    return text.splitlines(keepends=True)


def _row(data, text):
    """A data row's index (not the header) drawn by the test."""
    return 1 + data.draw(st.integers(0, len(_lines(text)) - 2), label="row")


def _replace_cell(data, text, column, value):
    lines = _lines(text)
    row = _row(data, text)
    fields = lines[row].rstrip("\n").split(",")
    if len(fields) != len(COLUMNS):  # a quoted field with a comma: leave this row
        return text
    fields[COLUMNS.index(column)] = value
    lines[row] = ",".join(fields) + "\n"
    return "".join(lines)


CSV = {
    "blank lines": (True, lambda d, t: t.replace("\n", "\n\n", 2) + "\n"),
    "CRLF": (True, lambda d, t: t.replace("\n", "\r\n")),
    "BOM": (True, lambda d, t: "\ufeff" + t),
    "extra column": (True, lambda d, t: "".join(line.rstrip("\n") + ",nan\n" for line in _lines(t))),
    "quoted fields": (
        True,
        lambda d, t: (
            "".join(",".join(f'"{f}"' for f in line.rstrip("\n").split(",")) + "\n" for line in _lines(t))
            if '"' not in t
            else t
        ),
    ),
    "number written otherwise": (True, lambda d, t: _rewrite_number(d, t)),
    "columns reordered": (
        True,
        lambda d, t: "".join(",".join(reversed(line.rstrip("\n").split(","))) + "\n" for line in _lines(t)),
    ),
    "a field more": (False, lambda d, t: _row_change(d, t, lambda line: line.rstrip("\n") + ",1\n")),
    "a field less": (False, lambda d, t: _row_change(d, t, lambda line: line.rstrip("\n").rsplit(",", 1)[0] + "\n")),
    "column named twice": (False, lambda d, t: t.replace("reward", "logprob", 1)),
    "junk number": (
        False,
        lambda d, t: _replace_cell(d, t, d.draw(st.sampled_from(["logprob", "reward"])), d.draw(st.sampled_from(JUNK))),
    ),
    "empty prompt id": (False, lambda d, t: _replace_cell(d, t, "prompt_id", "")),
    "positive logprob": (False, lambda d, t: _replace_cell(d, t, "logprob", "0.5")),
    "not UTF-8": (False, lambda d, t: t.replace("k0", "k\udcff", 1)),
}


def _row_change(data, text, change):
    lines = _lines(text)
    row = _row(data, text)
    lines[row] = change(lines[row])
    return "".join(lines)


def _rewrite_number(data, text):
    """A logprob written with 17 significant digits and an exponent: the same double."""
    lines = _lines(text)
    row = _row(data, text)
    fields = lines[row].rstrip("\n").split(",")
    if len(fields) != len(COLUMNS):
        return text
    fields[1] = format(float(fields[1]), ".16e")
    lines[row] = ",".join(fields) + "\n"
    return "".join(lines)


def _record_change(data, text, change):
    lines = _lines(text)
    row = data.draw(st.integers(0, len(lines) - 1), label="row")
    record = json.loads(lines[row])
    lines[row] = change(record) + "\n"
    return "".join(lines)


JSONL = {
    "blank lines": (True, lambda d, t: "\n" + t.replace("\n", "\n\n", 1)),
    "keys reordered": (True, lambda d, t: _record_change(d, t, lambda r: json.dumps(dict(reversed(r.items()))))),
    "extra nested key": (
        True,
        lambda d, t: _record_change(d, t, lambda r: json.dumps({**r, "meta": {"a": [1, None]}})),
    ),
    "numeric id as a number": (True, lambda d, t: _record_change(d, t, _id_as_number)),
    "array line": (False, lambda d, t: _record_change(d, t, lambda r: json.dumps(list(r.values())))),
    "scalar line": (False, lambda d, t: _record_change(d, t, lambda r: "17")),
    "repeated key": (False, lambda d, t: _record_change(d, t, lambda r: json.dumps(r)[:-1] + ', "reward": 0}')),
    "broken JSON": (False, lambda d, t: _record_change(d, t, lambda r: json.dumps(r)[:-1])),
    "NaN": (False, lambda d, t: _record_change(d, t, lambda r: json.dumps({**r, "logprob": float("nan")}))),
    "number as junk text": (
        False,
        lambda d, t: _record_change(d, t, lambda r: json.dumps({**r, "reward": d.draw(st.sampled_from(JUNK))})),
    ),
    "boolean number": (False, lambda d, t: _record_change(d, t, lambda r: json.dumps({**r, "logprob": False}))),
    "null key": (False, lambda d, t: _record_change(d, t, lambda r: json.dumps({**r, "sample_key": None}))),
    "missing number": (
        False,
        lambda d, t: _record_change(d, t, lambda r: json.dumps({k: v for k, v in r.items() if k != "logprob"})),
    ),
    "object as id": (False, lambda d, t: _record_change(d, t, lambda r: json.dumps({**r, "prompt_id": {"id": 1}}))),
}


def _id_as_number(record):
    text = json.dumps(record)
    pid = record["prompt_id"]
    return text.replace(f'"prompt_id": "{pid}"', f'"prompt_id": {pid}') if pid.isdigit() and pid[0] != "0" else text


def _table_change(change):
    return lambda data, frame: change(data, frame.copy())


def _set(frame, row, column, value):
    frame[column] = frame[column].astype(object)
    frame.iloc[row, frame.columns.get_loc(column)] = value
    return frame


PARQUET = {
    "columns reordered": (True, _table_change(lambda d, f: f[list(reversed(COLUMNS))])),
    "extra column": (True, _table_change(lambda d, f: f.assign(note="nan"))),
    "ids in the index": (True, _table_change(lambda d, f: f.set_index("prompt_id"))),
    "ids as categories": (True, _table_change(lambda d, f: f.assign(prompt_id=f["prompt_id"].astype("category")))),
    "keys as token-id lists": (
        True,
        _table_change(lambda d, f: f.assign(sample_key=[[int(k[1:]), 2] for k in f["sample_key"]])),
    ),
    "null number": (False, _table_change(lambda d, f: _set(f, d.draw(st.integers(0, len(f) - 1)), "logprob", None))),
    "infinite reward": (False, _table_change(lambda d, f: f.assign(reward=np.inf))),
    "boolean reward": (False, _table_change(lambda d, f: f.assign(reward=True))),
    "junk text number": (False, _table_change(lambda d, f: f.assign(reward=d.draw(st.sampled_from(JUNK))))),
    "column named twice": (False, _table_change(lambda d, f: f.assign(extra=f["reward"]))),
}


def _write_parquet(frame: pd.DataFrame, path) -> None:
    table = pa.Table.from_pandas(frame)
    if "extra" in table.column_names:  # a schema that names one column twice, as pyarrow allows
        table = table.rename_columns([("reward" if n == "extra" else n) for n in table.column_names])
    pq.write_table(table, path)


MUTATIONS = (
    [("csv", name) for name in CSV] + [("jsonl", name) for name in JSONL] + [("parquet", name) for name in PARQUET]
)


def estimate(capsys, path, out):
    try:
        code = main(
            ["estimate", "--samples", str(path), "--n", "1,2,3", "--out", str(out), "--method", "plugin", "--quiet"]
        )
    except SystemExit as stop:  # argparse: never expected here
        code = stop.code
    return code, capsys.readouterr().err


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=pools(), mutation=st.sampled_from(MUTATIONS), data=st.data())
def test_a_malformed_table_gives_the_right_numbers_or_one_clear_error(tmp_path_factory, capsys, frame, mutation, data):
    folder = tmp_path_factory.mktemp("table")
    clean, reference = folder / "clean.parquet", folder / "reference.csv"
    frame.to_parquet(clean, index=False)
    assert estimate(capsys, clean, reference)[0] == 0  # the generator draws valid pools only
    fmt, name = mutation
    path, out = folder / f"samples.{fmt}", folder / "out.csv"
    if fmt == "parquet":
        harmless, change = PARQUET[name]
        _write_parquet(change(data, frame), path)
    else:
        harmless, change = (CSV if fmt == "csv" else JSONL)[name]
        original = csv_text(frame) if fmt == "csv" else jsonl_text(frame)
        text = change(data, original)
        assert harmless or text != original, name  # a malformed case must change the file
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    code, err = estimate(capsys, path, out)
    assert "Traceback" not in err, err
    if harmless:
        assert code == 0, f"{name}: {err}"
        got, want = (pd.read_csv(p, dtype={"prompt_id": str}) for p in (out, reference))
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    else:
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("bonkl estimate: error: "), f"{name}: {err}"
        assert str(path) in lines[0], lines[0]
        assert not out.exists(), name
