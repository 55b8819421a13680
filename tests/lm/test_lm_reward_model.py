"""A Hugging Face reward model as a reward: the model's own unbatched scores, whatever the batching,
through its chat template (or the sentence-pair fallback), and every refusal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from tiny_reward import POSITIONS, build_tokenizer, direct_score, save_reward_model

from bonkl.lm.reward_model import RewardModel, encode_pair, load_reward_model
from bonkl.lm.reward_spec import RewardSpec, load_reward
from bonkl.pool import make_pool

PROMPT = "say hi"
# Lengths 0 to 30 characters, and a repeat: padding matters, and one text must get one score.
TEXTS = ["", "ab", "hello there", "ab", "x" * 30, "the quick brown fox", "hi!", "a b c d e"]
TOLERANCE = 1e-5


def samples(texts=TEXTS) -> pd.DataFrame:
    ids = [[ord(c) for c in text] for text in texts]  # a stand-in: equal texts, equal token ids
    return pd.DataFrame({"sample_index": np.arange(len(texts)), "token_ids": ids, "text": texts})


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def saved(request, tmp_path_factory):
    """``(folder, in-memory model)``: Llama (rotary, pad id set) and GPT-2 (absolute positions, no pad id)."""
    dest = tmp_path_factory.mktemp(f"reward-{request.param}")
    return dest, save_reward_model(dest, request.param)


def chat_ids(prompt, response):
    tokenizer = build_tokenizer()
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    return tokenizer(tokenizer.apply_chat_template(messages, tokenize=False), add_special_tokens=False)["input_ids"]


def test_scores_equal_the_models_unbatched_forward(saved):
    folder, built = saved
    scores = RewardModel(str(folder), batch_size=3)(samples(), prompt=PROMPT)
    want = [direct_score(built, chat_ids(PROMPT, text)) for text in TEXTS]
    assert scores.dtype == np.float64 and scores.shape == (len(TEXTS),)
    assert np.max(np.abs(scores - want)) < TOLERANCE
    assert np.ptp(scores) > 0.1  # the scores say something: they are not all equal


def test_scores_do_not_depend_on_the_batch(saved):
    folder, _ = saved
    reward = RewardModel(str(folder), batch_size=1)
    one = reward(samples(), prompt=PROMPT)
    for size in (2, 5, 64):
        reward.batch_size = size
        assert np.max(np.abs(reward(samples(), prompt=PROMPT) - one)) < TOLERANCE
    alone = reward(samples(TEXTS[4:6]), prompt=PROMPT)  # another batch composition
    assert np.max(np.abs(alone - one[4:6])) < TOLERANCE


def test_one_response_one_score_and_the_pool_accepts_them(saved):
    folder, _ = saved
    frame = samples()
    scores = RewardModel(str(folder), batch_size=3)(frame, prompt=PROMPT)
    assert scores[1] == scores[3]  # "ab" twice: scored once
    pool = make_pool(np.full(len(frame), -3.0), scores, frame["token_ids"].map(str))
    assert pool.key.size == len(TEXTS) - 1


def test_chat_template_is_used():
    tokenizer = build_tokenizer()
    ids = encode_pair(tokenizer, "hi", "ab")["input_ids"]
    assert tokenizer.decode(ids) == "<s><|user|>hi</s><|assistant|>ab</s>"
    assert ids == chat_ids("hi", "ab")


def test_prompt_changes_the_score(saved):
    folder, _ = saved
    reward = RewardModel(str(folder))
    assert not np.allclose(reward(samples(), prompt="say hi"), reward(samples(), prompt="be rude"))


def test_without_chat_template_the_sentence_pair_is_scored(tmp_path):
    built = save_reward_model(tmp_path, "llama", chat_template=False)
    tokenizer = build_tokenizer(chat_template=False)
    assert encode_pair(tokenizer, PROMPT, "ab") == {"input_ids": tokenizer(PROMPT, "ab")["input_ids"]}
    scores = RewardModel(str(tmp_path), batch_size=4)(samples(), prompt=PROMPT)
    want = [direct_score(built, tokenizer(PROMPT, text)["input_ids"]) for text in TEXTS]
    assert np.max(np.abs(scores - want)) < TOLERANCE
    templated = [direct_score(built, chat_ids(PROMPT, text)) for text in TEXTS]
    assert np.max(np.abs(scores - templated)) > 0.01


def test_half_precision_runs_and_returns_float64(saved):
    folder, _ = saved
    model, _ = load_reward_model(str(folder), dtype="bfloat16")
    assert model.dtype == torch.bfloat16 and not model.training
    scores = RewardModel(str(folder), dtype="bfloat16")(samples(), prompt=PROMPT)
    full = RewardModel(str(folder))(samples(), prompt=PROMPT)
    assert scores.dtype == np.float64 and np.max(np.abs(scores - full)) < 0.2


def test_through_the_spec_the_prompt_reaches_the_model(saved):
    folder, built = saved
    reward = load_reward(RewardSpec("helpful", kind="hf_model", path=str(folder), batch_size=2))
    scores = reward(samples(), reference="ignored", prompt=PROMPT)
    assert abs(scores[2] - direct_score(built, chat_ids(PROMPT, TEXTS[2]))) < TOLERANCE
    with pytest.raises(ValueError, match=r"reward 'helpful' \(hf_model .*pass the prompt's user text as prompt="):
        reward(samples())


# Refusals ----------------------------------------------------------------------------------------


def test_missing_folder_and_not_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="is not a folder; give the local folder .* hub ids are not downloaded"):
        RewardModel(str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="has no config.json"):
        RewardModel(str(tmp_path))
    with pytest.raises(ValueError, match="is not a folder"):
        RewardModel("org/reward-model")  # a hub id is never fetched


def test_head_of_two_labels_is_refused(tmp_path):
    save_reward_model(tmp_path, "llama", num_labels=2)
    with pytest.raises(ValueError, match="has a 2-label head .* num_labels == 1"):
        RewardModel(str(tmp_path))


def test_causal_lm_checkpoint_is_refused(tmp_path):
    """AutoModelForSequenceClassification would load it with a random head (and only warn)."""
    from tiny_lm import build_model
    from tiny_lm import build_tokenizer as build_lm_tokenizer

    model = build_model()
    model.config.num_labels = 1
    model.save_pretrained(tmp_path)
    build_lm_tokenizer().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"lacks weights \['score.weight'\]; it is not a trained reward model"):
        RewardModel(str(tmp_path))


def test_bad_dtype_and_absent_cuda(saved):
    folder, _ = saved
    with pytest.raises(ValueError, match=r"dtype 'float64' is not one of \('float32', 'bfloat16', 'float16'\)"):
        load_reward_model(str(folder), dtype="float64")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA device.*run the score job on a GPU node"):
            load_reward_model(str(folder), device="cuda")
        assert load_reward_model(str(folder), device="auto")[0].device.type == "cpu"


def test_input_past_the_models_positions_is_refused(saved):
    folder, _ = saved
    with pytest.raises(ValueError, match=f"past the reward model's {POSITIONS} positions; lower lm.sampling"):
        RewardModel(str(folder))(samples(["a" * POSITIONS]), prompt=PROMPT)


def test_model_saved_without_pad_id_pools_at_the_last_token_in_every_call(tmp_path):
    """GPT-2 without a pad id pools at its last token; the id batches are padded with is picked per
    call, so a later response that ends with an earlier call's pad id is still scored at its end."""
    built = save_reward_model(tmp_path, "gpt2", chat_template=False)
    tokenizer = build_tokenizer(chat_template=False)
    reward = RewardModel(str(tmp_path), batch_size=4)
    reward(samples(["ab", "hello"]), prompt=PROMPT)  # pads with </s>: no input ends with it
    texts = ["ab</s>", "ab", "a longer one"]
    assert tokenizer(PROMPT, texts[0])["input_ids"][-1] == tokenizer.pad_token_id
    scores = reward(samples(texts), prompt=PROMPT)
    want = [direct_score(built, tokenizer(PROMPT, text)["input_ids"]) for text in texts]
    assert np.max(np.abs(scores - want)) < TOLERANCE


def test_no_samples_no_scores(saved):
    folder, _ = saved
    assert RewardModel(str(folder))(samples([]), prompt=PROMPT).shape == (0,)
