"""A pool drawn as another engine would: transformers' ``generate(do_sample=True, top_p=...)``,
optionally in bfloat16 weights, keeping the token ids and the engine's own processed
log-probabilities (``output_scores`` + ``compute_transition_scores``), as a user's pool arrives."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch


def engine_copy(model, dtype: torch.dtype):
    """The model in ``dtype`` with a clean generation config: the tiny model's saved one carries
    traps (top-k 2, repetition penalty, minimum length) that generate would otherwise apply."""
    from transformers import GenerationConfig

    engine = copy.deepcopy(model).to(dtype).eval()
    eos, pad = model.generation_config.eos_token_id, model.generation_config.pad_token_id
    engine.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=pad)
    return engine


def _rows(new: torch.Tensor, steps: torch.Tensor, eos: set[int]) -> list[tuple[list[int], float]]:
    """Token ids up to and including each row's first end-of-sequence token (the rest is padding,
    whose transition scores are meaningless and often -inf), and the sum of their scores."""
    rows = []
    for tokens, scores in zip(new.tolist(), steps.double()):
        end = next((i + 1 for i, t in enumerate(tokens) if t in eos), len(tokens))
        rows.append((tokens[:end], float(scores[:end].sum())))
    return rows


def _left_padded(prompts: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts of one batch left-padded (as engines and generate batch mixed prompts), and the mask."""
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def generate_pool(
    engine, prompts: dict, order: list, max_new: int, top_p: float, seed: int, batch: int
) -> pd.DataFrame:
    """One response per entry of ``order`` (prompt ids, keys of ``prompts``) from ``engine.generate``
    with top-p (top-k 0, temperature 1), ``batch`` consecutive entries per call, mixed prompts
    left-padded: a row's numerics then depend on its batch's composition, as in a serving engine.
    Columns ``prompt_id``, ``token_ids`` and ``sampler_logprob``: the engine's log q, the
    log-softmax of generate's processed scores at each kept token."""
    config = engine.generation_config
    eos = {config.eos_token_id} if isinstance(config.eos_token_id, int) else set(config.eos_token_id)
    torch.manual_seed(seed)
    rows = []
    for at in range(0, len(order), batch):
        ids, mask = _left_padded([prompts[pid] for pid in order[at : at + batch]], config.pad_token_id)
        with torch.inference_mode():
            out = engine.generate(
                input_ids=ids,
                attention_mask=mask,
                do_sample=True,
                top_p=top_p,
                top_k=0,
                temperature=1.0,
                max_new_tokens=max_new,
                output_scores=True,
                return_dict_in_generate=True,
            )
        steps = engine.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        rows += _rows(out.sequences[:, ids.shape[1] :], steps, eos)
    return pd.DataFrame(
        {
            "prompt_id": list(order),
            "token_ids": [r[0] for r in rows],
            "sampler_logprob": np.array([r[1] for r in rows], dtype=np.float64),
        }
    )
