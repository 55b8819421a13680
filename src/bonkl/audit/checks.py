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


def structure_findings(pool, eos, max_n, tolerance) -> list[Finding]:
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


def rescore_findings(rows: pd.DataFrame, tolerance: float) -> list[Finding]:
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
