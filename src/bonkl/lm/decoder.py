"""The decode loop: a batch of rows kept full with the next samples, over one shared prompt.

* one forward pass over the prompt (all samples share it), whose last logits give every sample's
  first token; its key/value cache is kept ONCE, not copied per row (``bonkl.lm.attention``);
* each step feeds every row its last token; a row that ends (end-of-sequence token or
  ``max_new_tokens``) is refilled at once with the next sample: its generated columns so far are
  masked and it gets its own position ids. Columns no row needs any more are trimmed from the
  left. Once no sample is left, ended rows idle until a quarter of the batch does, then the live
  rows are copied out;
* tokens are drawn by ``bonkl.lm.kernel.draw_tokens`` (from the logits as the sampler's settings
  process them; each row sums both log pi and log q) at uniforms that belong to the sample, not
  to the batch, so another batch size draws the same samples except where float rounding in the
  logits (about 1e-8 in the CDF, as matrix products of another shape round differently) moves a
  draw across a CDF boundary. Such boundaries lie ~1e-7 apart in the vocabulary's long tail: on
  the default model, 3 of 64 Alpaca P1 answers (mean 23 tokens) differ between batch 64 and 16.
  Each pool is an exact draw either way; the same seed and batch size give the same pool.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import torch
from transformers import DynamicCache

from .attention import ATTENTION
from .cache import BufferCache
from .kernel import draw_tokens, sample_uniforms
from .processors import SamplerSettings


def cache_kwarg(model) -> str:
    """transformers 5 calls the cache ``cache``; 4.x called it ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


class Decoder:
    """The rows being decoded and the KV cache they share.

    Row ``r``'s generated columns are the cache columns ``pad[r]:`` (of ``length``); its next
    token sits at position ``prompt_len + length - pad[r]``. ``lp`` and ``sampler_lp`` sum each
    row's log-probabilities under the model (pi) and under the sampler's distribution (q).
    """

    def __init__(
        self, model, prompt_ids, max_new_tokens: int, eos: list[int], seed: int, sampler: SamplerSettings | None = None
    ):
        self.model, self.seed, self.sampler = model, seed, sampler or SamplerSettings()
        self.cache_kwarg = cache_kwarg(model)
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
        prompt = torch.tensor([list(prompt_ids)], device=self.device)
        cache = DynamicCache(config=model.config)
        out = model(input_ids=prompt, use_cache=True, logits_to_keep=1, **{self.cache_kwarg: cache})
        self.first_logits = out.logits[:, -1].float()
        self.prefix = [(layer.keys[0].contiguous(), layer.values[0].contiguous()) for layer in cache.layers]
        self.cache = BufferCache()
        self.rows = 0

    def first_tokens(self, indices):
        """Uniform streams and first tokens (from the shared prompt logits) for new samples."""
        streams = [sample_uniforms(self.seed, i, self.max_new) for i in indices]
        u = torch.tensor(np.stack(streams), device=self.device)
        return u, *draw_tokens(self.first_logits.expand(len(indices), -1), u[:, 0], self.sampler)

    def start(self, ids, u, tokens, logprobs, sampler_logprobs):
        """The first batch: no generated columns yet."""
        # A copy: without processors first_tokens returns one tensor for both, summed apart here.
        self.ids, self.u, self.lp, self.sampler_lp = ids, u, logprobs, sampler_logprobs.clone()
        self.tokens = torch.zeros(len(ids), self.max_new, dtype=torch.long, device=self.device)
        self.tokens[:, 0] = tokens
        self.count = torch.ones(len(ids), dtype=torch.long, device=self.device)
        self.pad = torch.zeros(len(ids), dtype=torch.long, device=self.device)
        self.live = torch.ones(len(ids), dtype=torch.bool, device=self.device)
        self.length = 0
        self.rows = len(ids)

    def step(self):
        """One decode step for every row; returns the mask of live rows that just ended."""
        arange = torch.arange(self.rows, device=self.device)
        inputs = self.tokens[arange, self.count - 1].unsqueeze(1)
        positions = (self.prompt_len + self.length - self.pad).unsqueeze(1)
        mask = torch.arange(self.length + 1, device=self.device) >= self.pad.unsqueeze(1)
        attention = self.model.config._attn_implementation
        self.model.config._attn_implementation = ATTENTION
        try:
            out = self.model(
                input_ids=inputs,
                position_ids=positions,
                use_cache=True,
                bonkl_prefix=self.prefix,
                bonkl_mask=mask,
                **{self.cache_kwarg: self.cache},
            )
        finally:
            self.model.config._attn_implementation = attention
        self.length += 1
        tokens, logprobs, sampler_logprobs = draw_tokens(
            out.logits[:, -1].float(), self.u[arange, self.count], self.sampler
        )
        self.tokens[arange, self.count] = tokens
        self.lp += logprobs
        self.sampler_lp += sampler_logprobs
        self.count += 1
        ended = (torch.isin(tokens, self.eos) | (self.count == self.max_new)) & self.live
        self.count.masked_fill_(~self.live, 1)  # idle rows: keep their indices in range
        return ended

    def refill(self, slots, ids, u, tokens, logprobs, sampler_logprobs):
        """Put new samples into ``slots``: every column so far masked, the prompt shared."""
        self.ids[slots], self.u[slots], self.lp[slots] = ids, u, logprobs
        self.sampler_lp[slots] = sampler_logprobs
        self.tokens[slots, 0] = tokens
        self.count[slots] = 1
        self.pad[slots] = self.length

    def retire(self, slots):
        """Rows left empty once no sample remains: they idle (masked, results ignored) until a
        quarter of the batch idles, then the live rows are copied out. Dropping them at once
        would copy the whole cache at nearly every step of the tail."""
        self.live[slots] = False
        self.count[slots] = 1
        self.pad[slots] = self.length
        idle = self.rows - int(self.live.sum())
        if idle and 4 * idle >= self.rows:
            rows = self.live.nonzero().squeeze(1)
            self.cache.batch_select_indices(rows)
            for name in ("ids", "u", "lp", "sampler_lp", "tokens", "count", "pad", "live"):
                setattr(self, name, getattr(self, name)[rows])
            self.rows = len(rows)

    def trim(self):
        """Drop the cache columns that every row masks (left of the oldest row's first token)."""
        trim = int(self.pad.min()) if self.rows else 0
        if trim:
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, trim:], layer.values[:, :, trim:]
            self.pad -= trim
            self.length -= trim


