"""The rewards a workflow config can name: the built-in ones and those the user brings.

``lm.user_rewards`` maps a name to ``{function: "module:function" | "file.py:function"}`` or to
``{path: reward-model folder, batch_size, device, dtype}`` (``bonkl.lm.reward_spec.RewardSpec``),
with an optional ``resources`` section for its score jobs. Each entry is parsed into a
``RewardSpec`` once, when the plan is made, and checked without importing the user's code or
torch (a module must be importable, a file or folder must exist), so a bad entry stops the run
before any job with one line naming the key.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from ..lm.reward_spec import RewardSpec, reward_specs
from ..lm.user_rewards import is_file_spec, split_spec

#: A user reward's score jobs ask for this unless its ``resources`` say otherwise (an hf_model on
#: cuda asks for one GPU): what an executor plugin (SLURM, Kubernetes) reads to place the job.
RESOURCE_DEFAULTS = {"mem_mb": 4000, "runtime": 60}


@dataclass(frozen=True)
class Reward:
    """One reward of the config: its spec and what its score jobs ask of the scheduler."""

    spec: RewardSpec
    resources: dict

    @property
    def is_builtin(self) -> bool:
        return self.spec.kind == "builtin"

    def param(self) -> dict:
        """The spec as the score rule's params: editing the entry reruns this reward's jobs alone."""
        return {key: value for key, value in asdict(self.spec).items() if key != "name" and value is not None}

    def code_files(self) -> list[str]:
        """A reward's own Python file, as an input of its score jobs: editing it rescores."""
        if self.spec.kind != "python":
            return []
        where, _ = split_spec(self.spec.function)
        return [where] if is_file_spec(where) else []


def _check_importable(spec: RewardSpec) -> None:
    """A ``module:function`` reward's module is found (not imported: the user's code runs in the job)."""
    where, _ = split_spec(spec.function)
    if is_file_spec(where):
        return
    try:
        found = importlib.util.find_spec(where.split(".")[0]) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ValueError(
            f"no module named {where.split('.')[0]!r} is importable here; install it, add its folder to "
            "PYTHONPATH, or give the file instead (function: path/to/file.py:function)"
        )


def parse_rewards(user: Mapping[str, Mapping] | None) -> dict[str, Reward]:
    """Every reward by name, the user's checked; a ``ValueError`` names the config key."""
    rewards = {name: Reward(spec, {"gpu": 0, **RESOURCE_DEFAULTS}) for name, spec in reward_specs().items()}
    for name, entry in (user or {}).items():
        key = f"config lm.user_rewards.{name}"
        entry = dict(entry or {})
        resources = entry.pop("resources", None) or {}
        try:
            spec = RewardSpec.from_config(name, entry)
            spec.check()
            if spec.kind == "python":
                _check_importable(spec)
        except ValueError as error:
            raise ValueError(f"{key}: {error}") from None
        defaults = {"gpu": 1 if spec.needs_gpu else 0, **RESOURCE_DEFAULTS}
        rewards[name] = Reward(spec, {**defaults, **resources})
    return rewards
