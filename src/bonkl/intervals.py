"""Confidence intervals for the pool estimates: a studentized bootstrap, only where it holds its level.

Chosen by the coverage study (``benchmarks/coverage_study.py``, table in docs/coverage.md) among
the jackknife with a normal or t interval, the percentile bootstrap and the studentized bootstrap
(docs/MATH.md, "Intervals"). For an estimate ``U`` (a U-statistic) with closed-form jackknife
standard error ``s`` (:mod:`bonkl.ustat`; for the resamples, :mod:`bonkl.resampled`):

* resample the pool's ``N`` draws with replacement ``replicates`` times (``N`` uniform positions
  per resample from the prompt's own seeded generator, so a prompt's interval does not depend on the
  other prompts in the file, nor on how wide their pools pad the arrays);
* in each resample compute ``t* = (U* - theta*)/s*``, where ``theta*`` is the value the
  resampled U-statistic is unbiased for: best-of-n under the pool's empirical distribution (the
  plug-in), NOT ``U`` (centring on ``U`` would put back the bias the U-statistic removes);
* the interval is ``[U - s t*_(1-a), U - s t*_(a)]``, clipped to the column's mathematical range.

Reported only where the study found the level held: ``n <= N/8`` (one pool holds only ``N/n``
independent best-of-n draws), and a jackknife error above rounding (a pool without variation
cannot show how far the model's value may be). Eq. 25 and eq. 23 under random tie-breaking get one only when no
two distinct answers tie (their level masses are then exact, not bounded). A side the resamples
cannot bound (a rare draw that many resamples lack) ends at the column's range; where both ends
reach it, or for a column without a finite range (the reward), there is no interval.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .pools import PoolGroup

MAX_FRACTION = 1 / 8  # intervals for n <= N * MAX_FRACTION
ROUNDING = 1e-12  # a jackknife error below ROUNDING * (1 + |U|) is no variation
MAX_ELEMENTS = 1_000_000  # resampled counts per chunk (replicates x pools x outcomes): bounds its memory
DRAW_BLOCK = 1 << 21  # raw 64-bit words drawn at once (16 MiB): a large pool's resamples in blocks
REPLICATES = (20, 100_000)  # fewer cannot show the tails; more only costs time
LEVELS = (0.5, 1.0)  # [low, high): the coverage study's levels


@dataclass(frozen=True)
class IntervalSettings:
    """``replicates`` resamples per pool, ``level`` the confidence level, ``seed`` the base seed."""

    replicates: int = 200
    level: float = 0.9
    seed: int = 0

    def __post_init__(self):
        low, high = REPLICATES
        if int(self.replicates) != self.replicates or not low <= self.replicates <= high:
            raise ValueError(f"replicates must be a whole number in [{low}, {high}], got {self.replicates!r}")
        if not LEVELS[0] <= self.level < LEVELS[1]:
            raise ValueError(f"level must lie in [{LEVELS[0]:g}, {LEVELS[1]:g}), got {self.level!r}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed!r}")


def prompt_seed(seed: int, prompt_id) -> list[int]:
    """The seed of one prompt's resamples: the base seed and a stable hash of the prompt id."""
    digest = hashlib.blake2b(str(prompt_id).encode(), digest_size=8).digest()
    return [int(seed), int.from_bytes(digest, "little")]


