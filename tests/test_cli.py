"""``bonkl estimate`` on files with known answers and on bad files."""

import numpy as np
import pandas as pd
import pytest

import bonkl
from bonkl.cli import main
from bonkl.pool_table import TABLE_COLUMNS

NS = [1, 2, 4, 16, 128]


def known_model_samples():
    """Two prompts whose pools hold each outcome exactly in proportion to its mass."""
    rows, truth = [], {}
    for prompt, counts in {"A": [3, 1, 4, 1, 5], "B": [2, 7, 1]}.items():
        counts = np.array(counts)
        mass = counts / counts.sum()
        reward = np.arange(counts.size, dtype=float)[::-1]  # reward order opposite to the index
        for outcome, count in enumerate(counts):
            rows += [
                {
                    "prompt_id": prompt,
                    "logprob": np.log(mass[outcome]),
                    "reward": reward[outcome],
                    "sample_key": f"{prompt}-{outcome}",
                }
            ] * count
        truth[prompt] = mass[np.argsort(reward)]
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=0)
    return frame, truth


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_estimate_known_answers(tmp_path, fmt):
    frame, truth = known_model_samples()
    path = tmp_path / f"samples.{fmt}"
    {
        "csv": lambda: frame.to_csv(path, index=False),
        "jsonl": lambda: frame.to_json(path, orient="records", lines=True),
        "parquet": lambda: frame.to_parquet(path),
    }[fmt]()
    out = tmp_path / "out.csv"
    # The plug-in over a pool whose frequencies are the model's masses is the model's best-of-n.
    assert (
        main(
            [
                "estimate",
                "--samples",
                str(path),
                "--n",
                ",".join(map(str, NS)),
                "--out",
                str(out),
                "--method",
                "plugin",
                "--quiet",
            ]
        )
        == 0
    )
    result = pd.read_csv(out)
    assert list(result.columns) == TABLE_COLUMNS
    for prompt, p in truth.items():
        rows = result[result["prompt_id"] == prompt]
        np.testing.assert_allclose(rows["n"], NS)
        # Every outcome is in the pool, so the samples bound F exactly: the bound is the exact KL.
        np.testing.assert_allclose(rows["kl_corollary_4_2_bound"], bonkl.kl_exact(p, NS), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(rows["kl_estimator_mean"], bonkl.expected_kl_estimator(p, NS), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(rows["win_rate"], bonkl.bon_win_rate(p, NS), rtol=1e-12)
        assert np.all(rows["kl_estimator_tilted_min"] <= rows["kl_estimator_mean"] + 1e-12)
        assert np.all(rows["kl_estimator_tilted_max"] >= rows["kl_estimator_mean"] - 1e-12)


def test_estimate_without_key_merges_by_logprob_and_reward(tmp_path):
    frame, truth = known_model_samples()
    path = tmp_path / "samples.csv"
    frame.drop(columns="sample_key").to_csv(path, index=False)
    out = tmp_path / "out.csv"
    assert (
        main(["estimate", "--samples", str(path), "--n", "1,8", "--out", str(out), "--method", "plugin", "--quiet"])
        == 0
    )
    rows = pd.read_csv(out).query("prompt_id == 'A'")
    np.testing.assert_allclose(
        rows["kl_corollary_4_2_bound"], bonkl.kl_exact(truth["A"], [1, 8]), rtol=1e-9, atol=1e-12
    )


def test_estimate_default_is_unbiased_and_leaves_n_past_the_pool_empty(tmp_path, capsys):
    frame, _ = known_model_samples()  # prompt A has 14 samples, B 10
    path = tmp_path / "samples.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    assert main(["estimate", "--samples", str(path), "--n", "1,4,12,16", "--out", str(out)]) == 0
    assert "2 prompt(s) have fewer samples than n = 16 ('A' (14), 'B' (10))" in capsys.readouterr().err
    rows = pd.read_csv(out)
    empty = rows["n"] > rows["num_samples"]
    assert empty.sum() == 3 and rows.loc[empty, "kl_estimator_mean"].isna().all()
    assert rows.loc[~empty, "kl_estimator_mean"].notna().all()
    assert (
        main(
            [
                "estimate",
                "--samples",
                str(path),
                "--n",
                "1,4,10",
                "--out",
                str(out),
                "--quiet",
                "--bootstrap",
                "50",
                "--seed",
                "3",
                "--summary",
                str(tmp_path / "summary.csv"),
            ]
        )
        == 0
    )
    rows = pd.read_csv(out).query("prompt_id == 'B'")
    assert rows["win_rate"].iloc[:2].between(0, 1).all() and np.isnan(rows["win_rate"].iloc[2])  # n + 1 > N
    shown = rows["kl_estimator_mean_ci_low"].notna()
    assert (rows["kl_estimator_mean_ci_low"][shown] <= rows["kl_estimator_mean_ci_high"][shown]).all()
    assert rows["ci_note"].iloc[1:].str.contains("n > N/8").all()  # n = 4, 10 > 10/8
    assert not rows["beyond_pool"].any()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["num_prompts"].tolist() == [2, 2, 2]


def test_estimate_other_column_names(tmp_path):
    frame, _ = known_model_samples()
    path = tmp_path / "samples.csv"
    frame.rename(columns={"prompt_id": "q", "logprob": "lp", "reward": "score"}).to_csv(path, index=False)
    out = tmp_path / "out.csv"
    code = main(
        [
            "estimate",
            "--samples",
            str(path),
            "--n",
            "2",
            "--out",
            str(out),
            "--quiet",
            "--prompt-col",
            "q",
            "--logprob-col",
            "lp",
            "--reward-col",
            "score",
        ]
    )
    assert code == 0 and len(pd.read_csv(out)) == 2


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda f: f.drop(columns="reward"), "no column 'reward'"),
        (lambda f: f.assign(logprob=f["logprob"].where(f.index != f.index[3], np.nan)), "'logprob', row 3 (line 5)"),
        (lambda f: f.assign(logprob=f["logprob"].abs() + 0.1), "logprob must be a natural log-probability"),
        (lambda f: f.assign(prompt_id=f["prompt_id"].where(f.index != f.index[0], "")), "empty values"),
        (lambda f: f.iloc[0:0], "no samples"),
    ],
)
def test_estimate_bad_files(tmp_path, capsys, mutate, message):
    frame, _ = known_model_samples()
    path = tmp_path / "bad.csv"
    mutate(frame).to_csv(path, index=False)
    out = tmp_path / "out.csv"
    assert main(["estimate", "--samples", str(path), "--n", "1,2", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err
    assert not out.exists()


def test_estimate_bad_arguments(tmp_path, capsys):
    path = tmp_path / "samples.txt"
    path.write_text("x")
    assert main(["estimate", "--samples", str(path), "--n", "1", "--out", str(tmp_path / "o.csv")]) == 2
    assert "cannot tell the table format from the suffix '.txt'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["estimate", "--samples", str(path), "--n", "0.5,2", "--out", "o.csv"])
    assert "argument --n: each n must be a number in [1, 10000000], got 0.5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["estimate", "--samples", str(path), "--n", "2", "--out", "o.csv", "--threads", "0"])
    assert "argument --threads: must be a whole number in [1, 1024], got 0" in capsys.readouterr().err


def test_estimate_divergences_are_exact_when_the_pool_is_the_model(tmp_path):
    frame, truth = known_model_samples()
    path = tmp_path / "samples.parquet"
    frame.to_parquet(path)
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "estimate",
                "--samples",
                str(path),
                "--n",
                "1,2,8",
                "--out",
                str(out),
                "--method",
                "plugin",
                "--divergences",
                "0.5,2",
                "--quiet",
            ]
        )
        == 0
    )
    rows = pd.read_json(out, lines=True).query("prompt_id == 'A'")
    for alpha in (0.5, 2.0):
        np.testing.assert_allclose(
            rows[f"renyi_{alpha:g}"], bonkl.renyi_divergence_bon(truth["A"], [1, 2, 8], alpha), rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(rows[f"renyi_{alpha:g}_bound"], bonkl.renyi_bound([1, 2, 8], alpha), rtol=1e-12)
    np.testing.assert_allclose(rows["chi2"], bonkl.chi2_divergence_bon(truth["A"], [1, 2, 8]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rows["tv"], bonkl.tv_distance_bon(truth["A"], [1, 2, 8]), rtol=1e-9, atol=1e-12)


def test_summary_group_col_and_figure(tmp_path, capsys):
    """--summary averages over prompts (per --group-col value); --figure draws the average and at
    most 12 prompt panels, however many prompts there are."""
    rng = np.random.default_rng(5)
    p = np.arange(1, 31) ** -1.0
    p /= p.sum()
    rows = []
    for prompt in range(30):
        for draw in rng.choice(30, 24, p=p):
            rows.append(
                {
                    "prompt_id": f"p{prompt:02d}",
                    "logprob": np.log(p[draw]),
                    "reward": float(draw % 11),
                    "sample_key": str(draw),
                    "suite": "a" if prompt < 10 else "b",
                }
            )
    path = tmp_path / "s.parquet"
    pd.DataFrame(rows).to_parquet(path)
    out, summary, figure = tmp_path / "o.csv", tmp_path / "avg.jsonl", tmp_path / "f.png"
    code = main(
        [
            "estimate",
            "--samples",
            str(path),
            "--n",
            "1,2,3",
            "--out",
            str(out),
            "--summary",
            str(summary),
            "--group-col",
            "suite",
            "--figure",
            str(figure),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "num_prompts" in printed and "kl_estimator_mean" in printed
    table, average = pd.read_csv(out), pd.read_json(summary, lines=True)
    assert set(average["suite"]) == {"a", "b"} and sorted(average["num_prompts"].unique()) == [10, 20]
    mine = table[(table["suite"] == "a") & (table["n"] == 2)]["expected_reward"].mean()
    got = average[(average["suite"] == "a") & (average["n"] == 2)]["expected_reward"].iloc[0]
    assert got == pytest.approx(mine, rel=1e-12)
    assert figure.stat().st_size > 0


def test_columns_command(capsys):
    assert main(["columns"]) == 0
    assert "kl_corollary_4_2_bound" in capsys.readouterr().out


def test_estimate_default_threads_where_the_system_cannot_list_its_cpus(monkeypatch):
    """macOS has no ``os.sched_getaffinity``: the default thread count falls back to the CPU count."""
    import os

    from bonkl.cli.estimate import _available_cpus

    assert _available_cpus() >= 1
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert _available_cpus() == 3
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert _available_cpus() == 1
