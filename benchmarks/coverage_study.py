"""Coverage of the pool estimates' intervals on models with known answers (writes docs/coverage.*).

    python benchmarks/coverage_study.py                 # the intervals as they are (1,000 pools per cell)
    python benchmarks/coverage_study.py --before        # also the percentile bootstrap of commit d8da788
    python benchmarks/coverage_study.py --samplers      # instead: pools drawn from a sampler (coverage_samplers.*)

For every model of ``bonkl.coverage`` (heavy ties, rare top outcome, log-likelihood reward, high
entropy...), pool size N in {16, 64, 256} and n: draw pools, compute each interval, count how
often it contains the model's exact best-of-n value. ``--before`` runs the previous method (a
percentile bootstrap over every n, eq. 25 at each answer's own mass) from git history on pools drawn
the same way (fewer of them, N = 64 and six n by default: it is slow) against that method's own
targets. ``--samplers`` runs the study of
``bonkl.coverage_sampler`` instead: each model drawn through a tempered or truncated sampler, with the
columns ``sampler_log_ratio`` and ``expected_eval_reward`` beside the others.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from baseline import ROOT, run_with  # noqa: E402

from bonkl import intervals  # noqa: E402
from bonkl.columns import DRAW_INTERVAL_COLUMNS, INTERVAL_COLUMNS  # noqa: E402
from bonkl.coverage import coverage_rows, draw_pools, exact_values, run_study, study_models  # noqa: E402
from bonkl.coverage_sampler import sampler_coverage, sampler_models  # noqa: E402
from bonkl.intervals import IntervalSettings  # noqa: E402
from bonkl.ties import tied_bon_pmf  # noqa: E402

BEFORE = "d8da7882a67cf3a7b6064ba8a3425ec9d2cc41b6"
LOW, HIGH = 0.85, 0.97  # the window a nominal 90% interval must land in

# Runs inside the old package: per pool, the old percentile bootstrap (200 resamples, level 0.9).
_OLD = """
import sys, numpy as np, pandas as pd
from bonkl.pool import make_pool, bootstrap_intervals
samples = pd.read_parquet(sys.argv[1]); ns = [int(v) for v in sys.argv[2].split(",")]
rows = []
for prompt, part in samples.groupby("prompt_id", sort=True):
    pool = make_pool(part["logprob"], part["reward"], part["sample_key"])
    table = bootstrap_intervals(pool, ns, replicates=200, level=0.9, seed=0)
    rows.append(table.assign(prompt_id=prompt))
