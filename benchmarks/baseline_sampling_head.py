# Frozen baseline for benchmarks/bench_sampling.py: src/bonkl/lm/sampling.py exactly as in git HEAD 1861cb8
# (before issue 9), so the benchmark times today's sampler against the new one in the same process.
"""Exact ancestral sampling from a causal language model, with each sample's log-probability.

Why not ``model.generate``: its sampling is shaped by the model's ``generation_config`` (top-k 50 by
default, repetition penalty, min length, suppressed tokens...) and it keeps stepping rows that have
already ended. Here every token is drawn from the softmax of the model's raw float32 logits,
nothing else (temperature 1), and the batch is kept full:

* one forward pass over the prompt (all samples share it), whose last logits give every sample's
  first token and whose key/value cache seeds every row;
* a KV-cache decode loop over up to ``batch_size`` rows; a row that ends (end-of-sequence token or
  ``max_new_tokens``) is refilled at once with the next sample: its slot gets the prompt's cache,
  left-padded (masked) to the batch's cache length, and its own position ids. Columns no row
  needs any more are trimmed from the left, so the cache stays at most prompt + max_new_tokens
  long. Once no sample is left, ended rows idle until a quarter of the batch does, then the live
  rows are copied out;
* the cache layers write each step's column into a preallocated buffer (``_BufferLayer``) instead
  of re-copying the whole cache every step as ``DynamicLayer`` does;
* tokens are drawn by inverting the CDF (float64 sums, see ``sample_tokens``) at uniforms that
  belong to the sample, not to the batch (sample i's come from ``numpy.random.default_rng([seed,
  i])``): the same seed gives the same samples for any batch size, up to float rounding in the
  logits (which can move a draw that falls within ~1e-7 of a CDF boundary).

Log-probabilities are in nats, the sum over generated tokens (end-of-sequence token included) of
the log-softmax of the very logits the token was drawn from. A sample cut at ``max_new_tokens`` is
kept (``finished=False``) with its prefix's log-probability: it is an outcome of the truncated
sampler. Incremental decoding with different batch shapes differs in the last bits (~1e-6 per
token in float32), so identical token sequences are then given ONE value: that of the first draw
(lowest ``sample_index``), or, with ``rescore=True``, one full forward pass of prompt + sequence
(``score_sequences``) per distinct sequence.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import Cache, DynamicLayer

BLOCK = 16  # vocabulary block of the two-level CDF search (see sample_tokens)


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


def _cache_kwarg(model) -> str:
    """transformers 5 calls the cache ``cache``; 4.x called it ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def sample_tokens(logits, u):
    """Draw one token per row of ``logits`` (float32, [R, V]) by inverting its softmax CDF at ``u``.

    ``u`` holds uniforms in [0, 1) (float64, [R]). Returns ``(tokens, logprobs)``: int64 and float64
    [R], the log-probability being ``logit - logsumexp(logits)``.

    Precision: the masses ``exp(logit - max)`` are float32 and summed in blocks of ``BLOCK`` in
    float32 (relative error under 1e-6 per block, no larger than that of the float32 logits
    themselves); everything after that is float64: the cumulative sum over blocks, and within the
    chosen block the cumulative sum of its own masses, rescaled to the block's width so the draw
    inside the block is exact. (A float32 cumulative sum over the whole vocabulary would bias the
    draw by up to ~1e-3 in total variation; converting the whole vocabulary to float64 costs more
    than the rest of the step on a CPU.) If float64 rounding ever lands past the block's last
    token with mass (probability ~1e-16), the row's most likely token is taken instead, so no
    zero-probability token is ever drawn.
    """
    rows, vocab = logits.shape
    top = logits.amax(dim=-1, keepdim=True)
    mass = torch.sub(logits, top).exp_()  # in place: one vocabulary-sized allocation, not two
    if vocab % BLOCK:
        mass = F.pad(mass, (0, BLOCK - vocab % BLOCK))
    blocks = mass.view(rows, -1, BLOCK)
    block_mass = blocks.sum(dim=-1).double()
    block_cdf = block_mass.cumsum(dim=-1)
    total = block_cdf[:, -1]
    target = (u * total).unsqueeze(1)
    block = torch.searchsorted(block_cdf, target, right=True).clamp_(max=block_cdf.shape[1] - 1)
    below = torch.where(block > 0, block_cdf.gather(1, (block - 1).clamp(min=0)), 0.0)
    arange = torch.arange(rows, device=logits.device)
    inner = blocks[arange, block.squeeze(1)].double().cumsum(dim=-1)
    inside = (target - below) / block_mass.gather(1, block) * inner[:, -1:]
    offset = torch.searchsorted(inner, inside, right=True).clamp_(max=BLOCK - 1)
    tokens = (block * BLOCK + offset).squeeze(1)
    ok = (tokens < vocab) & (mass[arange, tokens.clamp(max=vocab - 1)] > 0)
    if not bool(ok.all()):
        tokens = torch.where(ok, tokens, logits.argmax(dim=-1))
    logprobs = logits[arange, tokens].double() - top.squeeze(1).double() - torch.log(total)
    return tokens, logprobs


