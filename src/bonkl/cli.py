"""bonkl command line: estimate the KL and win rate of your own best-of-n runs; the claims table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import describe
from .intervals import IntervalSettings
from .pool_table import METHODS, estimate_table
from .pools import TIES

FIGURE_FORMATS = (".png", ".pdf", ".svg")
MAX_N = 1e7  # as the workflow's lm.n; the fault tests check every number is in range up to here
MAX_PANELS = 12  # prompts drawn one per panel in --figure (the average is always drawn)


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


def estimate(args) -> int:
    from .pipeline.atomic import refuse_overwrite, table_format, write_table
    from .pools import build_pools
    from .samples_io import read_sample_table
    from .summary import prompt_average

    table_format(args.out)
    if args.summary:
        table_format(args.summary)
    if args.figure and Path(args.figure).suffix.lower() not in FIGURE_FORMATS:
        raise ValueError(f"--figure {args.figure}: use one of {', '.join(FIGURE_FORMATS)}")
    refuse_overwrite([args.samples], [args.out, args.figure, args.summary])
    samples = read_sample_table(
        args.samples,
        prompt_col=args.prompt_col,
        logprob_col=args.logprob_col,
        reward_col=args.reward_col,
        key_col=args.key_col,
        group_col=args.group_col,
        sampler_logprob_col=args.sampler_logprob_col,
        eval_reward_col=args.eval_reward_col,
    )
    key = samples["sample_key"] if "sample_key" in samples else None
    extra = {name: samples[name] for name in ("sampler_logprob", "eval_reward") if name in samples}
    pools = build_pools(samples["prompt_id"], samples["logprob"], samples["reward"], key, ties=args.ties, **extra)
    small = pools.sizes < args.n.max()
    if args.method == "unbiased" and small.any() and not args.quiet:
        shown = ", ".join(f"{p!r} ({s})" for p, s in list(zip(pools.ids[small], pools.sizes[small]))[:5])
        print(
            f"bonkl estimate: {int(small.sum())} prompt(s) have fewer samples than n = {args.n.max():g} "
            f"({shown}): their rows at larger n are empty (the unbiased estimate needs n <= the pool size)",
            file=sys.stderr,
        )
    intervals = IntervalSettings(args.bootstrap, args.level, args.seed) if args.bootstrap else None
    result = estimate_table(
        pools, args.n, method=args.method, tilt=args.tilt, intervals=intervals, alphas=args.divergences
    )
    if args.group_col:
        groups = samples.groupby("prompt_id")["group"].first()
        result.insert(1, args.group_col, groups.reindex(result["prompt_id"]).to_numpy())
    write_table(result, args.out)
    summary = None
    if args.summary or args.figure:
        summary = prompt_average(result, by=[args.group_col] if args.group_col else [], level=args.level)
    if args.summary:
        write_table(summary, args.summary)
    if args.figure:
        from .plotting.estimates import plot_estimates_figure

        plot_estimates_figure(
            result, args.figure, title=f"Best-of-n KL estimates: {Path(args.samples).name}", summary=summary
        )
    if not args.quiet:
        if summary is not None:
            shown = summary[
                [c for c in ("n", "num_prompts", "kl_estimator_mean", "kl_estimator_mean_se") if c in summary]
            ]
            print(shown.to_string(index=False))
        print(f"wrote {args.out} ({len(result)} rows, {pools.ids.size} prompts)")
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
    est.add_argument(
        "--figure",
        help="optional figure (.png, .pdf or .svg): the prompt average, then one panel per prompt (the first "
        f"{MAX_PANELS} prompts by id when there are more)",
    )
    est.add_argument(
        "--summary",
        help="also write the average over prompts, one row per n (and per --group-col value), with its "
        "standard error and t interval across prompts (.csv, .parquet or .jsonl); printed unless --quiet",
    )
    est.add_argument("--group-col", help="a column of the samples (one value per prompt) to average within")
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
        help="intervals for eq. 25, eq. 23, the expected reward and the win rate (and sampler_log_ratio and "
        "expected_eval_reward with their flags): a studentized bootstrap "
        "from this many resamples of each pool (0: none; 200 is plenty), shown only where the coverage "
        "study found it holds its level (n <= N/8, see ci_note); at least 20",
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
    est.add_argument(
        "--sampler-logprob-col",
        metavar="COL",
        help="the samples were drawn from a sampler q (temperature, top-k, top-p...), not from the reference: "
        "this column holds log q of each sample (--logprob-col stays log pi). The paper's columns then describe "
        "best-of-n's step from q, KL(BoN_q || q), and sampler_log_ratio and kl_to_reference_* complete it to "
        "KL(BoN_q || pi); the win rate is against a draw from q",
    )
    est.add_argument(
        "--eval-reward-col",
        metavar="COL",
        help="an evaluation reward: adds expected_eval_reward, its mean under the best-of-n that --reward-col selects",
    )
    est.add_argument("--quiet", action="store_true", help="print nothing but errors")
    est.set_defaults(func=estimate)
    columns = commands.add_parser("columns", help="what each column of bonkl estimate's table estimates")
    columns.set_defaults(func=lambda args: print(describe()) or 0)
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
    if args.command == "estimate" and not 0 < args.tilt < np.inf:
        parser.error(f"--tilt must be a finite number > 0, got {args.tilt}")
    if args.command == "estimate" and not 0 < args.level < 1:
        parser.error(f"--level must lie in (0, 1), got {args.level}")
    if args.command == "estimate" and 0 < args.bootstrap < 20:
        parser.error(f"--bootstrap needs at least 20 resamples (or 0 for none), got {args.bootstrap}")
    if args.command == "estimate" and args.bootstrap and args.method != "unbiased":
        parser.error("--bootstrap: intervals exist for --method unbiased only (their coverage is measured for it)")
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
