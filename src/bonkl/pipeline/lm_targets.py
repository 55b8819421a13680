"""Which language-model files the workflow builds, and the config checks made before any job.

Everything here is computed from the validated config and the prompt files; nothing imports
torch, so building the DAG stays fast (and a GPU job's device is checked on its GPU node).
"""

from __future__ import annotations

from pathlib import Path

from .._validate import subset_sizes
from ..files.prompt_sets import load_prompt_set, prompt_by_id
from ..lm.rewards import reference_for
from . import paths
from .reward_config import parse_rewards
from .sampler_config import parse_samplers


class LMPlan:
    """The language-model part of one config: prompt sets read once, checked, and the file names."""

    def __init__(self, config: dict):
        self.lm = config["lm"]
        self.name = self.lm["model"]["name"]
        self.sets = {name: load_prompt_set(path) for name, path in self.lm["prompt_sets"].items()}
        #: Every reward by name (bonkl.pipeline.reward_config.Reward): built in, then lm.user_rewards.
        self.rewards = parse_rewards(self.lm.get("user_rewards"))
        self.check()
        #: Sampler variants by name (bonkl.pipeline.sampler_config.SamplerVariant), checked.
        self.samplers = parse_samplers(self.lm.get("samplers"), self.sets, self.rewards)
        for name, variant in self.samplers.items():
            self._check_references(f"lm.samplers.{name}.rewards", variant.prompt_set, variant.rewards)
        self._check_practice()

    def prompt(self, prompt_set: str, prompt_id: str) -> dict:
        return prompt_by_id(self.sets[prompt_set], prompt_id)

    def reference(self, prompt_set: str, prompt_id: str, reward: str) -> str | None:
        """What the ``score`` rule passes to ``reward`` as the prompt's reference (checked in :meth:`check`);
        a user's reward gets the prompt's reference when it has one."""
        prompt = self.prompt(prompt_set, prompt_id)
        return reference_for(reward, prompt) if self.rewards[reward].is_builtin else prompt.get("reference")

    def reward_pattern(self, builtin: bool) -> str:
        """The ``reward`` wildcard's constraint of the rule that scores built-in (or the user's) rewards."""
        names = [name for name, reward in self.rewards.items() if reward.is_builtin == builtin]
        return "|".join(names) or "NO_USER_REWARD"

    def labels(self) -> list[dict]:
        """One label per (prompt set, reward) the estimators run on."""
        return [{"prompt_set": name, "reward": reward} for name in self.sets for reward in self.lm["rewards"][name]]

    def estimate_files(self) -> list[str]:
        """The estimate table of each (prompt set, reward), in :meth:`labels` order."""
        return [paths.estimate(self.name, **label) for label in self.labels()]

    def prompt_ids(self, prompt_set: str) -> list[str]:
        return [prompt["id"] for prompt in self.sets[prompt_set]["prompts"]]

    def sample_files(self, prompt_set: str) -> list[str]:
        """Every prompt's pool of one set (in the set's order)."""
        return [paths.samples(self.name, prompt_set, prompt_id) for prompt_id in self.prompt_ids(prompt_set)]

    def reward_files(self, prompt_set: str, reward: str) -> list[str]:
        """One reward of every prompt of one set (in the set's order)."""
        return [paths.rewards(self.name, prompt_set, p, reward) for p in self.prompt_ids(prompt_set)]

    def figure_files(self) -> list[str]:
        """PNG, PDF and CSV of each language-model figure."""
        return [file for stem in self.lm["figures"] for file in paths.figure_files(stem)]

    def variant_sample_files(self, sampler: str) -> list[str]:
        """The pools of a sampler variant (its prompts, in its order)."""
        variant = self.samplers[sampler]
        return [paths.samples(self.name, variant.prompt_set, p, sampler) for p in variant.prompts]

    def variant_reward_files(self, sampler: str, reward: str) -> list[str]:
        variant = self.samplers[sampler]
        return [paths.rewards(self.name, variant.prompt_set, p, reward, sampler) for p in variant.prompts]

    def variant_estimate_files(self) -> list[str]:
        """The estimate table of each sampler variant and reward."""
        return [
            paths.estimate(self.name, v.prompt_set, reward, name)
            for name, v in self.samplers.items()
            for reward in v.rewards
        ]

    def practice_files(self) -> list[str]:
        """PNG, PDF and CSV of each figure of best-of-n over a sampler variant (lm.practice)."""
        return [file for stem in self.lm.get("practice", {}) for file in paths.figure_files(stem)]

    def _practice(self, stem: str):
        """A practice figure's config entry and its sampler variant."""
        spec = self.lm["practice"][stem]
        return spec, self.samplers[spec["sampler"]]

    def practice_inputs(self, stem: str) -> dict[str, str]:
        """The estimate tables a practice figure compares: temperature 1 (the default pools) and the variant."""
        spec, variant = self._practice(stem)
        return {
            "reference": paths.estimate(self.name, variant.prompt_set, spec["reward"]),
            "variant": paths.estimate(self.name, variant.prompt_set, spec["reward"], variant.name),
        }

    def practice_spec(self, stem: str) -> dict:
        """What ``practice_data`` needs besides its inputs: the prompts and the variant's label."""
        variant = self._practice(stem)[1]
        return {"prompts": list(variant.prompts), "label": variant.label}

    def practice_options(self, stem: str) -> dict:
        """The plot options of a practice figure (``practice_plot``'s params: changing one redraws it alone)."""
        return {key: value for key, value in self.lm["practice"][stem].items() if key.startswith("panel_")}

    def practice_title(self, stem: str) -> str:
        spec, variant = self._practice(stem)
        return (
            f"Beyond the paper: best-of-n over {variant.label} against temperature 1 "
            f"({variant.prompt_set} {', '.join(variant.prompts)}; reward {spec['reward']})"
        )

    def practice_caption(self, stem: str) -> str:
        variant = self._practice(stem)[1]
        return (
            f"{self.practice_title(stem)}; model {self.name}, {self.lm['sampling']['num_samples']} samples per "
            f"prompt and sampler. Left: the KL divergence to the reference model against n - eq. 4 as usually "
            f"reported, the eq. 25 mean of best-of-n from the model itself, and for {variant.label} the unbiased "
            f"estimate of KL(BoN_q || pi), which at n = 1 is already the sampler's own KL(q || pi), and "
            f"best-of-n's own step KL(BoN_q || q). Right: the expected reward against that KL."
        )

    def _check_practice(self) -> None:
        for stem, spec in self.lm.get("practice", {}).items():
            key = f"config lm.practice.{stem}"
            if spec["sampler"] not in self.samplers:
                raise ValueError(
                    f"{key}.sampler {spec['sampler']!r} is not a key of lm.samplers {sorted(self.samplers)}"
                )
            variant = self.samplers[spec["sampler"]]
            for where, rewards in (
                (f"lm.samplers.{variant.name}.rewards", variant.rewards),
                (f"lm.rewards.{variant.prompt_set}", self.lm["rewards"][variant.prompt_set]),
            ):
                if spec["reward"] not in rewards:
                    raise ValueError(f"{key}.reward {spec['reward']!r} is not computed there; add it to {where}")

    def model_files(self) -> list[str]:
        """The file that marks the model as present, when the workflow provides it."""
        model = self.lm["model"]
        if model["provide"] == "embedded":
            return [str(Path(model["path"]) / model["gguf_file"])]
        if model["provide"] == "tiny":
            return [str(Path(model["path"]) / "config.json")]
        return []

    def _check_n(self) -> None:
        """The unbiased estimate averages over n-subsets of the pool: whole n up to the pool size."""
        lm = self.lm
        if lm["estimate"]["method"] == "unbiased":
            try:
                subset_sizes(lm["n"], lm["sampling"]["num_samples"], name="config lm.n")
            except ValueError as error:
                raise ValueError(f"{error} (pool size: lm.sampling.num_samples; method: lm.estimate.method)") from None

    def check(self) -> None:
        """What the schema cannot see: rewards per set, chrF references, figures, the model path."""
        lm, sets = self.lm, self.sets
        for name in sets:
            if name not in lm["rewards"]:
                raise ValueError(
                    f"config lm.rewards has no entry for prompt set {name!r}; add e.g. "
                    f"lm.rewards.{name}: [loglik, neg_length]"
                )
        for name, rewards in lm["rewards"].items():
            if name not in sets:
                raise ValueError(f"config lm.rewards.{name}: no such prompt set; known: {sorted(sets)}")
            self._check_references(f"lm.rewards.{name}", name, rewards)
        for stem, spec in lm["figures"].items():
            if spec["prompt_set"] not in sets:
                raise ValueError(
                    f"config lm.figures.{stem}.prompt_set {spec['prompt_set']!r} is not a key "
                    f"of lm.prompt_sets {sorted(sets)}"
                )
            self._check_reward_name(f"lm.figures.{stem}.reward", spec["reward"])
            if spec["reward"] not in lm["rewards"][spec["prompt_set"]]:
                raise ValueError(
                    f"config lm.figures.{stem}.reward {spec['reward']!r} is not computed for "
                    f"{spec['prompt_set']!r}; add it to lm.rewards.{spec['prompt_set']}"
                )
        self._check_n()
        self._check_model()

    def _check_references(self, key: str, prompt_set: str, rewards) -> None:
        """Known rewards, and the reference translation of every prompt for those that need one."""
        for reward in rewards:
            self._check_reward_name(key, reward)
            for prompt in self.sets[prompt_set]["prompts"]:
                try:
                    reference_for(reward, prompt)
                except ValueError as error:
                    raise ValueError(f"config {key}: {error} in {self.lm['prompt_sets'][prompt_set]}") from None

    def _check_reward_name(self, key: str, reward: str) -> None:
        if reward not in self.rewards:
            builtin = sorted(n for n, r in self.rewards.items() if r.is_builtin)
            mine = sorted(n for n, r in self.rewards.items() if not r.is_builtin)
            raise ValueError(
                f"config {key}: unknown reward {reward!r}; built in: {builtin}, from lm.user_rewards: {mine}. "
                f"To bring your own, add lm.user_rewards.{reward}: {{function: module:function}} or {{path: folder}}"
            )

    def _check_model(self) -> None:
        """The model path, with the same check as the job's, without torch."""
        model = self.lm["model"]
        if model["provide"] == "embedded" and not model["gguf_file"]:
            raise ValueError("config lm.model.provide is 'embedded' but lm.model.gguf_file is null")
        if model["provide"] == "none":  # the same check as the job's, without torch
            from ..lm.load import MissingModelError, SettingError, check_model_path

            try:
                check_model_path(model)
            except SettingError as error:
                hint = (
                    ", or set lm.model.provide to 'embedded' or 'tiny'" if isinstance(error, MissingModelError) else ""
                )
                raise ValueError(f"config lm.model.{error}{hint}") from None
