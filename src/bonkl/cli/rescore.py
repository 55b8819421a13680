"""``bonkl rescore``: a pool drawn by another engine, given its reference log-probabilities (:mod:`bonkl.lm.rescore`).

The pool keeps each response's ``token_ids`` and the engine's own ``sampler_logprob`` (vLLM's or
SGLang's processed log-probabilities, transformers' ``output_scores``). This command adds
``logprob``, log pi under the float32 reference (one full forward pass per distinct response,
batched, end-of-sequence token included), or checks the pool's own ``logprob`` against it; gives
identical responses one ``sampler_logprob`` (the engine's values may differ by its noise: accepted
up to ``--spread-tolerance``, and the spread is printed, kept per row and in the report); and
writes a table that ``bonkl estimate --sampler-logprob-col sampler_logprob`` reads as it is.

Exit 0: written; 1: a check failed (nothing written but the ``--report``); 2: bad input, nothing
written. Every flag, file and output path is checked before the model is loaded.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

from ..audit import TOLERANCE, prompt_texts
from ..files.atomic import check_outputs, table_format, write_json, write_table
from ..files.keys import sequence_keys
from ..files.samples import read_token_pool
from . import model
from .audit import MAX_TOLERANCE
from .flags import number_in, whole_number

#: Default largest spread (nats) of the engine's sampler_logprob over identical responses: one canonical
#: value per response then moves sampler_log_ratio by at most this (docs/MATH.md, "A pool from another engine").
SPREAD_TOLERANCE = 0.05
MAX_BATCH = 4096
CANONICAL = ("first", "mean")
#: The columns this command writes besides the pool's own (sample_key and prompt_token_ids only when missing).
ADDED = (
    "logprob",
    "recorded_logprob",
    "recorded_sampler_logprob",
    "sampler_logprob_spread",
    "reference_sampler_logprob",
)
_FIX = (
    "bonkl rescore needs each response's token ids (end-of-sequence token included) and the engine's "
    "log-probability of the response under its sampler; name them with --token-col/--sampler-logprob-col "
    "(and --prompt-col)"
)


def add_parser(commands) -> None:
    rescore = commands.add_parser(
        "rescore",
        help="add (or check) the float32 reference logprob of a pool drawn by another engine",
        description="Re-score every distinct response of a pool drawn by any engine (vLLM, SGLang, transformers' "
        "generate; top-p, bfloat16...) under the float32 reference model: adds logprob (log pi, end-of-sequence "
        "token included), or checks the pool's own logprob within --tolerance; gives identical responses one "
        "sampler_logprob, accepting the engine's noise up to --spread-tolerance and reporting the spread. The output "
        "is ready for bonkl estimate --sampler-logprob-col sampler_logprob. With the sampler settings the pool was "
        "drawn with (--temperature/--top-k/--top-p/--min-p), the float32 log q is added as reference_sampler_logprob "
        "and compared with the engine's. Exit 0: written; 1: a check failed "
        "(nothing written but --report); 2: bad input (nothing written).",
    )
    rescore.add_argument(
        "--samples", required=True, help="CSV, JSONL or Parquet pool with token ids and sampler_logprob"
    )
    rescore.add_argument("--out", required=True, help="the re-scored pool: .csv, .parquet or .jsonl (by suffix)")
    model.add_model_flags(rescore, dtype=False)  # the reference is float32: no --dtype
    model.add_sampler_flags(rescore)  # optional: also float32 log q, compared with the engine's
    rescore.add_argument(
        "--batch-size",
        type=whole_number(1, MAX_BATCH),
        default=16,
        help=f"responses per forward pass, in [1, {MAX_BATCH}] (default 16)",
    )
    rescore.add_argument(
        "--tolerance",
        type=number_in(0, MAX_TOLERANCE),
        default=TOLERANCE,
        help=f"largest accepted |recorded - re-scored| logprob in nats, when the pool has one, in "
        f"(0, {MAX_TOLERANCE:g}] (default {TOLERANCE:g})",
    )
    rescore.add_argument(
        "--replace-logprob",
        action="store_true",
        help="write the reference's logprob even where the pool's own differs by more than --tolerance "
        "(the comparison is still printed; the pool's values are kept as recorded_logprob)",
    )
    rescore.add_argument(
        "--spread-tolerance",
        type=number_in(0, MAX_TOLERANCE, closed_low=True),
        default=SPREAD_TOLERANCE,
        help="largest accepted spread (max - min) of the engine's sampler_logprob over identical responses, in nats, "
        f"in [0, {MAX_TOLERANCE:g}] (default {SPREAD_TOLERANCE:g})",
    )
    rescore.add_argument(
        "--canonical",
        choices=CANONICAL,
        default="first",
        help="the one sampler_logprob of identical responses: the first draw's (default) or their mean",
    )
    rescore.add_argument("--prompt-col", default="prompt_id")
    rescore.add_argument("--token-col", default="token_ids")
    rescore.add_argument("--logprob-col", default="logprob", help="the pool's own log pi, checked when present")
    rescore.add_argument("--sampler-logprob-col", default="sampler_logprob", help="the engine's log q of each response")
    rescore.add_argument("--report", default=None, help="optional .json report (settings, checks, every spread > 0)")
    rescore.set_defaults(func=run)


def _check_flags(args) -> None:
    """The output paths, before any file is read."""
    table_format(args.out)
    if args.report and Path(args.report).suffix.lower() != ".json":
        raise ValueError(f"--report {args.report}: the report is one JSON document; name it .json")
    check_outputs([args.samples, args.prompts, args.model], [args.out, args.report])


def _read(args):
    """The pool (strictly read, its other columns as written) and its prompts' texts or None."""
    pool = read_token_pool(
        args.samples,
        prompt_col=args.prompt_col,
        logprob_col=args.logprob_col,
        token_col=args.token_col,
        sampler_logprob_col=args.sampler_logprob_col,
        optional=model.unnamed(args, "logprob"),  # checked when present; one named by --logprob-col must exist
        keep_other=True,
        fix=_FIX,
    )
    taken = [name for name in ADDED if name in pool and name != "logprob"]
    if taken:
        raise ValueError(
            f"{args.samples}: already has a column {taken[0]!r}, which bonkl rescore writes; rename or drop it "
            "(is it a re-scored pool already?)"
        )
    return pool, prompt_texts(pool, args.prompts)


