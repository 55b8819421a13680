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

import numpy as np
import pandas as pd

from ..files.keys import sequence_keys
from .checks import AGREEMENT, TOLERANCE, AuditResult, Finding, rescore_findings, structure_findings

__all__ = ["AGREEMENT", "TOLERANCE", "AuditResult", "Finding", "audit_pool", "prompt_ids_by_id", "prompt_texts"]


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


def _rescore(pool, model, prompt_ids, rows, eos) -> pd.DataFrame:
    """Re-score the chosen rows; for rows that end in EOS also the sequence without it."""
    from ..lm.sampling import score_sequences

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
    from ..lm.rescore import check_token_ids, vocabulary_size
    from ..lm.sampling import eos_token_ids

    if rescore < 1:
        raise ValueError(f"rescore must be >= 1, got {rescore}")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
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
    rows = _rescore(pool, model, prompt_ids, chosen, eos)
    return AuditResult(rows, findings + rescore_findings(rows, tolerance))
