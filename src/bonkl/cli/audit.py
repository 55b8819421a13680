"""``bonkl audit``: are a pool's log-probabilities those of the unmodified model, and its sampler
log-probabilities those of the sampler settings given? (:mod:`bonkl.audit`)"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ..audit import TOLERANCE, audit_pool, prompt_texts
from ..files.samples import read_token_pool
from . import model
from .flags import number_in, parse_ns, whole_number

MAX_TOLERANCE = 100.0  # nats: a larger difference is no longer rounding of any kind


def add_parser(commands) -> None:
    audit = commands.add_parser(
        "audit",
        help="check that a pool's log-probabilities are the unmodified model's",
        description="Re-score a seeded random subset of a pool with full forward passes of the model that "
        "should have produced it, and look for top-k/top-p/temperature, a missing end-of-"
        "sequence term, truncation, inconsistent duplicates and too few samples. A sampler_logprob column "
        "is checked against the distribution q that --temperature/--top-k/--top-p/--min-p make of the model "
        "(default: the model itself). Exit 0: PASS "
        "or WARN; 1: FAIL (the pool cannot support the estimates); 2: bad input.",
    )
    audit.add_argument("--samples", required=True, help="CSV, JSONL or Parquet pool with token ids")
    model.add_model_flags(audit)
    model.add_sampler_flags(audit)
    audit.add_argument("--n", type=parse_ns, help="the n values you will estimate at, e.g. 1,2,4,...,1024")
    audit.add_argument("--rescore", type=whole_number(1), default=64, help="how many samples to re-score (default 64)")
    audit.add_argument("--seed", type=whole_number(0), default=0, help="seed of the samples re-scored (>= 0)")
    audit.add_argument(
        "--tolerance",
        type=number_in(0, MAX_TOLERANCE),
        default=TOLERANCE,
        help=f"largest accepted |recorded - re-scored| in nats, in (0, {MAX_TOLERANCE:g}] (default {TOLERANCE:g})",
    )
    audit.add_argument("--prompt-col", default="prompt_id")
    audit.add_argument("--logprob-col", default="logprob")
    audit.add_argument(
        "--sampler-logprob-col",
        default="sampler_logprob",
        help="column of log q under the sampler's settings, checked when the pool has it (default sampler_logprob)",
    )
    audit.add_argument("--token-col", default="token_ids")
    audit.add_argument("--out", default=None, help="optional .json report (summary and every re-scored sample)")
    audit.set_defaults(func=run)


def run(args) -> int:
    """Run the audit from parsed arguments; print the verdict (exit 1 on FAIL)."""
    from ..files.atomic import check_outputs, write_json

    check_outputs([args.samples, args.prompts], [args.out])  # never onto the pool: before any work
    if args.out and Path(args.out).suffix.lower() != ".json":
        raise ValueError(f"--out {args.out}: the report is one JSON document; name it .json")
    result = _audit(args)
    summary = result.summary()
    for finding in result.findings:
        print(f"[{finding.level.upper():4}] {finding.check}: {finding.message}")
    print(f"verdict: {summary['verdict']}")
    if args.out:
        settings = asdict(model.sampler_settings(args))
        write_json({**summary, "sampler": settings, "samples": result.rows.to_dict("records")}, args.out)
    return 1 if summary["verdict"] == "FAIL" else 0


def _audit(args):
    model.require_lm()
    sampler = model.sampler_settings(args)
    pool = read_token_pool(
        args.samples,
        prompt_col=args.prompt_col,
        logprob_col=args.logprob_col,
        token_col=args.token_col,
        sampler_logprob_col=args.sampler_logprob_col,
        optional=model.unnamed(args, "logprob", "sampler_logprob"),  # a column named by its flag must be there
    )
    if "logprob" not in pool and "sampler_logprob" not in pool:
        raise ValueError(
            f"{args.samples}: no column {args.logprob_col!r} or {args.sampler_logprob_col!r}; the audit checks the "
            "recorded log-probabilities (name them with --logprob-col/--sampler-logprob-col)"
        )
    if sampler.active and "sampler_logprob" not in pool:
        raise ValueError(
            f"{args.samples}: sampler settings given, but no column {args.sampler_logprob_col!r} to check them "
            "against (name it with --sampler-logprob-col)"
        )
    texts = prompt_texts(pool, args.prompts)
    lm, tokenizer = model.load(args)
    prompt_ids = model.prompt_ids(pool, tokenizer, texts, args.samples)
    max_n = None if args.n is None else float(args.n.max())
    try:
        return audit_pool(
            pool,
            lm,
            tokenizer,
            prompt_ids,
            rescore=args.rescore,
            seed=args.seed,
            tolerance=args.tolerance,
            max_n=max_n,
            sampler=sampler,
        )
    except ValueError as error:  # about the pool: name its file
        raise ValueError(f"{args.samples}: {error}") from None
