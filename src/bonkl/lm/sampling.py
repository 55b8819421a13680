"""Exact ancestral sampling from a causal language model, with each sample's log-probability.

Why not ``model.generate``: its sampling is shaped by the model's ``generation_config`` (top-k 50 by
default, repetition penalty, min length, suppressed tokens...) and it keeps stepping rows that have
already ended. Here every token is drawn from the softmax of the model's raw float32 logits,
nothing else (temperature 1), and the batch is kept full. The parts, one concern each:

* ``bonkl.lm.kernel``: one token per row by inverting the softmax CDF (float64 sums), at uniforms
  that belong to the sample (``numpy.random.default_rng([seed, i])`` for sample i);
* ``bonkl.lm.attention``: attention over a prompt whose cache is kept once for every row;
* ``bonkl.lm.cache``: cache layers that write each step's column in place;
* ``bonkl.lm.decoder``: the decode loop that keeps the batch full with the next samples;
* this module: the public functions, and the samples as a table.

Log-probabilities are in nats, the sum over generated tokens (end-of-sequence token included) of
the log-softmax of the very logits the token was drawn from. A sample cut at ``max_new_tokens`` is
kept (``finished=False``) with its prefix's log-probability: it is an outcome of the truncated
sampler. Incremental decoding with different batch shapes differs in the last bits (~1e-6 per
token in float32), so identical token sequences are then given ONE value: that of the first draw
(lowest ``sample_index``), or, with ``rescore=True``, one full forward pass of prompt + sequence
(``score_sequences``) per distinct sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .decoder import decode
from .kernel import sample_tokens

__all__ = ["eos_token_ids", "sample_responses", "sample_tokens", "score_sequences"]


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


def score_sequences(model, prompt_ids, sequences) -> np.ndarray:
    """Log-probability (nats, float64) of each continuation of the prompt, from one full forward
    pass of ``prompt + sequence`` per sequence (batch of one: no padding, a well-defined value)."""
    prompt = list(prompt_ids)
    out = np.empty(len(sequences), dtype=np.float64)
    with torch.inference_mode():
        for i, seq in enumerate(sequences):
            seq = [int(t) for t in seq]
            ids = torch.tensor([prompt + seq[:-1]], device=model.device)
            logits = model(input_ids=ids, use_cache=False, logits_to_keep=len(seq)).logits[0].double()
            target = torch.tensor(seq, device=model.device)
            out[i] = torch.log_softmax(logits, dim=-1).gather(1, target[:, None]).sum().item()
    return out


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
) -> pd.DataFrame:
    """Draw ``num_samples`` responses to ``prompt_ids`` exactly from the model (temperature 1).

    Returns one row per sample, in ``sample_index`` order, with columns ``sample_index`` (int64),
    ``token_ids`` (generated ids, the end-of-sequence token included when the sample ended),
    ``text`` (decoded, special tokens skipped), ``logprob`` (float64, nats), ``num_tokens`` (int64)
    and ``finished`` (bool: ended with an end-of-sequence token rather than at ``max_new_tokens``).
    The model's generation config is ignored except for its end-of-sequence ids
    (``eos_token_ids``). Same seed and machine: same frame, whatever ``batch_size``.
    """
    from tqdm.auto import tqdm

    _check_request(prompt_ids, num_samples=num_samples, max_new_tokens=max_new_tokens, batch_size=batch_size)
    eos = eos_token_ids(model, tokenizer)
    results = [None] * num_samples  # (tokens, logprob, finished) per sample
    bar = tqdm(total=num_samples, disable=not progress, desc="sampling", unit="sample")

    def done(index: int, tokens: list[int], logprob: float, finished: bool) -> None:
        results[index] = (tokens, logprob, finished)
        bar.update(1)

    with torch.inference_mode():
        decode(model, prompt_ids, num_samples, max_new_tokens, seed, batch_size, eos, done)
    bar.close()
    return _frame(model, tokenizer, prompt_ids, results, rescore)


def _frame(model, tokenizer, prompt_ids, results, rescore) -> pd.DataFrame:
    """The samples as a DataFrame, with one log-probability per distinct token sequence."""
    token_ids = [r[0] for r in results]
    logprob = np.array([r[1] for r in results], dtype=np.float64)
    first = {}  # token tuple -> index of its first draw
    for i, seq in enumerate(token_ids):
        first.setdefault(tuple(seq), i)
    if rescore:
        values = dict(zip(first, score_sequences(model, prompt_ids, list(first))))
        logprob = np.array([values[tuple(seq)] for seq in token_ids], dtype=np.float64)
    else:
        logprob = logprob[[first[tuple(seq)] for seq in token_ids]]
    return pd.DataFrame(
        {
            "sample_index": np.arange(len(results), dtype=np.int64),
            "token_ids": token_ids,
            "text": tokenizer.batch_decode(token_ids, skip_special_tokens=True) if token_ids else [],
            "logprob": logprob,
            "num_tokens": np.array([len(s) for s in token_ids], dtype=np.int64),
            "finished": np.array([r[2] for r in results], dtype=bool),
        }
    )
