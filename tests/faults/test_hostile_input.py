"""Issue 21's hostile cases, one test each: a correct result, or one clear error (exit 2) and nothing written.

The model-dependent cases of the audit (token ids past the vocabulary) are in tests/test_audit.py;
the generated malformed tables in test_malformed_tables.py.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

import bonkl
from bonkl.cli import main
from bonkl.files.atomic import write_json, write_table
from bonkl.files.samples import read_sample_table, read_token_pool

LOG_HALF, LOG_QUARTER = float(np.log(0.5)), float(np.log(0.25))


def run(capsys, *argv):
    """``(exit code, stderr)``; argparse's exits included; never a traceback."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, err


def refused(code, err, *words):
    lines = [line for line in err.strip().splitlines() if line and not line.startswith(("usage:", " "))]
    assert code == 2 and len(lines) == 1 and ": error: " in lines[0], err
    for word in words:
        assert word in lines[0], err


@pytest.fixture
def pool(tmp_path):
    """Masses 1/2, 1/4, 1/4 with keys and distinct rewards, as a Parquet file."""
    frame = pd.DataFrame(
        {
            "prompt_id": ["q"] * 4,
            "logprob": [LOG_HALF, LOG_HALF, LOG_QUARTER, LOG_QUARTER],
            "reward": [0.0, 0.0, 1.0, 2.0],
            "sample_key": ["a", "a", "b", "c"],
        }
    )
    path = tmp_path / "pool.parquet"
    write_table(frame, path)
    return path


def strict_json(text: str):
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


# -- data loss and silent wrong answers --


def test_audit_never_writes_its_report_onto_the_pool(tmp_path, capsys, pool):
    before = pool.read_bytes()
    code, err = run(capsys, "audit", "--samples", pool, "--model", tmp_path / "m", "--out", pool)
    refused(code, err, "never overwrites its input")
    os.symlink(pool, tmp_path / "report.json")  # under another name too
    code, err = run(capsys, "audit", "--samples", pool, "--model", tmp_path / "m", "--out", tmp_path / "report.json")
    refused(code, err, "never overwrites its input")
    assert pool.read_bytes() == before


def test_repeated_n_is_refused(tmp_path, capsys, pool):
    code, err = run(capsys, "estimate", "--samples", pool, "--n", "1,2,2", "--out", tmp_path / "o.csv")
    refused(code, err, "--n", "2 is given twice")
    code, err = run(capsys, "estimate", "--samples", pool, "--n", "2,2.0", "--out", tmp_path / "o.csv")
    refused(code, err, "given twice")
    assert not (tmp_path / "o.csv").exists()


def test_key_col_naming_a_missing_column_is_an_error(tmp_path, capsys, pool):
    code, err = run(capsys, "estimate", "--samples", pool, "--n", "1", "--out", tmp_path / "o.csv", "--key-col", "k")
    refused(code, err, "no column 'k'", "--key-col")
    assert not (tmp_path / "o.csv").exists()


def test_a_csv_row_with_a_field_more_is_an_error_not_a_shift(tmp_path, capsys):
    path = tmp_path / "s.csv"
    path.write_text("prompt_id,logprob,reward\nq,-0.5,1\nq,-1.5,2,9\n")
    code, err = run(capsys, "estimate", "--samples", path, "--n", "1", "--out", tmp_path / "o.csv")
    refused(code, err, "row 1 (line 3) has 4 fields where the header has 3")
    path.write_text("prompt_id,logprob,reward\n-2,q,-0.5,1\n-2.5,q,-1.5,2\n")  # every row one more: no index
    refused(*run(capsys, "estimate", "--samples", path, "--n", "1", "--out", tmp_path / "o.csv"), "4 fields")


def test_jsonl_ids_come_out_as_written(tmp_path, capsys):
    path = tmp_path / "s.jsonl"
    path.write_text("".join(f'{{"prompt_id": {i}, "logprob": -0.5, "reward": 1}}\n' for i in ("1", "2", "3.0")))
    assert read_sample_table(path)["prompt_id"].tolist() == ["1", "2", "3.0"]
    out = tmp_path / "o.csv"
    assert run(capsys, "estimate", "--samples", path, "--n", "1", "--out", out, "--method", "plugin", "--quiet")[0] == 0
    assert pd.read_csv(out, dtype={"prompt_id": str})["prompt_id"].tolist() == ["1", "2", "3.0"]


@pytest.mark.parametrize("text, value", [('"false"', False), ('"False"', False), ('"0"', False), ("true", True)])
def test_booleans_given_as_text_keep_their_meaning(tmp_path, text, value):
    path = tmp_path / "pool.jsonl"
    path.write_text(f'{{"prompt_id": "p", "token_ids": [5, 2], "logprob": -1.5, "finished": {text}}}\n')
    assert read_token_pool(path)["finished"].tolist() == [value]


