"""The intervals' resampled pools, compiled (``numba``): their draw counts, and the estimates and
jackknife errors of :mod:`bonkl.ustat` for every resample.

The intervals (:mod:`bonkl.intervals`) need, for every pool and each of its ``R`` resamples, the
U-statistic ``U = sum_g W_g h_g`` of each per-level value and of the win rate, with their closed-form
jackknife errors (docs/MATH.md, "Intervals"). In whole arrays these are some thirty passes over
``(R, P, levels)`` arrays per ``n``; here each pool is one pass over its levels in compiled code
(``numba``), its resamples side by side as lanes, with the same formulas and the same tables of
``R(a) = C(a, n)/C(N, n)`` (:class:`bonkl.subsets.SubsetRatio`), so both agree to rounding (tested against
:class:`bonkl.ustat.LevelJackknife` and :func:`bonkl.ustat.win_rate_with_jackknife`).

The functions release the GIL: chunks of pools run on threads.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit

from .subsets import SubsetRatio

LANE_BYTES = 1 << 26  # the lanes' arrays of one kernel call (64 MiB): a pool's resamples at once


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


def _lanes(width: int, numbers: int, replicates: int) -> int:
    """Resamples of one pool taken together (the kernels' lanes): all of them, unless their arrays of
    ``numbers`` per level and lane over ``width`` levels would pass ``LANE_BYTES`` (a pool of
    millions of answers: fewer lanes)."""
    return int(max(1, min(replicates, LANE_BYTES // (8 * max(width, 1) * numbers))))


@njit(nogil=True, cache=True)
def _level_counts(counts, level, p, start, m, mf):
    """Draws of each level of pool ``p`` in resamples ``start ..`` (``m``: ``(levels, lanes)``, and
    as floats in ``mf``); returns the number of levels up to the highest one drawn."""
    lanes = m.shape[1]
    m[:] = 0
    for i in range(lanes):
        for k in range(counts.shape[2]):
            m[level[p, k], i] += counts[start + i, p, k]
    top = 0
    for g in range(m.shape[0]):
        for i in range(lanes):
            mf[g, i] = m[g, i]
            if m[g, i] > 0:
                top = g + 1
    return top


# Each kernel takes a pool's resamples as lanes: for one level at a time, a loop over the resamples
# reads the tables (scalar reads), and loops without branches do the arithmetic (compiled to vector
# instructions). Every level of the pool is visited; one without draws in a resample adds exact
# zeros there, so every resample's sums are those of its occupied levels, in the same order.


@njit(nogil=True, cache=True)
def _level_reads(t, g, used, m, upper, table, prime, weight, own, step):
    """The tables' values at level ``g`` of each lane: its weight ``W_g`` and, for ``h1``, ``R'(A_g - 1)``
    and ``R'(A_g - 1) - R'(B_g - 1)``; then ``upper`` moves below the level."""
    steps, stride, rows, ns = table[0], table[1], table[2], table[6]
    steps_p, stride_p, rows_p, value_p = prime[0], prime[1], prime[2], prime[3]
    for i in range(used):
        gap, high = m[g, i], upper[i]
        weight[i] = steps[t, gap * stride + high + 1] if gap < rows else _far(table, t, high - gap, high)
    if ns[t] > 1:  # n = 1: h1(i) = h_i (own 1, step 0, as set by the caller)
        for i in range(used):
            gap, high = m[g, i], upper[i]
            own[i] = value_p[t, high - 1] if high >= 1 else 0.0
            if gap < rows_p:
                step[i] = steps_p[t, gap * stride_p + high]
            else:
                step[i] = _far(prime, t, high - gap - 1, high - 1)
    for i in range(used):
        upper[i] -= m[g, i]


@njit(nogil=True, cache=True)
def _level_at(t, p, start, used, top, h, size, table, prime, m, mf, upper, work, first, estimate, variance):
    """Every lane's ``U`` and jackknife variance of each column at ``ns[t]``."""
    n, columns = table[6][t], h.shape[1]
    weight, own, step, spread = work[0], work[1], work[2], work[3]
    mean, after = work[4 : 4 + columns], work[4 + columns : 4 + 2 * columns]
    mean[:, :used], after[:, :used], own[:used], step[:used] = 0.0, 0.0, 1.0, 0.0
    upper[:used] = size
    for g in range(top - 1, -1, -1):  # top level down: h1_g = R'(A_g - 1) h_g + sum_{g' > g} d_g' h_g'
        _level_reads(t, g, used, m, upper, table, prime, weight, own, step)
        for c in range(columns):
            value = h[t, c, p, g]
            for i in range(used):
                mean[c, i] += weight[i] * value
                first[g, c, i] = own[i] * value + after[c, i]
                after[c, i] += step[i] * value
    scale = (size - 1) * n * n / ((size - n) ** 2 * size)
    for c in range(columns):
        spread[:used] = 0.0
        for g in range(top):
            for i in range(used):
                x = first[g, c, i] - mean[c, i]
                spread[i] += mf[g, i] * x * x
        for i in range(used):
            estimate[t, c, start + i, p] = mean[c, i]
            variance[t, c, start + i, p] = scale * spread[i]


@njit(nogil=True, cache=True)
def _level_kernel(counts, level, h, size, table, prime, lanes, estimate, variance):
    """:meth:`bonkl.ustat.LevelJackknife.estimate_and_variance` of every resample, at every ``n``."""
    replicates, sizes, columns, width = counts.shape[0], h.shape[0], h.shape[1], h.shape[3]
    m, mf = np.empty((width, lanes), np.int64), np.empty((width, lanes))
    work, first = np.empty((4 + 2 * columns, lanes)), np.empty((width, columns, lanes))
    upper = np.empty(lanes, np.int64)
    for p in range(counts.shape[1]):
        for start in range(0, replicates, lanes):
            used = min(lanes, replicates - start)
            top = _level_counts(counts, level, p, start, m[:, :used], mf[:, :used])
            for t in range(sizes):
                _level_at(t, p, start, used, top, h, size, table, prime, m, mf, upper, work, first, estimate, variance)


@njit(nogil=True, cache=True)
def _win_reads(t, g, used, m, lower, table, gaps):
    """``R(A-1) - R(B)``, ``R(B) - R(B-1)``, ``R(A-2) - R(B)``, ``R(B-1) - R(B-2)`` at level ``g`` of each
    lane (rows of ``gaps``); then ``lower`` moves above the level."""
    steps, stride, rows = table[0], table[1], table[2]
    for i in range(used):  # gaps of 1: always in the table
        gaps[1, i] = steps[t, stride + lower[i] + 1]
        gaps[3, i] = steps[t, stride + lower[i]]
    for i in range(used):
        low, count = lower[i], m[g, i]
        for j, less in ((0, 1), (2, 2)):
            if count - less < rows:
                gaps[j, i] = steps[t, max(count - less, 0) * stride + max(low + count - less, -1) + 1]
            else:
                gaps[j, i] = _far(table, t, low, low + count - less)
        lower[i] = low + count


@njit(nogil=True, cache=True)
def _win_at(t, p, start, used, top, size, table, m, mf, work, levels, gaps, lower, rate, variance):
    """Every lane's win rate and its jackknife variance at ``ns[t]`` (:func:`bonkl.ustat._win_terms`)."""
    n = table[6][t]
    below_f, total, later, spread, mean = work[0], work[1], work[2], work[3], work[4]
    before, shifted, dropped = levels[0], levels[1], levels[2]
    lower[:used], below_f[:used], total[:used] = 0, 0.0, 0.0
    for g in range(top):  # level by level from the bottom up
        _win_reads(t, g, used, m, lower, table, gaps)
        for i in range(used):  # a level without draws in the lane adds zeros
            shared, step, inner, earlier = gaps[0, i], gaps[1, i], gaps[2, i], gaps[3, i]
            count, b = mf[g, i], below_f[i]
            occupied = min(count, 1.0)
            below = (inner + step) * min(max(count - 1.0, 0.0), 1.0)  # 0 for a single draw
            before[g, i] = total[i]
            total[i] += occupied * (b * (shared + step) + count / 2.0 * shared)
            shifted[g, i] = occupied * ((b - 1.0) * (below + earlier) + count / 2.0 * below)
            dropped[g, i] = b * below + (count - 1.0) / 2.0 * inner
            below_f[i] = b + count
    scale = size / (size - n)
    for i in range(used):
        mean[i], spread[i], later[i] = total[i] / (size - n), 0.0, 0.0
    for g in range(top - 1, -1, -1):  # leaving out one draw of level g
        for i in range(used):
            left_out = scale * (before[g, i] + later[i] + dropped[g, i]) / (size - 1 - n)
            spread[i] += mf[g, i] * (left_out - mean[i]) ** 2
            later[i] += shifted[g, i]
    for i in range(used):
        rate[t, start + i, p] = min(max(mean[i], 0.0), 1.0)
        variance[t, start + i, p] = (size - 1) / size * spread[i]


@njit(nogil=True, cache=True)
def _win_kernel(counts, level, size, win, table, lanes, rate, variance):
    """:func:`bonkl.ustat.win_rate_with_jackknife` of every resample, at every ``n`` where ``win``."""
    replicates, width = counts.shape[0], level.max() + 1
    m, mf = np.empty((width, lanes), np.int64), np.empty((width, lanes))
    work, levels, gaps = np.empty((5, lanes)), np.empty((3, width, lanes)), np.empty((4, lanes))
    lower = np.empty(lanes, np.int64)
    for p in range(counts.shape[1]):
        for start in range(0, replicates, lanes):
            used = min(lanes, replicates - start)
            top = _level_counts(counts, level, p, start, m[:, :used], mf[:, :used])
            for t in range(win.size):
                if win[t]:
                    _win_at(t, p, start, used, top, size, table, m, mf, work, levels, gaps, lower, rate, variance)


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
    level = np.ascontiguousarray(level, np.int64)
    lanes = _lanes(int(level.max()) + 1, h.shape[1] + 2, counts.shape[0])  # first (per column), m and mf
    _level_kernel(counts, level, h, int(size), table, prime, lanes, estimate, variance)
    win = np.asarray(win, dtype=np.bool_)
    if win.any():
        reward_level = np.ascontiguousarray(reward_level, np.int64)
        lanes = _lanes(int(reward_level.max()) + 1, 5, counts.shape[0])  # before, shifted, dropped, m, mf
        _win_kernel(counts, reward_level, int(size), win, table, lanes, rate, rate_variance)
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
