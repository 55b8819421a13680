"""The real default model (SmolLM2-135M-Instruct, GGUF), when resources/models holds it."""

from __future__ import annotations

import numpy as np
import torch

from bonkl.lm.prompts import chat_prompt_ids
from bonkl.lm.sampling import eos_token_ids, sample_responses, score_sequences

PROMPT = "What is the capital of France?"


def test_loads_with_template_and_eos(embedded):
    model, tokenizer = embedded
    assert model.config.model_type == "llama" and model.dtype == torch.float32
    assert model.get_output_embeddings().weight.shape[0] == 49152
    ids = chat_prompt_ids(tokenizer, PROMPT)  # round trip checked inside
    text = tokenizer.decode(ids)
    assert text.endswith(f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n")
    assert text.count("<|im_start|>") == 3  # the template's default system turn, user, assistant
    assert eos_token_ids(model, tokenizer) == [tokenizer.convert_tokens_to_ids("<|im_end|>")]


def test_samples_match_full_rescoring(embedded):
    model, tokenizer = embedded
    prompt = chat_prompt_ids(tokenizer, PROMPT)
    frame = sample_responses(model, tokenizer, prompt, 6, 24, seed=0, batch_size=4)
    rescored = score_sequences(model, prompt, frame["token_ids"].tolist())
    assert np.abs(rescored - frame["logprob"].to_numpy()).max() < 1e-4
    assert (frame["logprob"] < 0).all()
    eos = eos_token_ids(model, tokenizer)
    assert (frame["finished"] == frame["token_ids"].map(lambda s: s[-1] in eos)).all()
    assert (frame.loc[~frame["finished"], "num_tokens"] == 24).all()
    assert frame["text"].map(len).gt(0).any()
