"""Reading a user's sample file: values keep their meaning, damage is one clear error.

Every case ends in a frame that means what the file says, or a ValueError naming the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bonkl.files.atomic import write_table
from bonkl.files.samples import read_sample_table

FORMATS = ["csv", "jsonl", "parquet"]


def pool_frame():
    return pd.DataFrame(
        {
            "prompt_id": ["01", "1", "01", "1"],
            "logprob": [np.log(0.5), np.log(0.25), np.log(0.5), -1.0],
            "reward": [1.0, 0.0, 1.0, 2.0],
            "sample_key": ["", "a b", "", "NA"],
        }
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_stays_text(tmp_path, fmt):
    """An empty response is the key "", "NA" is a key, "01" and "1" are two prompts."""
    path = tmp_path / f"s.{fmt}"
    write_table(pool_frame(), path)
    frame = read_sample_table(path)
    assert frame["sample_key"].tolist() == ["", "a b", "", "NA"]
    assert frame["prompt_id"].tolist() == ["01", "1", "01", "1"]
    assert frame.groupby(["prompt_id", "sample_key"]).size().sum() == 4  # no draw dropped by a group-by


@pytest.mark.parametrize("fmt", FORMATS)
def test_floats_round_trip_exactly(tmp_path, fmt):
    rng = np.random.default_rng(0)
    logprob = -np.exp(rng.uniform(-700, 6, 500))
    frame = pd.DataFrame({"prompt_id": "p", "logprob": logprob, "reward": rng.standard_normal(500)})
    path = tmp_path / f"s.{fmt}"
    write_table(frame, path)
    back = read_sample_table(path)
    assert np.array_equal(back["logprob"], logprob) and np.array_equal(back["reward"], frame["reward"])


@pytest.mark.parametrize("nulls", [False, True])
def test_parquet_whole_columns_read_as_the_value_path_reads_them(tmp_path, nulls):
    """Integer and string Parquet columns are read whole (fast path); a column with a null takes the
    value-by-value path. Both give the text written: 7 -> "7", -3 -> "-3", 2**62 exact."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = [7, -3, 2**62, 7]
    table = pa.table(
        {
            "prompt_id": pa.array(["01", "1", "01", None if nulls else "1"], pa.string()),
            "logprob": [-1.0, -2.0, -1.5, -1.0],
            "reward": [0.0, 1.0, 2.0, 0.0],
            "sample_key": pa.array(keys, pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "s.parquet")
    if nulls:
        with pytest.raises(ValueError, match="prompt_id.*row 3.*missing value"):
            read_sample_table(tmp_path / "s.parquet")
        return
    frame = read_sample_table(tmp_path / "s.parquet")
    assert frame["sample_key"].tolist() == ["7", "-3", str(2**62), "7"]
    assert frame["prompt_id"].tolist() == ["01", "1", "01", "1"]


def test_key_lists_and_numbers_in_jsonl(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"prompt_id": 7, "logprob": -1, "reward": 0, "sample_key": [1, 2]}\n'
        '{"prompt_id": 7, "logprob": -1, "reward": 0, "sample_key": [1, 2]}\n'
    )
    frame = read_sample_table(path)
    assert frame["sample_key"].tolist() == ["[1, 2]", "[1, 2]"] and frame["prompt_id"].tolist() == ["7", "7"]


def write_bytes(data: bytes):
    return lambda path: path.write_bytes(data)


BAD_FILES = {
    # name: (suffix, writer, words the message must contain)
    "empty_csv": ("csv", write_bytes(b""), "empty file, no header"),
    "binary_csv": ("csv", write_bytes(bytes(range(256)) * 8), "s.csv"),
    "truncated_parquet": (
        "parquet",
        lambda p: (write_table(pool_frame(), p), p.write_bytes(p.read_bytes()[:200])),
        "not a readable Parquet file",
    ),
    "garbage_parquet": ("parquet", write_bytes(b"PAR1garbagePAR1"), "not a readable Parquet file"),
    "csv_named_parquet": ("parquet", lambda p: pool_frame().to_csv(p, index=False), "not a readable Parquet file"),
    "broken_jsonl": ("jsonl", write_bytes(b'{"prompt_id": "a", "logprob": -1,\n'), "line 1 is not JSON"),
    "null_key_jsonl": (
        "jsonl",
        write_bytes(b'{"prompt_id": "a", "logprob": -1, "reward": 0, "sample_key": null}\n'),
        "column 'sample_key', row 0 (line 1): missing value",
    ),
    "null_key_parquet": (
        "parquet",
        lambda p: pool_frame().assign(sample_key=[None, "a", "b", "c"]).to_parquet(p),
        "column 'sample_key', row 0: missing value",
    ),
    "bool_logprob": ("jsonl", write_bytes(b'{"prompt_id": "a", "logprob": true, "reward": 0}\n'), "'logprob'"),
    "text_reward": (
        "csv",
        write_bytes(b"prompt_id,logprob,reward\na,-1,high\n"),
        "'high' is not a plain decimal number",
    ),
    "inf_reward": ("csv", write_bytes(b"prompt_id,logprob,reward\na,-1,inf\n"), "'inf' is not a plain decimal"),
    "empty_logprob": ("csv", write_bytes(b"prompt_id,logprob,reward\na,,1\n"), "'' is not a plain decimal"),
    "positive_logprob": ("csv", write_bytes(b"prompt_id,logprob,reward\na,0.1,1\n"), "<= 0"),
    "empty_prompt": ("csv", write_bytes(b"prompt_id,logprob,reward\n,-1,1\n"), "empty values"),
    "header_only": ("csv", write_bytes(b"prompt_id,logprob,reward\n"), "no samples"),
    "missing_column": ("csv", write_bytes(b"prompt_id,logprob\na,-1\n"), "no column 'reward'"),
    "not_utf8": ("csv", write_bytes(b"prompt_id,logprob,reward\n\xff\xfe,-1,1\n"), "s.csv"),
    "unknown_suffix": ("txt", write_bytes(b"x"), "cannot tell the table format from the suffix"),
    "directory": ("csv", lambda p: p.mkdir(), "not a file"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_one_clear_error(tmp_path, case):
    suffix, write, words = BAD_FILES[case]
    path = tmp_path / f"s.{suffix}"
    write(path)
    with pytest.raises(ValueError) as error:
        read_sample_table(path)
    message = str(error.value)
    assert str(path) in message and words in message and "\n" not in message, message


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such samples file"):
        read_sample_table(tmp_path / "absent.csv")


CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.text(max_size=3), st.integers(0, 3), st.none()),
            CELL,
            CELL,
            st.one_of(st.text(max_size=3), st.none()),
        ),
        min_size=0,
        max_size=6,
    ),
    fmt=st.sampled_from(FORMATS),
)
def test_any_table_reads_or_fails_clearly(tmp_path_factory, rows, fmt):
    """Generated tables of junk and good values: a ValueError naming the file, or a frame whose every
    log-probability is finite and <= 0, every reward finite, every prompt id and key text."""
    path = tmp_path_factory.mktemp("junk") / f"s.{fmt}"
    frame = pd.DataFrame(rows, columns=["prompt_id", "logprob", "reward", "sample_key"])
    try:
        write_table(frame, path)
    except Exception:  # noqa: BLE001 - a frame pyarrow cannot store: not a file a user could have
        return
    try:
        result = read_sample_table(path)
    except ValueError as error:
        assert str(path) in str(error)
        return
    assert len(result) == len(frame) > 0
    assert np.all(np.isfinite(result["logprob"])) and np.all(result["logprob"] <= 0)
    assert np.all(np.isfinite(result["reward"]))
    assert all(isinstance(v, str) and v.strip() for v in result["prompt_id"])
    assert all(isinstance(v, str) for v in result["sample_key"])
