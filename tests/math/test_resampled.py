"""bonkl.resampled against bonkl.ustat (itself checked against the enumeration of every subset,
tests/math/test_ustat.py): the same estimates and jackknife variances, resample by resample.

Pools with reward ties and repeated answers, resamples with empty levels, both tie rules, every
``n`` a pool allows, and pools large enough that a level's draws exceed the table of small gaps
(the kernel's other branch).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonkl import resampled, ustat
from bonkl.pools import build_pools
from bonkl.subsets import SubsetRatio


def pools_of(draw_lists, rewards, ties):
    prompt = np.concatenate([np.full(len(d), i) for i, d in enumerate(draw_lists)])
    outcome = np.concatenate(draw_lists)
    logprob = -3.0 - 0.1 * outcome  # distinct answers, masses summing below 1
    return build_pools(prompt, logprob, np.asarray(rewards, dtype=float)[outcome], outcome.astype(str), ties=ties)


def resamples(group, rng, replicates):
    """Multinomial resamples of each pool (empty levels included), ``(R, P, K)`` int32."""
    rows = [rng.multinomial(group.size, row / group.size, size=replicates) for row in group.count]
    return np.stack(rows, axis=1).astype(np.int32)


def assert_matches_ustat(group, counts, per_level, ns):
    """Each resample's values against ustat.LevelJackknife and ustat.win_rate_with_jackknife."""
    reward = group.by_reward()
    win = [n > 1 and n + 2 <= group.size for n in ns]
    h = np.broadcast_to(per_level, (len(ns),) + per_level.shape)
    estimate, variance, rate, rate_variance = resampled.statistics(
        counts, group.level, reward.level, h, group.size, ns, win
    )
    for r in range(counts.shape[0]):
        levels = ustat.levels_of(group, counts[r])
        reward_levels = ustat.levels_of(reward, counts[r])
        for t, n in enumerate(ns):
            weights = ustat.subset_weights(levels, n)
            jackknife = ustat.LevelJackknife.of(levels, n, weights)
            for c in range(per_level.shape[0]):
                want, want_variance = jackknife.estimate_and_variance(per_level[c])
                np.testing.assert_allclose(estimate[t, c, r], want, rtol=1e-12, atol=1e-13)
                np.testing.assert_allclose(variance[t, c, r], want_variance, rtol=1e-10, atol=1e-15)
            if win[t]:
                want, want_variance = ustat.win_rate_with_jackknife(reward_levels, n)
                np.testing.assert_allclose(rate[t, r], want, rtol=1e-12, atol=1e-14)
                np.testing.assert_allclose(rate_variance[t, r], want_variance, rtol=1e-10, atol=1e-16)
            else:
                assert np.isnan(rate[t, r]).all() and np.isnan(rate_variance[t, r]).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 7), min_size=3, max_size=12), min_size=1, max_size=3),
    st.sampled_from(["random", "logprob"]),
    st.integers(0, 2**32 - 1),
)
def test_resampled_statistics_equal_ustat_on_pools_with_ties(draw_lists, ties, seed):
    rng = np.random.default_rng(seed)
    rewards = [0, 0, 1, 1, 1, 2, 3, 3]  # ties between distinct answers
    for group in pools_of(draw_lists, rewards, ties).groups:
        per_level = rng.normal(size=(3, group.count.shape[0], group.width))
        ns = list(range(1, group.size))
        assert_matches_ustat(group, resamples(group, rng, 6), per_level, ns)
        assert_matches_ustat(group, group.count[None].astype(np.int32), per_level, ns)


def test_resampled_statistics_beyond_the_table_of_small_gaps():
    """Pools of 3,000 draws in a few levels: a level's draws exceed the table's rows, and the
    kernel takes SubsetRatio's extended-precision branch."""
    rng = np.random.default_rng(5)
    draws = [rng.choice(6, size=3000, p=[0.3, 0.25, 0.2, 0.15, 0.06, 0.04]) for _ in range(2)]
    group = pools_of(draws, [0, 1, 1, 2, 3, 4], "random").groups[0]
    assert group.count.max() >= SubsetRatio.of(group.size, 2).step_rows  # the branch is exercised
    per_level = rng.normal(size=(2, 2, group.width))
    assert_matches_ustat(group, resamples(group, rng, 3), per_level, [1, 2, 7, 50, 375])


def test_resampled_statistics_of_a_pool_with_one_answer():
    group = pools_of([[2] * 9], [0, 0, 1], "random").groups[0]
    counts = group.count[None].astype(np.int32)
    h = np.ones((1, 1, 1, group.width))
    estimate, variance, rate, rate_variance = resampled.statistics(
        counts, group.level, group.level, h, group.size, [3], [True]
    )
    assert estimate[0, 0, 0, 0] == pytest.approx(1.0)
    assert variance[0, 0, 0, 0] == 0.0
    assert rate[0, 0, 0] == pytest.approx(0.5) and rate_variance[0, 0, 0] == pytest.approx(0.0, abs=1e-30)


def test_resamples_taken_in_blocks_of_lanes_give_the_same_numbers(monkeypatch):
    """A pool of many answers takes its resamples a few lanes at a time (``LANE_BYTES``): the
    numbers are those of all lanes at once, bit for bit (each lane's sums are its own)."""
    rng = np.random.default_rng(8)
    group = pools_of([rng.integers(0, 8, 40), rng.integers(0, 8, 40)], [0, 0, 1, 1, 1, 2, 3, 3], "random").groups[0]
    counts = resamples(group, rng, 7)
    h = rng.normal(size=(3, 2, group.count.shape[0], group.width))
    ns, win = [1, 2, 5], [False, True, True]
    whole = resampled.statistics(counts, group.level, group.by_reward().level, h, group.size, ns, win)
    assert resampled._lanes(group.width, 4, 7) == 7
    monkeypatch.setattr(resampled, "LANE_BYTES", 8 * group.width * 4 * 3)  # three lanes at a time
    assert resampled._lanes(group.width, 4, 7) == 3
    blocks = resampled.statistics(counts, group.level, group.by_reward().level, h, group.size, ns, win)
    for a, b in zip(whole, blocks):
        np.testing.assert_array_equal(a, b)
