"""bonkl.ustat against the enumeration of every n-subset: the U-statistic, its jackknife, the win rate.

Each quantity is recomputed by brute force from its definition (ties inside a subset broken
uniformly; the jackknife from the leave-one-out U-statistics of every draw), on small random pools
with reward ties, repeated answers and several pools of different sizes at once.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonkl import ustat
from bonkl.pools import build_pools


def draws_of(group, row):
    """The pool's draws as (outcome index, level) pairs, one per draw."""
    real = group.real[row]
    outcomes = np.repeat(np.flatnonzero(real), group.count[row][real].astype(int))
    return outcomes, group.level[row][outcomes]


def kernel(subset, outcomes, levels, h):
    """The best-of-n kernel of one subset: the mean of h over the draws in its top level."""
    top = levels[list(subset)].max()
    return np.mean([h[outcomes[i]] for i in subset if levels[i] == top])


def brute_u(outcomes, levels, h, n):
    subsets = list(itertools.combinations(range(outcomes.size), n))
    return np.mean([kernel(s, outcomes, levels, h) for s in subsets])


def brute_jackknife(outcomes, levels, h, n):
    size = outcomes.size
    keep = [np.delete(np.arange(size), i) for i in range(size)]
    left_out = np.array([brute_u(outcomes[k], levels[k], h, n) for k in keep])
    return (size - 1) / size * np.sum((left_out - left_out.mean()) ** 2)


def brute_win(outcomes, levels, n):
    """Average over n-subsets S and draws z outside S of [best(S) beats z] + [tie]/2 (by level)."""
    size, total, count = outcomes.size, 0.0, 0
    for subset in itertools.combinations(range(size), n):
        best = levels[list(subset)].max()
        for z in set(range(size)) - set(subset):
            total += 1.0 if best > levels[z] else 0.5 if best == levels[z] else 0.0
            count += 1
    return total / count


def brute_win_jackknife(outcomes, levels, n):
    size = outcomes.size
    keep = [np.delete(np.arange(size), i) for i in range(size)]
    left_out = np.array([brute_win(outcomes[k], levels[k], n) for k in keep])
    return (size - 1) / size * np.sum((left_out - left_out.mean()) ** 2)


pools_strategy = st.lists(
    st.lists(st.integers(0, 4), min_size=2, max_size=7),  # each pool: outcome ids of its draws
    min_size=1,
    max_size=3,
)


def build(draw_lists, ties):
    prompt = np.concatenate([np.full(len(d), i) for i, d in enumerate(draw_lists)])
    outcome = np.concatenate(draw_lists)
    # five answers, rewards 0, 0, 1, 1, 2 (ties), probabilities 0.1 .. 0.3
    logprob = np.log(np.array([0.1, 0.15, 0.2, 0.25, 0.3]))[outcome]
    reward = np.array([0.0, 0.0, 1.0, 1.0, 2.0])[outcome]
    return build_pools(prompt, logprob, reward, outcome.astype(str), ties=ties)


@settings(max_examples=40, deadline=None)
@given(pools_strategy, st.sampled_from(["random", "logprob"]))
def test_u_statistic_and_jackknife_match_the_enumeration(draw_lists, ties):
    for group in build(draw_lists, ties).groups:
        counts = group.count
        levels = ustat.levels_of(group, counts)
        h = np.where(group.real, np.sin(3 * group.logprob) + group.reward, 0.0)  # varies within a level
        for n in range(1, group.size + 1):
            weights = ustat.subset_weights(levels, n)
            np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
            estimate = np.sum(weights * ustat.level_means(group, counts, levels, h), axis=-1)
            variance = ustat.mean_jackknife_variance(group, counts, levels, h, n, weights) if n < group.size else None
            for row in range(counts.shape[0]):
                outcomes, lv = draws_of(group, row)
                assert estimate[row] == pytest.approx(brute_u(outcomes, lv, h[row], n), abs=1e-12)
                if variance is not None:
                    want = brute_jackknife(outcomes, lv, h[row], n)
                    assert variance[row] == pytest.approx(want, rel=1e-9, abs=1e-14)


