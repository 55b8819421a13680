"""Re-score a pool drawn by another engine under the float32 reference model.

Pools drawn with vLLM, SGLang or transformers' ``generate`` (top-p, bfloat16 weights...) keep each
response's ``token_ids`` and the engine's own ``sampler_logprob``; the estimators of the best-of-n
KL need ``logprob`` = log pi(y) under the reference model (float32 logits, temperature 1, the
end-of-sequence token's term included). This module supplies it and checks the engine's values:

* ``reference_logprobs``: one full forward pass per distinct (prompt, token sequence), several
  sequences per pass (right padding: under the causal mask a row's real positions never see its
  padding), float32 logits, log-softmax in float64 at each drawn token (the arithmetic of
  ``bonkl.lm.sampling.score_sequences``, batch of one); with a ``SamplerSettings``, also log q of
  the processed distribution from the same pass (``bonkl.lm.processors``);
* ``check_engine_logprobs``: identical responses whose recorded values differ by engine noise
  (bfloat16, batch composition): the spread per group, never hidden, and one canonical value;
* ``compare_logprobs`` / ``compare_rescored``: recorded against recomputed values (mean, largest,
  sign pattern), for this module and the audit.

Why one pass per *distinct* sequence, in a canonical order: identical sequences must carry one
value (PITFALLS 6), and batches built from the sorted distinct sequences do not depend on the
order of the pool's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from numbers import Integral

import numpy as np
import pandas as pd
import torch

from ..files.keys import sequence_keys
from .processors import SamplerSettings, process_logits

__all__ = [
    "EngineCheck",
    "LogprobComparison",
    "check_engine_logprobs",
    "check_token_ids",
    "compare_logprobs",
    "compare_rescored",
    "reference_logprobs",
    "rescore_pool",
    "vocabulary_size",
]

#: Share of the mismatches that must point one way before the sign pattern is called one-sided
#: (the audit's ``AGREEMENT``).
AGREEMENT = 0.9

Key = tuple[object, tuple[int, ...]]  # (prompt id, token ids)


# ------------------------------------------------------------------------------- validation


def vocabulary_size(model) -> int:
    """The number of token ids the model can both embed and score: the smaller of its input
    embedding's rows and its output layer's (padded heads are wider than the tokenizer), else
    ``config.vocab_size``."""
    sizes = []
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    if inputs is not None:
        sizes.append(inputs.weight.shape[0])
    if outputs is not None:
        sizes.append(outputs.weight.shape[0])
    return int(min(sizes)) if sizes else int(model.config.vocab_size)


def _bad_id(ids, vocab: int) -> str | None:
    """Why ``ids`` is not a non-empty list of token ids in ``[0, vocab)``, or None."""
    if isinstance(ids, str | bytes) or not isinstance(ids, Sequence | np.ndarray):
        return f"token ids must be a list of integers, got {type(ids).__name__} {ids!r:.60}"
    if len(ids) == 0:
        return "the token sequence is empty"
    for token in ids:
        whole = isinstance(token, Integral | np.integer) and not isinstance(token, bool | np.bool_)
        if not whole:
            return f"token id {token!r} is not an integer"
        if not 0 <= token < vocab:
            return f"token id {int(token)} is outside the model's vocabulary of {vocab} tokens (ids 0..{vocab - 1})"
    return None


def check_token_ids(samples: pd.DataFrame, prompt_ids_by_prompt: Mapping, vocab: int) -> list[Key]:
    """``(prompt id, token ids)`` per row, or one ValueError for the first bad row (0-based position
    in ``samples``), counting the others: checked before any forward pass."""
    missing = [c for c in ("prompt_id", "token_ids") if c not in samples.columns]
    if missing:
        raise ValueError(f"samples lack column(s) {missing}; found {list(samples.columns)}")
    for pid in dict.fromkeys(samples["prompt_id"]):
        if pid not in prompt_ids_by_prompt:
            raise ValueError(
                f"prompt {pid!r} of the samples has no prompt token ids (known: {list(prompt_ids_by_prompt)})"
            )
        why = _bad_id(prompt_ids_by_prompt[pid], vocab)
        if why:
            raise ValueError(f"prompt {pid!r}: its prompt token ids are invalid: {why}")
    errors = [
        (row, pid, why)
        for row, (pid, ids) in enumerate(zip(samples["prompt_id"], samples["token_ids"]))
        if (why := _bad_id(ids, vocab))
    ]
    if errors:
        row, pid, why = errors[0]
        more = f" (and {len(errors) - 1} more bad row(s))" if len(errors) > 1 else ""
        raise ValueError(f"prompt {pid!r}, row {row} of the samples: {why}{more}")
    return [(pid, tuple(int(t) for t in ids)) for pid, ids in zip(samples["prompt_id"], samples["token_ids"])]


# ------------------------------------------------------------------------------- re-scoring


def _row_values(logits: torch.Tensor, tokens: Sequence[int], sampler: SamplerSettings | None) -> tuple[float, float]:
    """(log pi, log q) of ``tokens`` from their float32 logits [len, V]: float64 log-softmax at each
    drawn token, summed (as ``sampling._score``); log q is NaN without a sampler."""
    target = torch.tensor(tokens, device=logits.device)[:, None]
    log_pi = torch.log_softmax(logits.double(), dim=-1).gather(1, target).sum().item()
    if sampler is None:
        return log_pi, np.nan
    if not sampler.active:
        return log_pi, log_pi
    processed = process_logits(logits.float(), sampler).double()
    return log_pi, torch.log_softmax(processed, dim=-1).gather(1, target).sum().item()


def _score_batch(model, batch: list[tuple[list[int], tuple[int, ...]]], sampler) -> list[tuple[float, float]]:
    """One forward pass over ``prompt + tokens[:-1]`` per row, right-padded with an attention mask;
    logits kept from the earliest position any row needs."""
    rows = [prompt + list(tokens[:-1]) for prompt, tokens in batch]
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)  # id 0 pads: masked, and after the row
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    start = min(len(prompt) for prompt, _ in batch) - 1  # logits at start predict the first token
    out = model(
        input_ids=ids.to(model.device),
        attention_mask=mask.to(model.device),
        use_cache=False,
        logits_to_keep=width - start,
    ).logits
    values = []
    for i, (prompt, tokens) in enumerate(batch):
        first = len(prompt) - 1 - start
        values.append(_row_values(out[i, first : first + len(tokens)].float(), tokens, sampler))
    return values


def reference_logprobs(
    model,
    prompt_ids_by_prompt: Mapping[object, Sequence[int]],
    samples: pd.DataFrame,
    *,
    batch_size: int,
    sampler: SamplerSettings | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Each sample's log-probability under the reference model, and with ``sampler`` under the
    distribution q those settings make of it.

    ``samples`` has columns ``prompt_id`` (keys of ``prompt_ids_by_prompt``, the prompt's token ids
    as the engine saw them) and ``token_ids`` (the response as recorded, end-of-sequence token
    included when it ended). Every id is checked against the model's vocabulary first (one
    ValueError naming the prompt, the row, the id and the vocabulary size). Returns float64 arrays
    in row order: ``logprob`` (log pi, nats) and ``sampler_logprob`` (log q; ``-inf`` where a token
    lies outside the float32 kept set) or None. Identical (prompt, token ids) are scored once and
    share one value; the values equal ``score_sequences`` within float rounding, whatever
    ``batch_size`` and row order. The model should be the float32 reference (its logits are cast
    to float32 either way).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if sampler is not None and not isinstance(sampler, SamplerSettings):
        raise TypeError(f"sampler must be a SamplerSettings, got {type(sampler).__name__}")
    keys = check_token_ids(samples, prompt_ids_by_prompt, vocabulary_size(model))
    prompts = {pid: [int(t) for t in prompt_ids_by_prompt[pid]] for pid, _ in keys}
    # Canonical order: by length (little padding), then prompt and tokens (independent of row order).
    distinct = sorted(set(keys), key=lambda k: (len(prompts[k[0]]) + len(k[1]), repr(k[0]), k[1]))
    values: dict[Key, tuple[float, float]] = {}
    with torch.inference_mode():
        for at in range(0, len(distinct), batch_size):
            chunk = distinct[at : at + batch_size]
            scored = _score_batch(model, [(prompts[pid], tokens) for pid, tokens in chunk], sampler)
            values.update(zip(chunk, scored))
    table = np.array([values[k] for k in keys], dtype=np.float64).reshape(-1, 2)
    return table[:, 0], (table[:, 1] if sampler is not None else None)


def rescore_pool(
    model,
    prompt_ids_by_prompt: Mapping[object, Sequence[int]],
    samples: pd.DataFrame,
    *,
    batch_size: int,
    sampler: SamplerSettings | None = None,
) -> pd.DataFrame:
    """A copy of the pool with ``logprob`` from ``reference_logprobs``; a recorded ``logprob`` is
    kept as ``recorded_logprob``, and with ``sampler`` the recomputed log q is added as
    ``reference_sampler_logprob`` beside the engine's ``sampler_logprob`` (left as recorded)."""
    logprob, log_q = reference_logprobs(model, prompt_ids_by_prompt, samples, batch_size=batch_size, sampler=sampler)
    pool = samples.copy()
    if "logprob" in pool:
        pool["recorded_logprob"] = pool["logprob"]
    pool["logprob"] = logprob
    if log_q is not None:
        pool["reference_sampler_logprob"] = log_q
    return pool


