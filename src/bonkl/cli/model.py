"""What ``bonkl audit`` and ``bonkl rescore`` share: the model to load (the spec of :mod:`bonkl.lm.load`
as flags), the sampler settings a pool was drawn with (:class:`bonkl.lm.settings.SamplerSettings`
as flags), and each prompt's token ids.

Nothing here imports torch until :func:`load` runs, so every flag and file is checked first.
"""

from __future__ import annotations

from ..lm.load import DTYPES
from ..lm.settings import SamplerSettings
from .flags import sampler_setting

# The model spec's settings (bonkl.lm.load) as these commands' flags.
MODEL_FLAGS = {"path": "--model", "gguf_file": "--gguf-file", "dtype": "--dtype", "device": "--device"}
# The sampler's settings, in the order transformers applies them (bonkl.lm.processors).
SAMPLER_FLAGS = {"temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p", "min_p": "--min-p"}
_SAMPLER_HELP = {
    "temperature": "temperature the pool was drawn at, > 0 (default 1: off)",
    "top_k": "top-k the pool was drawn with, a whole number >= 0 (default 0: off)",
    "top_p": "top-p the pool was drawn with, in (0, 1] (default 1: off)",
    "min_p": "min-p the pool was drawn with, in [0, 1) (default 0: off)",
}


def add_model_flags(parser, *, dtype: bool = True) -> None:
    """``--model``, ``--gguf-file``, ``--device`` (and ``--dtype`` unless the command is float32 only)
    and ``--prompts``."""
    parser.add_argument(
        "--model",
        required=True,
        help="model folder, .gguf file (e.g. the embedded resources/models/SmolLM2-135M-Instruct.Q4_1.gguf) "
        "or hub id already in the hub cache (as lm.model.path)",
    )
    parser.add_argument("--gguf-file", default=None, help="GGUF file inside --model")
    if dtype:
        parser.add_argument(
            "--dtype", default="float32", choices=DTYPES, help="float32 (default, exact), bfloat16 or float16"
        )
    parser.add_argument("--device", default="cpu", help="cpu (default) | cuda | cuda:N | auto")
    parser.add_argument(
        "--prompts",
        default=None,
        help="prompt-set YAML (ids and texts; chat template applied) when the pool has no prompt_token_ids column",
    )


def add_sampler_flags(parser) -> None:
    """``--temperature``, ``--top-k``, ``--top-p``, ``--min-p``, each checked by ``SamplerSettings``."""
    defaults = SamplerSettings()
    for name, flag in SAMPLER_FLAGS.items():
        parser.add_argument(flag, type=sampler_setting(name), default=getattr(defaults, name), help=_SAMPLER_HELP[name])


def sampler_settings(args) -> SamplerSettings:
    """The sampler the flags describe (the defaults: the model itself)."""
    return SamplerSettings(**{name: getattr(args, name) for name in SAMPLER_FLAGS})


def unnamed(args, *columns: str) -> tuple[str, ...]:
    """Which of ``columns`` (``logprob``, ``sampler_logprob``) the flags left at their default name:
    those may be absent from the pool; a column the user named (``--logprob-col lp``) must be there."""
    return tuple(column for column in columns if getattr(args, f"{column}_col") == column)


def require_lm() -> None:
    """Re-scoring needs the model: without the ``lm`` extra, say so in one line."""
    from importlib.util import find_spec

    missing = [name for name in ("torch", "transformers") if find_spec(name) is None]
    if missing:
        raise ValueError(
            f"re-scoring needs {' and '.join(missing)}, which the core install leaves out: pip install 'bonkl[lm]'"
        )


def load(args):
    """``(model, tokenizer)`` from the flags; a bad setting is one ``ValueError`` naming its flag."""
    from transformers.utils import logging as hf_logging

    from ..lm.load import SettingError, load_model

    hf_logging.disable_progress_bar()  # the report is the output
    dtype = getattr(args, "dtype", "float32")
    spec = {"path": args.model, "gguf_file": args.gguf_file, "dtype": dtype, "device": args.device}
    try:
        return load_model(spec)
    except SettingError as error:  # the spec's keys are these commands' flags
        raise ValueError(f"{MODEL_FLAGS[error.setting]} {error.problem}") from None
    except NotImplementedError as error:  # transformers: an architecture or GGUF type it cannot load
        raise ValueError(f"--model {args.model!r} cannot be loaded: {error}") from None


def prompt_ids(pool, tokenizer, texts, samples) -> dict:
    """``prompt_id -> token ids`` (:func:`bonkl.audit.prompt_ids_by_id`); an error names the pool's file."""
    from ..audit import prompt_ids_by_id

    try:
        return prompt_ids_by_id(pool, tokenizer, texts)
    except ValueError as error:  # about the pool's prompts: name its file
        raise ValueError(f"{samples}: {error}") from None