def resample_counts(group: PoolGroup, ids, settings: IntervalSettings) -> np.ndarray:
    """Resamples of the draw counts of ``group``'s pools (ids ``ids``): ``(replicates, P, K)`` int32
    (a view of a ``(P, replicates, K)`` array: each pool's resamples are counted in one place).

    Each resample draws ``N`` of the pool's draws uniformly with replacement (``N`` uniform integers
    from the prompt's own generator, so neither the other prompts nor the padding changes them) and
    counts the outcomes drawn: the multinomial of the pool's empirical distribution."""
    from .resampled import count_uniform_draws  # numba: imported only where intervals are computed

    size, (rows, width), replicates = group.size, group.count.shape, settings.replicates
    owner = np.repeat(np.tile(np.arange(width, dtype=np.int32), rows), group.count.astype(np.int64).ravel())
    owner = owner.reshape(rows, size)  # the outcome of each of a pool's draws
    out = np.zeros((rows, replicates, width), dtype=np.int32)
    for i, prompt in enumerate(ids):
        bits = np.random.PCG64(prompt_seed(settings.seed, prompt))  # default_rng's generator, without its wrapper
        state = np.zeros(2, dtype=np.int64)  # the resample and position reached
        while state[0] < replicates:
            left = (replicates - state[0]) * size - state[1]  # draws still to make, two per word
            count_uniform_draws(bits.random_raw(min(left // 2 + 8, DRAW_BLOCK)), owner[i], out[i], state)
    return out.transpose(1, 0, 2)


def chunks(group: PoolGroup, settings: IntervalSettings):
    """Row slices of ``group`` whose resampled counts fit in ``MAX_ELEMENTS``."""
    per_row = settings.replicates * group.count.shape[1]
    step = max(1, MAX_ELEMENTS // per_row)
    for start in range(0, group.count.shape[0], step):
        yield slice(start, min(start + step, group.count.shape[0]))


def eligible(size: int, n: int) -> bool:
    """Whether pools of ``size`` draws get intervals at ``n`` (before the check on the error)."""
    return n <= size * MAX_FRACTION


def studentized(
    estimate, error, boot_estimate, boot_error, target, level: float, bounds=(-np.inf, np.inf)
) -> tuple[np.ndarray, np.ndarray]:
    """Studentized-bootstrap interval per pool (``(P,)`` arrays; ``boot_*`` are ``(replicates, P)``).

    ``target`` is what the resampled estimate is unbiased for (the pool's plug-in value). A
    resample without variation (a jackknife error at rounding level, ``ROUNDING``, as for the pool
    itself) contributes ``t* = 0`` when it hits the target, else an infinite ``t*``: dividing by a
    rounding error would give pivots of 1e15 and intervals as wide. Where a quantile of ``t*`` is
    infinite (the pool's variation rests on draws that many resamples lack, so the pool cannot bound
    that side), that end is the column's range (``bounds``). NaN (no interval) where the pool shows
    no variation, where the interval is the whole range up to the pool's standard error ``error``
    (it says nothing), or where an end stays infinite (a column without a finite range).
    """
    offset = boot_estimate - target
    varies = boot_error > ROUNDING * (1 + np.abs(boot_estimate))  # as for the pool itself: rounding is no variation
    with np.errstate(divide="ignore", invalid="ignore"):
        pivot = np.where(varies, offset / boot_error, np.sign(offset) * np.inf)
    pivot = np.where(np.abs(offset) <= ROUNDING * (1 + np.abs(target)), np.where(varies, pivot, 0.0), pivot)
    replicates = pivot.shape[0]
    tail = (1 - level) / 2
    low_index = max(int(np.floor((replicates + 1) * tail)) - 1, 0)
    high_index = min(int(np.ceil((replicates + 1) * (1 - tail))) - 1, replicates - 1)
    pivot = np.partition(pivot, (low_index, high_index), axis=0)  # the two order statistics, as a sort puts them
    with np.errstate(invalid="ignore"):
        low = estimate - error * pivot[high_index]
        high = estimate - error * pivot[low_index]
    low, high = np.clip(low, *bounds), np.clip(high, *bounds)  # an unbounded side ends at the range
    lowest, highest = bounds  # an end within the pool's standard error of the range is at it:
    says_something = (low > lowest + error) | (high < highest - error)  # not the whole range
    ok = (error > ROUNDING * (1 + np.abs(estimate))) & says_something & np.isfinite(low) & np.isfinite(high)
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)
