"""``bonkl estimate``: the KL and win rate of your own best-of-n runs, from a pool of reference samples."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .._validate import subset_sizes
from ..files.atomic import check_outputs, table_format
from ..intervals import IntervalSettings
from ..plotting.estimates import MAX_PANELS
from ..pool_table import METHODS, estimate_table
from ..pools import TIES
from .flags import MAX_TILT, level, number_in, parse_ns, parse_orders, replicates, whole_number

FIGURE_FORMATS = (".png", ".pdf", ".svg")


def add_parser(commands) -> None:
    est = commands.add_parser(
        "estimate",
        help="KL and win-rate estimates of best-of-n from a pool of reference samples",
        description="One row per sample drawn from the reference, with its natural log-probability "
        "under the reference and its reward. Identical samples are recognised by the key "
        "column if present, else by equal (logprob, reward). Writes one row per prompt and n.",
    )
    est.add_argument("--samples", required=True, help="CSV, JSONL or Parquet file of samples")
    est.add_argument(
        "--n",
        required=True,
        type=parse_ns,
        help="comma-separated n values, e.g. 1,2,4,8, each in [1, 10000000] and given once (a repeated n is "
        "refused: it would repeat its rows); whole numbers for --method unbiased",
    )
    est.add_argument("--out", required=True, help="output table: .csv, .parquet or .jsonl (by suffix)")
    est.add_argument(
        "--figure",
        help="optional figure (.png, .pdf or .svg): the average over the prompts with its interval, then one "
        f"panel per prompt for at most {MAX_PANELS} prompts (the first by id; the figure keeps its size, and the "
        "title says how many are left out, whatever the number of prompts)",
    )
    est.add_argument(
        "--summary",
        help="also write the average over prompts, one row per n (and per --group-col value), with its "
        "standard error and t interval across prompts (.csv, .parquet or .jsonl); printed unless --quiet",
    )
    est.add_argument("--group-col", help="a column of the samples (one value per prompt) to average within")
    est.add_argument(
        "--tilt",
        type=number_in(0, MAX_TILT),
        default=1.0,
        help=f"tilt t in (0, {MAX_TILT:g}] of the tilted min (-t) and max (+t) of eq. 25 (default 1)",
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
        type=replicates,
        default=0,
        metavar="REPLICATES",
        help="intervals for eq. 25, eq. 23, the expected reward and the win rate (and sampler_log_ratio and "
        "expected_eval_reward with their flags): a studentized bootstrap "
        "from this many resamples of each pool (0: none; else 20 to 100000; 200 is plenty), shown only where "
        "the coverage study found it holds its level (n <= N/8, see ci_note)",
    )
    est.add_argument(
        "--level", type=level, default=0.9, help="confidence level in [0.5, 1) of the intervals (default 0.9)"
    )
    est.add_argument("--seed", type=whole_number(0), default=0, help="seed of the bootstrap (default 0)")
    est.add_argument(
        "--threads",
        type=whole_number(1, 1024),
        default=None,
        help="threads: values of n and chunks of pools at once (default: the CPUs this process may use); "
        "the numbers do not depend on it",
    )
    est.add_argument(
        "--divergences",
        type=parse_orders,
        metavar="ALPHAS",
        help="also estimate the Renyi divergences of these orders (e.g. 0.5,2; each in (0, 1000000] or inf; "
        "and always inf), chi-square and total variation, each beside its bound (beyond the paper)",
    )
    est.add_argument("--prompt-col", default="prompt_id")
    est.add_argument("--logprob-col", default="logprob")
    est.add_argument("--reward-col", default="reward")
    est.add_argument(
        "--key-col",
        help="the column of sample keys (identical responses, one key); default: sample_key when the file has "
        "it, else equal (logprob, reward) pairs are one response. A column named here must exist",
    )
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
    est.set_defaults(func=run)


def _check_flags(args) -> None:
    """What the flags' types cannot see alone: their combinations, and the outputs' file names."""
    if args.bootstrap and args.method != "unbiased":
        raise ValueError("--bootstrap: intervals exist for --method unbiased only (their coverage is measured for it)")
    if args.method == "unbiased":
        subset_sizes(args.n, name="--n")
    table_format(args.out)
    if args.summary:
        table_format(args.summary)
    if args.figure and Path(args.figure).suffix.lower() not in FIGURE_FORMATS:
        raise ValueError(f"--figure {args.figure}: use one of {', '.join(FIGURE_FORMATS)}")
    check_outputs([args.samples], [args.out, args.figure, args.summary])


def _available_cpus() -> int:
    """The CPUs this process may run on (all of them where the system cannot say, as on macOS)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run(args) -> int:
    _check_flags(args)
    from ..files.atomic import write_table
    from ..files.samples import read_sample_table
    from ..pools import build_pools
    from ..summary import prompt_average

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
    try:
        pools = build_pools(samples["prompt_id"], samples["logprob"], samples["reward"], key, ties=args.ties, **extra)
    except ValueError as error:  # an impossible pool: name the file as the reader's errors do
        raise ValueError(f"{args.samples}: {error}") from None
    small = pools.sizes < args.n.max()
    if args.method == "unbiased" and small.any() and not args.quiet:
        shown = ", ".join(f"{p!r} ({s})" for p, s in list(zip(pools.ids[small], pools.sizes[small]))[:5])
        print(
            f"bonkl estimate: {int(small.sum())} prompt(s) have fewer samples than n = {args.n.max():g} "
            f"({shown}): their rows at larger n are empty (the unbiased estimate needs n <= the pool size)",
            file=sys.stderr,
        )
    groups = samples.groupby("prompt_id")["group"].first() if args.group_col else None
    del samples, key, extra  # the pools hold what the estimates need: free the rows (10^7 of them at scale)
    intervals = IntervalSettings(args.bootstrap, args.level, args.seed) if args.bootstrap else None
    threads = args.threads or _available_cpus()
    result = estimate_table(
        pools, args.n, method=args.method, tilt=args.tilt, intervals=intervals, alphas=args.divergences, threads=threads
    )
    if groups is not None:
        result.insert(1, args.group_col, groups.reindex(result["prompt_id"]).to_numpy())
    write_table(result, args.out)
    summary = None
    if args.summary or args.figure:
        summary = prompt_average(result, by=[args.group_col] if args.group_col else [], level=args.level)
    if args.summary:
        write_table(summary, args.summary)
    if args.figure:
        from ..plotting.estimates import plot_estimates_figure

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
