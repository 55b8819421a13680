"""``bonkl rescore`` on the tiny enumerable model: a pool drawn by transformers' ``generate(top_p=0.9)``
in bfloat16 weights gets the exact float32 logprob (against every outcome enumerated), a recorded
logprob is checked, identical responses' engine noise is accepted within ``--spread-tolerance`` and
reported, the output goes straight into ``bonkl estimate``; bad flags and inputs stop with one line,
exit 2, before the model loads, and nothing is written."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch
from engine_pool import engine_copy, generate_pool
from exact import enumerate_pairs, generate_processors

from bonkl.cli import main
from bonkl.files.atomic import write_table
from bonkl.lm.processors import SamplerSettings
from bonkl.lm.prompts import chat_prompt_ids
from bonkl.lm.sampling import eos_token_ids

MAX_NEW = 4
TOP_P = SamplerSettings(top_p=0.9)
TEXTS = {"short": "ab", "long": "babba"}
READ = {".csv": pd.read_csv, ".jsonl": lambda p, **kw: pd.read_json(p, lines=True, **kw)}


@pytest.fixture(scope="module")
def base(tiny):
    """Prompts and, per prompt, every outcome's exact (log pi, log q under top-p 0.9)."""
    model, tokenizer = tiny
    prompts = {pid: chat_prompt_ids(tokenizer, text) for pid, text in TEXTS.items()}
    eos = eos_token_ids(model, tokenizer)
    log_pi = {pid: enumerate_pairs(model, p, MAX_NEW, eos) for pid, p in prompts.items()}
    processors = generate_processors(model, TOP_P)
    log_q = {pid: enumerate_pairs(model, p, MAX_NEW, eos, processors) for pid, p in prompts.items()}
    exact = {
        pid: {seq: (pi, log_q[pid].get(seq, (0.0, -np.inf))[1]) for seq, (pi, _) in log_pi[pid].items()}
        for pid in prompts
    }
    return prompts, exact


@pytest.fixture(scope="module")
def engine(tiny, base) -> pd.DataFrame:
    """300 responses of generate(top_p=0.9) in bfloat16 weights, prompts interleaved in batches of 2,
    16 and 200 (identical responses meet different batch compositions): token ids, the engine's log
    q, the prompt's ids and a reward, as a user's pool arrives."""
    model, _ = tiny
    prompts, _ = base
    order = list(np.random.default_rng(0).choice(sorted(prompts), size=300))
    bf16 = engine_copy(model, torch.bfloat16)
    parts = [
        generate_pool(bf16, prompts, order[i::3], MAX_NEW, 0.9, seed=i, batch=b) for i, b in enumerate((2, 16, 200))
    ]
    pool = pd.concat(parts, ignore_index=True)
    return pool.assign(
        prompt_token_ids=[prompts[pid] for pid in pool["prompt_id"]],
        reward=-pool["token_ids"].map(len).astype(float),
    )


def _exact(base, pool) -> np.ndarray:
    """[N, 2] exact (log pi, log q) of each sample."""
    exact = base[-1]
    return np.array([exact[pid][tuple(int(t) for t in ids)] for pid, ids in zip(pool["prompt_id"], pool["token_ids"])])


def rescore(capsys, pool, tmp_path, *flags, tiny_dir, fmt="parquet", out="out.parquet"):
    """Write the pool, run ``bonkl rescore``; ``(exit code, stdout, stderr, out path)``."""
    path = tmp_path / f"pool.{fmt}"
    if not path.exists():
        write_table(pool, path)
    out = tmp_path / out
    try:
        code = main(["rescore", "--samples", str(path), "--model", str(tiny_dir), "--out", str(out), *map(str, flags)])
    except SystemExit as stop:  # argparse
        code = stop.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    return code, captured.out, captured.err, out


def one_line(code, err, *words):
    lines = [line for line in err.strip().splitlines() if line and not line.startswith(("usage:", " "))]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("bonkl rescore: error: "), err
    for word in words:
        assert word in lines[0], err


# -- the re-scored pool --


