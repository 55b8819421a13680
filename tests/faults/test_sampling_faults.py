"""A sampling job under faults: killed at random points, corrupt and truncated shards, changed
settings between a kill and the rerun, two runs of one job at once, a damaged finished pool.
Every case must end in the pool an uninterrupted run writes, or in one clear error."""

from __future__ import annotations

import json
import shutil
import signal
import time
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from fault_helpers import JOB, run_sampling_here, start_sampling

pytest.importorskip("torch")


def same_pool(path, reference) -> None:
    a, b = pd.read_parquet(path), pd.read_parquet(reference)
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for column in a.columns:
        left, right = a[column], b[column]
        if column == "token_ids":
            assert [list(x) for x in left] == [list(x) for x in right]
        else:
            assert left.tolist() == right.tolist(), column
    assert path.read_bytes() == reference.read_bytes()  # the very same file


def shard_dir(out):
    return out.with_name(out.name + ".shards")


def kill_when(job, ready, timeout=120.0) -> None:
    started = time.monotonic()
    while not ready() and job.poll() is None and time.monotonic() - started < timeout:
        time.sleep(0.005)
    job.send_signal(signal.SIGKILL)


KILL_POINTS = {
    # a random moment from start-up to the end of the job (seeded: the same points every run)
    **{f"after_{t:.2f}s": t for t in np.random.default_rng(2026).uniform(0.2, 4.0, 2)},
    "during_a_shard_write": lambda out: any(shard_dir(out).glob(".*partial*")),
    "while_writing_the_pool": lambda out: any(out.parent.glob(f".{out.name}.partial*")),
}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_kill_at_a_random_point_then_rerun(tiny_model, reference_pool, tmp_path, point):
    """SIGKILL at a random moment or at a chosen step (mid-write included), then rerun."""
    out = tmp_path / "P1.parquet"
    job = start_sampling(tiny_model, out)
    when = KILL_POINTS[point]
    if callable(when):
        kill_when(job, lambda: when(out))
    else:
        time.sleep(when)
        job.send_signal(signal.SIGKILL)
    job.wait()
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    if out.exists() and job.returncode != 0:  # the kill landed after the pool's atomic rename
        same_pool(out, reference_pool)  # never a finished-looking pool that is not the whole pool
    assert not [
        name for name in leftovers if name.endswith(".parquet") and "partial" in name and not name.startswith(".")
    ], leftovers
    run_sampling_here(tiny_model, out)
    same_pool(out, reference_pool)
    assert not shard_dir(out).exists()


def interrupted(reference_pool, out, shards: int):
    """What a job killed after ``shards`` finished shards leaves: the shard folder, no pool."""
    from bonkl.files.intermediates import read_manifest

    folder = shard_dir(out)
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(read_manifest(reference_pool), indent=1, sort_keys=True))
    pool = pd.read_parquet(reference_pool)
    for k in range(shards):
        part = pool.iloc[k * JOB["shard_size"] : (k + 1) * JOB["shard_size"]].drop(columns="prompt_id")
        part.to_parquet(folder / f"{k * JOB['shard_size']:09d}.parquet", index=False)
    return folder


CORRUPTIONS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"PAR1" + bytes(range(256)) * 4),
    "too_few_rows": lambda p: pd.read_parquet(p).iloc[:-2].to_parquet(p, index=False),
    "wrong_indices": lambda p: (
        pd.read_parquet(p).assign(sample_index=lambda f: f["sample_index"] + 1).to_parquet(p, index=False)
    ),
    "positive_logprob": lambda p: pd.read_parquet(p).assign(logprob=0.5).to_parquet(p, index=False),
    "nan_logprob": lambda p: pd.read_parquet(p).assign(logprob=np.nan).to_parquet(p, index=False),
    "missing_column": lambda p: pd.read_parquet(p).drop(columns="token_ids").to_parquet(p, index=False),
    "bad_num_tokens": lambda p: pd.read_parquet(p).assign(num_tokens=99).to_parquet(p, index=False),
    "text_logprob": lambda p: pd.read_parquet(p).assign(logprob="x").to_parquet(p, index=False),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_shard_is_reported_and_redrawn(tiny_model, reference_pool, tmp_path, capfd, corruption):
    out = tmp_path / "P1.parquet"
    folder = interrupted(reference_pool, out, shards=3)
    CORRUPTIONS[corruption](folder / f"{JOB['shard_size']:09d}.parquet")
    run_sampling_here(tiny_model, out)
    same_pool(out, reference_pool)
    assert f"{JOB['shard_size']:09d}.parquet is corrupt or truncated" in capfd.readouterr().err


SAMPLER_CHANGES = {"temperature": {"temperature": 0.7}, "top_k": {"top_k": 3}, "top_p": {"top_p": 0.9}}


