"""A Hugging Face reward model as a reward: one scalar per (prompt, response), read from a local folder.

The folder holds an ``AutoModelForSequenceClassification`` checkpoint with a single-logit head
(``num_labels == 1``) and its tokenizer; it is read with ``local_files_only=True`` (never a hub
download). Each response is shown to the model the way it was trained to see it:

* through the reward model's own chat template, a user turn (the prompt's text) then an assistant
  turn (the sample's ``text``), tokenised with ``add_special_tokens=False`` (the template writes
  its own BOS);
* with no chat template, as the tokenizer's sentence pair ``tokenizer(prompt, response)``: what
  BERT/DeBERTa reward models expect (``[CLS] prompt [SEP] response [SEP]``); a tokenizer without a
  pair format (GPT-2) simply concatenates the two token sequences.

Batches are right-padded with an attention mask, so the real tokens keep their positions and
never attend to padding: a score does not depend on which other responses share its batch, beyond
float rounding. The model pools at its last token that is not ``config.pad_token_id`` (transformers'
rule, the same in a batch of one); a model saved without a pad id pools at its last token, and
keeps doing so here (the pad id chosen for batching is no response's last token). Identical texts
are scored once, so one response always gets one reward (``bonkl.pool.make_pool`` requires it).
A sample cut at the token cap is scored as the partial response it is.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

DTYPES = ("float32", "bfloat16", "float16")


def check_model_folder(path: str, name: str = "hf_model") -> str:
    """The absolute folder of a reward model, once it holds a ``config.json`` (no torch needed)."""
    folder = os.path.abspath(os.path.expanduser(str(path)))
    if not os.path.isdir(folder):
        raise ValueError(
            f"reward {name}: path {folder} is not a folder; give the local folder of a reward model "
            "(save_pretrained output, or a snapshot folder of the hub cache): hub ids are not downloaded"
        )
    if not os.path.isfile(os.path.join(folder, "config.json")):
        raise ValueError(f"reward {name}: {folder} has no config.json; it is not a transformers checkpoint folder")
    return folder


def resolve_device(device: str, name: str = "hf_model") -> str:
    """``cpu``, ``cuda`` or ``cuda:N``; ``auto`` is CUDA when torch sees it. CUDA must be there."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"reward {name}: device {device!r}, but torch sees no CUDA device (torch {torch.__version__}); "
            "set device to 'cpu' or 'auto', or run the score job on a GPU node"
        )
    return device


def _check_config(config, folder: str, name: str) -> None:
    """A sequence-classification checkpoint with one logit, or one error saying why not."""
    labels = getattr(config, "num_labels", None)
    if labels != 1:
        raise ValueError(
            f"reward {name}: {folder} has a {labels}-label head ({getattr(config, 'id2label', {})}); a reward "
            "model gives one score per response: use a checkpoint with num_labels == 1"
        )


def load_reward_model(
    path: str, *, device: str = "cpu", dtype: str = "float32", name: str = "hf_model"
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of the reward model in ``path``, in eval mode on ``device``.

    Refuses a head with other than one label, and a checkpoint whose classification head is not in
    the folder (a causal-LM checkpoint: transformers would draw the head at random, and warn).
    """
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    folder = check_model_folder(path, name)
    if dtype not in DTYPES:
        raise ValueError(f"reward {name}: dtype {dtype!r} is not one of {DTYPES}")
    device = resolve_device(device, name)
    _check_config(AutoConfig.from_pretrained(folder, local_files_only=True), folder, name)
    model, info = AutoModelForSequenceClassification.from_pretrained(
        folder, dtype=getattr(torch, dtype), local_files_only=True, output_loading_info=True
    )
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        raise ValueError(
            f"reward {name}: {folder} lacks weights {missing[:4]}{' ...' if len(missing) > 4 else ''}; it is "
            "not a trained reward model (a causal-LM checkpoint?), and its head would be random"
        )
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return model.to(device).eval(), tokenizer


def encode_pair(tokenizer, prompt: str, response: str) -> dict[str, list[int]]:
    """The reward model's input for one (prompt, response): chat template, or the sentence pair."""
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        encoding = tokenizer(text, add_special_tokens=False)
    else:
        encoding = tokenizer(prompt, response)
    types = "token_type_ids" in encoding and "token_type_ids" in tokenizer.model_input_names  # BERT-like
    return {key: list(encoding[key]) for key in ("input_ids", "token_type_ids")[: 1 + types]}


def batch_pad_id(model, tokenizer, encodings: list[dict], saved_pad_id: int | None) -> int:
    """The id padding is written with: the pad id the model was saved with; without one, an id that
    is no input's last token, set as the model's pad id so that it pools at the last token, as it
    does unbatched (chosen anew for every call: the inputs change)."""
    if saved_pad_id is not None:
        return int(saved_pad_id)
    config = model.config.get_text_config()
    last = {e["input_ids"][-1] for e in encodings}
    candidates = [tokenizer.pad_token_id, tokenizer.eos_token_id, *range(config.vocab_size)]
    pad = next(int(c) for c in candidates if c is not None and c not in last)
    config.pad_token_id = model.config.pad_token_id = pad
    return pad


def pad_right(encodings: list[dict], pad_id: int, device: Any) -> dict:
    """Tensors of a right-padded batch: ``input_ids`` (padded with ``pad_id``), ``attention_mask``,
    and ``token_type_ids`` (padded with 0) when the encodings have them."""
    import torch

    width = max(len(e["input_ids"]) for e in encodings)
    ids = torch.full((len(encodings), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encodings), width), dtype=torch.long)
    types = torch.zeros((len(encodings), width), dtype=torch.long) if "token_type_ids" in encodings[0] else None
    for row, e in enumerate(encodings):
        length = len(e["input_ids"])
        ids[row, :length] = torch.tensor(e["input_ids"])
        mask[row, :length] = 1
        if types is not None:
            types[row, :length] = torch.tensor(e["token_type_ids"])
    batch = {"input_ids": ids, "attention_mask": mask} | ({"token_type_ids": types} if types is not None else {})
    return {key: value.to(device) for key, value in batch.items()}


