"""``bonkl audit``: are a pool's log-probabilities those of the unmodified model, or of the sampler it names?

The estimators of ``bonkl estimate`` take every sample's ``logprob`` as ``log pi(y)`` under the
reference model (its raw logits at temperature 1), end-of-sequence token included; a pool drawn
with temperature, top-k, top-p or min-p also carries ``sampler_logprob``, ``log q(y)`` under the
distribution those settings make of the model (:mod:`bonkl.lm.processors`). The audit re-scores a
seeded random subset of the pool with one full forward pass per sequence
(``bonkl.lm.sampling.score_sequences``, with the sampler's settings for ``log q``), compares each
column the pool has, then looks for the usual mistakes:

* recorded values systematically *higher* than re-scored ones: top-k, top-p or a temperature
  below 1 renormalised the distribution the tokens were drawn from (for ``sampler_logprob``: more
  than the settings given say);
* systematically *lower*: a temperature above 1, or a penalty (for ``sampler_logprob``: less than
  the settings say, or log pi recorded in its place);
* a token the settings remove (``log q = -inf``): not drawn with these settings;
* equal to the re-scored value without the final end-of-sequence token: its term is missing;
* both signs: another model, prompt or precision;
* token ids that never end in an end-of-sequence token, or samples cut at a length cap;
* identical responses carrying different log-probabilities;
* fewer samples per prompt than the largest ``n`` asked for.

Verdict ``FAIL`` (exit 1) when the pool cannot support the estimates, ``WARN`` (exit 0) for what
the estimates survive but the user should know, else ``PASS`` (exit 0). Bad input: exit 2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..files.keys import sequence_keys
from .checks import AGREEMENT, PREFIX, TOLERANCE, AuditResult, Finding, rescore_findings, structure_findings

__all__ = [
    "AGREEMENT",
    "PREFIX",
    "TOLERANCE",
    "AuditResult",
    "Finding",
    "audit_pool",
    "prompt_ids_by_id",
    "prompt_texts",
]


def prompt_texts(pool: pd.DataFrame, prompts_file=None) -> dict | None:
    """``prompt_id -> text`` from a prompt-set YAML, or None when the pool carries ``prompt_token_ids``;
    checked before any model is loaded."""
    if "prompt_token_ids" in pool:
        return None
    if prompts_file is None:
        raise ValueError(
            "the pool has no prompt_token_ids column: give --prompts (a prompt-set YAML with "
            "the prompts' ids and texts) so that each prompt's token ids can be rebuilt"
        )
    from ..files.prompt_sets import load_prompt_set

    texts = {p["id"]: p["text"] for p in load_prompt_set(prompts_file)["prompts"]}
    unknown = sorted(set(pool["prompt_id"]) - set(texts))
    if unknown:
        raise ValueError(f"prompt id(s) {unknown} of the pool are not in {prompts_file} (it has {sorted(texts)})")
    return texts


def prompt_ids_by_id(pool: pd.DataFrame, tokenizer, texts: dict | None) -> dict:
    """``prompt_id -> prompt token ids``: the pool's ``prompt_token_ids``, else the texts with the
    model's chat template applied, as the workflow does."""
    if texts is None:
        out = {}
        for pid, group in pool.groupby("prompt_id", sort=True)["prompt_token_ids"]:
            first = list(group.iloc[0])
            other = [row for row, ids in group.items() if list(ids) != first]
            if other:
                raise ValueError(
                    f"prompt {pid!r}: rows {group.index[0]} and {other[0]} carry different prompt_token_ids; "
                    "the samples of one prompt share its token ids (or give each prompt its own prompt_id)"
                )
            out[pid] = first
        return out
    from ..lm.prompts import chat_prompt_ids

    return {pid: chat_prompt_ids(tokenizer, texts[pid]) for pid in sorted(set(pool["prompt_id"]))}


def _rescore(pool, model, prompt_ids, rows, eos, sampler) -> pd.DataFrame:
    """Re-score the chosen rows under the model (``logprob``) and under the sampler's q
    (``sampler_logprob``), each column the pool has; for rows that end in EOS also the sequence
    without it. Returns the recorded, re-scored and difference values of each (``PREFIX``)."""
    from ..lm.sampling import score_sequences

    columns = [column for column in PREFIX if column in pool]
    names = ["row", "prompt_id", "num_tokens"]
    for column in columns:
        names += [f"{PREFIX[column]}{name}" for name in ("recorded", "rescored", "difference", "rescored_without_eos")]
    records = []
    for index in rows:
        sample = pool.loc[index]
        ids = sample["token_ids"]
        prompt = prompt_ids[sample["prompt_id"]]
        sequences = [ids, ids[:-1]] if ids[-1] in eos and len(ids) > 1 else [ids]
        record = {"row": int(index), "prompt_id": sample["prompt_id"], "num_tokens": len(ids)}
        for column in columns:  # log pi; log q from the same arithmetic with the processed logits
            values = score_sequences(model, prompt, sequences, *([sampler] if column == "sampler_logprob" else []))
            recorded, prefix = float(sample[column]), PREFIX[column]
            record[f"{prefix}recorded"], record[f"{prefix}rescored"] = recorded, float(values[0])
            record[f"{prefix}difference"] = recorded - float(values[0])
            record[f"{prefix}rescored_without_eos"] = float(values[1]) if len(values) > 1 else np.nan
        records.append(record)
    return pd.DataFrame(records, columns=names)


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
    sampler=None,
) -> AuditResult:
    """Audit a pool (see the module docstring); ``rescore`` samples chosen with ``seed``, distinct
    responses first, spread over the prompts. The pool's ``logprob`` is checked against the model,
    its ``sampler_logprob`` (when it has one) against the distribution q that ``sampler`` (a
    :class:`bonkl.lm.settings.SamplerSettings`; None: the model itself) makes of it."""
    from ..lm.rescore import check_token_ids, vocabulary_size
    from ..lm.sampling import eos_token_ids
    from ..lm.settings import SamplerSettings

    if rescore < 1:
        raise ValueError(f"rescore must be >= 1, got {rescore}")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    columns = [column for column in PREFIX if column in pool]
    if not columns:
        raise ValueError("the pool has neither a logprob nor a sampler_logprob column: nothing to check")
    sampler = SamplerSettings() if sampler is None else sampler
    if not isinstance(sampler, SamplerSettings):
        raise TypeError(f"sampler must be a SamplerSettings, got {type(sampler).__name__}")
    pool = pool.reset_index(drop=True)  # rows are numbered 0..N-1 in the report
    try:  # before any forward pass: an id the model cannot embed is another tokenizer's pool
        check_token_ids(pool, prompt_ids, vocabulary_size(model))
    except ValueError as error:
        raise ValueError(f"{error}; were the samples tokenised by another model's tokenizer?") from None
    eos = set(eos_token_ids(model, tokenizer))
    findings = structure_findings(pool, eos, max_n, tolerance)
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
    rows = _rescore(pool, model, prompt_ids, chosen, eos, sampler)
    for column in columns:
        findings += rescore_findings(rows, tolerance, column)
    return AuditResult(rows, findings)
