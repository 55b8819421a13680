"""Chat-formatted prompts as token ids."""

from __future__ import annotations

from .load import check_roundtrip


def chat_text(tokenizer, text: str) -> str:
    """The model's chat template applied to one user turn, ready for the assistant's answer.

    Only a user turn is sent (no system turn), so templates without a system role (Gemma) work;
    templates that add their own default system turn (SmolLM2) keep it, as in the model's own usage.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            "the tokenizer has no chat template; the prompts must be wrapped in the "
            "model's chat format (use an instruction-tuned model)"
        )
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
    )


def chat_prompt_ids(tokenizer, text: str) -> list[int]:
    """Token ids of the chat-formatted prompt.

    Tokenised with ``add_special_tokens=False``: the template writes BOS itself where the model
    wants one (Gemma), so adding it again would give two. The rendered prompt must survive an
    encode/decode round trip (GGUF tokenizers are rebuilt from the file).
    """
    return check_roundtrip(tokenizer, chat_text(tokenizer, text))
