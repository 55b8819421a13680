"""``bonkl audit``: are a pool's log-probabilities those of the unmodified model?

The estimators of ``bonkl estimate`` take every sample's log-probability as ``log pi(y)`` under the
reference model, sampled at temperature 1 from the full distribution, end-of-sequence token
included. The audit re-scores a seeded random subset of the pool with one full forward pass per
sequence (``bonkl.lm.sampling.score_sequences``) and compares, then looks for the usual mistakes:

* recorded log-probabilities systematically *higher* than re-scored ones: top-k, top-p or a
  temperature below 1 renormalised the distribution the tokens were drawn from;
* systematically *lower*: a temperature above 1, or a penalty;
* equal to the re-scored value without the final end-of-sequence token: its term is missing;
* both signs: another model, prompt, chat template or precision;
* token ids that never end in an end-of-sequence token, or samples cut at a length cap;
* identical responses carrying different log-probabilities;
* fewer samples per prompt than the largest ``n`` asked for.

Verdict ``FAIL`` (exit 1) when the pool cannot support the estimates, ``WARN`` (exit 0) for what
the estimates survive but the user should know, else ``PASS`` (exit 0). Bad input: exit 2.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .pipeline.keys import sequence_keys

#: Default largest |recorded - re-scored| (nats) accepted for a sample: float32 incremental decoding
#: differs from a full pass by about 1e-6 per token; 1e-3 leaves room for long sequences.
TOLERANCE = 1e-3
#: Share of the mismatched samples that must point the same way before a cause is named.
AGREEMENT = 0.9


@dataclass
class Finding:
    level: str  # "fail" | "warn" | "info"
    check: str
    message: str


@dataclass
class AuditResult:
    rows: pd.DataFrame  # one row per re-scored sample
    findings: list[Finding] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        levels = {f.level for f in self.findings}
        return "FAIL" if "fail" in levels else "WARN" if "warn" in levels else "PASS"

    def summary(self) -> dict:
        diff = self.rows["difference"].to_numpy() if len(self.rows) else np.array([np.nan])
        return {
            "verdict": self.verdict,
            "rescored": int(len(self.rows)),
            "largest_abs_difference": float(np.max(np.abs(diff))),
            "median_difference": float(np.median(diff)),
            "findings": [vars(f) for f in self.findings],
        }


# ------------------------------------------------------------------------------------ reading


def _parse_ids(value, row: int, column: str, path) -> list[int]:
    """Token ids from a list/array, a JSON/Python list as text, or space-separated integers."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = ast.literal_eval(text) if text.startswith("[") else [int(t) for t in text.split()]
        except (ValueError, SyntaxError):
            raise ValueError(
                f"{path}: column {column!r}, row {row}: cannot read token ids from "
                f"{text[:60]!r} (want a list of integers)"
            ) from None
    try:
        ids = [int(t) for t in value]
    except (TypeError, ValueError):
        raise ValueError(
            f"{path}: column {column!r}, row {row}: token ids must be a list of integers, got {value!r:.60}"
        ) from None
    if not ids:
        raise ValueError(f"{path}: column {column!r}, row {row}: empty token ids")
    return ids


def read_pool(
    path, *, prompt_col="prompt_id", logprob_col="logprob", token_col="token_ids", prompt_token_col="prompt_token_ids"
) -> pd.DataFrame:
    """The pool with ``prompt_id, token_ids, logprob`` (and ``prompt_token_ids``, ``finished`` if present)."""
    from .samples_io import read_table

    path = Path(path)
    frame = read_table(path, "pool", text_cols=[prompt_col, token_col, prompt_token_col], numeric_cols=[logprob_col])
    missing = [c for c in (prompt_col, logprob_col, token_col) if c not in frame.columns]
    if missing:
        hint = (
            " (the audit re-scores each response, so it needs its token ids: keep the ids your "
            "sampler returned, end-of-sequence token included)"
            if token_col in missing
            else ""
        )
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}{hint}")
    if frame.empty:
        raise ValueError(f"{path}: no samples")
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(
        {"prompt_id": frame[prompt_col].astype(str), "logprob": pd.to_numeric(frame[logprob_col], errors="coerce")}
    )
    bad = ~np.isfinite(out["logprob"].to_numpy(np.float64))
    if bad.any():
        raise ValueError(
            f"{path}: column {logprob_col!r} has {bad.sum()} missing or non-numeric value(s), "
            f"first at row {int(np.argmax(bad))}"
        )
    out["token_ids"] = [_parse_ids(v, i, token_col, path) for i, v in enumerate(frame[token_col])]
    if prompt_token_col in frame.columns:
        out["prompt_token_ids"] = [
            _parse_ids(v, i, prompt_token_col, path) for i, v in enumerate(frame[prompt_token_col])
        ]
    if "finished" in frame.columns:
        out["finished"] = frame["finished"].astype(bool)
    return out


