"""Exact ancestral sampling from a causal language model, with each sample's log-probability.

Why not ``model.generate``: its sampling is shaped by the model's ``generation_config`` (top-k 50 by
default, repetition penalty, min length, suppressed tokens...) and it keeps stepping rows that have
already ended. Here every token is drawn from the softmax of the model's raw float32 logits,
nothing else (temperature 1), unless a ``SamplerSettings`` asks for temperature, top-k, top-p or
min-p (applied as transformers' ``generate`` applies them), and the batch is kept full. The parts,
one concern each:

* ``bonkl.lm.processors``: the sampler's settings and the logits processing they switch on;
* ``bonkl.lm.kernel``: one token per row by inverting the softmax CDF (float64 sums), at uniforms
  that belong to the sample (``numpy.random.default_rng([seed, i])`` for sample i);
* ``bonkl.lm.attention``: attention over a prompt whose cache is kept once for every row;
* ``bonkl.lm.cache``: cache layers that write each step's column in place;
* ``bonkl.lm.decoder``: the decode loop that keeps the batch full with the next samples;
* this module: the public functions, and the samples as a table.

Log-probabilities are in nats, the sum over generated tokens (end-of-sequence token included) of
the log-softmax of the very logits the token was drawn at: ``logprob`` of the raw logits (the
model, pi), ``sampler_logprob`` of the processed ones (the distribution q the tokens were drawn
from; the same value, bit for bit, when no processor is on). A sample cut at ``max_new_tokens`` is
kept (``finished=False``) with its prefix's log-probabilities: it is an outcome of the truncated
sampler. Incremental decoding with different batch shapes differs in the last bits (~1e-6 per
token in float32), so identical token sequences are then given ONE value of each: that of the
first draw (lowest ``sample_index``), or, with ``rescore=True``, one full forward pass of prompt +
sequence (``score_sequences``) per distinct sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .decoder import decode
from .kernel import sample_tokens
from .processors import SamplerSettings, process_logits

__all__ = ["SamplerSettings", "eos_token_ids", "sample_responses", "sample_tokens", "score_sequences"]


def eos_token_ids(model, tokenizer) -> list[int]:
    """The end-of-sequence set: the generation config's ``eos_token_id`` (int or list) and the
    tokenizer's (Gemma 2: ``<end_of_turn>`` and ``<eos>``)."""
    ids = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if value is not None:
            ids.update([value] if isinstance(value, int) else value)
    if not ids:
        raise ValueError("neither the model's generation config nor the tokenizer names an end-of-sequence token")
    return sorted(int(i) for i in ids)


def score_sequences(model, prompt_ids, sequences, sampler: SamplerSettings | None = None) -> np.ndarray:
    """Log-probability (nats, float64) of each continuation of the prompt, from one full forward
    pass of ``prompt + sequence`` per sequence (batch of one: no padding, a well-defined value):
    under the model itself, or with ``sampler`` under the distribution it draws from."""
    return _score(model, prompt_ids, sequences, sampler or SamplerSettings())[1 if sampler else 0]


def _score(model, prompt_ids, sequences, sampler: SamplerSettings) -> tuple[np.ndarray, np.ndarray]:
    """``score_sequences`` under the model (pi) and under the sampler (q), from one pass each."""
    prompt = list(prompt_ids)
    out = np.empty((2, len(sequences)), dtype=np.float64)
    with torch.inference_mode():
        for i, seq in enumerate(sequences):
            seq = [int(t) for t in seq]
            ids = torch.tensor([prompt + seq[:-1]], device=model.device)
            logits = model(input_ids=ids, use_cache=False, logits_to_keep=len(seq)).logits[0]
            target = torch.tensor(seq, device=model.device)[:, None]
            out[0, i] = torch.log_softmax(logits.double(), dim=-1).gather(1, target).sum().item()
            if sampler.active:  # processed as drawn: float32, then float64 for the softmax
                processed = process_logits(logits.float(), sampler).double()
                out[1, i] = torch.log_softmax(processed, dim=-1).gather(1, target).sum().item()
    if not sampler.active:
        out[1] = out[0]
    return out[0], out[1]