def run(args) -> int:
    _check_flags(args)
    model.require_lm()
    sampler = model.sampler_settings(args)
    pool, texts = _read(args)
    from ..lm.rescore import check_engine_logprobs

    noise = check_engine_logprobs(pool, args.spread_tolerance, canonical=args.canonical)
    report = {
        "samples": str(args.samples),
        "model": str(args.model),
        "sampler": asdict(sampler),
        "rows": len(pool),
        "prompts": int(pool["prompt_id"].nunique()),
        "engine_noise": noise.summary(),
        "spread_groups": noise.groups[noise.groups["spread"] > 0].to_dict("records"),
    }
    print(_noise_line(noise, args))
    if not noise.ok:
        return _fail(args, report, _spread_failure(noise))

    lm, tokenizer = model.load(args)
    prompt_ids = model.prompt_ids(pool, tokenizer, texts, args.samples)
    out, seconds = _rescored(args, lm, pool, prompt_ids, sampler)
    print(
        f"re-scored {noise.summary()['distinct']} distinct responses under {args.model} in float32 "
        f"(batches of {args.batch_size}): {seconds:.2f} s"
    )
    from ..lm.rescore import compare_rescored

    compared = compare_rescored(out, args.tolerance)
    report["checks"] = {name: c.as_dict() for name, c in compared.items()}
    if "logprob" in compared:
        failure = _logprob_line(compared["logprob"], args)
        if failure:
            return _fail(args, report, failure)
    if "sampler_logprob" in compared:
        print(_versus_line(compared["sampler_logprob"], sampler))
    out = _finish(out, pool, noise, prompt_ids)
    _warn_about_ends(out, lm, tokenizer)
    write_table(out, args.out)
    report["written"] = str(args.out)
    if args.report:
        write_json(report, args.report)
    print(
        f"wrote {args.out} ({len(out)} rows, {report['prompts']} prompts); next: bonkl estimate --samples {args.out} "
        "--sampler-logprob-col sampler_logprob --n ..."
    )
    if "reward" not in out:
        print(f"bonkl rescore: note: {args.out} has no reward column; add one before bonkl estimate", file=sys.stderr)
    return 0


def _rescored(args, lm, pool, prompt_ids, sampler):
    """``rescore_pool`` over the pool (the engine's recorded ``sampler_logprob`` as read), timed."""
    from ..lm.rescore import rescore_pool

    start = time.perf_counter()
    try:
        out = rescore_pool(
            lm, prompt_ids, pool, batch_size=args.batch_size, sampler=sampler if sampler.active else None
        )
    except ValueError as error:  # about the pool's ids: name its file
        raise ValueError(f"{args.samples}: {error}; were the samples tokenised by another model's tokenizer?") from None
    return out, time.perf_counter() - start


