"""The audit's findings: what a pool shows without the model, and what the re-scored samples say.

Nothing here loads a model: :func:`structure_findings` reads the pool alone, :func:`rescore_findings`
names the cause shared by the recorded and re-scored log-probabilities of :func:`bonkl.audit.audit_pool`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..files.keys import sequence_keys

#: Default largest |recorded - re-scored| (nats) accepted for a sample: float32 incremental decoding
#: differs from a full pass by about 1e-6 per token; 1e-3 leaves room for long sequences.
TOLERANCE = 1e-3
#: Share of the mismatched samples that must point the same way before a cause is named.
AGREEMENT = 0.9
#: The recorded columns the audit checks, and the prefix of their re-scored values in the report's rows:
#: ``logprob`` against log pi (the model at temperature 1), ``sampler_logprob`` against log q (the
#: distribution the sampler settings make of the model).
PREFIX = {"logprob": "", "sampler_logprob": "sampler_"}
#: Each column's name in the findings (the logprob's are as before the sampler existed).
CHECK = {"logprob": "log-probabilities", "sampler_logprob": "sampler log-probabilities"}


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
        out = {"verdict": self.verdict, "rescored": int(len(self.rows))}
        for column, prefix in PREFIX.items():
            if f"{prefix}difference" not in self.rows:
                continue
            diff = self.rows[f"{prefix}difference"].to_numpy(dtype=np.float64)
            finite = diff[np.isfinite(diff)] if np.isfinite(diff).any() else np.array([np.nan])
            out[f"{prefix}largest_abs_difference"] = float(np.max(np.abs(finite)))
            out[f"{prefix}median_difference"] = float(np.median(finite))
            if column == "sampler_logprob":
                out["sampler_outside_support"] = int(np.isinf(diff).sum())
        out["findings"] = [vars(f) for f in self.findings]
        return out


def structure_findings(pool, eos, max_n, tolerance) -> list[Finding]:
    """What the pool shows without the model: counts, end-of-sequence tokens, duplicates."""
    columns = [column for column in PREFIX if column in pool]
    findings = [_positive(pool, column) for column in columns if (pool[column] > 0).any()]
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
    for column in columns:
        spread = pool.groupby(keys)[column].agg(lambda v: v.max() - v.min())
        varied = spread[spread > 0]
        if len(varied):
            level = "fail" if varied.max() > tolerance else "warn"
            check = "duplicates" if column == "logprob" else f"duplicates ({column})"
            findings.append(
                Finding(
                    level,
                    check,
                    (
                        f"{len(varied)} distinct response(s) were drawn several times with different {column} "
                        f"(largest spread {varied.max():.3g} nats); one response must carry one value: take the "
                        "first draw's (batch shapes change the last bits) or re-score each distinct response once "
                        "(bonkl rescore)."
                    ),
                )
            )
    return findings


def _positive(pool, column: str) -> Finding:
    return Finding(
        "fail",
        CHECK[column],
        (
            f"{int((pool[column] > 0).sum())} sample(s) have {column} > 0: a log-probability in nats is <= 0 "
            "(a log10, a negated value or a score instead of a log-probability?)"
        ),
    )


_CAUSES = {
    "logprob": {
        "higher": (
            "recorded log-probabilities are systematically HIGHER than the model's: the samples were "
            "drawn from a renormalised distribution (top-k, top-p, min-p or temperature < 1; note that "
            "transformers' generate applies top_k=50 unless told top_k=0). Sample at temperature 1 "
            "with no truncation and record the raw log-softmax, or record the sampler's own values as "
            "sampler_logprob and let bonkl rescore add logprob"
        ),
        "lower": (
            "recorded log-probabilities are systematically LOWER than the model's: temperature > 1, a "
            "repetition/presence penalty, or a different model"
        ),
    },
    "sampler_logprob": {
        "higher": (
            "recorded sampler log-probabilities are systematically HIGHER than log q of the settings given: "
            "the sampler truncated or sharpened more than --temperature/--top-k/--top-p/--min-p say "
            "(transformers' generate applies top_k=50 unless told top_k=0; vLLM the checkpoint's "
            "generation_config.json); give the settings it was drawn with"
        ),
        "lower": (
            "recorded sampler log-probabilities are systematically LOWER than log q of the settings given: a "
            "higher temperature or less truncation than the flags say, a penalty, or the raw model "
            "log-probabilities (log pi, vLLM's default logprobs) recorded as sampler_logprob"
        ),
    },
}


def rescore_findings(rows: pd.DataFrame, tolerance: float, column: str = "logprob") -> list[Finding]:
    """Name the cause of the mismatches of ``column`` (``logprob`` or ``sampler_logprob``, whose
    re-scored values carry the prefix ``PREFIX[column]`` in ``rows``), if they share one."""
    prefix, check = PREFIX[column], CHECK[column]
    diff = rows[f"{prefix}difference"].to_numpy()
    outside = np.isneginf(rows[f"{prefix}rescored"].to_numpy())
    findings = []
    if outside.any():
        findings.append(
            Finding(
                "fail",
                check,
                (
                    f"{outside.sum()} of {len(rows)} re-scored samples contain a token that the sampler settings "
                    "given remove (log q = -inf): the pool was not drawn with these settings, or by another model"
                ),
            )
        )
        rows, diff = rows[~outside], diff[~outside]
    if not len(rows):
        return findings
    bad = np.abs(diff) > tolerance
    stats = (
        f"largest |recorded - re-scored| {np.max(np.abs(diff)):.3g} nats, median difference "
        f"{np.median(diff):+.3g} nats over {len(rows)} re-scored samples"
    )
    if not bad.any():
        model = "the model" if column == "logprob" else "the sampler settings' q"
        return [*findings, Finding("info", check, f"match {model} within {tolerance:g} nats: {stats}")]
    share = f"{bad.sum()} of {len(rows)} re-scored samples differ by more than {tolerance:g} nats ({stats})"
    no_eos = np.abs(rows[f"{prefix}recorded"] - rows[f"{prefix}rescored_without_eos"]).to_numpy() <= tolerance
    if np.sum(no_eos & bad) >= AGREEMENT * bad.sum():
        cause = (
            "they equal the re-scored value WITHOUT the final end-of-sequence token: the EOS term is "
            f"missing from {column} (add log p(EOS | prefix); the estimators need the whole sequence's "
            "probability)"
        )
    elif np.mean(diff[bad] > 0) >= AGREEMENT:
        cause = _CAUSES[column]["higher"]
    elif np.mean(diff[bad] < 0) >= AGREEMENT:
        cause = _CAUSES[column]["lower"]
    else:
        cause = (
            "they disagree in both directions: another model or checkpoint, another prompt or chat "
            "template, or a lower precision (bfloat16) than the audit's"
        )
    return [*findings, Finding("fail", check, f"{share}; {cause}.")]
