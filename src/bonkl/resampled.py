"""The intervals' resampled pools, compiled (``numba``): their draw counts, and the estimates and
jackknife errors of :mod:`bonkl.ustat` for every resample.

The intervals (:mod:`bonkl.intervals`) need, for every pool and each of its ``R`` resamples, the
U-statistic ``U = sum_g W_g h_g`` of each per-level value and of the win rate, with their closed-form
jackknife errors (docs/MATH.md, "Intervals"). In whole arrays these are some thirty passes over
``(R, P, levels)`` arrays per ``n``; here each resample of each pool is one pass over its levels in
compiled code (``numba``), with the same formulas and the same tables of ``R(a) = C(a, n)/C(N, n)``
(:class:`bonkl.subsets.SubsetRatio`), so both agree to rounding (tested against
:class:`bonkl.ustat.LevelJackknife` and :func:`bonkl.ustat.win_rate_with_jackknife`).

The functions release the GIL: chunks of pools run on threads.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit

from .subsets import SubsetRatio


@functools.lru_cache(maxsize=2)  # a table and its R' (every chunk of a group reads the same)
def _tables(size: int, ns: tuple) -> tuple:
    """What the kernels read of ``R(a) = C(a, n)/C(size, n)`` at each ``n``, one row per ``n``: the
    table of small gaps (:attr:`bonkl.subsets.SubsetRatio.steps`), its row length and rows, and the
    arrays of :func:`_far`."""
    ratios = [SubsetRatio.of(size, n) for n in ns]
    return (
        np.stack([r.steps for r in ratios]),
        size + 2,
        ratios[0].step_rows,
        np.stack([r.value for r in ratios]),
        np.stack([r.log_high for r in ratios]),
        np.stack([r.log_low for r in ratios]),
        np.array(ns),
    )


# The kernels read R(high) - R(low) as steps[t, gap * stride + max(high, -1) + 1] where the gap is below
# rows (a level's draws, nearly always), written out in the loop, and call _far otherwise: a call with
# array arguments on every level costs ten times the table read (reference counts).


@njit(nogil=True, cache=True)
def _far(table, t, low, high):
    """``R(high) - R(low)`` for a gap beyond the table: :meth:`bonkl.subsets.SubsetRatio.difference`."""
    _, _, _, value, log_high, log_low, ns = table
    if high < ns[t]:
        return 0.0
    if low < ns[t]:
        return value[t, high]
    gap = (log_high[t, low] - log_high[t, high]) + (log_low[t, low] - log_low[t, high])
    return value[t, high] * -math.expm1(gap)


@njit(nogil=True, cache=True)
def _occupied(counts, level, r, p, m, index, drawn):
    """The levels that hold draws of resample ``r`` of pool ``p``, in order: their number, with
    ``index`` (the levels) and ``drawn`` (their draws) filled."""
    m[:] = 0
    for k in range(counts.shape[2]):
        m[level[p, k]] += counts[r, p, k]
    found = 0
    for g in range(m.size):  # without a branch: the levels are empty at random
        index[found] = g
        drawn[found] = m[g]
        found += m[g] > 0
    return found


@njit(nogil=True, cache=True)
def _level_kernel(counts, level, h, size, table, prime, estimate, variance):
    """:meth:`bonkl.ustat.LevelJackknife.estimate_and_variance` of every resample, at every ``n``."""
    steps, stride, rows, ns = table[0], table[1], table[2], table[6]
    steps_p, stride_p, rows_p, value_p = prime[0], prime[1], prime[2], prime[3]
    sizes, columns, width = h.shape[0], h.shape[1], h.shape[3]
    m, index, drawn = np.empty(width, np.int64), np.empty(width, np.int64), np.empty(width, np.int64)
    first = np.empty((width, columns))
    mean, after = np.empty(columns), np.empty(columns)
    for p in range(counts.shape[1]):  # a pool's values and tables stay in cache over its resamples
        for r in range(counts.shape[0]):
            found = _occupied(counts, level, r, p, m, index, drawn)
            for t in range(sizes):
                n = ns[t]
                mean[:] = 0.0
                after[:] = 0.0
                upper = size
                for j in range(found - 1, -1, -1):  # top level down: h1_g = R'(A_g - 1) h_g + sum_{g' > g} d_g' h_g'
                    g, lower = index[j], upper - drawn[j]
                    gap = upper - lower
                    weight = steps[t, gap * stride + upper + 1] if gap < rows else _far(table, t, lower, upper)
                    own, step = 1.0, 0.0  # n = 1: h1(i) = h_i
                    if n > 1:
                        own = value_p[t, upper - 1] if upper >= 1 else 0.0
                        if gap < rows_p:
                            step = steps_p[t, gap * stride_p + upper]  # high = upper - 1 >= -1
                        else:
                            step = _far(prime, t, lower - 1, upper - 1)
                    for c in range(columns):
                        value = h[t, c, p, g]
                        mean[c] += weight * value
                        first[j, c] = own * value + after[c]
                        after[c] += step * value
                    upper = lower
                scale = (size - 1) * n * n / ((size - n) ** 2 * size)
                for c in range(columns):
                    spread = 0.0
                    for j in range(found):
                        x = first[j, c] - mean[c]
                        spread += drawn[j] * x * x
                    estimate[t, c, r, p] = mean[c]
                    variance[t, c, r, p] = scale * spread


@njit(nogil=True, cache=True)
def _win_kernel(counts, level, size, win, table, rate, variance):
    """:func:`bonkl.ustat.win_rate_with_jackknife` of every resample, at every ``n`` where ``win``."""
    steps, stride, rows, ns = table[0], table[1], table[2], table[6]
    width = level.max() + 1
    m, index, drawn = np.empty(width, np.int64), np.empty(width, np.int64), np.empty(width, np.int64)
    before, shifted, dropped = np.empty(width), np.empty(width), np.empty(width)
    gaps = np.empty(4)
    for p in range(counts.shape[1]):  # a pool's values and tables stay in cache over its resamples
        for r in range(counts.shape[0]):
            found = _occupied(counts, level, r, p, m, index, drawn)
            for t in range(ns.size):
                if not win[t]:
                    continue
                n, lower, total = ns[t], 0, 0.0
                for j in range(found):  # ustat._win_terms, level by level from the bottom up
                    count = drawn[j]
                    upper = lower + count
                    # R(A-1) - R(B), R(B) - R(B-1), R(A-2) - R(B), R(B-1) - R(B-2)
                    pairs = ((lower, upper - 1), (lower - 1, lower), (lower, upper - 2), (lower - 2, lower - 1))
                    for i, (low, high) in enumerate(pairs):
                        gap = high - low
                        if gap < rows:
                            gaps[i] = steps[t, max(gap, 0) * stride + max(high, -1) + 1]
                        else:
                            gaps[i] = _far(table, t, low, high)
                    shared, step, inner, earlier = gaps[0], gaps[1], gaps[2], gaps[3]
                    below = inner + step if count > 1 else 0.0
                    before[j] = total
                    total += lower * (shared + step) + count / 2.0 * shared
                    shifted[j] = (lower - 1) * (below + earlier) + count / 2.0 * below
                    dropped[j] = lower * below + (count - 1) / 2.0 * inner
                    lower = upper
                mean = total / (size - n)
                spread, later = 0.0, 0.0
                for j in range(found - 1, -1, -1):  # leaving out one draw of level j
                    left_out = size / (size - n) * (before[j] + later + dropped[j]) / (size - 1 - n)
                    spread += drawn[j] * (left_out - mean) ** 2
                    later += shifted[j]
                rate[t, r, p] = min(max(mean, 0.0), 1.0)
                variance[t, r, p] = (size - 1) / size * spread


def statistics(counts, level, reward_level, h, size: int, ns, win):
    """The estimates and jackknife variances of every resample, at every ``n`` of ``ns``.

    ``counts``: ``(R, P, K)`` draws of each outcome (resampled pools of ``size`` draws); ``level`` and
    ``reward_level``: ``(P, K)`` each outcome's level, and its level of equal reward (the win rate's);
    ``h``: ``(T, C, P, L)`` values constant on each level at each ``n``; ``win``: ``(T,)`` whether to
    compute the win rate at that ``n``. Returns ``(U, variance)`` of each value, ``(T, C, R, P)`` each
    (:meth:`bonkl.ustat.LevelJackknife.estimate_and_variance`, needs ``n < size``), and the win rate
    with its variance, ``(T, R, P)`` each (:func:`bonkl.ustat.win_rate_with_jackknife`, needs
    ``n + 2 <= size``; NaN where ``win`` is False).
    """
    ns = [int(n) for n in ns]
    shape = (len(ns), h.shape[1]) + counts.shape[:2]
    estimate, variance = np.empty(shape), np.empty(shape)
    rate, rate_variance = np.full(shape[:1] + shape[2:], np.nan), np.full(shape[:1] + shape[2:], np.nan)
    table = _tables(int(size), tuple(ns))
    counts = np.ascontiguousarray(counts)
    prime = _tables(int(size) - 1, tuple(max(n - 1, 1) for n in ns))  # n = 1 reads no R'
    h = np.ascontiguousarray(h, dtype=np.float64)
    _level_kernel(counts, np.ascontiguousarray(level, np.int64), h, int(size), table, prime, estimate, variance)
    win = np.asarray(win, dtype=np.bool_)
    if win.any():
        reward_level = np.ascontiguousarray(reward_level, np.int64)
        _win_kernel(counts, reward_level, int(size), win, table, rate, rate_variance)
    return estimate, variance, rate, rate_variance


_LOW = np.uint64(0xFFFFFFFF)
_HALF = np.uint64(32)


@njit(nogil=True, cache=True)
def count_uniform_draws(words, owner, out, state):
    """Resamples of a pool of ``N = owner.size`` draws (``owner``: each draw's outcome), counted into
    ``out`` (``(R, K)``): ``out[r, k] +=`` how many of resample ``r``'s ``N`` uniform positions fall
    on outcome ``k``. The positions are those ``Generator.integers(0, N, dtype=np.int32)`` draws from
    the same bit generator (numpy's Lemire rejection on the 32-bit halves of its 64-bit outputs, low
    half first), taken here from ``words`` (its raw outputs) without making the array of positions.

    ``state`` (``[r, j]``, zeros at first) is the resample and position reached, so that ``words`` may
    come in blocks (every word is used whole); the counts are complete when ``state[0] == R``."""
    size, rows = owner.size, out.shape[0]
    r, j = state[0], state[1]
    if size == 1:  # numpy draws nothing for a range of one
        for row in range(r, rows):
            out[row, owner[0]] += 1
        state[0], state[1] = rows, 0
        return
    bound = np.uint64(size)
    threshold = (_LOW - (bound - np.uint64(1))) % bound  # leftovers below it are rejected
    for w in range(words.size):
        word = words[w]
        for scaled in ((word & _LOW) * bound, (word >> _HALF) * bound):
            if scaled & _LOW >= threshold:
                out[r, owner[np.int64(scaled >> _HALF)]] += 1
                j += 1
                if j == size:
                    r, j = r + 1, 0
                    if r == rows:
                        state[0], state[1] = r, 0
                        return
    state[0], state[1] = r, j