# ------------------------------------------------------------------------------- engine noise


@dataclass
class EngineCheck:
    """Spread of one recorded value over identical responses (same prompt and token ids).

    ``groups``: one row per distinct response (``prompt_id``, ``sample_key``, ``draws``, ``spread``
    = max - min, ``canonical``); ``canonical`` and ``spread``: each sample's canonical value and its
    response's spread, aligned with the pool's index; ``rule``: which draw is canonical (``first``:
    the first in pool order, as ``bonkl.lm.sampling`` keeps; ``mean``: the mean of the draws)."""

    column: str
    tolerance: float
    rule: str
    groups: pd.DataFrame
    canonical: pd.Series
    spread: pd.Series

    @property
    def repeated(self) -> int:
        """Distinct responses drawn more than once."""
        return int((self.groups["draws"] > 1).sum())

    @property
    def varied(self) -> int:
        """Distinct responses whose draws carry different values (any spread > 0)."""
        return int((self.groups["spread"] > 0).sum())

    @property
    def above(self) -> int:
        """Distinct responses whose spread exceeds the tolerance."""
        return int((self.groups["spread"] > self.tolerance).sum())

    @property
    def largest_spread(self) -> float:
        return float(self.groups["spread"].max()) if len(self.groups) else 0.0

    @property
    def ok(self) -> bool:
        return self.above == 0

    def summary(self) -> dict:
        return {
            "column": self.column,
            "tolerance": self.tolerance,
            "canonical": self.rule,
            "distinct": len(self.groups),
            "repeated": self.repeated,
            "varied": self.varied,
            "above_tolerance": self.above,
            "largest_spread": self.largest_spread,
            "median_spread_of_repeated": float(self.groups.loc[self.groups["draws"] > 1, "spread"].median())
            if self.repeated
            else 0.0,
        }


