"""Best-of-n over the n-subsets of a pool: the unbiased (U-statistic) weights (docs/MATH.md, "Finite pools").

A pool holds ``N`` i.i.d. draws from the model, grouped into levels ``g = 1..G`` of increasing
reward with ``m_g`` draws each (``A_g = m_1 + ... + m_g``, ``A_0 = 0``). For any statistic ``h`` of the
best-of-n winner, the average of ``h(winner)`` over all ``C(N, n)`` subsets of ``n`` draws (ties
inside a subset broken uniformly) is an unbiased estimate of ``E_{y ~ pi_n}[h(y)]`` under the model
(a U-statistic). Collecting the subsets by the level of their winner gives the hypergeometric
analogue of Lemma 2.3:

    W_g(n) = (C(A_g, n) - C(A_{g-1}, n)) / C(N, n)

shared equally by the ``m_g`` draws of level ``g``. ``N -> infinity`` gives Lemma 2.3 back.

Numerics: ``R(a) = C(a, n) / C(N, n) = prod_{j=a+1..N} (1 - n/j)``; its logarithm is a sum of
terms of one sign, accumulated in extended precision, and each difference
``R(b) - R(a) = R(b) (1 - exp(-sum_{j=a+1..b} -log(1 - n/j)))`` goes through ``expm1``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ._logspace import log1mexp
from ._types import ArrayLike
from ._validate import subset_sizes


def _draw_counts(counts) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}")
    as_int = np.asarray(counts, dtype=np.int64)
    if np.any(as_int != counts) or np.any(as_int < 1):
        raise ValueError("counts must be whole numbers >= 1 (draws per level)")
    return as_int


STEP_ENTRIES = 1 << 16  # SubsetRatio.difference: gaps read from a table of at most this many numbers (512 KiB)


@dataclass(frozen=True)
class SubsetRatio:
    """``R(a) = C(a, n)/C(N, n)`` for ``a = 0..N``, with its logarithm to extended precision.

    ``log R(a) = sum_{j=a+1..N} log(1 - n/j)``: terms of one sign, summed in ``numpy.longdouble``
    and kept as a float64 value (``log_high``) plus the float64 remainder (``log_low``), so that the
    difference of two entries keeps its digits while every array operation stays in float64.
    """

    n: int
    value: np.ndarray  # R(a)
    log_high: np.ndarray
    log_low: np.ndarray

    @classmethod
    def of(cls, pool_size: int, n: int) -> SubsetRatio:
        """The table for pools of ``pool_size`` draws and subsets of ``n`` (cached: reused for every
        pool of that size, resamples included)."""
        return _subset_ratio(int(pool_size), int(n))

    @classmethod
    def _make(cls, pool_size: int, n: int) -> SubsetRatio:
        # Each term to a few units in its last place in float64 (log1p(-n/j) loses digits where n/j
        # is near 1, so there log((j - n)/j), whose quotient of whole numbers rounds once); the sums
        # in extended precision. Terms of one sign: a sum over any gap keeps the terms' precision.
        # In place where it can be: a pool of 10^7 draws makes arrays of 80-160 MB.
        terms = np.arange(n + 1, pool_size + 1, dtype=np.float64)  # j, then the terms
        near = min(n, terms.size)  # j < 2n
        terms[:near] = np.log((terms[:near] - n) / terms[:near])
        np.log1p(np.divide(-n, terms[near:], out=terms[near:]), out=terms[near:])
        total = np.zeros(pool_size + 1, dtype=np.longdouble)
        tail = total[pool_size - 1 : n - 1 : -1]  # a = N-1 down to n
        tail[:] = terms[::-1]
        del terms
        np.cumsum(tail, out=tail)
        high = total.astype(np.float64)
        np.subtract(total, high, out=total)
        low = total.astype(np.float64)
        del total, tail
        below = min(int(n), pool_size + 1)
        high[:below], low[:below] = -np.inf, 0.0
        return cls(int(n), np.exp(high), high, low)

    def difference(self, low, high) -> np.ndarray:
        """``R(high) - R(low)`` for ``low <= high`` (integer arrays; ``R(a) = 0`` for ``a < n``,
        negative ``a`` included), through ``expm1`` of the extended-precision log gap.

        Gaps below :attr:`step_rows` (every gap of a pool of up to 254 draws, fewer beyond) are read
        from a table of ``R(a) - R(a - m)`` made once, with the same arithmetic."""
        low, high = np.asarray(low), np.asarray(high)
        gap = high - low
        if gap.size > 4 * self.value.size and gap.max(initial=0) < self.step_rows:
            np.maximum(gap, 0, out=gap)
            gap *= self.value.size + 1
            gap += np.maximum(high, -1)
            gap += 1
            return self.steps.take(gap)  # row m, column a + 1
        return self._difference(low, high)

    def increment(self, a) -> np.ndarray:
        """``R(a) - R(a - 1)`` for integers ``a >= -1`` (0 for ``a < n``)."""
        return self.increments.take(np.asarray(a) + 1)

    @functools.cached_property
    def increments(self) -> np.ndarray:
        a = np.arange(-1, self.value.size)
        return self._difference(a - 1, a)

    def at(self, a) -> np.ndarray:
        """``R(a)`` (0 for ``a < n``, negative ``a`` included)."""
        a = np.asarray(a)
        return np.where(a >= 0, self.value.take(np.maximum(a, 0)), 0.0)

    @property
    def step_rows(self) -> int:
        """Gaps ``0 .. step_rows - 1`` are in :attr:`steps`: every gap of a pool of up to 254 draws, fewer
        beyond (``STEP_ENTRIES`` numbers), gaps 0 and 1 at least."""
        return max(2, min(self.value.size, STEP_ENTRIES // (self.value.size + 1)))

    @functools.cached_property
    def steps(self) -> np.ndarray:
        """``R(a) - R(a - m)`` for ``m = 0 .. step_rows - 1`` (rows) and ``a = -1..N`` (columns), flattened:
        :meth:`difference`'s arithmetic, once per entry."""
        a = np.arange(-1, self.value.size)
        return np.stack([self._difference(a - m, a) for m in range(self.step_rows)]).ravel()

    def _difference(self, low, high) -> np.ndarray:
        low, high = np.asarray(low), np.asarray(high)
        i, j = np.maximum(low, 0), np.maximum(high, 0)
        with np.errstate(invalid="ignore"):
            gap = (self.log_high.take(i) - self.log_high.take(j)) + (self.log_low.take(i) - self.log_low.take(j))
            top = self.value.take(j)
            out = top * -np.expm1(gap)
        return np.where(high < self.n, 0.0, np.where(low < self.n, top, out))

    def log_difference(self, low, high) -> np.ndarray:
        """``log(R(high) - R(low))`` (``-inf`` where it is 0): :meth:`difference` without underflow."""
        low, high = np.asarray(low), np.asarray(high)
        i, j = np.maximum(low, 0), np.maximum(high, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = (self.log_high.take(i) - self.log_high.take(j)) + (self.log_low.take(i) - self.log_low.take(j))
            out = self.log_high.take(j) + log1mexp(np.minimum(gap, 0.0))
        return np.where(high < self.n, -np.inf, np.where(low < self.n, self.log_high.take(j), out))


LARGE_POOL = 1 << 20  # a table of a larger pool is 25+ MB: only the last two are kept


@functools.lru_cache(maxsize=64)
def _small_ratio(pool_size: int, n: int) -> SubsetRatio:
    return SubsetRatio._make(pool_size, n)


@functools.lru_cache(maxsize=2)
def _large_ratio(pool_size: int, n: int) -> SubsetRatio:
    return SubsetRatio._make(pool_size, n)


def _subset_ratio(pool_size: int, n: int) -> SubsetRatio:
    return (_large_ratio if pool_size > LARGE_POOL else _small_ratio)(pool_size, n)


def subset_bon_weights(counts: ArrayLike, n: ArrayLike) -> np.ndarray:
    """``W_g(n)``: the probability that the best of a random ``n``-subset of the pool is in level ``g``.

    ``counts`` holds the draws per level in increasing reward order; ``n`` whole numbers in
    ``[1, N]``. Shape ``(len(n), len(counts))``; each row sums to 1.
    """
    counts = _draw_counts(counts)
    pool_size = int(counts.sum())
    ns = subset_sizes(n, pool_size)
    upper = np.cumsum(counts)
    lower = upper - counts
    return np.stack([SubsetRatio.of(pool_size, n).difference(lower, upper) for n in ns])


def subset_win_rate(counts: ArrayLike, n: ArrayLike) -> np.ndarray:
    """Unbiased win rate of best-of-n against one more reference draw (a tie counts 1/2, eq. 28).

    Averaged over every ``n``-subset and every further draw outside it; needs ``n + 1 <= N``.
    With ``A = A_g``, ``B = A_{g-1}``, ``m = m_g``, level ``g`` contributes
    ``(B (R'(A-1) - R'(B-1)) + m/2 (R'(A-1) - R'(B))) / (N - n)``, ``R'(a) = C(a, n)/C(N, n)``.
    """
    counts = _draw_counts(counts)
    pool_size = int(counts.sum())
    ns = subset_sizes(n, pool_size, largest=pool_size - 1, what="the win rate (best-of-n plus one reference draw)")
    upper = np.cumsum(counts)
    lower = upper - counts
    out = np.empty(ns.size)
    for i, n in enumerate(ns):
        ratio = SubsetRatio.of(pool_size, n)
        beaten = lower * ratio.difference(lower - 1, upper - 1)
        tied = counts * ratio.difference(lower, upper - 1) / 2.0
        out[i] = np.sum(beaten + tied) / (pool_size - n)
    return np.clip(out, 0.0, 1.0)