# (sample index, tokens, logprob under pi, logprob under the sampler's q, finished)
Done = Callable[[int, list[int], float, float, bool], None]


class _Queue:
    """The samples not yet decoded, handed to the decoder in index order. A sample whose first
    token already ends it (end-of-sequence, or ``max_new_tokens == 1``) never takes a row."""

    def __init__(self, decoder: Decoder, num_samples: int, eos: set[int], done: Done):
        self.decoder, self.num_samples, self.eos, self.done = decoder, num_samples, eos, done
        self.next = 0

    def take(self, wanted: int):
        """Up to ``wanted`` new samples that need decoding, as ``Decoder.start``/``refill`` take
        them; None if none is left."""
        taken = []
        while len(taken) < wanted and self.next < self.num_samples:
            ids = list(range(self.next, min(self.num_samples, self.next + wanted - len(taken))))
            self.next = ids[-1] + 1
            u, tokens, logprobs, sampler_logprobs = self.decoder.first_tokens(ids)
            firsts = zip(ids, tokens.tolist(), logprobs.tolist(), sampler_logprobs.tolist())
            for j, (i, token, logprob, sampler_logprob) in enumerate(firsts):
                if token in self.eos or self.decoder.max_new == 1:
                    self.done(i, [token], logprob, sampler_logprob, token in self.eos)
                else:
                    taken.append((i, u[j], token, logprob, sampler_logprob))
        if not taken:
            return None
        ids, u, tokens, logprobs, sampler_logprobs = zip(*taken)
        device = self.decoder.device
        return (
            torch.tensor(ids, device=device),
            torch.stack(u),
            torch.tensor(tokens, device=device),
            torch.tensor(logprobs, dtype=torch.float64, device=device),
            torch.tensor(sampler_logprobs, dtype=torch.float64, device=device),
        )


def decode(
    model,
    prompt_ids,
    num_samples,
    max_new_tokens,
    seed,
    batch_size,
    eos,
    done: Done,
    sampler: SamplerSettings | None = None,
) -> None:
    """Draw samples ``0 .. num_samples-1`` of ``prompt_ids`` with the sampler's settings (default:
    from the model itself), calling ``done`` once per sample as it ends (in no particular order).
    ``batch_size`` rows are decoded at once."""
    eos_set = set(eos)
    decoder = Decoder(model, prompt_ids, max_new_tokens, eos, seed, sampler)
    queue = _Queue(decoder, num_samples, eos_set, done)
    new = queue.take(batch_size)
    if new is not None:
        decoder.start(*new)
    while decoder.rows:
        ended = decoder.step()
        if not bool(ended.any()):
            continue
        slots = ended.nonzero().squeeze(1)
        for slot in slots.tolist():
            tokens = decoder.tokens[slot, : int(decoder.count[slot])].tolist()
            logprobs = float(decoder.lp[slot]), float(decoder.sampler_lp[slot])
            done(int(decoder.ids[slot]), tokens, *logprobs, tokens[-1] in eos_set)
        new = queue.take(len(slots))
        filled = 0 if new is None else len(new[0])
        if filled:
            decoder.refill(slots[:filled], *new)
        if filled < len(slots):
            decoder.retire(slots[filled:])
        decoder.trim()
