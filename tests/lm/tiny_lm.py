"""The language-model tests' tiny random Llama whose outcomes can all be enumerated.

Vocabulary of five tokens (``<eos>``, ``<user>``, ``<bot>``, ``a``, ``b``), character-level, with a
chat template; two layers of width 16, random weights from a fixed seed, drawn wide enough that the
next-token distributions are far from uniform (with seed 1: 341 outcomes up to 4 tokens, the most
likely at probability 0.33, lengths 1-4 all likely, 29% cut at the cap). Its saved generation
config carries the usual traps (top-k, top-p, repetition penalty, minimum length, temperature) that
the sampler must ignore.
"""

from __future__ import annotations

from pathlib import Path

import torch

TOKENS = ["<eos>", "<user>", "<bot>", "a", "b"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<user>{{ message['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<bot>{% endif %}"
)
TRAPS = {"do_sample": True, "top_k": 2, "top_p": 0.5, "repetition_penalty": 1.5, "min_length": 3, "temperature": 0.5}
# Both tiny models' shape and special tokens.
SHAPE = {
    "vocab_size": len(TOKENS),
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 64,
    "eos_token_id": 0,
    "pad_token_id": 0,
    "bos_token_id": None,
}
EMBEDDED = Path(__file__).resolve().parents[2] / "resources" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def build_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(vocab={t: i for i, t in enumerate(TOKENS)}, unk_token="<eos>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<eos>", pad_token="<eos>", additional_special_tokens=["<user>", "<bot>"]
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _widened(model):
    """float32, eval mode, matrices drawn from N(0, 0.5^2): the default initializer_range 0.02 would
    give near-uniform next-token distributions."""
    model = model.float().eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.5)
    return model


def build_model(seed: int = 1, scale: float = 1.0):
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    model = _widened(LlamaForCausalLM(LlamaConfig(**SHAPE, tie_word_embeddings=False)))
    with torch.no_grad():
        model.lm_head.weight.mul_(scale)
    model.generation_config = GenerationConfig(eos_token_id=0, pad_token_id=0, **TRAPS)
    return model


def build_gemma2(seed: int = 1, sliding_window: int = 32):
    """A tiny Gemma 2: attention and final-logit soft-caps, sliding-window layers, eager attention."""
    from transformers import Gemma2Config, Gemma2ForCausalLM

    torch.manual_seed(seed)
    config = Gemma2Config(
        **SHAPE,
        head_dim=4,
        sliding_window=sliding_window,
        final_logit_softcapping=3.0,
        attn_logit_softcapping=5.0,
        attn_implementation="eager",
    )
    return _widened(Gemma2ForCausalLM(config))
