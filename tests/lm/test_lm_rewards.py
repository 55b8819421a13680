"""Reward registry, values and the tie-breaking order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sacrebleu

from bonkl.lm.rewards import REWARDS, get_reward

SAMPLES = pd.DataFrame(
    {
        "token_ids": [[5, 2], [7, 8, 2], [4, 2], [5, 2], [3, 9, 9]],
        "text": ["Ich will Brot kaufen.", "Ich möchte Brot kaufen.", "Brot", "Ich will Brot kaufen.", ""],
        "logprob": [-1.5, -2.0, -1.5, -1.5, -7.0],
        "num_tokens": [2, 3, 2, 2, 3],
        "finished": [True, True, True, True, False],  # the last one was cut at a cap of 3 tokens
    }
)
REFERENCE = "Ich möchte Brot kaufen."


def test_registry():
    assert sorted(REWARDS) == ["chrf", "loglik", "neg_length"]
    with pytest.raises(ValueError, match=r"unknown reward 'bleu'; valid rewards: \['chrf', 'loglik', 'neg_length'\]"):
        get_reward("bleu")


def test_values():
    loglik = get_reward("loglik")(SAMPLES)
    assert loglik.dtype == np.float64 and loglik.tolist() == [-1.5, -2.0, -1.5, -1.5, -7.0]
    assert get_reward("neg_length")(SAMPLES, reference=REFERENCE).tolist() == [-2, -3, -2, -2, -4]


def test_neg_length_ranks_every_cut_sample_below_every_finished_one():
    """A cut sample is "longer than the cap": below a finished sample of the cap's length, tied
    with the other cut samples whatever their log-probability."""
    cap = 5
    frame = pd.DataFrame(
        {"num_tokens": [cap, cap, cap, 1], "finished": [True, False, False, True], "logprob": [-9.0, -1.0, -3.0, -0.5]}
    )
    reward = get_reward("neg_length")(frame)
    assert reward.tolist() == [-cap, -cap - 1, -cap - 1, -1]


def test_chrf_is_sacrebleu():
    values = get_reward("chrf")(SAMPLES, reference=REFERENCE)
    want = [sacrebleu.sentence_chrf(text, [REFERENCE]).score for text in SAMPLES["text"]]
    assert values.dtype == np.float64 and np.allclose(values, want, rtol=0, atol=1e-12)
    assert values[1] == pytest.approx(100.0) and values[4] == 0.0
    with pytest.raises(ValueError, match="reference"):
        get_reward("chrf")(SAMPLES)
