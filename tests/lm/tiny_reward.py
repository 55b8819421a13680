"""Tiny random reward models the reward-model tests build themselves (never downloaded).

The tokenizer is ``bonkl.lm.tiny``'s character-level one with a chat template that marks each
role and ends each turn with ``</s>`` (the pad token, as many real templates do). Two heads of one
logit: a Llama (rotary positions, pad id set) and a GPT-2 (absolute positions, no pad id), with
weights drawn wide enough that scores differ by whole units between responses.
"""

from __future__ import annotations

import torch

from bonkl.lm.tiny import build_tokenizer as build_char_tokenizer

REWARD_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}<|user|>{% else %}<|assistant|>"
    "{% endif %}{{ m['content'] }}</s>{% endfor %}"
)
POSITIONS = 64


def build_tokenizer(chat_template: bool = True):
    tokenizer = build_char_tokenizer()
    tokenizer.chat_template = REWARD_TEMPLATE if chat_template else None
    return tokenizer


def _widened(model):
    model = model.float().eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.3)
    return model


def build_llama(vocab_size: int, num_labels: int = 1, seed: int = 3):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=POSITIONS,
        num_labels=num_labels,
        pad_token_id=2,
        bos_token_id=1,
        eos_token_id=2,
    )
    return _widened(LlamaForSequenceClassification(config))


def build_gpt2(vocab_size: int, seed: int = 4):
    from transformers import GPT2Config, GPT2ForSequenceClassification

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=vocab_size,
        n_embd=16,
        n_layer=2,
        n_head=2,
        n_positions=POSITIONS,
        num_labels=1,
        pad_token_id=None,
        bos_token_id=1,
        eos_token_id=2,
    )
    return _widened(GPT2ForSequenceClassification(config))


BUILDERS = {"llama": build_llama, "gpt2": build_gpt2}


def save_reward_model(dest, arch: str = "llama", chat_template: bool = True, **kwargs):
    """Write a tiny reward model and its tokenizer to ``dest``; return the in-memory model."""
    tokenizer = build_tokenizer(chat_template)
    model = BUILDERS[arch](len(tokenizer), **kwargs)
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    return model


def direct_score(model, ids) -> float:
    """The model's own score of one unpadded input (a batch of one)."""
    with torch.inference_mode():
        return float(model(input_ids=torch.tensor([ids])).logits[0, 0])