def test_rescore_adds_the_exact_logprob_and_estimate_reads_it(tmp_path, capsys, tiny_dir, base, engine):
    code, text, _, out = rescore(
        capsys, engine, tmp_path, "--top-p", "0.9", "--report", tmp_path / "r.json", tiny_dir=tiny_dir
    )
    assert code == 0, text
    pool = pd.read_parquet(out)
    want = _exact(base, pool)
    assert len(pool) == len(engine) and pool["prompt_id"].tolist() == engine["prompt_id"].tolist()
    assert np.abs(pool["logprob"].to_numpy() - want[:, 0]).max() < 1e-5  # float32, batched, EOS included
    inside = np.isfinite(want[:, 1])
    assert np.abs(pool["reference_sampler_logprob"].to_numpy()[inside] - want[inside, 1]).max() < 1e-5
    # the engine's own values kept as recorded; one canonical value (the first draw's) per response
    assert np.array_equal(pool["recorded_sampler_logprob"], engine["sampler_logprob"])
    key = pool["prompt_id"] + "|" + pool["sample_key"]
    assert (pool.groupby(key)["sampler_logprob"].nunique() == 1).all()
    first = pool.groupby(key)["recorded_sampler_logprob"].transform("first")
    assert np.array_equal(pool["sampler_logprob"], first)
    spread = pool.groupby(key)["recorded_sampler_logprob"].transform(lambda v: v.max() - v.min())
    assert np.array_equal(pool["sampler_logprob_spread"], spread)
    assert pool["reward"].tolist() == engine["reward"].tolist()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["engine_noise"]["largest_spread"] == spread.max() and report["written"] == str(out)
    assert f"largest spread {spread.max():.3g} nats" in text and "mixed" in text  # the bfloat16 engine's q

    est = tmp_path / "est.csv"
    assert (
        main(
            [
                "estimate",
                "--samples",
                str(out),
                "--sampler-logprob-col",
                "sampler_logprob",
                "--n",
                "1,4",
                "--out",
                str(est),
            ]
        )
        == 0
    )
    table = pd.read_csv(est)
    assert table[["sampler_log_ratio", "kl_to_reference_estimator_mean"]].notna().all().all()
    n1 = table[table["n"] == 1].set_index("prompt_id")["sampler_log_ratio"]
    for pid, group in pool.groupby("prompt_id"):  # at n = 1: the pool's mean of log q - log pi
        assert n1[pid] == pytest.approx((group["sampler_logprob"] - group["logprob"]).mean(), abs=1e-12)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_text_pools_with_prompts_from_a_prompt_set_keep_their_other_columns(
    tmp_path, capsys, tiny_dir, base, engine, fmt
):
    pool = engine.drop(columns="prompt_token_ids").assign(note="01", weight=0.5)
    (tmp_path / "prompts.yaml").write_text(
        "prompts:\n" + "".join(f'  - id: {pid}\n    text: "{text}"\n' for pid, text in TEXTS.items())
    )
    code, text, _, out = rescore(
        capsys, pool, tmp_path, "--prompts", tmp_path / "prompts.yaml", tiny_dir=tiny_dir, fmt=fmt, out=f"out.{fmt}"
    )
    assert code == 0, text
    result = READ[out.suffix](out, dtype={"note": str})
    assert result["note"].astype(str).tolist() == ["01"] * len(pool) and (result["weight"] == 0.5).all()
    assert np.abs(result["logprob"].to_numpy() - _exact(base, engine)[:, 0]).max() < 1e-5
    assert "reference_sampler_logprob" not in result  # no sampler settings given: nothing to compare


def test_a_recorded_logprob_is_checked(tmp_path, capsys, tiny_dir, base, engine):
    exact = engine.assign(logprob=_exact(base, engine)[:, 0])
    code, text, _, out = rescore(capsys, exact, tmp_path, tiny_dir=tiny_dir)
    assert code == 0 and "[OK  ] pool logprob - reference" in text, text
    pool = pd.read_parquet(out)
    assert np.array_equal(pool["recorded_logprob"], exact["logprob"]) and list(pool.columns).index("logprob") == 5

    # the processed log q (float32 top-p) recorded as logprob: higher than log pi, refused, nothing written
    want = _exact(base, engine)
    wrong = engine.assign(logprob=np.where(np.isfinite(want[:, 1]), want[:, 1], want[:, 0] + 0.1))
    code, text, _, out = rescore(capsys, wrong, tmp_path / "w", "--report", tmp_path / "w.json", tiny_dir=tiny_dir)
    assert code == 1 and "[FAIL]" in text and "systematically higher" in text and "--replace-logprob" in text, text
    assert (
        not out.exists() and json.loads((tmp_path / "w.json").read_text())["checks"]["logprob"]["pattern"] == "higher"
    )
    code, text, _, out = rescore(capsys, wrong, tmp_path / "w", "--replace-logprob", tiny_dir=tiny_dir)
    assert code == 0 and "[WARN]" in text, text
    assert np.abs(pd.read_parquet(out)["logprob"].to_numpy() - _exact(base, engine)[:, 0]).max() < 1e-5

    # one row off by 2e-3: beyond the default tolerance 1e-3, within 1e-2
    off = exact.assign(logprob=exact["logprob"] - np.where(exact.index == 7, 2e-3, 0.0))
    assert rescore(capsys, off, tmp_path / "o", tiny_dir=tiny_dir)[0] == 1
    assert rescore(capsys, off, tmp_path / "o", "--tolerance", "1e-2", tiny_dir=tiny_dir)[0] == 0


