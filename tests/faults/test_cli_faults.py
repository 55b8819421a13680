"""`bonkl estimate` and `bonkl claims` under bad flags, bad pools and failing writes.

Each case ends in exit 0 with numbers inside their mathematical ranges, or exit 2 with one line
`bonkl <command>: error: ...` (argparse: `bonkl <command>: error: argument ...`), no traceback,
and the input and any earlier output untouched."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bonkl
from bonkl.cli import main
from bonkl.files import atomic
from bonkl.files.atomic import write_table
from bonkl.files.samples import read_sample_table

KL_COLUMNS = [
    "kl_bon",
    "kl_estimator_mean",
    "kl_estimator_tilted_min",
    "kl_estimator_tilted_max",
    "kl_alternate",
    "kl_corollary_4_2_bound",
]
READ = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".jsonl": lambda p: pd.read_json(p, lines=True)}


def exact_pool(masses=(0.5, 0.25, 0.25), copies=4):
    """A pool holding each outcome in proportion to its mass, keys and rewards distinct."""
    rows = []
    for i, mass in enumerate(masses):
        rows += [{"prompt_id": "q", "logprob": float(np.log(mass)), "reward": float(i), "sample_key": f"k{i}"}] * int(
            round(mass * copies * len(masses))
        )
    return pd.DataFrame(rows)


@pytest.fixture
def pool_file(tmp_path):
    path = tmp_path / "pool.parquet"
    write_table(exact_pool(), path)
    return path


def run(capsys, *argv):
    """``(exit code, stderr)``; argparse's exits included."""
    try:
        code = main(list(map(str, argv)))
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def one_clear_error(code, err, *words):
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line and not line.startswith(("usage:", " "))]
    assert len(lines) == 1 and ": error: " in lines[0], err
    for word in words:
        assert word in lines[0], err


# -- outputs never overwrite inputs; the format follows the suffix; a failed write damages nothing --


@pytest.mark.parametrize("same", ["itself", "dot_path", "symlink", "hardlink"])
def test_output_onto_the_input_is_refused(tmp_path, capsys, pool_file, same):
    before = pool_file.read_bytes()
    out = {"itself": pool_file, "dot_path": tmp_path / "." / pool_file.name}.get(same)
    if out is None:
        out = tmp_path / "link.parquet"
        (os.symlink if same == "symlink" else os.link)(pool_file, out)
    code, err = run(capsys, "estimate", "--samples", pool_file, "--n", "1,2", "--out", out, "--quiet")
    one_clear_error(code, err, "never overwrites its input")
    assert pool_file.read_bytes() == before


def test_figure_onto_the_input_or_the_table_is_refused(tmp_path, capsys, pool_file):
    out = tmp_path / "kl.csv"
    for figure, words in ((pool_file, "use one of"), (out, "use one of"), (tmp_path / "kl.png", None)):
        code, err = run(
            capsys, "estimate", "--samples", pool_file, "--n", "1,2", "--out", out, "--figure", figure, "--quiet"
        )
        if words:
            one_clear_error(code, err, words)
        else:
            assert code == 0 and figure.stat().st_size > 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_output_format_follows_the_suffix(tmp_path, capsys, pool_file, suffix):
    out = tmp_path / f"kl{suffix}"
    assert run(capsys, "estimate", "--samples", pool_file, "--n", "1,2,4", "--out", out, "--quiet")[0] == 0
    table = READ[suffix](out)
    assert len(table) == 3 and table["n"].tolist() == [1, 2, 4]


@pytest.mark.parametrize("out", ["kl.txt", "kl", "kl.parquet.bak", "kl.CSV.gz"])
def test_unknown_output_suffix_is_refused_before_any_work(tmp_path, capsys, out):
    code, err = run(capsys, "estimate", "--samples", tmp_path / "absent.csv", "--n", "1", "--out", tmp_path / out)
    one_clear_error(code, err, "suffix", ".csv, .parquet, .jsonl")
    assert not (tmp_path / out).exists()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_failed_write_keeps_the_old_output(tmp_path, capsys, pool_file, monkeypatch, suffix):
    out = tmp_path / f"kl{suffix}"
    out.write_bytes(b"the previous result")

    def broken(frame, path, *args, **kwargs):  # the disk fills up half-way through the table
        with open(path, "wb") as handle:
            handle.write(b"half a tab")
        raise OSError(28, "No space left on device")

    def broken_records(frame, *args, **kwargs):  # JSONL is written record by record
        yield {"n": 1}
        raise OSError(28, "No space left on device")

    def broken_text(frame, path):  # CSV is written as text by bonkl's own writer
        with open(path, "w") as handle:
            handle.write("half a tab")
        raise OSError(28, "No space left on device")

    if suffix == ".csv":
        monkeypatch.setattr(atomic, "write_csv", broken_text)
    else:
        name = {".parquet": "to_parquet", ".jsonl": "to_dict"}[suffix]
        monkeypatch.setattr(pd.DataFrame, name, broken_records if suffix == ".jsonl" else broken)
    code, err = run(capsys, "estimate", "--samples", pool_file, "--n", "1,2", "--out", out, "--quiet")
    one_clear_error(code, err, "No space left")
    assert out.read_bytes() == b"the previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["pool.parquet", out.name])