def _uniforms(seed: int, index: int, length: int) -> np.ndarray:
    """Sample ``index``'s own stream of uniforms: independent of batch size and order."""
    return np.random.default_rng([int(seed), int(index)]).random(length)


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


def _window_end(view, buffer):
    """The column after ``view`` if ``view`` is ``buffer[:, :, a:b]`` (it is then ``b``), else None."""
    if (
        view.shape[:2] != buffer.shape[:2]
        or view.stride() != buffer.stride()
        or view.untyped_storage().data_ptr() != buffer.untyped_storage().data_ptr()
    ):
        return None
    start, rest = divmod(view.storage_offset() - buffer.storage_offset(), buffer.stride(2))
    return start + view.shape[2] if rest == 0 and start >= 0 else None


class _BufferLayer(DynamicLayer):
    """A cache layer whose keys and values are a window of columns in a larger buffer.

    ``DynamicLayer`` copies the whole cache at every step (``torch.cat``), which on a CPU cost more
    than the attention itself. Here a step writes its one column in place, and trimming columns
    from the left (``keys[:, :, k:]``) is a view, so it is free too. Any other change of
    ``keys``/``values`` (row selection, repetition) is noticed at the next update, which then
    copies into a fresh buffer; so does running out of spare columns.
    """

    spare = 128

    def window_end(self):
        """The buffer column where ``keys``/``values`` end, if they are still a window of the
        buffers (else None: they were replaced and must be copied into fresh buffers)."""
        buffers = getattr(self, "buffers", None)
        if buffers is None:
            return None
        end = _window_end(self.keys, buffers[0])
        return end if end is not None and _window_end(self.values, buffers[1]) == end else None

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        old, step = self.get_seq_length(), key_states.shape[-2]
        end = self.window_end()
        if end is None or end + step > self.buffers[0].shape[2]:
            self.buffers = tuple(
                s.new_empty(s.shape[0], s.shape[1], old + step + self.spare, s.shape[3])
                for s in (key_states, value_states)
            )
            if old:
                self.buffers[0][:, :, :old], self.buffers[1][:, :, :old] = self.keys, self.values
            end = old
        keys, values = self.buffers
        keys[:, :, end : end + step], values[:, :, end : end + step] = key_states, value_states
        self.keys, self.values = keys[:, :, end - old : end + step], values[:, :, end - old : end + step]
        return self.keys, self.values

    def batch_select_indices(self, indices):
        """Select rows of the buffers (one copy, spare columns kept) rather than of the window."""
        end = self.window_end()
        if end is None:
            return super().batch_select_indices(indices)
        length = self.keys.shape[2]
        self.buffers = tuple(b[indices] for b in self.buffers)
        self.keys, self.values = (b[:, :, end - length : end] for b in self.buffers)


class _BufferCache(DynamicCache):
    """A DynamicCache of ``_BufferLayer``s, all full-attention (no sliding-window layers), so that
    every column stays and row slots can be rewritten."""

    def __init__(self):
        Cache.__init__(self, layer_class_to_replicate=_BufferLayer)