pd.concat(rows).to_parquet(sys.argv[3])
"""


def before_targets(p, reward, ns) -> dict:
    """The old columns' own targets: eq. 25 and eq. 23 at each answer's own mass."""
    from bonkl.estimators import kl_alternate, kl_estimator

    exact = exact_values(p, reward, ns)
    pin = tied_bon_pmf(p, reward, np.asarray(ns, dtype=np.float64))
    exact["kl_estimator_mean"] = np.sum(pin * kl_estimator(p, np.asarray(ns, float)[:, None]), axis=1)
    exact["kl_alternate"] = np.sum(pin * kl_alternate(p, np.asarray(ns, float)[:, None]), axis=1)
    return exact


def before_ns(size: int) -> list[int]:
    """The n the old method is run at: small, N/8 (where intervals stop now), N/4, N/2 and next to N."""
    return sorted({n for n in (2, size // 8, size // 4, size // 2, size - 1, size) if n >= 1})


def run_before(sizes, pools: int) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (p, reward) in study_models().items():
            for size in sizes:
                ns = before_ns(size)
                samples_path, out_path = Path(folder) / "samples.parquet", Path(folder) / "out.parquet"
                draw_pools(p, reward, size, pools, seed=0).to_parquet(samples_path)
                run_with(BEFORE, _OLD, str(samples_path), ",".join(map(str, ns)), str(out_path))
                table, exact = pd.read_parquet(out_path), before_targets(p, reward, ns)
                rows.append(coverage_rows(name, size, pools, table, exact, ns, INTERVAL_COLUMNS))
                print(f"before: {name} N={size}", file=sys.stderr, flush=True)
    return pd.concat(rows, ignore_index=True)


def markdown(table: pd.DataFrame, title: str, columns=INTERVAL_COLUMNS) -> str:
    """One line per (model, N, n), one cell per column: coverage (intervals reported / pools)."""
    lines = [f"### {title}", "", "| model | N | n | " + " | ".join(columns) + " |", "|---" * (3 + len(columns)) + "|"]
    for (model, size, n), part in table.groupby(["model", "N", "n"], sort=False):
        cells = []
        for column in columns:
            row = part[part["column"] == column].iloc[0]
            if row["reported"] == 0:
                cells.append(f"- (0/{row['pools']})")
            else:
                mark = "" if LOW <= row["coverage"] <= HIGH else " **x**"
                cells.append(f"{row['coverage']:.3f} ({row['reported']}/{row['pools']}){mark}")
        lines.append(f"| {model} | {size} | {n} | " + " | ".join(cells) + " |")
    shown = table[table["reported"] > 0]
    outside = shown[(shown["coverage"] < LOW) | (shown["coverage"] > HIGH)]
    lines += [
        "",
        f"{len(shown)} cells with intervals; coverage {shown['coverage'].min():.3f} to {shown['coverage'].max():.3f}; "
        f"{len(outside)} outside [{LOW}, {HIGH}] (marked **x**).",
        "",
    ]
    return "\n".join(lines)


HEADER = """# Coverage of the pool estimates' intervals

Written by `python benchmarks/coverage_study.py --beyond 200 --before` (the models: `bonkl.coverage`; the method
and the rules for where an interval is reported: docs/MATH.md, "Intervals"). For each model, pool
size `N` and `n`: {pools} pools of `N` draws, the 90% interval of each column computed in every pool,
and the fraction of the reported intervals that contain the model's exact best-of-n value. A cell
reads `coverage (pools that reported an interval / pools)`; `-` where no pool reported one; **x**
marks a coverage outside [{low}, {high}]. With 1,000 pools a cell's coverage has a binomial standard
error of about 0.01 around its true value; with 200 pools about 0.02, with 100 pools about 0.03.

The models (each breaks a different method): `heavy_ties` (12 reward levels of 40 answers, a rare
top level), `ties_rare_top` (12 answers in 4 tied levels, top level mass 0.02), `zipf200` (Zipf over
200 answers, reward independent of mass), `loglik` (reward = log-probability, Zipf 1.5 over 2,000),
`loglik_dominant` (reward = log-probability, one answer of mass 0.9), `high_entropy` (Dirichlet(1)
over 20,000 answers), `rare_top` (30 equally likely answers and a top answer of mass 0.01).

