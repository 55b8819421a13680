"""What a pool is drawn with, as frozen objects that need no torch: checked once, where they are made.

:class:`SamplerSettings` is the distribution tokens are drawn from (temperature, top-k, top-p,
min-p: the processors of :mod:`bonkl.lm.processors`); :class:`SamplingSettings` is the whole
sampling section (the config's ``lm.sampling``): pool size, length cap, seed, shard size and the
sampler. The ``sample`` rule builds one from its params and hands it, unchanged, to the decoder;
``dataclasses.asdict`` of it is the sampling part of the pool's manifest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real


@dataclass(frozen=True)
class SamplerSettings:
    """How tokens are drawn: ``temperature`` > 0 (1 = off), ``top_k`` >= 0 (0 = off), ``top_p`` in
    (0, 1] (1 = off), ``min_p`` in [0, 1) (0 = off). The defaults draw from the model itself."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float = 0.0

    def __post_init__(self) -> None:
        # Plain int/float afterwards, so that dataclasses.asdict gives JSON for the manifest.
        checks = {
            "temperature": (Real, lambda v: math.isfinite(v) and v > 0, "a finite number > 0 (1 = off)", float),
            "top_k": (Integral, lambda v: v >= 0, "an integer >= 0 (0 = off)", int),
            "top_p": (Real, lambda v: 0 < v <= 1, "a number in (0, 1] (1 = off)", float),
            "min_p": (Real, lambda v: 0 <= v < 1, "a number in [0, 1) (0 = off)", float),
        }
        for name, (kind, ok, allowed, cast) in checks.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kind) or not ok(value):
                raise ValueError(f"sampler setting {name} must be {allowed}, got {value!r}")
            object.__setattr__(self, name, cast(value))

    @property
    def active(self) -> bool:
        """Whether any processor is on (otherwise q is pi and the logits are used untouched)."""
        return self.temperature != 1.0 or self.top_k != 0 or self.top_p < 1.0 or self.min_p > 0.0


@dataclass(frozen=True)
class SamplingSettings:
    """One prompt's pool: ``num_samples`` draws of at most ``max_new_tokens`` new tokens each, seeded
    by ``seed`` (each prompt and shard derives its own), drawn in resumable shards of ``shard_size``
    samples, from the distribution of ``sampler`` (default: the model itself)."""

    num_samples: int
    max_new_tokens: int
    seed: int = 0
    shard_size: int = 256
    sampler: SamplerSettings = field(default_factory=SamplerSettings)

    def __post_init__(self) -> None:
        for name, low in (("num_samples", 1), ("max_new_tokens", 1), ("seed", 0), ("shard_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
                raise ValueError(f"sampling setting {name} must be an integer >= {low}, got {value!r}")
            object.__setattr__(self, name, int(value))  # plain int: asdict gives JSON for the manifest
        if isinstance(self.sampler, Mapping):
            object.__setattr__(self, "sampler", SamplerSettings(**self.sampler))
        elif not isinstance(self.sampler, SamplerSettings):
            raise TypeError(f"sampler must be a SamplerSettings, got {type(self.sampler).__name__}")

    @classmethod
    def from_config(cls, section: Mapping) -> SamplingSettings:
        """From the config's ``lm.sampling`` section (a rule's params)."""
        return cls(**section)