def prompt_texts(pool: pd.DataFrame, prompts_file=None) -> dict | None:
    """``prompt_id -> text`` from a prompt-set YAML, or None when the pool carries ``prompt_token_ids``;
    checked before any model is loaded."""
    if "prompt_token_ids" in pool:
        return None
    if prompts_file is None:
        raise ValueError(
            "the pool has no prompt_token_ids column: give --prompts (a prompt-set YAML with "
            "the prompts' ids and texts) so the audit can rebuild each prompt"
        )
    from .pipeline.prompt_sets import load_prompt_set

    texts = {p["id"]: p["text"] for p in load_prompt_set(prompts_file)["prompts"]}
    unknown = sorted(set(pool["prompt_id"]) - set(texts))
    if unknown:
        raise ValueError(f"prompt id(s) {unknown} of the pool are not in {prompts_file} (it has {sorted(texts)})")
    return texts


def prompt_ids_by_id(pool: pd.DataFrame, tokenizer, texts: dict | None) -> dict:
    """``prompt_id -> prompt token ids``: the pool's ``prompt_token_ids``, else the texts with the
    model's chat template applied, as the workflow does."""
    if texts is None:
        return {pid: list(group.iloc[0]) for pid, group in pool.groupby("prompt_id")["prompt_token_ids"]}
    from .lm.prompts import chat_prompt_ids

    return {pid: chat_prompt_ids(tokenizer, texts[pid]) for pid in sorted(set(pool["prompt_id"]))}


# ------------------------------------------------------------------------------------ checks


def _structure_findings(pool, eos, max_n, tolerance) -> list[Finding]:
    """What the pool shows without the model: counts, end-of-sequence tokens, duplicates."""
    findings = []
    if (pool["logprob"] > 0).any():
        findings.append(
            Finding(
                "fail",
                "log-probabilities",
                (
                    f"{int((pool['logprob'] > 0).sum())} sample(s) have logprob > 0: a log-probability in nats is <= 0 "
                    "(a log10, a negated value or a score instead of a log-probability?)"
                ),
            )
        )
    counts = pool.groupby("prompt_id").size()
    if max_n is not None:
        short = counts[counts < max_n]
        if len(short):
            findings.append(
                Finding(
                    "fail",
                    "pool size",
                    (
                        f"{len(short)} prompt(s) have fewer samples than the largest n ({max_n:g}): "
                        f"{dict(short.head(5))}; best-of-n of a pool smaller than n mostly returns the pool's top "
                        "sample, so the estimates there describe the pool, not the model. Draw at least n samples."
                    ),
                )
            )
    ends = pool["token_ids"].map(lambda ids: ids[-1] in eos)
    if "finished" in pool and (pool["finished"] & ~ends).any():
        findings.append(
            Finding(
                "fail",
                "end of sequence",
                (
                    f"{int((pool['finished'] & ~ends).sum())} sample(s) are marked finished but their token ids do not "
                    "end in an end-of-sequence token: keep the EOS id in token_ids and its term in logprob."
                ),
            )
        )
    if not ends.any():
        findings.append(
            Finding(
                "warn",
                "end of sequence",
                (
                    "no sample ends with an end-of-sequence token: either every sample was cut at a length cap, "
                    "or the EOS token was stripped (then its probability is missing from every logprob)."
                ),
            )
        )
    cut = pool.loc[~ends, "token_ids"].map(len)
    if ends.any() and len(cut):
        cap = f" (all at {cut.iloc[0]} tokens: a max_new_tokens cap)" if cut.nunique() == 1 else ""
        findings.append(
            Finding(
                "warn",
                "truncated samples",
                (
                    f"{len(cut)} of {len(pool)} samples ({len(cut) / len(pool):.0%}) end without an end-of-sequence "
                    f"token{cap}; each counts as an outcome with its prefix's probability, i.e. the estimates are "
                    "those of the truncated sampler. Raise the cap if that share matters."
                ),
            )
        )
    keys = pool["prompt_id"] + "|" + sequence_keys(pool)
    spread = pool.groupby(keys)["logprob"].agg(lambda v: v.max() - v.min())
    varied = spread[spread > 0]
    if len(varied):
        level = "fail" if varied.max() > tolerance else "warn"
        findings.append(
            Finding(
                level,
                "duplicates",
                (
                    f"{len(varied)} distinct response(s) were drawn several times with different log-probabilities "
                    f"(largest spread {varied.max():.3g} nats); one response must carry one value: take the first "
                    "draw's (batch shapes change the last bits) or re-score each distinct response once."
                ),
            )
        )
    return findings