@pytest.mark.parametrize(
    "change",
    [{"num_samples": 24}, {"num_samples": 48}, {"seed": 4}, {"max_new_tokens": 6}, {"shard_size": 4}]
    + [{"sampler": setting} for setting in sorted(SAMPLER_CHANGES)],
)
def test_changed_settings_after_a_kill_give_the_new_pool(tiny_model, reference_pool, tmp_path, change):
    """Shards left by a run with other settings are never mixed into the new pool."""
    from bonkl.lm.processors import SamplerSettings

    if "sampler" in change:
        change = {"sampler": SamplerSettings(**SAMPLER_CHANGES[change["sampler"]])}
    out = tmp_path / "P1.parquet"
    interrupted(reference_pool, out, shards=4)
    pool = run_sampling_here(tiny_model, out, **change)
    fresh = tmp_path / "fresh" / "P1.parquet"
    run_sampling_here(tiny_model, fresh, **change)
    assert len(pool) == change.get("num_samples", JOB["num_samples"])
    same_pool(out, fresh)
    if "sampler" in change:
        from bonkl.files.intermediates import read_manifest

        assert read_manifest(out)["sampler"] == asdict(change["sampler"])
        assert (pool["sampler_logprob"] != pool["logprob"]).all()


def test_batch_size_does_not_invalidate_shards(tiny_model, reference_pool, tmp_path, capfd, monkeypatch):
    out = tmp_path / "P1.parquet"
    interrupted(reference_pool, out, shards=6)  # every shard there: nothing to draw
    import bonkl.lm.sampling

    monkeypatch.setattr(bonkl.lm.sampling, "sample_responses", None)  # drawing would fail
    run_sampling_here(tiny_model, out, batch_size=2)
    assert "drawn with other settings" not in capfd.readouterr().err
    same_pool(out, reference_pool)


def test_replaced_model_files_invalidate_shards(tiny_model, tmp_path, capfd):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    out = tmp_path / "P1.parquet"
    run_sampling_here(model, out, num_samples=12)
    folder = shard_dir(out)
    folder.mkdir()
    from bonkl.files.intermediates import read_manifest

    (folder / "manifest.json").write_text(json.dumps(read_manifest(out)))
    out.unlink()
    (model / "config.json").write_text((model / "config.json").read_text() + " ")  # the weights "changed"
    run_sampling_here(model, out, num_samples=12)
    assert "drawn with other settings" in capfd.readouterr().err


def test_two_runs_of_one_job_at_once(tiny_model, reference_pool, tmp_path):
    out = tmp_path / "P1.parquet"
    jobs = [start_sampling(tiny_model, out) for _ in range(2)]
    for job in jobs:
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, err[-3000:]
    same_pool(out, reference_pool)
    assert not shard_dir(out).exists()


@pytest.mark.parametrize(
    "corruption", ["truncated", "garbage", "too_few_rows", "missing_column", "positive_logprob", "text_logprob"]
)
def test_damaged_pool_is_reported_moved_aside_and_rebuilt(tiny_model, reference_pool, tmp_path, corruption):
    from bonkl.files.intermediates import CorruptIntermediate, read_samples_file

    out = tmp_path / "P1.parquet"
    shutil.copy(reference_pool, out)
    damage = CORRUPTIONS[corruption]
    damage(out)
    with pytest.raises(CorruptIntermediate, match=f"{out}: .*rebuild it with `snakemake --cores all {out}`"):
        read_samples_file(out)
    assert not out.exists() and out.with_name("P1.parquet.corrupt").exists()
    run_sampling_here(tiny_model, out)  # what the rerun does
    same_pool(out, reference_pool)
    read_samples_file(out)


def test_rewards_not_matching_the_samples(reference_pool, tmp_path):
    from bonkl.files.intermediates import CorruptIntermediate, read_rewards_file, read_samples_file

    samples = read_samples_file(reference_pool)
    rewards = tmp_path / "loglik.parquet"
    pd.DataFrame({"sample_index": samples["sample_index"][:-1], "reward": 0.0}).to_parquet(rewards)
    with pytest.raises(CorruptIntermediate, match="does not match"):
        read_rewards_file(rewards, samples)


@pytest.mark.workflow
def test_damaged_pool_in_the_workflow_is_rebuilt_by_a_rerun(built, tmp_path):
    """A samples file damaged after the run: the reading rule stops with one message naming it and
    moves it aside; the same command run again draws it again (not fatal forever)."""
    from workflow_helpers import job_counts, snakemake

    workdir = tmp_path / "wf"
    shutil.copytree(built.workdir, workdir, symlinks=True, ignore=shutil.ignore_patterns("*.lock*", "locks"))
    from bonkl.pipeline import paths

    model = built.config()["lm"]["model"]["name"]
    samples = workdir / paths.samples(model, "alpaca", "P1")
    reference = samples.read_bytes()
    samples.write_bytes(reference[: len(reference) // 2])
    target = paths.estimate(model, "alpaca", "loglik")
    failed = snakemake(workdir, "--cores", "1", target, "--configfile", *built.configfiles, check=False)
    assert failed.returncode != 0
    logs = "".join(p.read_text() for p in (workdir / "logs").rglob("*.log") if "P1" in str(p))
    assert f"{samples.relative_to(workdir)}: unreadable Parquet" in logs and "Traceback" not in logs
    assert samples.with_name("P1.parquet.corrupt").exists() and not samples.exists()
    assert f"snakemake --cores all {samples.relative_to(workdir)}" in logs  # the command it names:
    snakemake(workdir, "--cores", "1", str(samples.relative_to(workdir)), "--configfile", *built.configfiles)
    assert samples.read_bytes() == reference
    rerun = snakemake(workdir, "--cores", "1", target, "--configfile", *built.configfiles)
    assert job_counts(rerun.stdout).get("score") == 1 and job_counts(rerun.stdout).get("estimate") == 1
