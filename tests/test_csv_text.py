"""The fast CSV writer against pandas itself: the same bytes, or pandas writes the file."""

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bonkl.files import csv_text
from bonkl.files.atomic import write_table

# Floats where Arrow's and repr's layouts part: whole numbers, the ends of the plain range, signed zero.
EDGES = [0.0, -0.0, 1.0, -3.0, 16.0, 1e-4, 9.999e-5, 1e-5, 1.5e-7, 1e10, 9999999999.5, 1e15, 1e16, 123456789012345.0]
EDGES += [9999999999999998.0, 5e-324, 1.7976931348623157e308, np.inf, -np.inf, np.nan, 0.1, 1 / 3, 2.5e-4]
TEXT = st.text(alphabet=st.sampled_from(list("ab ,\"\n\r\t;é😀\\'")), max_size=6)


def ours(frame, tmp_path) -> str | None:
    """bonkl's text of ``frame``, or None where it leaves the frame to pandas."""
    if not csv_text.formats(frame):
        return None
    csv_text.write_csv(frame, tmp_path / "ours.csv")
    return (tmp_path / "ours.csv").read_bytes().decode()


@st.composite
def frames(draw):
    rows = draw(st.integers(0, 30))
    floats = arrays(np.float64, rows, elements=st.one_of(st.floats(allow_nan=True), st.sampled_from(EDGES)))
    columns = {
        "x": draw(floats),
        "y, quoted": draw(arrays(np.float64, rows, elements=st.floats(-1e12, 1e12))),
        "k": draw(arrays(np.int64, rows)),
        "flag": draw(arrays(np.bool_, rows)),
        "text": draw(st.lists(st.one_of(TEXT, st.none()), min_size=rows, max_size=rows)),
    }
    return pd.DataFrame(columns)


@settings(max_examples=300, deadline=None)
@given(frame=frames())
def test_the_text_is_pandas_text_byte_for_byte(frame, tmp_path_factory):
    assert ours(frame, tmp_path_factory.mktemp("csv")) == frame.to_csv(index=False)


def test_every_edge_float_and_a_table_of_many_blocks(monkeypatch, tmp_path):
    monkeypatch.setattr(csv_text, "ROWS", 7)  # blocks of 7 rows: the writer's seams are crossed
    rng = np.random.default_rng(0)
    values = np.concatenate([EDGES, 10 ** rng.uniform(-6, 17, 2_000) * rng.choice([-1, 1], 2_000)])
    with np.errstate(over="ignore"):  # round(x, 3) scales by 1000: the largest floats become inf, edges too
        values = np.concatenate([values, np.round(values, 3), np.floor(values)])
    frame = pd.DataFrame({"value": values, "id": [f"q{i}" for i in range(values.size)]})
    frame.loc[::5, "id"] = None
    assert ours(frame, tmp_path) == frame.to_csv(index=False)


def test_another_arrow_format_falls_back_to_repr(monkeypatch, tmp_path):
    frame = pd.DataFrame({"a": np.linspace(0.1, 0.9, 50), "b": np.arange(50.0)})

    def cast(array, kind):  # an Arrow that writes floats with 3 digits
        return csv_text.pa.array([f"{v:.3g}" for v in array.to_pylist()], kind)

    monkeypatch.setattr(csv_text.pc, "cast", cast)
    assert ours(frame, tmp_path) == frame.to_csv(index=False)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"only": ["", "a"]}),  # one column: csv quotes an empty row
        pd.DataFrame({"a": np.float32([0.1, 0.2]), "b": [1, 2]}),
        pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [1, 2]}),
        pd.DataFrame({"a": pd.Categorical(["x", "y"]), "b": [1, 2]}),
        pd.DataFrame({"a": ["x", 3], "b": [1, 2]}),  # text mixed with numbers
        pd.DataFrame([[1, 2]], columns=[0, 1]),  # names that are not text
    ],
)
def test_frames_it_does_not_format_are_left_to_pandas(frame, tmp_path):
    assert ours(frame, tmp_path) is None
    write_table(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == frame.to_csv(index=False).encode()


def test_write_table_writes_pandas_bytes(tmp_path):
    frame = pd.DataFrame({"prompt_id": ["a,b", 'say "hi"', None], "n": [1.0, 2.0, np.nan], "flag": [True, False, True]})
    write_table(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == frame.to_csv(index=False).encode()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), pd.read_csv(io.StringIO(frame.to_csv(index=False))))