def _rescore(pool, model, prompt_ids, rows, eos) -> pd.DataFrame:
    """Re-score the chosen rows; for rows that end in EOS also the sequence without it."""
    from .lm.sampling import score_sequences

    records = []
    for index in rows:
        sample = pool.loc[index]
        ids = sample["token_ids"]
        prompt = prompt_ids[sample["prompt_id"]]
        full = float(score_sequences(model, prompt, [ids])[0])
        prefix = float(score_sequences(model, prompt, [ids[:-1]])[0]) if ids[-1] in eos and len(ids) > 1 else np.nan
        records.append(
            {
                "row": int(index),
                "prompt_id": sample["prompt_id"],
                "num_tokens": len(ids),
                "recorded": float(sample["logprob"]),
                "rescored": full,
                "difference": float(sample["logprob"]) - full,
                "rescored_without_eos": prefix,
            }
        )
    return pd.DataFrame(
        records,
        columns=["row", "prompt_id", "num_tokens", "recorded", "rescored", "difference", "rescored_without_eos"],
    )


def _rescore_findings(rows: pd.DataFrame, tolerance: float) -> list[Finding]:
    """Name the cause of the mismatches, if they share one."""
    diff = rows["difference"].to_numpy()
    bad = np.abs(diff) > tolerance
    stats = (
        f"largest |recorded - re-scored| {np.max(np.abs(diff)):.3g} nats, median difference "
        f"{np.median(diff):+.3g} nats over {len(rows)} re-scored samples"
    )
    if not bad.any():
        return [Finding("info", "log-probabilities", f"match the model within {tolerance:g} nats: {stats}")]
    share = f"{bad.sum()} of {len(rows)} re-scored samples differ by more than {tolerance:g} nats ({stats})"
    no_eos = np.abs(rows["recorded"] - rows["rescored_without_eos"]).to_numpy() <= tolerance
    if np.sum(no_eos & bad) >= AGREEMENT * bad.sum():
        cause = (
            "they equal the re-scored value WITHOUT the final end-of-sequence token: the EOS term is "
            "missing from logprob (add log p(EOS | prefix); the estimators need the whole sequence's "
            "probability)"
        )
    elif np.mean(diff[bad] > 0) >= AGREEMENT:
        cause = (
            "recorded log-probabilities are systematically HIGHER than the model's: the samples were "
            "drawn from a renormalised distribution (top-k, top-p, min-p or temperature < 1; note that "
            "transformers' generate applies top_k=50 unless told top_k=0). Sample at temperature 1 "
            "with no truncation and record the raw log-softmax"
        )
    elif np.mean(diff[bad] < 0) >= AGREEMENT:
        cause = (
            "recorded log-probabilities are systematically LOWER than the model's: temperature > 1, a "
            "repetition/presence penalty, or a different model"
        )
    else:
        cause = (
            "they disagree in both directions: another model or checkpoint, another prompt or chat "
            "template, or a lower precision (bfloat16) than the audit's"
        )
    return [Finding("fail", "log-probabilities", f"{share}; {cause}.")]


def audit_pool(
    pool: pd.DataFrame,
    model,
    tokenizer,
    prompt_ids: dict,
    *,
    rescore: int = 64,
    seed: int = 0,
    tolerance: float = TOLERANCE,
    max_n=None,
) -> AuditResult:
    """Audit a pool (see the module docstring); ``rescore`` samples chosen with ``seed``, distinct
    responses first, spread over the prompts."""
    from .lm.sampling import eos_token_ids

    if rescore < 1:
        raise ValueError(f"rescore must be >= 1, got {rescore}")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    pool = pool.reset_index(drop=True)  # rows are numbered 0..N-1 in the report
    eos = set(eos_token_ids(model, tokenizer))
    findings = _structure_findings(pool, eos, max_n, tolerance)
    rng = np.random.default_rng(seed)
    keys = pool["prompt_id"] + "|" + sequence_keys(pool)
    distinct = pool.index[~keys.duplicated()].to_numpy()
    order = rng.permutation(distinct)
    # round-robin over prompts so that every prompt is re-scored
    by_prompt = {pid: [i for i in order if pool.at[i, "prompt_id"] == pid] for pid in sorted(set(pool["prompt_id"]))}
    chosen = []
    while len(chosen) < min(rescore, len(distinct)):
        for picks in by_prompt.values():
            if picks and len(chosen) < rescore:
                chosen.append(picks.pop(0))
    rows = _rescore(pool, model, prompt_ids, chosen, eos)
    return AuditResult(rows, findings + _rescore_findings(rows, tolerance))


