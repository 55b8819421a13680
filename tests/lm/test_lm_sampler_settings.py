"""With temperature, top-k, top-p or min-p the sampler draws exactly from the distribution q that
transformers' generate would sample from, and records log q and log pi of every sample: each
outcome of the tiny model is enumerated with generate's own warpers as the reference."""

from __future__ import annotations

import numpy as np
import pytest
from exact import chisquare_pvalue, enumerate_pairs, generate_processors

from bonkl.lm.processors import SamplerSettings
from bonkl.lm.prompts import chat_prompt_ids
from bonkl.lm.sampling import eos_token_ids, sample_responses, score_sequences

MAX_NEW = 4
NUM = 20_000
SETTINGS = {
    "temperature 0.7": SamplerSettings(temperature=0.7),
    "temperature 1.5": SamplerSettings(temperature=1.5),
    "top_k 3": SamplerSettings(top_k=3),
    "top_p 0.8": SamplerSettings(top_p=0.8),
    "min_p 0.1": SamplerSettings(min_p=0.1),
    "temperature 0.7 + top_p 0.95": SamplerSettings(temperature=0.7, top_p=0.95),
}
TRUNCATING = {"top_k 3", "top_p 0.8", "min_p 0.1", "temperature 0.7 + top_p 0.95"}


@pytest.fixture(scope="module")
def base(tiny):
    model, tokenizer = tiny
    prompt = chat_prompt_ids(tokenizer, "ab")
    eos = eos_token_ids(model, tokenizer)
    log_pi = {seq: lp for seq, (lp, _) in enumerate_pairs(model, prompt, MAX_NEW, eos).items()}
    return model, tokenizer, prompt, eos, log_pi


@pytest.fixture(scope="module", params=sorted(SETTINGS))
def drawn(request, base):
    """(name, settings, exact {outcome: (log pi, log q)}, 20,000 samples) per setting."""
    model, tokenizer, prompt, eos, _ = base
    setting = SETTINGS[request.param]
    exact = enumerate_pairs(model, prompt, MAX_NEW, eos, generate_processors(model, setting))
    frame = sample_responses(model, tokenizer, prompt, NUM, MAX_NEW, seed=11, batch_size=256, sampler=setting)
    return request.param, setting, exact, frame


def test_distribution_is_exact(drawn, base):
    name, _, exact, frame = drawn
    log_q, log_pi = {seq: lq for seq, (_, lq) in exact.items()}, base[-1]
    assert abs(sum(np.exp(list(log_q.values()))) - 1) < 1e-9
    if name in TRUNCATING:  # the setting does cut the tiny model's tree: the test has power
        assert len(log_q) < len(log_pi)
    observed = frame["token_ids"].map(tuple).value_counts().to_dict()
    assert set(observed) <= set(log_q)  # never an outcome that q excludes
    pvalue = chisquare_pvalue(observed, log_q, NUM)
    against_pi = chisquare_pvalue(observed, log_pi, NUM)
    print(f"\n{name}: {len(log_q)} outcomes, chi-square p-value {pvalue:.3g} (against pi: {against_pi:.3g})")
    assert pvalue > 1e-3
    assert against_pi < 1e-6  # and the draws are not those of the model itself


def test_logprobs_exact(drawn):
    name, _, exact, frame = drawn
    want = np.array([exact[tuple(s)] for s in frame["token_ids"]])
    error_pi = np.abs(frame["logprob"].to_numpy() - want[:, 0]).max()
    error_q = np.abs(frame["sampler_logprob"].to_numpy() - want[:, 1]).max()
    print(f"\n{name}: max |logprob - log pi| {error_pi:.2g}, max |sampler_logprob - log q| {error_q:.2g}")
    assert error_pi < 1e-5 and error_q < 1e-5
    assert (frame["sampler_logprob"] != frame["logprob"]).any()
    spread = frame.groupby(frame["token_ids"].map(tuple))[["logprob", "sampler_logprob"]].nunique()
    assert (spread == 1).all().all()  # one value of each per distinct sequence


def test_rescore_and_score_sequences_under_q(drawn, base):
    model, tokenizer, prompt, *_ = base
    _, setting, exact, _ = drawn
    frame = sample_responses(
        model, tokenizer, prompt, 60, MAX_NEW, seed=3, batch_size=16, rescore=True, sampler=setting
    )
    want = np.array([exact[tuple(s)] for s in frame["token_ids"]])
    assert np.abs(frame[["logprob", "sampler_logprob"]].to_numpy() - want).max() < 1e-6
    sequences = frame["token_ids"].head(10).tolist()
    assert np.abs(score_sequences(model, prompt, sequences, sampler=setting) - want[:10, 1]).max() < 1e-6
    assert np.abs(score_sequences(model, prompt, sequences) - want[:10, 0]).max() < 1e-6


def test_batch_size_does_not_change_processed_draws(base):
    model, tokenizer, prompt, *_ = base
    setting = SETTINGS["temperature 0.7 + top_p 0.95"]

    def draw(batch: int):
        return sample_responses(model, tokenizer, prompt, 1500, MAX_NEW, seed=4, batch_size=batch, sampler=setting)

    small, large = draw(7), draw(256)
    assert (small["token_ids"] == large["token_ids"]).mean() >= 0.999


def test_settings_that_remove_nothing_change_nothing(base):
    """top_k >= the vocabulary size switches the processed path on but keeps every token: the draws
    and log pi are the unprocessed ones, and log q = log pi, to the bit (the raw log-softmax shares
    the kernel's arithmetic)."""
    model, tokenizer, prompt, *_ = base
    plain = sample_responses(model, tokenizer, prompt, 2000, MAX_NEW, seed=9, batch_size=64)
    for setting in (SamplerSettings(top_k=5), SamplerSettings(top_k=50)):
        assert setting.active
        same = sample_responses(model, tokenizer, prompt, 2000, MAX_NEW, seed=9, batch_size=64, sampler=setting)
        assert same["token_ids"].equals(plain["token_ids"])
        for column in ("logprob", "sampler_logprob"):
            assert np.array_equal(same[column].to_numpy().view(np.int64), plain["logprob"].to_numpy().view(np.int64))


def test_sampler_must_be_settings(base):
    model, tokenizer, prompt, *_ = base
    with pytest.raises(TypeError, match="SamplerSettings"):
        sample_responses(model, tokenizer, prompt, 5, MAX_NEW, seed=1, batch_size=4, sampler={"top_k": 3})
