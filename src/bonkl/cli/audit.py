"""``bonkl audit``: are a pool's log-probabilities those of the unmodified model? (:mod:`bonkl.audit`)"""

from __future__ import annotations

from pathlib import Path

from ..audit import TOLERANCE, audit_pool, prompt_ids_by_id, prompt_texts
from ..files.samples import read_token_pool
from ..lm.load import DTYPES
from .flags import number_in, parse_ns, whole_number

# The model spec's settings (bonkl.lm.load) as this command's flags.
MODEL_FLAGS = {"path": "--model", "gguf_file": "--gguf-file", "dtype": "--dtype", "device": "--device"}
MAX_TOLERANCE = 100.0  # nats: a larger difference is no longer rounding of any kind


def add_parser(commands) -> None:
    audit = commands.add_parser(
        "audit",
        help="check that a pool's log-probabilities are the unmodified model's",
        description="Re-score a seeded random subset of a pool with full forward passes of the model that "
        "should have produced it, and look for top-k/top-p/temperature, a missing end-of-"
        "sequence term, truncation, inconsistent duplicates and too few samples. Exit 0: PASS "
        "or WARN; 1: FAIL (the pool cannot support the estimates); 2: bad input.",
    )
    audit.add_argument("--samples", required=True, help="CSV, JSONL or Parquet pool with token ids")
    audit.add_argument("--model", required=True, help="model folder, .gguf file or hub id (as lm.model.path)")
    audit.add_argument("--gguf-file", default=None, help="GGUF file inside --model")
    audit.add_argument(
        "--dtype", default="float32", choices=DTYPES, help="float32 (default, exact), bfloat16 or float16"
    )
    audit.add_argument("--device", default="cpu", help="cpu (default) | cuda | cuda:N | auto")
    audit.add_argument(
        "--prompts",
        default=None,
        help="prompt-set YAML (ids and texts; chat template applied) when the pool has no prompt_token_ids column",
    )
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
        write_json({**summary, "samples": result.rows.to_dict("records")}, args.out)
    return 1 if summary["verdict"] == "FAIL" else 0


def _require_lm() -> None:
    """The audit re-scores with the model: without the ``lm`` extra, say so in one line."""
    from importlib.util import find_spec

    missing = [name for name in ("torch", "transformers") if find_spec(name) is None]
    if missing:
        raise ValueError(
            f"re-scoring needs {' and '.join(missing)}, which the core install leaves out: pip install 'bonkl[lm]'"
        )


def _audit(args):
    _require_lm()
    pool = read_token_pool(
        args.samples, prompt_col=args.prompt_col, logprob_col=args.logprob_col, token_col=args.token_col
    )
    texts = prompt_texts(pool, args.prompts)
    from transformers.utils import logging as hf_logging

    from ..lm.load import SettingError, load_model

    hf_logging.disable_progress_bar()  # the report is the output
    spec = {"path": args.model, "gguf_file": args.gguf_file, "dtype": args.dtype, "device": args.device}
    try:
        model, tokenizer = load_model(spec)
    except SettingError as error:  # the spec's keys are this command's flags
        raise ValueError(f"{MODEL_FLAGS[error.setting]} {error.problem}") from None
    except NotImplementedError as error:  # transformers: an architecture or GGUF type it cannot load
        raise ValueError(f"--model {args.model!r} cannot be loaded: {error}") from None
    try:
        prompt_ids = prompt_ids_by_id(pool, tokenizer, texts)
    except ValueError as error:  # about the pool's prompts: name its file
        raise ValueError(f"{args.samples}: {error}") from None
    max_n = None if args.n is None else float(args.n.max())
    try:
        return audit_pool(
            pool,
            model,
            tokenizer,
            prompt_ids,
            rescore=args.rescore,
            seed=args.seed,
            tolerance=args.tolerance,
            max_n=max_n,
        )
    except ValueError as error:  # about the pool: name its file
        raise ValueError(f"{args.samples}: {error}") from None