# ------------------------------------------------------------------------------------ command line


def add_audit_parser(commands) -> None:
    """The ``bonkl audit`` subcommand (called from ``bonkl.cli``)."""
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
    audit.add_argument("--dtype", default="float32", help="float32 (default, exact) | bfloat16 | float16")
    audit.add_argument("--device", default="cpu", help="cpu (default) | cuda | cuda:N | auto")
    audit.add_argument(
        "--prompts",
        default=None,
        help="prompt-set YAML (ids and texts; chat template applied) when the pool has no prompt_token_ids column",
    )
    audit.add_argument("--n", default=None, help="the n values you will estimate at, e.g. 1,2,4,...,1024")
    audit.add_argument("--rescore", type=int, default=64, help="how many samples to re-score (default 64)")
    audit.add_argument("--seed", type=int, default=0)
    audit.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE,
        help=f"largest accepted |recorded - re-scored| in nats (default {TOLERANCE:g})",
    )
    audit.add_argument("--prompt-col", default="prompt_id")
    audit.add_argument("--logprob-col", default="logprob")
    audit.add_argument("--token-col", default="token_ids")
    audit.add_argument("--out", default=None, help="optional JSON report (summary and every re-scored sample)")
    audit.set_defaults(func=run)


def run(args) -> int:
    """Run the audit from parsed arguments; print the verdict. Errors in the input: one line, exit 2."""
    try:
        result = _run(args)
    except (ValueError, OSError, NotImplementedError) as error:
        print(f"bonkl audit: error: {error}", file=sys.stderr)
        return 2
    summary = result.summary()
    for finding in result.findings:
        print(f"[{finding.level.upper():4}] {finding.check}: {finding.message}")
    print(f"verdict: {summary['verdict']}")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        partial.write_text(json.dumps({**summary, "samples": result.rows.to_dict("records")}, indent=1))
        partial.replace(out)
    return 1 if summary["verdict"] == "FAIL" else 0


def _require_lm() -> None:
    """The audit re-scores with the model: without the ``lm`` extra, say so in one line."""
    from importlib.util import find_spec

    missing = [name for name in ("torch", "transformers") if find_spec(name) is None]
    if missing:
        raise ValueError(
            f"re-scoring needs {' and '.join(missing)}, which the core install leaves out: pip install 'bonkl[lm]'"
        )


def _run(args) -> AuditResult:
    _require_lm()
    max_n = None
    if args.n:
        try:
            max_n = max(float(v) for v in str(args.n).split(",") if v.strip())
        except ValueError:
            raise ValueError(f"--n must be comma-separated numbers, got {args.n!r}") from None
    if args.rescore < 1 or not args.tolerance > 0:
        raise ValueError(f"--rescore must be >= 1 and --tolerance > 0, got {args.rescore} and {args.tolerance}")
    pool = read_pool(args.samples, prompt_col=args.prompt_col, logprob_col=args.logprob_col, token_col=args.token_col)
    texts = prompt_texts(pool, args.prompts)
    from transformers.utils import logging as hf_logging

    from .lm.load import load_model

    hf_logging.disable_progress_bar()  # the report is the output
    spec = {"path": args.model, "gguf_file": args.gguf_file, "dtype": args.dtype, "device": args.device}
    try:
        model, tokenizer = load_model(spec)
    except (ValueError, OSError) as error:  # name the flags, not the workflow's config keys
        message = str(error)
        for key, flag in (
            ("lm.model.path", "--model"),
            ("lm.model.gguf_file", "--gguf-file"),
            ("lm.model.dtype", "--dtype"),
            ("lm.model.device", "--device"),
        ):
            message = message.replace(key, flag)
        raise ValueError(message) from None
    prompt_ids = prompt_ids_by_id(pool, tokenizer, texts)
    return audit_pool(
        pool, model, tokenizer, prompt_ids, rescore=args.rescore, seed=args.seed, tolerance=args.tolerance, max_n=max_n
    )


def main(argv=None) -> int:
    """``python -m bonkl.audit ...``: the same as ``bonkl audit ...``."""
    parser = argparse.ArgumentParser(prog="bonkl")
    add_audit_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