def _check_request(prompt_ids, **counts) -> None:
    """One clear error for a count that is not a whole number in range, or an empty prompt."""
    for name, value in counts.items():
        low = 0 if name == "num_samples" else 1
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if len(prompt_ids) == 0:
        raise ValueError("prompt_ids is empty")


def sample_responses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt_ids: Sequence[int],
    num_samples: int,
    max_new_tokens: int,
    seed: int,
    batch_size: int,
    progress: bool = False,
    rescore: bool = False,
    sampler: SamplerSettings | None = None,
) -> pd.DataFrame:
    """Draw ``num_samples`` responses to ``prompt_ids`` exactly from the model, or, with ``sampler``,
    exactly from the distribution its temperature, top-k, top-p and min-p make of the model's.

    Returns one row per sample, in ``sample_index`` order, with columns ``sample_index`` (int64),
    ``token_ids`` (generated ids, the end-of-sequence token included when the sample ended),
    ``text`` (decoded, special tokens skipped), ``logprob`` (float64, nats, under the model),
    ``sampler_logprob`` (float64, nats, under the distribution drawn from; equal to ``logprob``
    without ``sampler``), ``num_tokens`` (int64) and ``finished`` (bool: ended with an
    end-of-sequence token rather than at ``max_new_tokens``). The model's generation config is
    ignored except for its end-of-sequence ids (``eos_token_ids``). Same seed and machine: same
    frame, whatever ``batch_size``.
    """
    from tqdm.auto import tqdm

    _check_request(prompt_ids, num_samples=num_samples, max_new_tokens=max_new_tokens, batch_size=batch_size)
    if sampler is not None and not isinstance(sampler, SamplerSettings):
        raise TypeError(f"sampler must be a SamplerSettings, got {type(sampler).__name__}")
    sampler = sampler or SamplerSettings()
    eos = eos_token_ids(model, tokenizer)
    results = [None] * num_samples  # (tokens, logprob, sampler_logprob, finished) per sample
    bar = tqdm(total=num_samples, disable=not progress, desc="sampling", unit="sample")

    def done(index: int, tokens: list[int], logprob: float, sampler_logprob: float, finished: bool) -> None:
        results[index] = (tokens, logprob, sampler_logprob, finished)
        bar.update(1)

    with torch.inference_mode():
        decode(model, prompt_ids, num_samples, max_new_tokens, seed, batch_size, eos, done, sampler)
    bar.close()
    return _frame(model, tokenizer, prompt_ids, results, rescore, sampler)


def _frame(model, tokenizer, prompt_ids, results, rescore, sampler) -> pd.DataFrame:
    """The samples as a DataFrame, with one value of each log-probability per distinct sequence."""
    token_ids = [r[0] for r in results]
    logprobs = np.array([r[1:3] for r in results], dtype=np.float64).reshape(-1, 2).T  # [pi, q]
    first = {}  # token tuple -> index of its first draw
    for i, seq in enumerate(token_ids):
        first.setdefault(tuple(seq), i)
    values = logprobs[:, list(first.values())]  # one column per distinct sequence
    if rescore:
        scored = np.stack(_score(model, prompt_ids, list(first), sampler))
        # A token within rounding of a top-k/top-p/min-p cut may fall outside the full pass's kept
        # set: its sequence then keeps its drawn value rather than a log-probability of -inf.
        values = np.where(np.isfinite(scored), scored, values)
    column = {key: j for j, key in enumerate(first)}
    logprobs = values[:, [column[tuple(seq)] for seq in token_ids]]
    return pd.DataFrame(
        {
            "sample_index": np.arange(len(results), dtype=np.int64),
            "token_ids": token_ids,
            "text": tokenizer.batch_decode(token_ids, skip_special_tokens=True) if token_ids else [],
            "logprob": logprobs[0],
            "sampler_logprob": logprobs[1],
            "num_tokens": np.array([len(s) for s in token_ids], dtype=np.int64),
            "finished": np.array([r[3] for r in results], dtype=bool),
        }
    )
