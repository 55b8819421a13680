"""The sampler draws exactly from the model: every outcome of the tiny model is enumerated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from exact import chisquare_pvalue, enumerate_outcomes
from tiny_lm import build_gemma2, build_tokenizer

from bonkl.lm.prompts import chat_prompt_ids
from bonkl.lm.sampling import (
    eos_token_ids,
    sample_responses,
    sample_tokens,
    score_sequences,
)

MAX_NEW = 4
NUM = 20_000


@pytest.fixture(scope="module")
def setup(tiny):
    model, tokenizer = tiny
    prompt = chat_prompt_ids(tokenizer, "ab")
    eos = eos_token_ids(model, tokenizer)
    exact = enumerate_outcomes(model, prompt, MAX_NEW, eos)
    return model, tokenizer, prompt, exact


@pytest.fixture(scope="module")
def big(setup):
    model, tokenizer, prompt, _ = setup
    return sample_responses(model, tokenizer, prompt, NUM, MAX_NEW, seed=7, batch_size=256)


def test_traps_present_and_eos(tiny):
    model, tokenizer = tiny
    config = model.generation_config
    assert (config.top_k, config.repetition_penalty, config.min_length, config.temperature) == (2, 1.5, 3, 0.5)
    assert eos_token_ids(model, tokenizer) == [0]


def test_enumeration_is_a_distribution(setup):
    *_, exact = setup
    assert len(exact) == 1 + 4 + 16 + 64 + 256
    assert abs(sum(np.exp(list(exact.values()))) - 1.0) < 1e-9
    probs = np.exp(list(exact.values()))
    assert probs.max() > 10 * probs.mean()  # far from uniform: the test has power


def test_frame_layout(big):
    columns = ["sample_index", "token_ids", "text", "logprob", "sampler_logprob", "num_tokens", "finished"]
    assert list(big.columns) == columns
    assert big["sample_index"].dtype == np.int64 and big["num_tokens"].dtype == np.int64
    assert big["logprob"].dtype == np.float64 and big["finished"].dtype == bool
    # No processor: the sampler's distribution is the model's, to the bit.
    assert np.array_equal(big["sampler_logprob"].to_numpy().view(np.int64), big["logprob"].to_numpy().view(np.int64))
    assert (big["sample_index"].to_numpy() == np.arange(NUM)).all()
    assert (big["num_tokens"] == big["token_ids"].map(len)).all()
    ends = big["token_ids"].map(lambda s: s[-1] == 0)
    assert (big["finished"] == ends).all()
    assert (big.loc[~big["finished"], "num_tokens"] == MAX_NEW).all()
    assert (big["token_ids"].map(lambda s: 0 not in s[:-1])).all()  # nothing after EOS


def test_distribution_is_exact(setup, big):
    *_, exact = setup
    observed = big["token_ids"].map(tuple).value_counts().to_dict()
    assert set(observed) <= set(exact)
    assert chisquare_pvalue(observed, exact, NUM) > 1e-3
    # Marginals that the traps would move: length 1 (min_length), truncation, first token (top-k).
    first = big["token_ids"].map(lambda s: s[0])
    for token in range(5):
        p = sum(np.exp(v) for k, v in exact.items() if k[0] == token)
        assert abs((first == token).mean() - p) < 5 * np.sqrt(p * (1 - p) / NUM) + 1e-12


def test_logprobs_exact_and_canonical(setup, big):
    *_, exact = setup
    want = big["token_ids"].map(lambda s: exact[tuple(s)])
    assert np.abs(big["logprob"] - want).max() < 1e-5
    spread = big.groupby(big["token_ids"].map(tuple))["logprob"].nunique()
    assert (spread == 1).all()


def test_deterministic(setup, big):
    model, tokenizer, prompt, _ = setup
    again = sample_responses(model, tokenizer, prompt, 2000, MAX_NEW, seed=7, batch_size=256)
    pd.testing.assert_frame_equal(again, big.head(2000))
    other = sample_responses(model, tokenizer, prompt, 2000, MAX_NEW, seed=8, batch_size=256)
    assert not other["token_ids"].equals(again["token_ids"])


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_batch_size_does_not_change_the_draws(setup, big, batch_size):
    """Each sample owns its uniforms, so any batch size gives the same samples (up to rare float
    flips at a CDF boundary) and hence the same, exact, distribution."""
    model, tokenizer, prompt, exact = setup
    n = 300 if batch_size == 1 else 3000
    frame = sample_responses(model, tokenizer, prompt, n, MAX_NEW, seed=7, batch_size=batch_size)
    same = (frame["token_ids"] == big["token_ids"].head(n)).mean()
    assert same >= 0.999
    want = frame["token_ids"].map(lambda s: exact[tuple(s)])
    assert np.abs(frame["logprob"] - want).max() < 1e-5


def test_small_cases(setup):
    model, tokenizer, prompt, _ = setup
    empty = sample_responses(model, tokenizer, prompt, 0, MAX_NEW, seed=1, batch_size=4)
    assert len(empty) == 0 and empty.columns[0] == "sample_index"
    one = sample_responses(model, tokenizer, prompt, 500, 1, seed=1, batch_size=4)
    assert (one["num_tokens"] == 1).all()
    assert (one["finished"] == one["token_ids"].map(lambda s: s == [0])).all()
    with pytest.raises(ValueError, match="max_new_tokens"):
        sample_responses(model, tokenizer, prompt, 5, 0, seed=1, batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        sample_responses(model, tokenizer, prompt, 5, 3, seed=1, batch_size=0)


def test_rescore_matches(setup):
    model, tokenizer, prompt, exact = setup
    frame = sample_responses(model, tokenizer, prompt, 200, MAX_NEW, seed=3, batch_size=16, rescore=True)
    want = frame["token_ids"].map(lambda s: exact[tuple(s)])
    assert np.abs(frame["logprob"] - want).max() < 1e-6
    scored = score_sequences(model, prompt, frame["token_ids"].head(20).tolist())
    assert np.abs(scored - frame["logprob"].head(20)).max() < 1e-9


def test_sample_tokens_inverts_the_cdf():
    """Uniforms on a grid land on each token in proportion to its probability, at any vocabulary
    size (one not a multiple of the block, one spanning many blocks), never on a -inf logit."""
    gen = torch.Generator().manual_seed(0)
    for vocab in (7, 1000):
        logits = torch.randn(1, vocab, generator=gen) * 3
        logits[0, 1] = -torch.inf
        grid = (torch.arange(20_000, dtype=torch.float64) + 0.5) / 20_000
        tokens, logprobs = sample_tokens(logits.expand(len(grid), -1), grid)
        probs = torch.softmax(logits[0].double(), -1)
        freq = torch.bincount(tokens, minlength=vocab).double() / len(grid)
        assert (freq - probs).abs().max() <= 1 / len(grid) + 1e-12  # a grid, not random draws
        assert freq[1] == 0
        assert torch.allclose(logprobs, torch.log(probs)[tokens], atol=1e-6)


def test_eos_set_is_the_union(tiny):
    _, tokenizer = tiny

    class Stub:
        generation_config = type("G", (), {"eos_token_id": [1, 2]})()

    assert eos_token_ids(Stub(), tokenizer) == [0, 1, 2]
    Stub.generation_config.eos_token_id = 2
    assert eos_token_ids(Stub(), tokenizer) == [0, 2]


def test_gemma2_soft_caps_and_sliding_layers():
    """Gemma 2's soft-capped logits and sliding-window layers go through the same decode loop."""
    model, tokenizer = build_gemma2(), build_tokenizer()
    prompt = chat_prompt_ids(tokenizer, "ab")
    exact = enumerate_outcomes(model, prompt, MAX_NEW, [0])
    frame = sample_responses(model, tokenizer, prompt, 4000, MAX_NEW, seed=2, batch_size=64)
    want = frame["token_ids"].map(lambda s: exact[tuple(s)])
    assert np.abs(frame["logprob"] - want).max() < 1e-5
    observed = frame["token_ids"].map(tuple).value_counts().to_dict()
    assert chisquare_pvalue(observed, exact, len(frame)) > 1e-3
    with pytest.raises(NotImplementedError, match="sliding window"):
        sample_responses(build_gemma2(sliding_window=4), tokenizer, prompt, 5, MAX_NEW, seed=2, batch_size=4)