def test_a_boolean_that_is_neither_is_an_error(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text('{"prompt_id": "p", "token_ids": [5, 2], "logprob": -1.5, "finished": "no"}\n')
    with pytest.raises(ValueError, match=r"column 'finished', row 0 \(line 1\): 'no' is not true or false"):
        read_token_pool(path)


@pytest.mark.parametrize("order", ["1e308", "1e7", "inf,1e300", "0", "-1", "nan", "x"])
def test_divergence_orders_out_of_range_are_refused(tmp_path, capsys, pool, order):
    code, err = run(
        capsys, "estimate", "--samples", pool, "--n", "1", "--out", tmp_path / "o.csv", "--divergences", order
    )
    refused(code, err, "--divergences", "(0, 1000000] or inf")


def test_largest_order_and_inf_give_numbers_in_range(tmp_path, capsys, pool):
    out = tmp_path / "o.csv"
    flags = ["--divergences", "1e6,inf", "--method", "plugin", "--quiet"]
    assert run(capsys, "estimate", "--samples", pool, "--n", "1,2,1e6", "--out", out, *flags)[0] == 0
    table = pd.read_csv(out)
    for column in ("renyi_1000000", "renyi_inf", "tv", "chi2"):
        assert np.all(np.isfinite(table[column])) and np.all(table[column] >= 0), column


def test_jsonl_output_holds_null_never_nan(tmp_path, capsys, pool):
    out = tmp_path / "o.jsonl"
    assert run(capsys, "estimate", "--samples", pool, "--n", "1,4", "--out", out, "--quiet")[0] == 0
    rows = [strict_json(line) for line in out.read_text().splitlines()]
    assert rows[1]["n"] == 4 and rows[1]["win_rate"] is None  # n = pool size: no unbiased win rate


def test_json_writer_writes_null_for_nan_and_infinity(tmp_path):
    write_json({"a": float("nan"), "b": [np.inf, -np.inf, np.float64(1.5)], "c": np.int64(3)}, tmp_path / "r.json")
    assert strict_json((tmp_path / "r.json").read_text()) == {"a": None, "b": [None, None, 1.5], "c": 3}


# -- tracebacks --


def test_bootstrap_beyond_its_range_is_refused_before_any_work(tmp_path, capsys, pool):
    code, err = run(
        capsys, "estimate", "--samples", pool, "--n", "1", "--out", tmp_path / "o.csv", "--bootstrap", "1e12"
    )
    refused(code, err, "--bootstrap")
    code, err = run(
        capsys, "estimate", "--samples", pool, "--n", "1", "--out", tmp_path / "o.csv", "--bootstrap", "1000000000000"
    )
    refused(code, err, "--bootstrap", "[20, 100000]")


@pytest.mark.parametrize("which", ["--samples", "--out", "--figure"])
def test_a_symlink_loop_is_one_clear_error(tmp_path, capsys, pool, which):
    loop = tmp_path / "loop.csv"
    os.symlink(tmp_path / "other.csv", loop)
    os.symlink(loop, tmp_path / "other.csv")
    paths = {"--samples": pool, "--out": tmp_path / "o.csv", "--figure": None}
    paths[which] = loop.with_suffix(".png") if which == "--figure" else loop
    if which == "--figure":
        os.symlink(tmp_path / "other.png", paths["--figure"])
        os.symlink(paths["--figure"], tmp_path / "other.png")
    argv = ["estimate", "--n", "1", "--quiet", *[x for flag, path in paths.items() if path for x in (flag, path)]]
    refused(*run(capsys, *argv), "loop of symbolic links")
    assert not (tmp_path / "o.csv").exists()


# -- errors that help --


def test_n_past_the_limit_says_the_limit(tmp_path, capsys, pool):
    code, err = run(capsys, "estimate", "--samples", pool, "--n", "10000001", "--out", tmp_path / "o.csv")
    refused(code, err, "[1, 10000000], got 10000001")


def test_a_json_array_in_a_jsonl_file(tmp_path, capsys):
    path = tmp_path / "s.jsonl"
    path.write_text('[{"prompt_id": "q", "logprob": -1, "reward": 0}]\n')
    code, err = run(capsys, "estimate", "--samples", path, "--n", "1", "--out", tmp_path / "o.csv")
    refused(code, err, "line 1 holds an array, not a JSON object", 'jq -c ".[]"')


def test_prompt_ids_kept_in_a_parquet_index_are_read(tmp_path, capsys):
    frame = pd.DataFrame({"prompt_id": ["a", "b"], "logprob": [-1.0, -2.0], "reward": [0.0, 1.0]})
    path = tmp_path / "s.parquet"
    frame.set_index("prompt_id").to_parquet(path)
    assert read_sample_table(path)["prompt_id"].tolist() == ["a", "b"]


def test_impossible_pool_names_its_prompt_and_rows(tmp_path, capsys):
    path = tmp_path / "s.csv"
    rows = "".join(f"ok,{LOG_HALF},{i},k{i}\n" for i in range(2)) + "".join(f"bad,-0.1,{i},u{i}\n" for i in range(5))
    path.write_text("prompt_id,logprob,reward,sample_key\n" + rows)
    code, err = run(
        capsys, "estimate", "--samples", path, "--n", "1", "--out", tmp_path / "o.csv", "--method", "plugin"
    )
    refused(code, err, f"{path}: prompt 'bad'", "rows 2, 3, 4, 5, 6", "sum to")


def test_audit_seed_and_rescore_are_checked_before_the_model_loads(tmp_path, capsys, pool, monkeypatch):
    import bonkl.lm.load

    monkeypatch.setattr(bonkl.lm.load, "load_model", lambda spec: pytest.fail("the model was loaded"))
    for flags, words in (
        (["--seed", "-1"], "--seed"),
        (["--rescore", "0"], "--rescore"),
        (["--tolerance", "nan"], "tol"),
        (["--top-p", "0"], "--top-p: must be a number in (0, 1]"),
        (["--temperature", "inf"], "--temperature: must be a finite number > 0"),
    ):
        code, err = run(capsys, "audit", "--samples", pool, "--model", tmp_path / "m", *flags)
        refused(code, err, words)


def test_audit_report_must_be_json(tmp_path, capsys, pool):
    code, err = run(capsys, "audit", "--samples", pool, "--model", tmp_path / "m", "--out", tmp_path / "r.jsonl")
    refused(code, err, "name it .json")


# -- half-written results: every output checked before the first is written --


def test_figure_that_is_a_folder_stops_before_the_table_is_written(tmp_path, capsys, pool):
    (tmp_path / "fig.png").mkdir()
    out = tmp_path / "o.csv"
    code, err = run(capsys, "estimate", "--samples", pool, "--n", "1", "--out", out, "--figure", tmp_path / "fig.png")
    refused(code, err, "a folder")
    assert not out.exists()


def test_unwritable_places_stop_before_anything_is_written(tmp_path, capsys, pool):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = tmp_path / "o.csv"
    code, err = run(capsys, "estimate", "--samples", pool, "--n", "1", "--out", out, "--summary", blocker / "s.csv")
    refused(code, err, "is a file")
    assert not out.exists()
    code, err = run(capsys, "claims", "--models", "1", "--out", out, "--markdown", blocker / "c.md", "--quiet")
    refused(code, err, "is a file")
    assert not out.exists()


def test_a_read_only_place_is_refused_first(tmp_path, capsys, pool, monkeypatch):
    """Root writes through permission bits, so the write probe is made to fail as a read-only file system would."""
    import tempfile

    real = tempfile.NamedTemporaryFile
    target = tmp_path / "ro"
    target.mkdir()

    def probe(*args, dir=None, **kwargs):
        if dir is not None and os.path.samefile(dir, target):
            raise OSError(30, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", probe)
    out = tmp_path / "o.csv"
    code, err = run(capsys, "estimate", "--samples", pool, "--n", "1", "--out", out, "--figure", target / "f.png")
    refused(code, err, "Read-only file system")
    assert not out.exists()
    code, err = run(capsys, "claims", "--models", "1", "--out", out, "--markdown", target / "c.md", "--quiet")
    refused(code, err, "Read-only file system")
    assert not out.exists()


# -- --figure for many prompts: bounded panels, seconds --


def test_figure_of_many_prompts_is_bounded(tmp_path, capsys):
    rng = np.random.default_rng(0)
    prompts = 150
    frame = pd.DataFrame(
        {
            "prompt_id": np.repeat([f"p{i:03d}" for i in range(prompts)], 8),
            "logprob": np.log(np.full(prompts * 8, 1 / 16)),
            "reward": rng.permutation(prompts * 8).astype(float),
        }
    )
    path = tmp_path / "s.parquet"
    write_table(frame, path)
    figure = tmp_path / "f.png"
    code, _ = run(
        capsys, "estimate", "--samples", path, "--n", "1,2,4,8", "--out", tmp_path / "o.csv", "--figure", figure
    )
    assert code == 0
    from matplotlib.image import imread

    height, width, _ = imread(figure).shape
    assert figure.stat().st_size < 2_000_000 and width * height < 4000 * 3000, (width, height)


def test_estimates_in_range_for_the_known_pool(tmp_path, capsys, pool):
    out = tmp_path / "o.parquet"
    assert (
        run(capsys, "estimate", "--samples", pool, "--n", "1,2,3", "--out", out, "--method", "plugin", "--quiet")[0]
        == 0
    )
    table = pd.read_parquet(out)
    p = np.array([0.5, 0.25, 0.25])
    np.testing.assert_allclose(table["win_rate"], [bonkl.bon_win_rate(p, n) for n in (1, 2, 3)], rtol=1e-12)