def test_unwritable_output_is_one_error(tmp_path, capsys, pool_file):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = run(capsys, "estimate", "--samples", pool_file, "--n", "1", "--out", blocker / "kl.csv", "--quiet")
    one_clear_error(code, err)


def test_missing_samples_file(tmp_path, capsys):
    code, err = run(capsys, "estimate", "--samples", tmp_path / "nope.csv", "--n", "1", "--out", tmp_path / "o.csv")
    one_clear_error(code, err, "nope.csv")


# -- flags --


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--n", "0"], "--n"),
        (["--n", "nan"], "--n"),
        (["--n", "inf"], "--n"),
        (["--n", "1,,x"], "--n"),
        (["--n", ""], "--n"),
        (["--n", "-2"], "--n"),
        (["--n", "1,2e7"], "in [1, 10000000], got 2e7"),
        (["--n", "10000001"], "got 10000001"),
        (["--n", "2,2"], "2 is given twice"),
        (["--n", "1", "--bootstrap", "1000000000000"], "[20, 100000]"),
        (["--n", "1", "--divergences", "1e308"], "(0, 1000000] or inf"),
        (["--n", "1", "--divergences", "0"], "(0, 1000000] or inf"),
        (["--n", "1", "--tilt", "1e308"], "(0, 1000]"),
        (["--n", "1", "--level", "0.2"], "[0.5, 1)"),
        (["--n", "1", "--key-col", "nope"], "no column 'nope'"),
        (["--n", "1", "--tilt", "0"], "--tilt"),
        (["--n", "1", "--tilt", "inf"], "tilt"),
        (["--n", "1", "--tilt", "nan"], "--tilt"),
        (["--n", "1", "--tilt", "-1"], "--tilt"),
        (["--n", "1", "--method", "exact"], "--method"),
        (["--n", "1", "--ties", "first"], "--ties"),
        (["--n", "1", "--bootstrap", "1"], "--bootstrap"),
        (["--n", "1", "--bootstrap", "-5"], "--bootstrap"),
        (["--n", "1", "--level", "1.5"], "--level"),
        (["--n", "1", "--seed", "-1"], "--seed"),
        (["--n", "1", "--prompt-col", "nope"], "no column 'nope'"),
        (["--n", "1", "--key-col", "reward"], "different columns"),
    ],
)
def test_bad_estimate_flags(tmp_path, capsys, pool_file, flags, words):
    code, err = run(capsys, "estimate", "--samples", pool_file, "--out", tmp_path / "o.csv", "--quiet", *flags)
    one_clear_error(code, err, words)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--models", "0"], "--models"),
        (["--models", "-3"], "--models"),
        (["--models", "1.5"], "--models"),
        (["--mc-draws", "0"], "--mc-draws"),
        (["--mc-draws", "99"], "--mc-draws"),
        (["--workers", "0"], "--workers"),
        (["--seed", "-1"], "--seed"),
        (["--models", "1", "--out", "claims.txt"], "suffix"),
        (["--models", "1", "--out", "c.csv", "--markdown", "c.csv"], "two different outputs"),
    ],
)
def test_bad_claims_flags(tmp_path, capsys, monkeypatch, flags, words):
    monkeypatch.chdir(tmp_path)
    code, err = run(capsys, "claims", "--quiet", *flags)
    one_clear_error(code, err, words)
    assert list(tmp_path.iterdir()) == []


def test_claims_smallest_accepted_run_has_no_false_violation(tmp_path, capsys):
    code, _ = run(
        capsys,
        "claims",
        "--models",
        "1",
        "--mc-draws",
        "100",
        "--workers",
        "1",
        "--quiet",
        "--out",
        tmp_path / "c.parquet",
    )
    assert code == 0 and pd.read_parquet(tmp_path / "c.parquet")["violations"].sum() == 0


# -- pools: generated in bulk; identities broken on purpose --


@st.composite
def pools(draw):
    """A pool of one prompt: outcomes with masses (summing to at most 1), copies, rewards, keys."""
    k = draw(st.integers(1, 6))
    weights = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=k, max_size=k)))
    total = draw(st.sampled_from([1.0, 0.999, 0.5, 1e-6]))
    masses = weights / weights.sum() * total
    copies = draw(st.lists(st.integers(1, 4), min_size=k, max_size=k))
    rewards = draw(st.lists(st.sampled_from([0.0, 1.0, -2.5, 1e300, -1e-300]), min_size=k, max_size=k))
    keyed = draw(st.booleans())
    rows = []
    for i in range(k):
        row = {"prompt_id": "p", "logprob": float(np.log(masses[i])), "reward": rewards[i]}
        if keyed:
            row["sample_key"] = f"o{i}"
        rows += [row] * copies[i]
    frame = pd.DataFrame(rows)
    if not keyed:  # without keys, equal (logprob, reward) pairs are one outcome: make pairs distinct
        assume(len(set(zip(frame["logprob"], frame["reward"]))) == k)
    return frame


