"""Re-scoring another engine's pool under the float32 reference (``bonkl.lm.rescore``): pools drawn
with transformers' ``generate(top_p=0.9)`` in bfloat16 and float32 weights and with bonkl's own
sampler, on the tiny model whose every outcome is enumerated; batching, duplicates, bad ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from engine_pool import engine_copy, generate_pool
from exact import enumerate_pairs, generate_processors

from bonkl.lm.processors import SamplerSettings
from bonkl.lm.prompts import chat_prompt_ids
from bonkl.lm.rescore import check_engine_logprobs, compare_rescored, reference_logprobs, rescore_pool, vocabulary_size
from bonkl.lm.sampling import eos_token_ids, sample_responses, score_sequences

MAX_NEW = 4
TOP_P = SamplerSettings(top_p=0.9)


@pytest.fixture(scope="module")
def base(tiny):
    """Model, two prompts of different lengths, and per prompt every outcome's exact log pi and
    log q (transformers' top-p warper; missing: outside q's support)."""
    model, tokenizer = tiny
    prompts = {"short": chat_prompt_ids(tokenizer, "ab"), "long": chat_prompt_ids(tokenizer, "babba")}
    eos = eos_token_ids(model, tokenizer)
    log_pi = {pid: enumerate_pairs(model, p, MAX_NEW, eos) for pid, p in prompts.items()}
    log_q = {
        pid: enumerate_pairs(model, p, MAX_NEW, eos, generate_processors(model, TOP_P)) for pid, p in prompts.items()
    }
    exact = {
        pid: {seq: (pi, log_q[pid].get(seq, (0.0, -np.inf))[1]) for seq, (pi, _) in log_pi[pid].items()}
        for pid in prompts
    }
    return model, tokenizer, prompts, exact


def _engine(base, dtype) -> pd.DataFrame:
    """600 responses from generate: prompts interleaved, in batches of 2, 16 and 200 (mixed prompts
    left-padded), so identical responses meet different batch compositions."""
    model, _, prompts, _ = base
    order = list(np.random.default_rng(0).choice(sorted(prompts), size=600))
    engine = engine_copy(model, dtype)
    parts = [
        generate_pool(engine, prompts, order[i::3], MAX_NEW, 0.9, seed=i, batch=b) for i, b in enumerate((2, 16, 200))
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def pools(base) -> dict[str, pd.DataFrame]:
    """The three pools: generate in bfloat16 and float32 weights (token ids and the engine's log q
    only, as a user's pool arrives), and bonkl's own exact sampler (log pi and log q recorded)."""
    model, tokenizer, prompts, _ = base
    own = []
    for pid, prompt in prompts.items():
        frame = sample_responses(model, tokenizer, prompt, 300, MAX_NEW, seed=7, batch_size=64, sampler=TOP_P)
        own.append(frame.assign(prompt_id=pid)[["prompt_id", "token_ids", "logprob", "sampler_logprob"]])
    return {
        "generate bfloat16": _engine(base, torch.bfloat16),
        "generate float32": _engine(base, torch.float32),
        "bonkl sampler": pd.concat(own, ignore_index=True),
    }


@pytest.fixture(scope="module")
def rescored(base, pools) -> dict[str, pd.DataFrame]:
    model, _, prompts, _ = base
    return {name: rescore_pool(model, prompts, pool, batch_size=32, sampler=TOP_P) for name, pool in pools.items()}


def _exact(base, pool) -> np.ndarray:
    """[N, 2] exact (log pi, log q) of each sample."""
    exact = base[-1]
    return np.array([exact[pid][tuple(ids)] for pid, ids in zip(pool["prompt_id"], pool["token_ids"])])


@pytest.mark.parametrize("name", ["generate bfloat16", "generate float32", "bonkl sampler"])
def test_rescored_values_are_exact(base, rescored, name):
    pool = rescored[name]
    want = _exact(base, pool)
    error_pi = np.abs(pool["logprob"].to_numpy() - want[:, 0]).max()
    log_q = pool["reference_sampler_logprob"].to_numpy()
    inside = np.isfinite(want[:, 1])
    error_q = np.abs(log_q[inside] - want[inside, 1]).max()
    print(
        f"\n{name}: max |logprob - exact log pi| {error_pi:.2g}, max |log q - exact| {error_q:.2g}, "
        f"{(~inside).sum()} outside float32 top-p support"
    )
    assert error_pi < 1e-5 and error_q < 1e-5
    assert np.array_equal(np.isneginf(log_q), ~inside)  # -inf exactly where exact q excludes the response


def test_bfloat16_engine_logprobs_differ_measurably(rescored):
    """The bfloat16 engine's recorded log q is off the float32 one by a measurable, two-sided
    amount (and some of its draws lie outside float32's top-p set); float32 generate is the control
    that the engine's values were read correctly (processed scores, padding after EOS masked)."""
    bf16 = compare_rescored(rescored["generate bfloat16"], 1e-4)["sampler_logprob"]
    fp32 = compare_rescored(rescored["generate float32"], 1e-4)["sampler_logprob"]
    for name, c in (("bfloat16", bf16), ("float32", fp32)):
        print(
            f"\ngenerate {name}: recorded - float32 log q: mean {c.mean_difference:+.3g}, mean |.| "
            f"{c.mean_abs_difference:.3g}, max |.| {c.max_abs_difference:.3g}, +{c.positive}/-{c.negative}, "
            f"{c.above_tolerance} above 1e-4, {c.outside_support} outside support, {c.pattern}"
        )
    assert bf16.mean_abs_difference > 1e-3 and bf16.pattern == "mixed"
    assert fp32.max_abs_difference < 1e-5 and fp32.pattern == "match" and fp32.outside_support == 0


def test_engine_noise_between_identical_responses(pools):
    """Identical responses drawn in different batch compositions: float32 generate agrees to
    rounding; bfloat16 may spread further (reported, never hidden). One canonical value each."""
    for name in ("generate bfloat16", "generate float32"):
        check = check_engine_logprobs(pools[name], tolerance=1e-4)
        s = check.summary()
        print(
            f"\n{name}: {s['repeated']} repeated responses, {s['varied']} with different recorded log q, "
            f"{s['above_tolerance']} spread above 1e-4, largest spread {s['largest_spread']:.3g} nats"
        )
        keys = pools[name]["prompt_id"] + "|" + pools[name]["token_ids"].map(str)
        assert (check.canonical.groupby(keys).nunique() == 1).all()
        assert check.repeated > 10
    assert check_engine_logprobs(pools["generate float32"], tolerance=1e-5).ok


def test_own_sampler_values_match_rescored(rescored):
    report = compare_rescored(rescored["bonkl sampler"], 1e-5)
    assert set(report) == {"logprob", "sampler_logprob"}
    for c in report.values():
        assert c.pattern == "match" and c.max_abs_difference < 1e-5 and c.outside_support == 0


def test_batched_equals_score_sequences(base, pools):
    model, _, prompts, _ = base
    pool = pools["bonkl sampler"]
    single = np.array(
        [score_sequences(model, prompts[p], [ids])[0] for p, ids in zip(pool["prompt_id"], pool["token_ids"])]
    )
    one, _ = reference_logprobs(model, prompts, pool, batch_size=1)
    batched, _ = reference_logprobs(model, prompts, pool, batch_size=64)
    print(f"\nmax |batched - score_sequences| {np.abs(batched - single).max():.2g}")
    assert np.array_equal(one, single)  # batch of one: score_sequences' very arithmetic
    assert np.abs(batched - single).max() < 1e-5


def test_batch_size_and_row_order_do_not_matter(base, pools):
    model, _, prompts, _ = base
    pool = pools["generate bfloat16"]
    values = {b: reference_logprobs(model, prompts, pool, batch_size=b, sampler=TOP_P) for b in (1, 5, 1000)}
    for lp, lq in values.values():
        assert np.abs(lp - values[1][0]).max() < 1e-5
        inside = np.isfinite(values[1][1])
        assert np.array_equal(np.isfinite(lq), inside) and np.abs(lq[inside] - values[1][1][inside]).max() < 1e-5
    shuffled = pool.sample(frac=1.0, random_state=3)
    lp, lq = reference_logprobs(model, prompts, shuffled, batch_size=5, sampler=TOP_P)
    order = shuffled.index.to_numpy()
    assert np.array_equal(lp, values[5][0][order]) and np.array_equal(lq, values[5][1][order])  # to the bit


def _counting(model):
    """A forward pre-hook counting the rows of every forward pass; returns (counts, handle)."""
    rows = []
    handle = model.register_forward_pre_hook(
        lambda _, args, kwargs: rows.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    return rows, handle


def test_identical_responses_are_scored_once(base):
    model, _, prompts, _ = base
    pool = pd.DataFrame(
        {
            "prompt_id": ["short", "long", "short", "short", "long", "short"],
            "token_ids": [[3, 0], [3, 0], [3, 0], [4, 4, 3, 0], [3, 0], np.array([3, 0])],
        }
    )
    rows, handle = _counting(model)
    try:
        lp, lq = reference_logprobs(model, prompts, pool, batch_size=2)
    finally:
        handle.remove()
    assert sum(rows) == 3 and rows == [2, 1]  # distinct (prompt, ids): short 3 0, long 3 0, short 4 4 3 0
    assert lq is None
    assert lp[0] == lp[2] == lp[5] and lp[1] == lp[4] and lp[0] != lp[1]  # same ids, other prompt: other value
    assert np.array_equal(reference_logprobs(model, prompts, pool, batch_size=2, sampler=SamplerSettings())[1], lp)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([3, -1, 0], "token id -1 is outside the model's vocabulary of 5 tokens"),
        ([3, 5], "token id 5 is outside the model's vocabulary of 5 tokens"),
        ([], "empty"),
        ([3, 1.5], "token id 1.5 is not an integer"),
        ([3, True], "token id True is not an integer"),
        ("3 0", "must be a list of integers, got str"),
    ],
)
def test_bad_token_ids_fail_before_any_forward_pass(base, bad, match):
    model, _, prompts, _ = base
    assert vocabulary_size(model) == 5
    pool = pd.DataFrame({"prompt_id": ["short", "long", "long", "short"], "token_ids": [[3, 0], [4, 0], bad, bad]})
    rows, handle = _counting(model)
    try:
        with pytest.raises(ValueError, match=match) as error:
            reference_logprobs(model, prompts, pool, batch_size=4)
    finally:
        handle.remove()
    assert "prompt 'long', row 2 of the samples" in str(error.value) and "(and 1 more bad row(s))" in str(error.value)
    assert rows == []


def test_bad_prompts_and_settings(base):
    model, _, prompts, _ = base
    pool = pd.DataFrame({"prompt_id": ["short", "other"], "token_ids": [[3, 0], [3, 0]]})
    with pytest.raises(ValueError, match="prompt 'other' of the samples has no prompt token ids"):
        reference_logprobs(model, prompts, pool, batch_size=2)
    with pytest.raises(ValueError, match="prompt 'short': its prompt token ids are invalid: token id 9"):
        reference_logprobs(model, {"short": [1, 9]}, pool.head(1), batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        reference_logprobs(model, prompts, pool.head(1), batch_size=0)
    with pytest.raises(TypeError, match="SamplerSettings"):
        reference_logprobs(model, prompts, pool.head(1), batch_size=1, sampler={"top_p": 0.9})
    with pytest.raises(ValueError, match="lack column"):
        reference_logprobs(model, prompts, pool.drop(columns="token_ids"), batch_size=1)