def _twins(engine, gap: float) -> pd.DataFrame:
    """The pool with three more draws of row 0's response whose engine log q differs by up to ``gap``."""
    twins = engine.iloc[[0, 0, 0]].assign(sampler_logprob=engine.at[0, "sampler_logprob"] + np.array([gap, gap / 2, 0]))
    return pd.concat([engine, twins], ignore_index=True)


def test_engine_noise_is_accepted_within_the_tolerance_and_reported(tmp_path, capsys, tiny_dir, engine, monkeypatch):
    pool = _twins(engine, 0.02)
    key = " ".join(map(str, engine.at[0, "token_ids"]))
    code, text, _, out = rescore(capsys, pool, tmp_path, "--report", tmp_path / "r.json", tiny_dir=tiny_dir)
    assert code == 0 and "largest spread 0.02 nats" in text and "0 above --spread-tolerance 0.05" in text, text
    result = pd.read_parquet(out)
    twins = (result["prompt_id"] == engine.at[0, "prompt_id"]) & (result["sample_key"] == key)
    assert (result.loc[twins, "sampler_logprob"] == engine.at[0, "sampler_logprob"]).all()  # the first draw's
    assert result.loc[twins, "sampler_logprob_spread"].to_numpy() == pytest.approx(0.02)
    groups = json.loads((tmp_path / "r.json").read_text())["spread_groups"]
    assert {"prompt_id": engine.at[0, "prompt_id"], "sample_key": key} in [
        {k: g[k] for k in ("prompt_id", "sample_key")} for g in groups
    ]

    code, text, _, out = rescore(capsys, pool, tmp_path / "m", "--canonical", "mean", tiny_dir=tiny_dir)
    assert code == 0
    mean = pd.read_parquet(out).loc[twins, "sampler_logprob"]
    assert mean.to_numpy() == pytest.approx(pool.loc[twins.to_numpy(), "sampler_logprob"].mean())

    # above the tolerance: refused before the model loads, the responses named, only the report written
    import bonkl.lm.load

    monkeypatch.setattr(bonkl.lm.load, "load_model", lambda spec: pytest.fail("the model was loaded"))
    code, text, _, out = rescore(
        capsys, pool, tmp_path / "t", "--spread-tolerance", "0.01", "--report", tmp_path / "t.json", tiny_dir=tiny_dir
    )
    draws = int(twins.sum())
    assert code == 1 and "[FAIL]" in text and f"response [{key}] ({draws} draws): 0.02 nats" in text, text
    assert not out.exists() and json.loads((tmp_path / "t.json").read_text())["engine_noise"]["above_tolerance"] >= 1


# -- bad flags and inputs: one line, exit 2, before the model loads, nothing written --


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--batch-size", "0"], ["--batch-size", "[1, 4096]"]),
        (["--top-p", "1.5"], ["--top-p", "(0, 1]"]),
        (["--top-k", "-1"], ["--top-k", ">= 0"]),
        (["--top-k", "2.5"], ["--top-k", "whole number"]),
        (["--temperature", "0"], ["--temperature", "> 0"]),
        (["--min-p", "1"], ["--min-p", "[0, 1)"]),
        (["--spread-tolerance", "-1"], ["--spread-tolerance", "[0, 100]"]),
        (["--tolerance", "nan"], ["--tolerance", "(0, 100]"]),
        (["--canonical", "last"], ["--canonical"]),
        (["--report", "r.csv"], ["--report", ".json"]),
    ],
)
def test_bad_flags_stop_before_the_model_loads(tmp_path, capsys, tiny_dir, engine, monkeypatch, flags, words):
    import bonkl.lm.load

    monkeypatch.setattr(bonkl.lm.load, "load_model", lambda spec: pytest.fail("the model was loaded"))
    code, _, err, out = rescore(capsys, engine, tmp_path, *flags, tiny_dir=tiny_dir)
    one_line(code, err, *words)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["pool.parquet"]