def _finish(out, pool, noise, prompt_ids):
    """The output table: the pool's columns (``logprob`` the reference's, ``sampler_logprob`` one value
    per response), then the engine's values as recorded, each row's spread, and the keys."""
    out = out.assign(
        sampler_logprob=noise.canonical.to_numpy(),
        recorded_sampler_logprob=pool["sampler_logprob"].to_numpy(),
        sampler_logprob_spread=noise.spread.to_numpy(),
    )
    if "sample_key" not in out:
        out["sample_key"] = sequence_keys(out)
    if "prompt_token_ids" not in out:
        out["prompt_token_ids"] = [list(prompt_ids[pid]) for pid in out["prompt_id"]]
    first = [c for c in pool.columns if c in out]
    return out[first + [c for c in out.columns if c not in first]]


def _noise_line(noise, args) -> str:
    s = noise.summary()
    return (
        f"engine sampler_logprob over identical responses: {s['distinct']} distinct responses, {s['repeated']} drawn "
        f"more than once, {s['varied']} with differing values; largest spread {s['largest_spread']:.3g} nats, median "
        f"spread of the repeated {s['median_spread_of_repeated']:.3g} nats; {s['above_tolerance']} above "
        f"--spread-tolerance {args.spread_tolerance:g} (one value per response: the {s['canonical']} draw's; "
        "as recorded in recorded_sampler_logprob, the spread per row in sampler_logprob_spread)"
    )


def _spread_failure(noise) -> str:
    worst = noise.groups.sort_values("spread", ascending=False).head(3)
    shown = "; ".join(
        f"prompt {row.prompt_id!r}, response [{row.sample_key}] ({row.draws} draws): {row.spread:.3g} nats"
        for row in worst.itertuples()
    )
    return (
        f"{noise.above} distinct response(s) carry engine sampler_logprob values further apart than "
        f"--spread-tolerance {noise.tolerance:g} nats ({shown}): the draws did not come from one distribution q "
        "(bfloat16 numerics, batch composition). Raise --spread-tolerance if an error of that size in "
        "sampler_log_ratio is acceptable, or have the engine record log q in float32"
    )


def _logprob_line(c, args) -> str | None:
    """Print the check of the pool's own logprob; the failure's text, or None."""
    stats = (
        f"pool logprob - reference: max |.| {c.max_abs_difference:.3g} nats, mean {c.mean_difference:+.3g}; "
        f"{c.above_tolerance} of {c.compared} beyond --tolerance {c.tolerance:g}"
    )
    if not c.above_tolerance:
        print(f"[OK  ] {stats}")
        return None
    cause = {
        "higher": "systematically higher: log q of a truncated or tempered sampler recorded as logprob?",
        "lower": "systematically lower: a temperature above 1 or a penalty?",
    }.get(c.pattern, "both directions: another model, prompt or chat template, or a lower precision (bfloat16)")
    if args.replace_logprob:
        print(f"[WARN] {stats} ({cause}); replaced by the reference's (--replace-logprob)")
        return None
    return f"{stats} ({cause}). Pass --replace-logprob to write the reference's logprob instead"


def _versus_line(c, sampler) -> str:
    return (
        f"engine sampler_logprob - float32 log q ({', '.join(f'{k} {v:g}' for k, v in asdict(sampler).items())}): "
        f"mean {c.mean_difference:+.3g}, mean |.| {c.mean_abs_difference:.3g}, max |.| {c.max_abs_difference:.3g} "
        f"nats, +{c.positive}/-{c.negative} ({c.pattern}); {c.outside_support} response(s) outside float32's kept "
        "set (the estimates use the engine's own values: they are what it drew from)"
    )


def _fail(args, report, message: str) -> int:
    print(f"[FAIL] {message}")
    print(f"not written: {args.out}")
    report["failure"] = message
    if args.report:
        write_json(report, args.report)
    return 1


def _warn_about_ends(out, lm, tokenizer) -> None:
    """A pool whose responses never end in an end-of-sequence token lost its EOS ids (or was all cut)."""
    from ..lm.sampling import eos_token_ids

    eos = set(eos_token_ids(lm, tokenizer))
    if not out["token_ids"].map(lambda ids: ids[-1] in eos).any():
        print(
            "[WARN] no response ends with an end-of-sequence token: either every one was cut at a length cap, or "
            "the engine's EOS ids were stripped (then its term is missing from logprob and sampler_logprob)"
        )