"""


def outside(table: pd.DataFrame) -> str:
    """The reported cells outside the window, conservative (above) and not (below)."""
    shown = table[table["reported"] > 0]
    lines = []
    for name, part in (("above", shown[shown["coverage"] > HIGH]), ("below", shown[shown["coverage"] < LOW])):
        cells = ", ".join(
            f"{r.model} N={r.N} n={r.n} {r.column} {r.coverage:.3f} ({r.reported})" for r in part.itertuples()
        )
        lines.append(f"- {len(part)} {name} the window{': ' + cells if cells else ''}.")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def withheld_too():
    """Report intervals up to n = N/2 while the block runs (to measure what the rule withholds)."""
    kept = intervals.MAX_FRACTION
    intervals.MAX_FRACTION = 0.5
    try:
        yield
    finally:
        intervals.MAX_FRACTION = kept


def run_samplers(sizes, pools: int, settings: IntervalSettings, out: str) -> int:
    """The sampler study (bonkl.coverage_sampler): every model and sampler, pool size and n."""
    started = time.perf_counter()
    parts = []
    for name in sampler_models():
        for size in sizes:
            parts.append(sampler_coverage(name, size, pools, settings))
            print(f"samplers: {name} N={size} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    table = pd.concat(parts, ignore_index=True)
    table.to_csv(f"{out}.csv", index=False)
    Path(f"{out}.md").write_text(sampler_markdown(table, settings.replicates))
    print(f"wrote {out}.md in {time.perf_counter() - started:.0f} s")
    return 0


def sampler_markdown(table: pd.DataFrame, replicates: int) -> str:
    """The sampler study's table, after a line saying how it was made."""
    pools, sizes = int(table["pools"].max()), ",".join(str(n) for n in sorted(table["N"].unique()))
    intro = (
        f"Written by `python benchmarks/coverage_study.py --samplers --pools {pools} --sizes {sizes} "
        f"--replicates {replicates}` (models: `bonkl.coverage_sampler`; each cell: coverage of the "
        "nominal 90% interval among the pools that reported one, then reported/pools).\n\n"
    )
    title = f"Pools drawn from a sampler q: studentized bootstrap ({replicates} resamples)"
    columns = [*INTERVAL_COLUMNS, *DRAW_INTERVAL_COLUMNS]
    return "\n".join([intro + markdown(table, title, columns), "Outside the window:\n", outside(table)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pools", type=int, default=1000)
    parser.add_argument("--before-pools", type=int, default=100)
    parser.add_argument("--before-sizes", default="64", help="pool sizes of the before run (it is slow)")
    parser.add_argument("--sizes", default="16,64,256")
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--before", action="store_true", help="also the previous method, from git history")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite the .md from the CSV files")
    parser.add_argument(
        "--keep-before", action="store_true", help="with --before: read its CSV (the old code gives fixed numbers)"
    )
    parser.add_argument(
        "--beyond",
        type=int,
        default=0,
        metavar="POOLS",
        help="also the intervals the rule n <= N/8 withholds (up to n = N/2), on this many pools",
    )
    parser.add_argument("--samplers", action="store_true", help="instead: pools drawn from tempered/truncated samplers")
    parser.add_argument("--out", default=str(ROOT / "docs" / "coverage"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()
    if args.samplers:
        return run_samplers(sizes, args.pools, IntervalSettings(replicates=args.replicates), f"{args.out}_samplers")
    if args.markdown_only:
        after = pd.read_csv(f"{args.out}.csv")
    else:
        after = run_study(sizes=sizes, pools=args.pools, settings=IntervalSettings(replicates=args.replicates))
        after.to_csv(f"{args.out}.csv", index=False)
    parts = [
        HEADER.format(pools=f"{args.pools:,}", low=LOW, high=HIGH),
        markdown(after, f"Studentized bootstrap ({args.replicates} resamples), as reported now"),
        "Outside the window:\n",
        outside(after),
    ]
    if args.beyond:
        if not args.markdown_only:
            with withheld_too():
                settings = IntervalSettings(replicates=args.replicates)
                beyond = run_study(sizes=sizes, pools=args.beyond, settings=settings)
            beyond.to_csv(f"{args.out}_beyond.csv", index=False)
        beyond = pd.read_csv(f"{args.out}_beyond.csv")
        beyond = beyond[beyond["n"] > beyond["N"] * intervals.MAX_FRACTION]
        parts += [markdown(beyond, "What the rule n <= N/8 withholds (the same method at larger n)"), outside(beyond)]
    if args.before:
        if args.markdown_only or args.keep_before:
            before = pd.read_csv(f"{args.out}_before.csv")
        else:
            before = run_before([int(s) for s in args.before_sizes.split(",")], args.before_pools)
            before.to_csv(f"{args.out}_before.csv", index=False)
        title = f"Before: percentile bootstrap of commit {BEFORE[:7]} (200 resamples; it reported every n)"
        parts.append(markdown(before, title))
        parts += ["Outside the window (before):\n", outside(before)]
    Path(f"{args.out}.md").write_text("\n".join(parts))
    print(f"wrote {args.out}.md in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