def _bad_pool(engine, case: str) -> pd.DataFrame:
    if case == "no_sampler_logprob":
        return engine.drop(columns="sampler_logprob")
    if case == "positive":
        return engine.assign(sampler_logprob=np.where(engine.index == 4, 0.5, engine["sampler_logprob"]))
    if case == "nan":
        return engine.assign(sampler_logprob=np.where(engine.index == 4, np.nan, engine["sampler_logprob"]))
    if case == "no_prompts":
        return engine.drop(columns="prompt_token_ids")
    if case == "rescored":
        return engine.assign(recorded_sampler_logprob=engine["sampler_logprob"])
    return engine.assign(token_ids=[[*ids, 99] if i == 3 else ids for i, ids in enumerate(engine["token_ids"])])


@pytest.mark.parametrize(
    "case, words",
    [
        ("no_sampler_logprob", ["no column 'sampler_logprob'", "--sampler-logprob-col"]),
        ("positive", ["sampler_logprob", "<= 0", "row 4"]),
        ("nan", ["sampler_logprob", "row 4"]),
        ("no_prompts", ["give --prompts"]),
        ("rescored", ["already has a column 'recorded_sampler_logprob'"]),
        ("vocabulary", ["row 3", "outside the model's vocabulary of 5 tokens"]),
    ],
)
def test_bad_pools_are_one_line_and_nothing_is_written(tmp_path, capsys, tiny_dir, engine, case, words):
    code, _, err, out = rescore(
        capsys, _bad_pool(engine, case), tmp_path, "--report", tmp_path / "r.json", tiny_dir=tiny_dir
    )
    one_line(code, err, *words)
    assert not out.exists() and not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("same", ["itself", "symlink", "hardlink"])
def test_out_onto_the_pool_is_refused(tmp_path, capsys, tiny_dir, engine, monkeypatch, same):
    import bonkl.lm.load

    monkeypatch.setattr(bonkl.lm.load, "load_model", lambda spec: pytest.fail("the model was loaded"))
    pool = tmp_path / "pool.parquet"
    write_table(engine, pool)
    before = pool.read_bytes()
    if same != "itself":
        (os.symlink if same == "symlink" else os.link)(pool, tmp_path / "link.parquet")
    out = "pool.parquet" if same == "itself" else "link.parquet"
    code, _, err, _ = rescore(capsys, engine, tmp_path, tiny_dir=tiny_dir, out=out)
    one_line(code, err, "never overwrites its input")
    assert pool.read_bytes() == before


def test_an_unwritable_out_stops_before_the_model_loads(tmp_path, capsys, tiny_dir, engine, monkeypatch):
    import bonkl.lm.load

    monkeypatch.setattr(bonkl.lm.load, "load_model", lambda spec: pytest.fail("the model was loaded"))
    (tmp_path / "file").write_text("")
    code, _, err, _ = rescore(capsys, engine, tmp_path, tiny_dir=tiny_dir, out="file/out.parquet")
    one_line(code, err, "is a file")
    code, _, err, _ = rescore(capsys, engine, tmp_path, tiny_dir=tiny_dir, out="out.txt")
    one_line(code, err, "suffix '.txt'")


def test_columns_named_by_flags_must_exist_and_not_clash(tmp_path, capsys, tiny_dir, engine):
    code, _, err, out = rescore(capsys, engine, tmp_path, "--logprob-col", "lp", tiny_dir=tiny_dir)
    one_line(code, err, "no column 'lp'")
    renamed = engine.rename(columns={"sampler_logprob": "engine_lq"}).assign(sampler_logprob=-1.0)
    code, _, err, out = rescore(
        capsys, renamed, tmp_path / "c", "--sampler-logprob-col", "engine_lq", tiny_dir=tiny_dir
    )
    one_line(code, err, "has a column 'sampler_logprob' besides the one named for it")
    code, text, _, out = rescore(
        capsys,
        renamed.drop(columns="sampler_logprob"),
        tmp_path / "r",
        "--sampler-logprob-col",
        "engine_lq",
        tiny_dir=tiny_dir,
    )
    assert code == 0, text
    assert np.array_equal(pd.read_parquet(out)["recorded_sampler_logprob"], engine["sampler_logprob"])