def check_result(out, method):
    table = pd.read_csv(out)
    if method == "unbiased":  # no unbiased estimate past the pool size: an empty row, never a number
        past = table["n"] > table["num_samples"]
        assert table.loc[past, KL_COLUMNS[1:] + ["expected_reward", "win_rate"]].isna().all().all()
        table = table[~past]
    for column in KL_COLUMNS:
        assert np.all(np.isfinite(table[column])) and np.all(table[column] >= 0), column
    # The unbiased win rate needs n draws plus one outside them: none past n = pool size - 1.
    undefined = (table["n"] + 1 > table["num_samples"]) if method == "unbiased" else False
    win_rate = table["win_rate"]
    assert np.all(win_rate.isna() == undefined)
    assert np.all((win_rate[~win_rate.isna()] >= 0) & (win_rate[~win_rate.isna()] <= 1))
    assert np.all(table["kl_estimator_mean"] <= table["kl_bon"] + 1e-9)  # Lemma 4.5 / Theorem 3.1


NS = ["1,2,3", "1,1.5,7", "1,1e3,1e6", "2,1e5,1e7"]  # up to the largest n accepted (bonkl.cli.MAX_N)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frame=pools(),
    ns=st.sampled_from(NS),
    method=st.sampled_from(["plugin", "unbiased"]),
    ties=st.sampled_from(["random", "logprob"]),
    fmt=st.sampled_from([".csv", ".jsonl", ".parquet"]),
)
def test_generated_valid_pools_give_bounded_numbers(tmp_path_factory, capsys, frame, ns, method, ties, fmt):
    folder = tmp_path_factory.mktemp("pool")
    path, out = folder / f"pool{fmt}", folder / "kl.csv"
    write_table(frame, path)
    code, err = run(
        capsys, "estimate", "--samples", path, "--n", ns, "--out", out, "--method", method, "--ties", ties, "--quiet"
    )
    if method == "unbiased" and "." in ns:  # n must be whole for the average over n-subsets
        one_clear_error(code, err, "--n has 1.5")
    else:  # a valid pool is never refused
        assert code == 0, err
        check_result(out, method)


BROKEN = {
    "two_logprobs_one_key": lambda f: f.assign(sample_key="same"),
    "two_rewards_one_key": lambda f: f.assign(reward=np.arange(len(f), dtype=float)),
    "mass_above_one": lambda f: f.assign(logprob=np.log(0.9), sample_key=[f"u{i}" for i in range(len(f))]),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=pools(), broken=st.sampled_from(sorted(BROKEN)))
def test_generated_impossible_pools_are_refused(tmp_path_factory, capsys, frame, broken):
    frame = frame.assign(sample_key=frame.get("sample_key", pd.Series([f"o{i}" for i in range(len(frame))])))
    bad = BROKEN[broken](frame)
    keys = bad.groupby("sample_key")

    def spread(column):  # make_pool's rule: one key's values may differ by float rounding only
        return (keys[column].max() - keys[column].min() > 1e-6 * np.maximum(1.0, keys[column].max().abs())).any()

    impossible = spread("logprob") or spread("reward") or np.exp(keys["logprob"].first()).sum() > 1 + 1e-6
    assume(impossible)
    folder = tmp_path_factory.mktemp("bad")
    path, out = folder / "pool.csv", folder / "kl.csv"
    write_table(bad, path)
    code, err = run(capsys, "estimate", "--samples", path, "--n", "1,2", "--out", out, "--method", "plugin", "--quiet")
    one_clear_error(code, err)
    assert not out.exists()


def test_empty_response_key_keeps_every_draw(tmp_path, capsys):
    """Two empty responses and two "a": two outcomes of mass 1/2 each (NaN keys used to drop draws)."""
    path, out = tmp_path / "pool.csv", tmp_path / "kl.csv"
    path.write_text(
        "prompt_id,logprob,reward,sample_key\nq,-0.6931471805599453,0,\nq,-0.6931471805599453,0,\n"
        "q,-0.6931471805599453,1,a\nq,-0.6931471805599453,1,a\n"
    )
    assert len(read_sample_table(path)) == 4
    assert (
        run(capsys, "estimate", "--samples", path, "--n", "1,2", "--out", out, "--quiet", "--method", "plugin")[0] == 0
    )
    table = pd.read_csv(out)
    assert table["num_samples"].tolist() == [4, 4]
    assert table["win_rate"].tolist() == pytest.approx(bonkl.bon_win_rate(np.array([0.5, 0.5]), [1, 2]))
