"""Which language-model files the workflow builds, and the config checks made before any job.

Everything here is computed from the validated config and the prompt files; nothing imports
torch, so building the DAG stays fast (and a GPU job's device is checked on its GPU node).
"""

from __future__ import annotations

import re
from pathlib import Path

from .prompt_sets import load_prompt_set, prompt_by_id

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class LMPlan:
    """The language-model part of one config: prompt sets read once, checked, and the file names."""

    def __init__(self, config: dict):
        self.lm = config["lm"]
        self.name = self.lm["model"]["name"]
        self.root = f"results/lm/{self.name}"
        self.sets = {name: load_prompt_set(path) for name, path in self.lm["prompt_sets"].items()}
        self.check()

    def prompt(self, prompt_set: str, prompt_id: str) -> dict:
        return prompt_by_id(self.sets[prompt_set], prompt_id)

    def labels(self) -> list[dict]:
        """One label per (prompt set, prompt, reward) the estimators run on."""
        return [{"prompt_set": name, "prompt_id": prompt["id"], "reward": reward}
                for name, prompt_set in self.sets.items()
                for prompt in prompt_set["prompts"]
                for reward in self.lm["rewards"][name]]

    def estimate_files(self, kind: str) -> list[str]:
        """``kind`` is ``estimates`` or ``distribution``."""
        return [f"{self.root}/estimates/{l['prompt_set']}/{l['prompt_id']}/{l['reward']}.{kind}.parquet"
                for l in self.labels()]

    def figure_files(self) -> list[str]:
        """PNG, PDF and CSV of each language-model figure."""
        return [f"results/figures/{stem}.{ext}" for stem in self.lm["figures"] for ext in ("png", "pdf", "csv")]

    def model_files(self) -> list[str]:
        """The file that marks the model as present, when the workflow provides it."""
        model = self.lm["model"]
        if model["provide"] == "embedded":
            return [str(Path(model["path"]) / model["gguf_file"])]
        if model["provide"] == "tiny":
            return [str(Path(model["path"]) / "config.json")]
        return []

    def check(self) -> None:
        """What the schema cannot see: rewards per set, chrF references, figures, the model path."""
        lm, sets = self.lm, self.sets
        for name in sets:
            if name not in lm["rewards"]:
                raise ValueError(f"config lm.rewards has no entry for prompt set {name!r}; add e.g. "
                                 f"lm.rewards.{name}: [loglik, neg_length]")
        for name, rewards in lm["rewards"].items():
            if name not in sets:
                raise ValueError(f"config lm.rewards.{name}: no such prompt set; known: {sorted(sets)}")
            lacking = [p["id"] for p in sets[name]["prompts"] if "reference" not in p]
            if "chrf" in rewards and lacking:
                raise ValueError(f"config lm.rewards.{name} asks for chrf, but prompts {lacking} in "
                                 f"{lm['prompt_sets'][name]} have no 'reference' translation")
        for stem, spec in lm["figures"].items():
            if spec["prompt_set"] not in sets:
                raise ValueError(f"config lm.figures.{stem}.prompt_set {spec['prompt_set']!r} is not a key "
                                 f"of lm.prompt_sets {sorted(sets)}")
            if spec["reward"] not in lm["rewards"][spec["prompt_set"]]:
                raise ValueError(f"config lm.figures.{stem}.reward {spec['reward']!r} is not computed for "
                                 f"{spec['prompt_set']!r}; add it to lm.rewards.{spec['prompt_set']}")
        if lm["band_tilt"] not in lm["tilts"]:
            raise ValueError(f"config lm.band_tilt {lm['band_tilt']} must be one of lm.tilts {lm['tilts']}")
        model = lm["model"]
        if model["provide"] == "embedded" and not model["gguf_file"]:
            raise ValueError("config lm.model.provide is 'embedded' but lm.model.gguf_file is null")
        if model["provide"] == "none":
            path = Path(model["path"]).expanduser()
            if not path.exists() and not _HUB_ID.match(model["path"]):
                raise ValueError(f"config lm.model.path {model['path']!r} is neither a local folder nor a hub "
                                 "id (org/name); fix it, or set lm.model.provide to 'embedded' or 'tiny'")
            gguf = model["gguf_file"]
            if path.is_dir() and gguf and not (path / gguf).is_file():
                raise ValueError(f"config lm.model.gguf_file {gguf!r} is not in {model['path']!r}")
