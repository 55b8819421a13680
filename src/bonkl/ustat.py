"""Best-of-n over a pool's n-subsets, and its jackknife, for many pools at once (docs/MATH.md, "Finite pools").

Each function takes the draw counts of a :class:`bonkl.pools.PoolGroup` (``(..., P, K)``: the
pools' own counts, or resampled ones) and works level by level, with sums that restart in every
row. For a pool of ``N`` draws whose levels hold ``m_g`` draws (``A_g = m_1 + ... + m_g``,
``B_g = A_g - m_g``) and ``R(a) = C(a, n)/C(N, n)`` (:class:`bonkl.subsets.SubsetRatio`):

* ``W_g = R(A_g) - R(B_g)``: the share of ``n``-subsets whose best draws are in level ``g``;
  ``U = sum_g W_g hbar_g`` is the unbiased estimate (a U-statistic of degree ``n``) of
  ``E_{pi_n}[h]``, ``hbar_g`` the mean of ``h`` over the level's draws (ties broken uniformly);
* its jackknife variance ``(N-1)/N sum_i (U_(-i) - U)^2`` in closed form, through the mean
  ``h1(i)`` of the kernel over the subsets that contain draw ``i`` (``U_(-i) - U = n (U - h1(i))/(N - n)``);
* the win rate (a U-statistic of degree ``n + 1``) and its leave-one-out values;
* the plug-in counterparts (the pool's empirical distribution as the model, real ``n``).

For the intervals' resamples, :mod:`bonkl.resampled` computes the jackknife of per-level values and of
the win rate in compiled loops; :class:`LevelJackknife` and :func:`win_rate_with_jackknife` are the
whole-array forms it is tested against (both checked here against the enumeration of every subset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._logspace import log1mexp
from .pools import PoolGroup
from .subsets import SubsetRatio


@dataclass(frozen=True)
class Levels:
    """Draws per level (``m``) and cumulative counts (``upper = A_g``, ``lower = B_g``), ``(..., P, L)``."""

    size: int
    m: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


def levels_of(group: PoolGroup, counts: np.ndarray) -> Levels:
    m = group.level_sum(counts)
    upper = np.rint(np.cumsum(m, axis=-1)).astype(np.int64)
    return Levels(group.size, m, upper, upper - np.rint(m).astype(np.int64))


def _suffix_after(x: np.ndarray) -> np.ndarray:
    """``sum_{g' > g} x[..., g']`` within each row."""
    total = np.cumsum(x[..., ::-1], axis=-1)[..., ::-1]
    return np.concatenate((total[..., 1:], np.zeros(x.shape[:-1] + (1,))), axis=-1)


def _prefix_before(x: np.ndarray) -> np.ndarray:
    """``sum_{g' < g} x[..., g']`` within each row."""
    total = np.cumsum(x, axis=-1)
    return np.concatenate((np.zeros(x.shape[:-1] + (1,)), total[..., :-1]), axis=-1)


def subset_weights(levels: Levels, n: int, ratio: SubsetRatio | None = None) -> np.ndarray:
    """``W_g(n)``, ``(..., P, L)``; each row sums to 1 (needs ``n <= N``)."""
    ratio = SubsetRatio.of(levels.size, n) if ratio is None else ratio
    return ratio.difference(levels.lower, levels.upper)


def log_subset_weights(levels: Levels, n: int, ratio: SubsetRatio | None = None) -> np.ndarray:
    """``log W_g(n)`` (``-inf`` for a level no subset's best lies in): weights too small for a double."""
    ratio = SubsetRatio.of(levels.size, n) if ratio is None else ratio
    return np.where(levels.m > 0, ratio.log_difference(levels.lower, levels.upper), -np.inf)


def log_plugin_weights(levels: Levels, n: float) -> np.ndarray:
    """``log(F_g^n - F_{g-1}^n)`` with ``F_g = A_g/N``, in log space (real ``n``)."""
    size = float(levels.size)
    upper, lower = levels.upper.astype(np.float64), levels.lower.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_f = np.where(upper < size / 2, np.log(upper / size), np.log1p(-(size - upper) / size))
        share = levels.m / upper
        log_ratio = np.where(share < 0.5, np.log1p(-share), np.log(lower) - np.log(upper))
        out = n * log_f + log1mexp(n * log_ratio)
    return np.where(levels.m > 0, out, -np.inf)


def plugin_weights(levels: Levels, n: float) -> np.ndarray:
    """``F_g^n - F_{g-1}^n`` with ``F_g = A_g/N``: best-of-n from the pool with replacement (real ``n``)."""
    return np.exp(log_plugin_weights(levels, n))


def level_means(group: PoolGroup, counts: np.ndarray, levels: Levels, h: np.ndarray) -> np.ndarray:
    """``hbar_g``: the mean of per-outcome ``h`` over each level's draws (0 for an empty level)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(levels.m > 0, group.level_sum(counts * h) / levels.m, 0.0)


def mean_jackknife_variance(
    group: PoolGroup, counts: np.ndarray, levels: Levels, h: np.ndarray, n: int, weights: np.ndarray
) -> np.ndarray:
    """Jackknife variance of ``U = sum_g W_g hbar_g`` (``(..., P)``; needs ``n < N``).

    ``h1(i)``, the kernel's mean over the subsets holding draw ``i`` (level ``g``), is
    ``a_g h_i + b_g hbar_g^(-i) + sum_{g' > g} d_g' hbar_g'`` with ``a_g = (N/n) W_g/m_g``,
    ``b_g = R'(A_g - 1) - a_g``, ``d_g = R'(A_g - 1) - R'(B_g - 1)`` and
    ``R'(a) = C(a, n-1)/C(N-1, n-1)`` (derivation: docs/MATH.md, "Intervals").
    """
    size = levels.size
    hbar = level_means(group, counts, levels, h)
    estimate = np.sum(weights * hbar, axis=-1)
    if n == 1:
        first = np.broadcast_to(h, counts.shape)
    else:
        ratio = SubsetRatio.of(size - 1, n - 1)
        occupied = levels.m > 0
        later = _suffix_after(np.where(occupied, ratio.difference(levels.lower - 1, levels.upper - 1), 0.0) * hbar)
        own = np.where(occupied, (size / n) * weights / np.maximum(levels.m, 1.0), 0.0)
        top = ratio.at(levels.upper - 1)
        shared = np.where(levels.m > 1, top - own, 0.0)
        m = group.at_outcomes(levels.m)
        with np.errstate(invalid="ignore", divide="ignore"):
            others = np.where(m > 1, (m * group.at_outcomes(hbar) - h) / (m - 1), 0.0)
        first = group.at_outcomes(own) * h + group.at_outcomes(shared) * others + group.at_outcomes(later)
    spread = np.sum(counts * (first - estimate[..., None]) ** 2, axis=-1) / size
    return (size - 1) * n**2 / (size - n) ** 2 * spread


@dataclass(frozen=True)
class LevelJackknife:
    """What the jackknife of ``U = sum_g W_g h_g`` needs for a value ``h`` constant on each level
    (eq. 25, eq. 23, the reward), shared by every such value at one ``n``: ``top = R'(A_g - 1)`` and
    ``d_g = R'(A_g - 1) - R'(B_g - 1)`` (:func:`mean_jackknife_variance`'s terms)."""

    levels: Levels
    n: int
    weights: np.ndarray
    top: np.ndarray | None  # None for n = 1: h1(i) = h_i
    step: np.ndarray | None

    @classmethod
    def of(cls, levels: Levels, n: int, weights: np.ndarray) -> LevelJackknife:
        if n == 1:
            return cls(levels, 1, weights, None, None)
        ratio = SubsetRatio.of(levels.size - 1, n - 1)
        occupied = levels.m > 0
        top = np.where(occupied, ratio.at(levels.upper - 1), 0.0)
        step = np.where(occupied, ratio.difference(levels.lower - 1, levels.upper - 1), 0.0)
        return cls(levels, int(n), weights, top, step)

    def estimate_and_variance(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(U, jackknife variance)`` for per-level ``h`` (``(..., P, L)``; needs ``n < N``).

        With ``h`` constant on a level, ``hbar_g^(-i) = h_g`` and ``a_g + b_g = R'(A_g - 1)``, so the
        kernel's mean over the subsets holding a draw of level ``g`` is one number per level:
        ``h1_g = R'(A_g - 1) h_g + sum_{g' > g} d_g' h_g'``; level ``g`` holds ``m_g`` such draws."""
        size, n, m = self.levels.size, self.n, self.levels.m
        estimate = np.sum(self.weights * h, axis=-1)
        first = h if n == 1 else self.top * h + _suffix_after(self.step * h)
        spread = np.sum(m * (first - estimate[..., None]) ** 2, axis=-1) / size
        return estimate, (size - 1) * n**2 / (size - n) ** 2 * spread


def _win_terms(levels: Levels, ratio: SubsetRatio, leave_out: bool = False):
    """Per-level terms of the win-rate sum, ``B (R(A-1) - R(B-1)) + m/2 (R(A-1) - R(B))``; with
    ``leave_out``, also those with the level bounds shifted down by one draw and those with the
    level's own draws reduced by one. Each difference of ``R`` is a table gap plus one-step
    increments ``R(a) - R(a-1)`` (sums of nonnegative terms: no digits lost)."""
    upper, lower, m = levels.upper, levels.lower, levels.m
    occupied = m > 0
    shared = ratio.difference(lower, upper - 1)  # R(A-1) - R(B)
    step = ratio.increment(lower)  # R(B) - R(B-1)
    terms = np.where(occupied, lower * (shared + step) + m / 2.0 * shared, 0.0)
    if not leave_out:
        return terms
    inner = ratio.difference(lower, upper - 2)  # R(A-2) - R(B), 0 for m <= 2
    below = np.where(m > 1, inner + step, 0.0)  # R(A-2) - R(B-1)
    shifted = np.where(occupied, (lower - 1) * (below + ratio.increment(lower - 1)) + m / 2.0 * below, 0.0)
    dropped = np.where(occupied, lower * below + (m - 1) / 2.0 * inner, 0.0)
    return terms, shifted, dropped


def subset_win_rate_rows(levels: Levels, n: int, ratio: SubsetRatio | None = None) -> np.ndarray:
    """Unbiased win rate of best-of-n against one more draw (a tie counts 1/2), ``(..., P)``; ``n + 1 <= N``."""
    ratio = SubsetRatio.of(levels.size, n) if ratio is None else ratio
    return np.clip(np.sum(_win_terms(levels, ratio), axis=-1) / (levels.size - n), 0.0, 1.0)


def win_rate_with_jackknife(levels: Levels, n: int, ratio: SubsetRatio | None = None):
    """``(win rate, its jackknife variance)``, ``(..., P)`` each; needs ``n + 2 <= N``.

    Leaving out one draw of level ``g`` keeps the terms below ``g``, shifts those above by one draw
    and removes one from level ``g``; ``C(a, n)/C(N-1, n) = R(a) N/(N - n)``.
    """
    size = levels.size
    ratio = SubsetRatio.of(size, n) if ratio is None else ratio
    terms, shifted, dropped = _win_terms(levels, ratio, leave_out=True)
    estimate = np.sum(terms, axis=-1) / (size - n)
    left_out = size / (size - n) * (_prefix_before(terms) + _suffix_after(shifted) + dropped) / (size - 1 - n)
    variance = (size - 1) / size * np.sum(levels.m * (left_out - estimate[..., None]) ** 2, axis=-1)
    return np.clip(estimate, 0.0, 1.0), variance


def plugin_win_rate_rows(levels: Levels, n: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Win rate of best-of-n from the pool with replacement: ``sum_g w_g (A_g + B_g)/(2N)`` (Lemma 5.2);
    ``weights``: :func:`plugin_weights` of ``levels``, if made already."""
    calibrated = (levels.upper + levels.lower) / (2.0 * levels.size)
    weights = plugin_weights(levels, n) if weights is None else weights
    return np.clip(np.sum(weights * calibrated, axis=-1), 0.0, 1.0)
