"""bonkl command line: estimate the KL and win rate of your own best-of-n runs; the claims table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .pool import estimator_distribution, make_pool, pool_estimates, tilted_summary

ESTIMATE_COLUMNS = ["prompt_id", "n", "kl_bon", "kl_estimator_mean", "kl_estimator_tilted_min",
                    "kl_estimator_tilted_max", "kl_alternate", "kl_corollary_4_2", "win_rate"]


def parse_ns(text: str) -> np.ndarray:
    """``"1,2,4"`` -> array; each value a real number >= 1."""
    try:
        ns = np.array([float(part) for part in text.split(",") if part.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--n must be comma-separated numbers, got {text!r}") from None
    if ns.size == 0 or not np.all(np.isfinite(ns) & (ns >= 1)):
        raise argparse.ArgumentTypeError(f"--n values must be numbers >= 1, got {text!r}")
    return ns


def estimate_pool(logprob, reward, key, ns, tilt: float) -> pd.DataFrame:
    """All estimator columns for one prompt's pool (the same code as the workflow's rules)."""
    pool = make_pool(logprob, reward, key)
    table = pool_estimates(pool, ns)
    tilted = tilted_summary(estimator_distribution(pool, ns), [tilt]).drop(columns="tilt")
    return table.merge(tilted, on="n")


def estimate(args) -> int:
    from .samples_io import read_samples

    samples = read_samples(args.samples, prompt_col=args.prompt_col, logprob_col=args.logprob_col,
                           reward_col=args.reward_col, key_col=args.key_col)
    groups = samples.groupby("prompt_id", sort=True)
    tables = []
    from tqdm.auto import tqdm

    for prompt_id, group in tqdm(groups, total=groups.ngroups, desc="prompts", disable=args.quiet):
        key = group["sample_key"] if "sample_key" in group else None
        table = estimate_pool(group["logprob"], group["reward"], key, args.n, args.tilt)
        tables.append(table.assign(prompt_id=prompt_id))
    result = pd.concat(tables, ignore_index=True)[ESTIMATE_COLUMNS]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    result.to_csv(partial, index=False)
    partial.replace(out)
    if args.figure:
        from .plotting.estimates import plot_estimates_figure

        plot_estimates_figure(result, args.figure, title=f"Best-of-n KL estimates: {Path(args.samples).name}")
    if not args.quiet:
        print(f"wrote {out} ({len(result)} rows, {groups.ngroups} prompts)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bonkl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    est = commands.add_parser(
        "estimate", help="KL and win-rate estimates of best-of-n from a pool of reference samples",
        description="One row per sample drawn from the reference, with its natural log-probability "
                    "under the reference and its reward. Identical samples are recognised by the key "
                    "column if present, else by equal (logprob, reward). Writes one row per prompt and n.")
    est.add_argument("--samples", required=True, help="CSV, JSONL or Parquet file of samples")
    est.add_argument("--n", required=True, type=parse_ns, help="comma-separated n values, e.g. 1,2,4,8")
    est.add_argument("--out", required=True, help="output CSV")
    est.add_argument("--figure", help="optional figure (PNG or PDF), one panel per prompt")
    est.add_argument("--tilt", type=float, default=1.0,
                     help="tilt t > 0 of the tilted min (-t) and max (+t) of eq. 25 (default 1)")
    est.add_argument("--prompt-col", default="prompt_id")
    est.add_argument("--logprob-col", default="logprob")
    est.add_argument("--reward-col", default="reward")
    est.add_argument("--key-col", default="sample_key")
    est.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    est.set_defaults(func=estimate)
    claims = commands.add_parser("claims", help="check the paper's numerical claims on random models",
                                 add_help=False)
    claims.set_defaults(func=None)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["claims"]:
        from .claims import main as claims_main

        return claims_main(argv[1:]) or 0
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "estimate" and not args.tilt > 0:
        parser.error(f"--tilt must be > 0, got {args.tilt}")
    try:
        return args.func(args)
    except ValueError as error:
        print(f"bonkl {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