def score_encodings(model, encodings: list[dict], batch_size: int, pad: int) -> np.ndarray:
    """The single logit of each encoding (float64), in ``batch_size`` batches of similar lengths,
    right-padded with ``pad``."""
    import torch

    order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i]["input_ids"]))  # less padding
    scores = np.empty(len(encodings), dtype=np.float64)
    no_cache = {"use_cache": False} if "use_cache" in inspect.signature(model.forward).parameters else {}
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = pad_right([encodings[i] for i in rows], pad, model.device)
            logits = model(**batch, **no_cache).logits
            scores[rows] = logits[:, 0].double().cpu().numpy()
    return scores


def _check_lengths(model, encodings: list[dict], texts, name: str) -> None:
    """Refuse an input longer than the model's positions (it would fail, or be scored past its range)."""
    limit = getattr(model.config.get_text_config(), "max_position_embeddings", None)
    for text, e in zip(texts, encodings):
        if not e["input_ids"]:
            raise ValueError(f"reward {name}: the response {text!r} with its prompt encodes to no tokens")
        if limit and len(e["input_ids"]) > limit:
            raise ValueError(
                f"reward {name}: prompt + response {text[:40]!r}... is {len(e['input_ids'])} tokens, past the "
                f"reward model's {limit} positions; lower lm.sampling.max_new_tokens or use a longer-context model"
            )


class RewardModel:
    """A loaded reward model, called like the built-in rewards plus the prompt's user text:
    ``reward(samples, reference=None, prompt="...")`` -> float64 array, one score per row."""

    def __init__(
        self, path: str, *, device: str = "cpu", dtype: str = "float32", batch_size: int = 16, name: str = "hf_model"
    ):
        self.name, self.batch_size = name, int(batch_size)
        self.model, self.tokenizer = load_reward_model(path, device=device, dtype=dtype, name=name)
        self.saved_pad_id = self.model.config.get_text_config().pad_token_id

    def score_texts(self, prompt: str, responses: Sequence[str]) -> np.ndarray:
        """Score of each response to ``prompt``, each distinct text computed once."""
        unique = list(dict.fromkeys(responses))
        encodings = [encode_pair(self.tokenizer, prompt, text) for text in unique]
        _check_lengths(self.model, encodings, unique, self.name)
        if not encodings:
            return np.empty(0, dtype=np.float64)
        pad = batch_pad_id(self.model, self.tokenizer, encodings, self.saved_pad_id)
        scores = dict(zip(unique, score_encodings(self.model, encodings, self.batch_size, pad)))
        return np.array([scores[text] for text in responses], dtype=np.float64)

    def __call__(self, samples: pd.DataFrame, reference: str | None = None, *, prompt: str | None = None) -> np.ndarray:
        if prompt is None:
            raise ValueError(
                f"reward {self.name}: a reward model scores (prompt, response) pairs; pass the prompt's "
                "user text as prompt="
            )
        return self.score_texts(prompt, samples["text"].tolist())
