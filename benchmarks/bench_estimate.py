"""``bonkl estimate`` at the scale of real evaluations: this checkout against the per-prompt
implementation of commit d8da788 (from git history), side by side on the same files.

    python benchmarks/bench_estimate.py                 # the three cases of the README
    python benchmarks/bench_estimate.py --quick         # small versions, a minute
    python benchmarks/bench_estimate.py --rule          # the workflow's estimate rule: per set or per prompt

Each run is the command line (``python -m bonkl.cli estimate``) in a fresh process: wall time and
peak memory (the process's maximum resident set) of reading the pool, estimating and writing the
table, after one small run that lets numba compile and cache the intervals' loops (its time is
printed first: a user's first run with intervals pays it once). The baseline's cost grows linearly
with the number of prompts (a Python loop per prompt and per resample); where it would run for more
than ``--baseline-budget`` seconds it runs on the first prompts only and its time is scaled up to
all prompts, marked "extrapolated".
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from baseline import ROOT, package_at  # noqa: E402

BASELINE = "d8da7882a67cf3a7b6064ba8a3425ec9d2cc41b6"
NS_7 = "1,2,4,8,16,32,64"
NS_17 = ",".join(str(2**k) for k in range(17))
CASES = {
    # name: (prompts, samples per prompt, n values, bootstrap resamples)
    "10^4 prompts x 64 samples, 7 n, intervals": (10_000, 64, NS_7, 200),
    "8 prompts x 10^5 samples, 17 n": (8, 100_000, NS_17, 0),
    "1 prompt x 10^7 samples, 17 n": (1, 10_000_000, NS_17, 0),
}
QUICK = {
    "1,000 prompts x 64 samples, 7 n, intervals": (1_000, 64, NS_7, 200),
    "8 prompts x 10^4 samples, 14 n": (8, 10_000, ",".join(str(2**k) for k in range(14)), 0),
    "1 prompt x 10^6 samples, 17 n": (1, 1_000_000, NS_17, 0),
}


def write_pools(path: Path, prompts: int, samples: int, seed: int = 0) -> None:
    """Zipf(1.1) answers over 50,000, reward independent of mass (with ties), one Parquet file."""
    rng = np.random.default_rng(seed)
    p = np.arange(1, 50_001) ** -1.1
    p /= p.sum()
    reward = rng.integers(0, 1000, p.size).astype(np.float64)
    draws = rng.choice(p.size, prompts * samples, p=p)
    width = len(str(prompts))
    pd.DataFrame(
        {
            "prompt_id": np.repeat(np.array([f"q{i:0{width}d}" for i in range(prompts)]), samples),
            "logprob": np.log(p[draws]),
            "reward": reward[draws],
            "sample_key": draws,
        }
    ).to_parquet(path)


def run(pythonpath: str, samples: Path, ns: str, bootstrap: int, out: Path) -> tuple[float, float]:
    """``bonkl estimate`` in a fresh process: ``(wall seconds, peak resident MB)``."""
    command = [sys.executable, "-m", "bonkl.cli", "estimate", "--samples", str(samples), "--n", ns]
    command += ["--out", str(out), "--quiet"] + (["--bootstrap", str(bootstrap)] if bootstrap else [])
    env = {**os.environ, "PYTHONPATH": pythonpath}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def compile_once(pythonpath: str, folder: Path) -> float:
    """Run the intervals once on a small pool, so that numba compiles their loops and caches them (as
    a user's first run does, once per installation); the seconds it took."""
    path = folder / "warm.parquet"
    write_pools(path, 4, 64)
    return run(pythonpath, path, "1,2,4,8", 20, folder / "warm.csv")[0]


def first_prompts(path: Path, count: int, folder: Path) -> Path:
    frame = pd.read_parquet(path)
    keep = frame[frame["prompt_id"].isin(sorted(frame["prompt_id"].unique())[:count])]
    subset = folder / f"first{count}.parquet"
    keep.to_parquet(subset)
    return subset


RULE_NS = "1,2,3,4,6,8,12,16,24,32,48,64,96,128,192,256"  # config/config.yaml's lm.n


def rule_case(folder: Path, prompts: int = 4, samples: int = 256, bootstrap: int = 200) -> dict:
    """The default run's estimate stage for one prompt set: one job for the set (as the workflow
    runs it) against one job per prompt, each job a fresh process as Snakemake starts it."""
    path = folder / "set.parquet"
    write_pools(path, prompts, samples)
    new = str(ROOT / "src")
    per_set = run(new, path, RULE_NS, bootstrap, folder / "set.csv")[0]
    frame = pd.read_parquet(path)
    per_prompt = 0.0
    for _, part in frame.groupby("prompt_id"):
        part.to_parquet(folder / "one.parquet")
        per_prompt += run(new, folder / "one.parquet", RULE_NS, bootstrap, folder / "one.csv")[0]
    return {
        "case": f"estimate rule, {prompts} prompts x {samples} samples, 16 n, intervals",
        "one job per prompt s": round(per_prompt, 1),
        "one job per set s": round(per_set, 1),
        "ratio": f"{per_prompt / per_set:.1f}x",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller cases (about a minute)")
    parser.add_argument("--baseline-budget", type=float, default=300.0, help="seconds before the baseline is cut")
    parser.add_argument("--rule", action="store_true", help="only the workflow's estimate rule: per set or per prompt")
    parser.add_argument("--only", default="", metavar="TEXT", help="only the cases whose name contains TEXT")
    args = parser.parse_args(argv)
    if args.rule:
        with tempfile.TemporaryDirectory() as tmp:
            compile_once(str(ROOT / "src"), Path(tmp))
            print(pd.DataFrame([rule_case(Path(tmp))]).to_markdown(index=False))
        return 0
    old = str(package_at(BASELINE))
    new = str(ROOT / "src")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"first run with intervals (numba compiles and caches the loops): {compile_once(new, folder):.1f} s")
        for name, (prompts, samples, ns, bootstrap) in (QUICK if args.quick else CASES).items():
            if args.only not in name:
                continue
            path = folder / "pool.parquet"
            write_pools(path, prompts, samples)
            new_seconds, new_mb = run(new, path, ns, bootstrap, folder / "new.csv")
            # the baseline on a few prompts first (a tenth, at most 100), to see whether all fit the budget
            probe = max(1, min(prompts // 10, 100))
            part = first_prompts(path, probe, folder) if probe < prompts else path
            old_seconds, old_mb = run(old, part, ns, bootstrap, folder / "old.csv")
            note = ""
            if probe < prompts:
                if old_seconds * prompts / probe <= args.baseline_budget:
                    old_seconds, old_mb = run(old, path, ns, bootstrap, folder / "old.csv")
                else:
                    old_seconds, note = old_seconds * prompts / probe, f"extrapolated from {probe} prompts"
            rows.append(
                {
                    "case": name,
                    "baseline s": round(old_seconds, 1),
                    "baseline MB": round(old_mb),
                    "bonkl s": round(new_seconds, 1),
                    "bonkl MB": round(new_mb),
                    "ratio": f"{old_seconds / new_seconds:.0f}x",
                    "note": note,
                }
            )
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    print()
    print(pd.DataFrame(rows).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