class _Decoder:
    """The rows being decoded and the KV cache they share (see the module docstring)."""

    def __init__(self, model, prompt_ids, max_new_tokens, eos, seed):
        self.model, self.seed = model, seed
        self.cache_kwarg = _cache_kwarg(model)
        self.device = model.device
        self.max_new = max_new_tokens
        self.eos = torch.tensor(eos, device=self.device)
        self.prompt_len = len(prompt_ids)
        window = getattr(model.config.get_text_config(), "sliding_window", None)
        if window and self.prompt_len + max_new_tokens >= window:
            raise NotImplementedError(
                f"prompt + max_new_tokens ({self.prompt_len + max_new_tokens}) "
                f"must stay below the sliding window ({window})"
            )
        self.cache = _BufferCache()
        prompt = torch.tensor([list(prompt_ids)], device=self.device)
        out = model(input_ids=prompt, use_cache=True, logits_to_keep=1, **{self.cache_kwarg: self.cache})
        self.first_logits = out.logits[:, -1].float()
        self.prompt_kv = [(layer.keys.clone(), layer.values.clone()) for layer in self.cache.layers]
        self.rows = 0

    def first_tokens(self, indices):
        """Uniform streams and first tokens (from the shared prompt logits) for new samples."""
        u = torch.tensor(np.stack([_uniforms(self.seed, i, self.max_new) for i in indices]), device=self.device)
        tokens, logprobs = sample_tokens(self.first_logits.expand(len(indices), -1), u[:, 0])
        return u, tokens, logprobs

    def start(self, ids, u, tokens, logprobs):
        """The first batch: the prompt's cache repeated once per row."""
        self.cache.batch_repeat_interleave(len(ids))
        self.ids, self.u, self.lp = ids, u, logprobs
        self.tokens = torch.zeros(len(ids), self.max_new, dtype=torch.long, device=self.device)
        self.tokens[:, 0] = tokens
        self.count = torch.ones(len(ids), dtype=torch.long, device=self.device)
        self.pad = torch.zeros(len(ids), dtype=torch.long, device=self.device)
        self.live = torch.ones(len(ids), dtype=torch.bool, device=self.device)
        self.length = self.prompt_len
        self.rows = len(ids)

    def step(self):
        """One decode step for every row; returns the mask of live rows that just ended."""
        arange = torch.arange(self.rows, device=self.device)
        inputs = self.tokens[arange, self.count - 1].unsqueeze(1)
        positions = (self.length - self.pad).unsqueeze(1)
        mask = None
        if bool(self.pad.any()):
            mask = torch.arange(self.length + 1, device=self.device) >= self.pad.unsqueeze(1)
        out = self.model(
            input_ids=inputs,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self.cache_kwarg: self.cache},
        )
        self.length += 1
        tokens, logprobs = sample_tokens(out.logits[:, -1].float(), self.u[arange, self.count])
        self.tokens[arange, self.count] = tokens
        self.lp += logprobs
        self.count += 1
        ended = (torch.isin(tokens, self.eos) | (self.count == self.max_new)) & self.live
        self.count.masked_fill_(~self.live, 1)  # idle rows: keep their indices in range
        return ended

    def refill(self, slots, ids, u, tokens, logprobs):
        """Put new samples into ``slots``: the prompt's cache at the right end, masked padding before."""
        start = self.length - self.prompt_len
        for layer, (keys, values) in zip(self.cache.layers, self.prompt_kv):
            layer.keys[slots, :, start:] = keys
            layer.values[slots, :, start:] = values
        self.ids[slots], self.u[slots], self.lp[slots] = ids, u, logprobs
        self.tokens[slots, 0] = tokens
        self.count[slots] = 1
        self.pad[slots] = start

    def retire(self, slots):
        """Rows left empty once no sample remains: they idle (fully masked, results ignored) until
        a quarter of the batch idles, then the live rows are copied out. Dropping them at once
        would copy the whole cache at nearly every step of the tail."""
        self.live[slots] = False
        self.count[slots] = 1
        self.pad[slots] = self.length
        idle = self.rows - int(self.live.sum())
        if idle and 4 * idle >= self.rows:
            rows = self.live.nonzero().squeeze(1)
            self.cache.batch_select_indices(rows)
            for name in ("ids", "u", "lp", "tokens", "count", "pad", "live"):
                setattr(self, name, getattr(self, name)[rows])
            self.rows = len(rows)

    def trim(self):
        """Drop the cache columns that every row masks (left of the oldest row's prompt)."""
        trim = int(self.pad.min()) if self.rows else 0
        if trim:
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, trim:], layer.values[:, :, trim:]
            self.pad -= trim
            self.length -= trim


def sample_responses(
    model,
    tokenizer,
    prompt_ids,
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

    for name, value, low in (
        ("num_samples", num_samples, 0),
        ("max_new_tokens", max_new_tokens, 1),
        ("batch_size", batch_size, 1),
    ):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if len(prompt_ids) == 0:
        raise ValueError("prompt_ids is empty")
    eos = eos_token_ids(model, tokenizer)
    eos_set = set(eos)
    results = [None] * num_samples  # (tokens, logprob, finished) per sample
    bar = tqdm(total=num_samples, disable=not progress, desc="sampling", unit="sample")

    with torch.inference_mode():
        dec = _Decoder(model, prompt_ids, max_new_tokens, eos, seed)
        next_index = 0

        def draw(wanted):
            """Up to ``wanted`` new samples that need decoding; samples whose first token already
            ends them are recorded at once."""
            nonlocal next_index
            taken = []
            while len(taken) < wanted and next_index < num_samples:
                ids = list(range(next_index, min(num_samples, next_index + wanted - len(taken))))
                next_index = ids[-1] + 1
                u, tokens, logprobs = dec.first_tokens(ids)
                for j, (i, tok, lp) in enumerate(zip(ids, tokens.tolist(), logprobs.tolist())):
                    if tok in eos_set or max_new_tokens == 1:
                        results[i] = ([tok], lp, tok in eos_set)
                        bar.update(1)
                    else:
                        taken.append((i, u[j], tok, lp))
            if not taken:
                return None
            ids, u, tokens, logprobs = zip(*taken)
            return (
                torch.tensor(ids, device=dec.device),
                torch.stack(u),
                torch.tensor(tokens, device=dec.device),
                torch.tensor(logprobs, dtype=torch.float64, device=dec.device),
            )

        new = draw(batch_size)
        if new is not None:
            dec.start(*new)
        while dec.rows:
            ended = dec.step()
            if not bool(ended.any()):
                continue
            slots = ended.nonzero().squeeze(1)
            for slot in slots.tolist():
                n = int(dec.count[slot])
                tokens = dec.tokens[slot, :n].tolist()
                results[int(dec.ids[slot])] = (tokens, float(dec.lp[slot]), tokens[-1] in eos_set)
            bar.update(len(slots))
            new = draw(len(slots))
            filled = 0 if new is None else len(new[0])
            if filled:
                dec.refill(slots[:filled], *new)
            if filled < len(slots):
                dec.retire(slots[filled:])
            dec.trim()
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
