"""Sampler variants (``lm.samplers``): best-of-n over a tempered or truncated sampler ``q``, as it is run.

The default pools are drawn from the model itself (the sampler ``model``: temperature 1, nothing
cut). A variant ``{temperature, top_k, top_p, min_p, prompt_set, prompts, rewards}`` draws pools of
its own (``bonkl.lm.settings.SamplerSettings``; ``bonkl.pipeline.paths`` puts them below
``samplers/<name>/``) for the listed prompts of one set, scores them with the listed rewards and
estimates them with the pools' ``sampler_logprob``, so their tables hold the KL of best-of-n to
the reference model (``kl_to_reference_estimator_mean``) beside best-of-n's own step from ``q``.
The default pools, their jobs and their params do not depend on this section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from ..lm.settings import SamplerSettings

#: The name of the default sampler (the model itself), which no variant may take.
DEFAULT_SAMPLER = "model"
SETTINGS = tuple(f.name for f in fields(SamplerSettings))


@dataclass(frozen=True)
class SamplerVariant:
    """One entry of ``lm.samplers``: its sampler, and the prompts and rewards it is run for."""

    name: str
    sampler: SamplerSettings
    prompt_set: str
    prompts: tuple[str, ...]
    rewards: tuple[str, ...]

    def sampling(self, section: Mapping) -> dict:
        """The ``sample_variant`` rule's params: the config's ``lm.sampling`` with this sampler."""
        return {**section, "sampler": asdict(self.sampler)}

    @property
    def label(self) -> str:
        """How figures name it, e.g. ``temperature 0.7, top-p 0.95``."""
        s, parts = self.sampler, [f"temperature {self.sampler.temperature:g}"]
        parts += [f"top-k {s.top_k}"] if s.top_k else []
        parts += [f"top-p {s.top_p:g}"] if s.top_p < 1 else []
        parts += [f"min-p {s.min_p:g}"] if s.min_p > 0 else []
        return ", ".join(parts)


def parse_samplers(entries: Mapping | None, sets: Mapping[str, dict], rewards: Mapping) -> dict[str, SamplerVariant]:
    """Every variant, checked against the prompt sets and rewards; a ``ValueError`` names the key."""
    variants = {}
    for name, entry in (entries or {}).items():
        key = f"config lm.samplers.{name}"
        if name == DEFAULT_SAMPLER:
            raise ValueError(f"{key}: {DEFAULT_SAMPLER!r} is the model itself (the default pools); name it otherwise")
        try:
            sampler = SamplerSettings(**{k: entry[k] for k in SETTINGS if k in entry})
        except ValueError as error:
            raise ValueError(f"{key}: {error}") from None
        if not sampler.active:
            raise ValueError(
                f"{key}: draws from the model itself, as the default pools do; set a temperature, top_k, ..."
            )
        if entry["prompt_set"] not in sets:
            raise ValueError(f"{key}.prompt_set {entry['prompt_set']!r} is not a key of lm.prompt_sets {sorted(sets)}")
        ids = [prompt["id"] for prompt in sets[entry["prompt_set"]]["prompts"]]
        prompts = entry.get("prompts") or ids
        for prompt in prompts:
            if prompt not in ids:
                raise ValueError(f"{key}.prompts: {prompt!r} is not a prompt of {entry['prompt_set']!r} ({ids})")
        for reward in entry["rewards"]:
            if reward not in rewards:
                raise ValueError(f"{key}.rewards: unknown reward {reward!r}; known: {sorted(rewards)}")
        variants[name] = SamplerVariant(name, sampler, entry["prompt_set"], tuple(prompts), tuple(entry["rewards"]))
    return variants
