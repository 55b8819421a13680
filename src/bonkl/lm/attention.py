"""Attention of one new token per row over a prompt shared by every row and the row's own columns.

Registered with transformers as the attention implementation ``ATTENTION``; the decoder switches
the model to it for its decoding steps (and supplies the masks itself).
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface, AttentionMaskInterface

ATTENTION = "bonkl_shared_prefix"


def shared_prefix_attention(
    module,
    query,
    key,
    value,
    attention_mask,
    scaling=None,
    dropout=0.0,
    softcap=None,
    bonkl_prefix=None,
    bonkl_mask=None,
    **kwargs,
):
    """Attention of one new token per row over the shared prompt columns and the row's own columns.

    ``query`` is [R, H, 1, D]; ``key``/``value`` [R, KV, L, D] the rows' generated columns, of which
    ``bonkl_mask`` ([R, L], bool) says which belong to the row; ``bonkl_prefix[layer]`` the prompt's
    keys and values ([KV, P, D]). Scores against the prompt are one matrix product per key/value
    head over all rows and query heads (the prompt's cache is read once, not once per row); both
    score blocks go through one softmax (float32), with the optional soft-cap (Gemma 2) applied as
    eager attention does. The same sum as attention over prompt + row. Returns [R, 1, H, D].
    """
    if query.shape[2] != 1 or dropout:
        raise RuntimeError("shared-prefix attention decodes one token per row, without dropout")
    prefix_keys, prefix_values = bonkl_prefix[module.layer_idx]
    rows, heads, _, dim = query.shape
    kv, prompt = prefix_keys.shape[0], prefix_keys.shape[1]
    group = heads // kv  # query heads per key/value head (as repeat_kv pairs them)
    q = query.reshape(rows, kv, group, dim)
    by_head = q.transpose(0, 1).reshape(kv, rows * group, dim)
    scores = torch.cat(
        [
            torch.bmm(by_head, prefix_keys.transpose(1, 2)).view(kv, rows, group, prompt).transpose(0, 1),
            torch.matmul(q, key.transpose(2, 3)),
        ],
        dim=-1,
    )
    scores.mul_(module.scaling if scaling is None else scaling)
    if softcap is not None:
        scores = torch.tanh(scores / softcap).mul_(softcap)
    scores[..., prompt:].masked_fill_(~bonkl_mask[:, None, None, :], -torch.inf)
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    out = torch.matmul(probs[..., prompt:], value)
    shared = probs[..., :prompt].transpose(0, 1).reshape(kv, rows * group, prompt)
    out += torch.bmm(shared, prefix_values).view(kv, rows, group, dim).transpose(0, 1)
    return out.reshape(rows, 1, heads, dim), None


AttentionInterface.register(ATTENTION, shared_prefix_attention)
AttentionMaskInterface.register(ATTENTION, lambda *args, **kwargs: None)  # masks are ours (bonkl_mask)
