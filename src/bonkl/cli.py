"""bonkl command line: estimate the KL and win rate of your own best-of-n runs; the claims table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .pool import (
    METHODS,
    TIES,
    bootstrap_intervals,
    estimator_distribution,
    make_pool,
    pool_estimates,
    tilted_summary,
)

FIGURE_FORMATS = (".png", ".pdf", ".svg")
MAX_N = 1e7  # as the workflow's lm.n; the fault tests check every number is in range up to here
ESTIMATE_COLUMNS = [
    "prompt_id",
    "n",
    "num_samples",
    "kl_bon",
    "kl_estimator_mean",
    "kl_estimator_tilted_min",
    "kl_estimator_tilted_max",
    "kl_alternate",
    "kl_corollary_4_2_bound",
    "expected_reward",
    "win_rate",
    "beyond_pool",
]


def parse_ns(text: str) -> np.ndarray:
    """``"1,2,4"`` -> array; each value a real number >= 1."""
    try:
        ns = np.array([float(part) for part in text.split(",") if part.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--n must be comma-separated numbers, got {text!r}") from None
    if ns.size == 0 or not np.all(np.isfinite(ns) & (ns >= 1)):
        raise argparse.ArgumentTypeError(f"--n values must be numbers >= 1, got {text!r}")
    if ns.max() > MAX_N:
        raise argparse.ArgumentTypeError(
            f"--n values must be at most {MAX_N:.0e} (the largest n whose numbers are checked), got {ns.max():g}"
        )
    return ns


def parse_orders(text: str) -> list[float]:
    """``"0.5,2"`` -> Renyi orders, each a number > 0."""
    try:
        alphas = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--divergences must be comma-separated orders, got {text!r}") from None
    if not alphas or not all(a > 0 for a in alphas):
        raise argparse.ArgumentTypeError(f"--divergences orders must be numbers > 0, got {text!r}")
    return alphas


def estimate_pool(
    logprob,
    reward,
    key,
    ns,
    tilt: float,
    *,
    ties: str = "random",
    method: str = "unbiased",
    bootstrap: dict | None = None,
    alphas=None,
) -> pd.DataFrame:
    """All estimator columns for one prompt's pool (the same code as the workflow's rules); with
    ``alphas``, the Renyi (those orders and infinity), chi-square and TV columns beside their bounds."""
    pool = make_pool(logprob, reward, key)
    table = pool_estimates(pool, ns, ties=ties, method=method).assign(num_samples=pool.num_draws)
    distribution = estimator_distribution(pool, ns, ties=ties, method=method)
    table = table.merge(tilted_summary(distribution, [tilt]).drop(columns="tilt"), on="n")
    if bootstrap:
        table = table.merge(bootstrap_intervals(pool, ns, ties=ties, method=method, **bootstrap), on="n")
    if alphas is not None:
        from .pool_divergences import pool_divergences

        table = table.merge(pool_divergences(pool, ns, alphas=alphas, ties=ties, method=method), on="n")
    return table


def estimate(args) -> int:
    from .pipeline.atomic import refuse_overwrite, table_format, write_table
    from .samples_io import read_sample_table

    table_format(args.out)
    if args.figure and Path(args.figure).suffix.lower() not in FIGURE_FORMATS:
        raise ValueError(f"--figure {args.figure}: use one of {', '.join(FIGURE_FORMATS)}")
    refuse_overwrite([args.samples], [args.out, args.figure])
    samples = read_sample_table(
        args.samples,
        prompt_col=args.prompt_col,
        logprob_col=args.logprob_col,
        reward_col=args.reward_col,
        key_col=args.key_col,
    )
    groups = samples.groupby("prompt_id", sort=True)
    sizes = groups.size()
    if args.method == "unbiased" and (sizes < args.n.max()).any():
        small = sizes[sizes < args.n.max()]
        shown = ", ".join(f"{prompt!r} ({size} samples)" for prompt, size in list(small.items())[:5])
        raise ValueError(
            f"n = {args.n.max():g} is larger than the pool of {len(small)} prompt(s): {shown}; the "
            "unbiased estimate needs n <= each prompt's number of samples: lower --n, draw more "
            "samples, or use --method plugin (which past the pool size describes the pool)"
        )
    tables = []
    from tqdm.auto import tqdm

    for prompt_id, group in tqdm(groups, total=groups.ngroups, desc="prompts", disable=args.quiet):
        key = group["sample_key"] if "sample_key" in group else None
        bootstrap = {"replicates": args.bootstrap, "level": args.level, "seed": args.seed} if args.bootstrap else None
        table = estimate_pool(
            group["logprob"],
            group["reward"],
            key,
            args.n,
            args.tilt,
            ties=args.ties,
            method=args.method,
            bootstrap=bootstrap,
            alphas=args.divergences,
        )
        tables.append(table.assign(prompt_id=prompt_id))
    result = pd.concat(tables, ignore_index=True)
    result = result[ESTIMATE_COLUMNS + [c for c in result.columns if c not in ESTIMATE_COLUMNS]]
    out = Path(args.out)
    write_table(result, out)
    if args.figure:
        from .plotting.estimates import plot_estimates_figure

        plot_estimates_figure(result, args.figure, title=f"Best-of-n KL estimates: {Path(args.samples).name}")
    if not args.quiet:
        print(f"wrote {out} ({len(result)} rows, {groups.ngroups} prompts)")
    return 0


MIN_MC_DRAWS = 100  # the normal interval of the Theorem 6.3 check needs a sample of some size


def whole_number(minimum: int):
    """argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def run_claims_command(args) -> int:
    """``bonkl claims``: the claims table; exit 0 when no claim is violated, 1 otherwise."""
    import time

    from .claims import run_claims, to_markdown
    from .pipeline.atomic import refuse_overwrite, table_format, write_table, write_text

    if args.out:
        table_format(args.out)
    refuse_overwrite([], [args.out, args.markdown])
    started = time.perf_counter()
    table = run_claims(args.models, args.seed, args.mc_draws, workers=args.workers)
    elapsed = time.perf_counter() - started
    if args.out:
        write_table(table, args.out)
    if args.markdown:
        write_text(to_markdown(table), args.markdown)
    violations = int(table["violations"].sum())
    if not args.quiet:
        with pd.option_context("display.max_colwidth", 200, "display.width", 250):
            print(table.to_string(index=False))
        print(f"{args.models} models, seed {args.seed}: {violations} violations in {elapsed:.1f} s", file=sys.stderr)
    return 0 if violations == 0 else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bonkl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    est = commands.add_parser(
        "estimate",
        help="KL and win-rate estimates of best-of-n from a pool of reference samples",
        description="One row per sample drawn from the reference, with its natural log-probability "
        "under the reference and its reward. Identical samples are recognised by the key "
        "column if present, else by equal (logprob, reward). Writes one row per prompt and n.",
    )
    est.add_argument("--samples", required=True, help="CSV, JSONL or Parquet file of samples")
    est.add_argument("--n", required=True, type=parse_ns, help="comma-separated n values, e.g. 1,2,4,8")
    est.add_argument("--out", required=True, help="output table: .csv, .parquet or .jsonl (by suffix)")
    est.add_argument("--figure", help="optional figure (.png, .pdf or .svg), one panel per prompt")
    est.add_argument(
        "--tilt", type=float, default=1.0, help="tilt t > 0 of the tilted min (-t) and max (+t) of eq. 25 (default 1)"
    )
    est.add_argument(
        "--method",
        choices=METHODS,
        default="unbiased",
        help="unbiased (default): average over all n-subsets of each prompt's pool, unbiased for "
        "the model's best-of-n, n up to the pool size; plugin: the pool's empirical "
        "distribution stands in for the model (biased near the pool size, any n)",
    )
    est.add_argument(
        "--ties",
        choices=TIES,
        default="random",
        help="how best-of-n breaks ties in reward: random (default; argmax over i.i.d. draws) "
        "or logprob (the likelier sample wins)",
    )
    est.add_argument(
        "--bootstrap",
        type=whole_number(0),
        default=0,
        metavar="REPLICATES",
        help="percentile bootstrap intervals from this many resamples of each pool (0: none)",
    )
    est.add_argument("--level", type=float, default=0.9, help="confidence level of the intervals (default 0.9)")
    est.add_argument("--seed", type=whole_number(0), default=0, help="seed of the bootstrap (default 0)")
    est.add_argument(
        "--divergences",
        type=parse_orders,
        metavar="ALPHAS",
        help="also estimate the Renyi divergences of these orders (e.g. 0.5,2; and always "
        "infinity), chi-square and total variation, each beside its bound (beyond the paper)",
    )
    est.add_argument("--prompt-col", default="prompt_id")
    est.add_argument("--logprob-col", default="logprob")
    est.add_argument("--reward-col", default="reward")
    est.add_argument("--key-col", default="sample_key")
    est.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    est.set_defaults(func=estimate)
    claims = commands.add_parser("claims", help="check the paper's numerical claims on random models")
    claims.add_argument("--models", type=whole_number(1), default=10_000, help="number of random models (>= 1)")
    claims.add_argument("--seed", type=whole_number(0), default=0)
    claims.add_argument(
        "--mc-draws",
        type=whole_number(MIN_MC_DRAWS),
        default=1_000_000,
        help=f"draws per p_tau for Theorem 6.3 (>= {MIN_MC_DRAWS})",
    )
    claims.add_argument("--workers", type=whole_number(1), default=None, help="processes (default: CPU count)")
    claims.add_argument("--out", help="table to write (.csv, .parquet or .jsonl)")
    claims.add_argument("--markdown", help="Markdown file to write")
    claims.add_argument("--quiet", action="store_true")
    claims.set_defaults(func=run_claims_command)
    from .audit import add_audit_parser  # bonkl audit: its own flags and errors (audit.py)

    add_audit_parser(commands)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "estimate" and not args.tilt > 0:
        parser.error(f"--tilt must be > 0, got {args.tilt}")
    if args.command == "estimate" and not 0 < args.level < 1:
        parser.error(f"--level must lie in (0, 1), got {args.level}")
    if args.command == "estimate" and args.bootstrap == 1:
        parser.error("--bootstrap needs at least 2 resamples (or 0 for none)")
    if args.command == "estimate" and args.method == "unbiased" and np.any(args.n != np.round(args.n)):
        shown = ", ".join(f"{n:g}" for n in args.n[args.n != np.round(args.n)])
        parser.error(
            f"--n has {shown}: the unbiased estimate averages over n-subsets of the pool, so n must be "
            "whole; use whole numbers, or --method plugin for real n"
        )
    try:
        return args.func(args)
    except (ValueError, OSError) as error:  # bad input or an unwritable path: one line, no traceback
        print(f"bonkl {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
