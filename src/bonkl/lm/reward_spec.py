"""What a reward is (built in, a Python function, or a reward model) and how to load and call it.

A ``RewardSpec`` is checked when it is made, without torch or the user's code, so the workflow and
the CLI refuse a bad config before any sampling; ``check()`` adds the file-system checks and
``load_reward`` does the expensive part (importing, loading weights) in the job that scores.
Every reward is then called the same way::

    reward = load_reward(spec)
    values = reward(samples, reference=None, prompt="the prompt's user text")  # float64, one per row

The prompt's user text reaches only rewards that take a ``prompt`` keyword (reward models, and
Python functions that ask for it); the built-in rewards are called exactly as before. Whatever a
reward returns is checked (``bonkl.lm.user_rewards.check_values``): one finite float per sample,
one value per distinct response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from .rewards import REWARDS, get_reward
from .user_rewards import RewardFunction, accepts_prompt, check_values, is_file_spec, split_spec

KINDS = ("builtin", "python", "hf_model")
DTYPES = ("float32", "bfloat16", "float16")
DEVICES = ("cpu", "cuda", "cuda:N", "auto")
HF_DEFAULTS = {"batch_size": 16, "device": "cpu", "dtype": "float32"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # it names files and a workflow wildcard
MAX_BATCH = 65536


@dataclass(frozen=True)
class RewardSpec:
    """One reward. ``name`` is how the config, the file names and the figures call it.

    * ``kind="builtin"``: ``name`` is one of ``bonkl.lm.rewards.REWARDS``; nothing else is set;
    * ``kind="python"``: ``function`` is ``"module:function"`` or ``"path/to/file.py:function"``;
    * ``kind="hf_model"``: ``path`` is the local folder of a one-logit sequence-classification
      model; ``batch_size`` (16), ``device`` (cpu | cuda | cuda:N | auto; cpu) and ``dtype``
      (float32 | bfloat16 | float16; float32) apply to it alone.
    """

    name: str
    kind: str = "builtin"
    function: str | None = None
    path: str | None = None
    batch_size: int | None = None
    device: str | None = None
    dtype: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.name, self.kind)
        required = {"builtin": None, "python": "function", "hf_model": "path"}[self.kind]
        for key in ("function", "path"):
            value = getattr(self, key)
            if key == required and not (isinstance(value, str) and value.strip()):
                raise ValueError(f"reward {self.name!r}: kind {self.kind!r} needs {key} (a non-empty string)")
            if key != required and value is not None:
                raise ValueError(f"reward {self.name!r}: {key} is only for kind {_kind_of(key)!r}, not {self.kind!r}")
        if self.kind == "python":
            split_spec(self.function)
        if self.kind != "hf_model":
            for key in HF_DEFAULTS:
                if getattr(self, key) is not None:
                    raise ValueError(f"reward {self.name!r}: {key} is only for kind 'hf_model', not {self.kind!r}")
            return
        for key, default in HF_DEFAULTS.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, default)
        _check_hf_settings(self)

    @classmethod
    def from_config(cls, name: str, entry: Mapping | None = None) -> RewardSpec:
        """From a config entry ``{kind, function | path, batch_size, device, dtype}``; ``None``, or
        an entry without ``kind``, is a built-in reward unless it names a function or a path."""
        if entry is not None and not isinstance(entry, Mapping):
            raise ValueError(f"reward {name!r}: expected a mapping of {{kind, function | path, ...}}, got {entry!r}")
        entry = dict(entry or {})
        allowed = [f.name for f in fields(cls) if f.name != "name"]
        unknown = sorted(set(entry) - set(allowed))
        if unknown:
            raise ValueError(f"reward {name!r}: unknown key {unknown[0]!r}; allowed keys: {allowed}")
        if "kind" not in entry:
            entry["kind"] = "python" if "function" in entry else "hf_model" if "path" in entry else "builtin"
        return cls(name=name, **entry)

    @property
    def label(self) -> str:
        """How error messages name this reward."""
        detail = {"builtin": "", "python": f" (python {self.function!r})", "hf_model": f" (hf_model {self.path!r})"}
        return f"{self.name!r}{detail[self.kind]}"

    @property
    def needs_gpu(self) -> bool:
        """Whether the job that scores must run where CUDA is (``auto`` falls back to the CPU)."""
        return self.kind == "hf_model" and self.device.startswith("cuda")

    def check(self) -> None:
        """The cheap checks of files (a Python file, a model folder with its config.json), no imports."""
        if self.kind == "python":
            where, _ = split_spec(self.function)
            if is_file_spec(where):
                from pathlib import Path

                if not Path(where).expanduser().is_file():
                    raise ValueError(f"reward {self.label}: file {where} does not exist; fix the path before the ':'")
        elif self.kind == "hf_model":
            from .reward_model import check_model_folder

            check_model_folder(self.path, repr(self.name))


def _kind_of(key: str) -> str:
    return {"function": "python", "path": "hf_model"}[key]


def _check_name(name, kind) -> None:
    if kind not in KINDS:
        raise ValueError(f"reward {name!r}: kind {kind!r} is not one of {list(KINDS)}")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"reward name {name!r} must match {NAME.pattern} (it names files)")
    if kind == "builtin" and name not in REWARDS:
        raise ValueError(
            f"reward {name!r} is not built in (built-in rewards: {sorted(REWARDS)}); "
            "for your own reward set kind to 'python' (function: module:function) or 'hf_model' (path: folder)"
        )
    if kind != "builtin" and name in REWARDS:
        raise ValueError(f"reward {name!r} is the name of a built-in reward; give your {kind} reward another name")


def _check_hf_settings(spec: RewardSpec) -> None:
    size = spec.batch_size
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not 1 <= size <= MAX_BATCH:
        raise ValueError(f"reward {spec.name!r}: batch_size {size!r} must be an integer from 1 to {MAX_BATCH}")
    device = spec.device
    if not isinstance(device, str) or not (device in ("cpu", "cuda", "auto") or re.fullmatch(r"cuda:\d+", device)):
        raise ValueError(f"reward {spec.name!r}: device {device!r} is not one of {list(DEVICES)}")
    if spec.dtype not in DTYPES:
        raise ValueError(f"reward {spec.name!r}: dtype {spec.dtype!r} is not one of {list(DTYPES)}")


def reward_specs(user: Mapping[str, Mapping | None] | None = None) -> dict[str, RewardSpec]:
    """Every reward a config can name: the built-in ones, then the user's (``name -> entry``)."""
    specs = {name: RewardSpec(name) for name in REWARDS}
    for name, entry in (user or {}).items():
        specs[name] = RewardSpec.from_config(name, entry)
    return specs


@dataclass(frozen=True)
class LoadedReward:
    """A reward ready to score: ``reward(samples, reference=None, prompt=None)`` -> checked float64."""

    spec: RewardSpec
    function: RewardFunction

    def __call__(self, samples: pd.DataFrame, reference: str | None = None, prompt: str | None = None) -> np.ndarray:
        extra = {"prompt": prompt} if accepts_prompt(self.function) else {}
        return check_values(self.spec.label, self.function(samples, reference=reference, **extra), samples)


def load_reward(spec: RewardSpec | str) -> LoadedReward:
    """Import the function or load the model a spec names (a plain string is a built-in name)."""
    if isinstance(spec, str):
        spec = RewardSpec(spec)
    spec.check()
    if spec.kind == "builtin":
        return LoadedReward(spec, get_reward(spec.name))
    if spec.kind == "python":
        from .user_rewards import resolve_function

        return LoadedReward(spec, resolve_function(spec.function))
    from .reward_model import RewardModel

    model = RewardModel(spec.path, device=spec.device, dtype=spec.dtype, batch_size=spec.batch_size, name=spec.label)
    return LoadedReward(spec, model)