def check_engine_logprobs(
    samples: pd.DataFrame, tolerance: float, *, column: str = "sampler_logprob", canonical: str = "first"
) -> EngineCheck:
    """Identical responses (same ``prompt_id`` and ``token_ids``) whose recorded ``column`` differs
    by engine noise: their spread (max - min) per group, how many groups exceed ``tolerance``, the
    largest spread, and one canonical value per group (``first`` draw in pool order, or ``mean``),
    so that the pool can carry one value per response. Nothing is dropped or hidden: the report
    says how far the draws disagreed. Values must be finite."""
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    if canonical not in ("first", "mean"):
        raise ValueError(f"canonical must be 'first' or 'mean', got {canonical!r}")
    missing = [c for c in ("prompt_id", "token_ids", column) if c not in samples.columns]
    if missing:
        raise ValueError(f"samples lack column(s) {missing}; found {list(samples.columns)}")
    values = pd.to_numeric(samples[column], errors="coerce").astype(np.float64)
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        raise ValueError(f"column {column!r} has {bad.sum()} non-finite value(s), first at row {int(np.argmax(bad))}")
    frame = pd.DataFrame({"prompt_id": samples["prompt_id"], "sample_key": sequence_keys(samples), "value": values})
    grouped = frame.groupby(["prompt_id", "sample_key"], sort=False)["value"]
    groups = grouped.agg(draws="size", low="min", high="max", canonical=canonical).reset_index()
    groups.insert(3, "spread", groups.pop("high") - groups.pop("low"))
    per_sample = grouped.transform(canonical)
    spread = grouped.transform("max") - grouped.transform("min")
    return EngineCheck(column, float(tolerance), canonical, groups, per_sample, spread)