@settings(max_examples=40, deadline=None)
@given(pools_strategy, st.sampled_from(["random", "logprob"]), st.integers(0, 2**32 - 1))
def test_level_jackknife_of_a_per_level_value_matches_the_enumeration(draw_lists, ties, seed):
    """The per-level shortcut (a value constant on each level: eq. 25, eq. 23, the reward), on the
    pools' own counts and on resampled counts with empty levels, against the enumeration and the
    general per-outcome jackknife."""
    rng = np.random.default_rng(seed)
    for group in build(draw_lists, ties).groups:
        per_level = rng.normal(size=(group.count.shape[0], group.width))
        h = group.at_outcomes(per_level)
        resampled = np.stack([rng.multinomial(group.size, row / group.size) for row in group.count]).astype(float)
        for counts in (group.count, resampled):
            levels = ustat.levels_of(group, counts)
            for n in range(1, group.size):
                weights = ustat.subset_weights(levels, n)
                estimate, variance = ustat.LevelJackknife.of(levels, n, weights).estimate_and_variance(per_level)
                general = ustat.mean_jackknife_variance(group, counts, levels, h, n, weights)
                np.testing.assert_allclose(variance, general, rtol=1e-10, atol=1e-14)
                for row in range(counts.shape[0]):
                    outcomes = np.repeat(np.arange(counts.shape[1]), counts[row].astype(int))
                    lv = group.level[row][outcomes]
                    assert estimate[row] == pytest.approx(brute_u(outcomes, lv, h[row], n), abs=1e-12)
                    want = brute_jackknife(outcomes, lv, h[row], n)
                    assert variance[row] == pytest.approx(want, rel=1e-9, abs=1e-14)


@settings(max_examples=30, deadline=None)
@given(pools_strategy)
def test_win_rate_and_its_jackknife_match_the_enumeration(draw_lists):
    for group in build(draw_lists, "random").groups:
        levels = ustat.levels_of(group, group.count)
        for n in range(1, group.size):
            rate = ustat.subset_win_rate_rows(levels, n)
            if n + 2 <= group.size:  # the shared terms give the same rate
                both, variance = ustat.win_rate_with_jackknife(levels, n)
                np.testing.assert_allclose(both, rate, rtol=0, atol=1e-15)
            else:
                variance = None
            for row in range(group.count.shape[0]):
                outcomes, lv = draws_of(group, row)
                assert rate[row] == pytest.approx(brute_win(outcomes, lv, n), abs=1e-12)
                if variance is not None:
                    want = brute_win_jackknife(outcomes, lv, n)
                    assert variance[row] == pytest.approx(want, rel=1e-9, abs=1e-14)


@settings(max_examples=30, deadline=None)
@given(pools_strategy, st.floats(1.0, 50.0))
def test_plugin_weights_are_lemma_2_3_on_the_pool(draw_lists, n):
    """With replacement from the pool: the tie-aware best-of-n of the pool's empirical distribution."""
    from bonkl.bon import bon_pmf

    for group in build(draw_lists, "random").groups:
        levels = ustat.levels_of(group, group.count)
        weights = ustat.plugin_weights(levels, n)
        for row in range(group.count.shape[0]):
            m = levels.m[row][levels.m[row] > 0]
            np.testing.assert_allclose(weights[row][levels.m[row] > 0], bon_pmf(m / m.sum(), n), rtol=1e-12, atol=1e-15)


def test_resampled_counts_with_empty_levels():
    """Counts with whole levels missing (as in a resample) weigh those levels 0 and match the
    enumeration of the draws that remain."""
    group = build([[0, 1, 2, 2, 3, 4, 4]], "random").groups[0]
    counts = group.count.copy()
    counts[0, np.flatnonzero(group.reward[0] == 1.0)] = 0  # level 1 empty
    counts[0, 0] = 4
    levels = ustat.levels_of(group, counts)
    h = np.where(group.real, group.reward + group.logprob, 0.0)
    size = int(counts.sum())
    assert size == group.size
    outcomes = np.repeat(np.arange(counts.shape[1]), counts[0].astype(int))
    lv = group.level[0][outcomes]
    for n in (1, 2, 3):
        weights = ustat.subset_weights(levels, n)
        assert weights[0][1] == 0.0
        estimate = np.sum(weights * ustat.level_means(group, counts, levels, h), axis=-1)[0]
        assert estimate == pytest.approx(brute_u(outcomes, lv, h[0], n), abs=1e-12)
        variance = ustat.mean_jackknife_variance(group, counts, levels, h, n, weights)[0]
        assert variance == pytest.approx(brute_jackknife(outcomes, lv, h[0], n), rel=1e-9, abs=1e-14)