def test_long_run_matches_full_rescoring(setup, capsys):
    """Hundreds of steps through one batch: cache buffers outgrow their spare columns, rows are
    refilled, columns trimmed, idle rows compacted; every value still equals a full forward pass."""
    model, tokenizer, prompt, _ = setup
    frame = sample_responses(model, tokenizer, prompt, 1500, 40, seed=5, batch_size=8, progress=True)
    assert frame["num_tokens"].sum() / 8 > 300  # steps of the decode loop
    assert frame["num_tokens"].max() > 12
    want = score_sequences(model, prompt, frame["token_ids"].tolist())
    assert np.abs(frame["logprob"] - want).max() < 1e-5
    assert "sampling" in capsys.readouterr().err  # the progress bar


def test_shared_prefix_attention_equals_full_attention(tiny):
    """Attention over (shared prompt columns, own masked columns) is attention over each row's
    prompt + own columns, computed one row at a time by the model's reference formula."""
    from bonkl.lm.attention import shared_prefix_attention

    model, _ = tiny
    attn = model.model.layers[0].self_attn
    gen = torch.Generator().manual_seed(0)
    rows, kv, prompt, own, dim = 5, attn.config.num_key_value_heads, 7, 6, attn.head_dim
    heads = attn.config.num_attention_heads
    query = torch.randn(rows, heads, 1, dim, generator=gen)
    prefix = [(torch.randn(kv, prompt, dim, generator=gen), torch.randn(kv, prompt, dim, generator=gen))]
    keys, values = torch.randn(2, rows, kv, own, dim, generator=gen)
    pad = torch.tensor([0, 1, 3, 6, 2])
    mask = torch.arange(own) >= pad[:, None]
    out, _ = shared_prefix_attention(attn, query, keys, values, None, bonkl_prefix=prefix, bonkl_mask=mask)
    for r in range(rows):
        k = torch.cat([prefix[0][0], keys[r][:, pad[r] :]], dim=1).repeat_interleave(heads // kv, 0)
        v = torch.cat([prefix[0][1], values[r][:, pad[r] :]], dim=1).repeat_interleave(heads // kv, 0)
        want = torch.softmax(query[r] @ k.transpose(1, 2) * attn.scaling, dim=-1) @ v  # [H, 1, D]
        assert torch.allclose(out[r, 0], want[:, 0], atol=1e-6)


def test_model_attention_setting_restored(setup):
    model, tokenizer, prompt, _ = setup
    before = model.config._attn_implementation
    sample_responses(model, tokenizer, prompt, 10, MAX_NEW, seed=1, batch_size=4)
    assert model.config._attn_implementation == before