# ------------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class LogprobComparison:
    """Recorded minus recomputed log-probabilities (nats) over the samples where both are finite.

    ``pattern``: ``match`` (none beyond the tolerance), ``higher`` / ``lower`` (at least
    ``AGREEMENT`` of those beyond it point that way: a renormalised or a flattened distribution),
    else ``mixed`` (noise such as bfloat16, or another model). ``outside_support``: samples whose
    recomputed value is ``-inf`` (a token the reference's kept set excludes) or not finite."""

    count: int
    compared: int
    outside_support: int
    mean_difference: float
    median_difference: float
    mean_abs_difference: float
    max_abs_difference: float
    positive: int
    negative: int
    above_tolerance: int
    tolerance: float
    pattern: str

    def as_dict(self) -> dict:
        return asdict(self)


def compare_logprobs(recorded, recomputed, tolerance: float) -> LogprobComparison:
    """Compare recorded log-probabilities with recomputed ones (same order, same length)."""
    recorded = np.asarray(recorded, dtype=np.float64)
    recomputed = np.asarray(recomputed, dtype=np.float64)
    if recorded.shape != recomputed.shape or recorded.ndim != 1:
        raise ValueError(f"need two 1-d arrays of one length, got shapes {recorded.shape} and {recomputed.shape}")
    finite = np.isfinite(recorded) & np.isfinite(recomputed)
    diff = recorded[finite] - recomputed[finite]
    beyond = diff[np.abs(diff) > tolerance]
    if not len(beyond):
        pattern = "match"
    elif np.mean(beyond > 0) >= AGREEMENT:
        pattern = "higher"
    elif np.mean(beyond < 0) >= AGREEMENT:
        pattern = "lower"
    else:
        pattern = "mixed"
    stat = (lambda f: float(f(diff))) if len(diff) else (lambda f: float("nan"))
    return LogprobComparison(
        count=len(recorded),
        compared=int(finite.sum()),
        outside_support=int((~finite).sum()),
        mean_difference=stat(np.mean),
        median_difference=stat(np.median),
        mean_abs_difference=stat(lambda d: np.mean(np.abs(d))),
        max_abs_difference=stat(lambda d: np.max(np.abs(d))),
        positive=int((diff > 0).sum()),
        negative=int((diff < 0).sum()),
        above_tolerance=len(beyond),
        tolerance=float(tolerance),
        pattern=pattern,
    )


def compare_rescored(pool: pd.DataFrame, tolerance: float) -> dict[str, LogprobComparison]:
    """The comparisons a ``rescore_pool`` result allows: ``logprob`` (``recorded_logprob`` against
    the reference's) and ``sampler_logprob`` (the engine's against ``reference_sampler_logprob``),
    each only when both columns are there."""
    pairs = {
        "logprob": ("recorded_logprob", "logprob"),
        "sampler_logprob": ("sampler_logprob", "reference_sampler_logprob"),
    }
    return {
        name: compare_logprobs(pool[recorded], pool[recomputed], tolerance)
        for name, (recorded, recomputed) in pairs.items()
        if recorded in pool and recomputed in pool
    }
