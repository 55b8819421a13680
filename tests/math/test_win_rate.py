"""Win rate (Section 5): eq. 28-30, Lemmas 5.1-5.2, Theorems 5.3 and 5.6, Corollary 5.7."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mpref import (
    HARD_NS,
    HARD_PMFS,
    assert_close,
    digits_for,
    mp_masses,
    ordinary_pmfs,
    pmfs,
    property_settings,
    quantile_intervals,
    ref_bon_win_rate,
    ref_calibrated_reward,
    ref_delta_win_rate,
    ref_sum_over_outcomes,
    ref_win_rate,
    reference,
    sample_sizes,
)

import bonkl

SLACK = 1e-13


@st.composite
def policy_pairs(draw, max_size=12):
    """``(rho, p)`` on the same outcomes; ``rho`` may put zero mass on some outcomes."""
    p = draw(pmfs(max_size=max_size))
    weights = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=p.size, max_size=p.size)))
    if weights.sum() == 0:
        weights[-1] = 1.0
    return weights / weights.sum(), p


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_eq_30_calibrated_reward_matches_mpmath(name):
    p = HARD_PMFS[name]
    ref = reference(ref_calibrated_reward, p, dps=digits_for(p))
    assert_close(bonkl.calibrated_reward(p), ref, what=f"C({name})")


@property_settings(100)
@given(pair=policy_pairs())
def test_lemma_5_1_win_rate_is_expected_calibrated_reward(pair):
    """``E_{y~rho}[C(y)]`` against eq. 28-29 summed over every pair ``(y, z)`` in mpmath."""
    rho, p = pair
    ref = reference(ref_win_rate, rho, p, dps=digits_for(p))
    assert_close(bonkl.win_rate(rho, p), ref, what="win_rate")


@property_settings(200)
@given(p=pmfs(max_size=60))
def test_lemma_5_1_reference_scores_one_half(p):
    assert bonkl.win_rate(p, p) == pytest.approx(0.5, abs=1e-14)


@property_settings(50)
@given(pair=policy_pairs())
def test_win_rate_of_a_batch_of_policies(pair):
    rho, p = pair
    batch = np.stack([rho, p, np.eye(p.size)[-1]])
    got = bonkl.win_rate(batch, p)
    assert got.shape == (3,)
    assert got[0] == pytest.approx(bonkl.win_rate(rho, p), rel=1e-14)
    assert got[1] == pytest.approx(0.5, abs=1e-14)
    assert got[2] == pytest.approx(1 - p[-1] / 2, abs=1e-14)  # point mass on the top outcome


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_lemma_5_2_bon_win_rate_matches_mpmath(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_bon_win_rate, p, n, dps=digits_for(p, n))
    assert_close(bonkl.bon_win_rate(p, n), ref, what=f"bon_win_rate({name}, {n})")


@property_settings(60)
@given(p=pmfs(), n=sample_sizes)
def test_lemma_5_2_bon_win_rate_matches_mpmath_on_random_models(p, n):
    ref = reference(ref_bon_win_rate, p, n, dps=digits_for(p, n))
    assert_close(bonkl.bon_win_rate(p, n), ref, what=f"bon_win_rate(n={n})")


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_bon_win_rate_vectorised_over_n(name):
    p = HARD_PMFS[name]
    ns = np.array(HARD_NS)
    got = bonkl.bon_win_rate(p, ns)
    assert got.shape == ns.shape
    np.testing.assert_allclose(got, [bonkl.bon_win_rate(p, n) for n in ns], rtol=1e-14, atol=0)


@property_settings(300)
@given(p=pmfs(max_size=40), n=sample_sizes)
def test_theorem_5_3_win_rate_below_continuous_value(p, n):
    win = bonkl.bon_win_rate(p, n)
    assert 0.5 - 1e-14 <= win <= n / (n + 1) + 1e-14
    assert bonkl.win_rate_continuous(n) == pytest.approx(n / (n + 1), rel=1e-15)


@property_settings(150)
@given(p=pmfs(max_size=30), n=sample_sizes, factor=st.floats(1.0, 1e3))
def test_bon_win_rate_non_decreasing_in_n(p, n, factor):
    assert bonkl.bon_win_rate(p, n * factor) >= bonkl.bon_win_rate(p, n) - 1e-14


@property_settings(300)
@given(p=pmfs(max_size=40), n=sample_sizes)
def test_theorem_5_6_gap_above_top_outcome_term(p, n):
    gap = bonkl.win_rate_gap(p, n)
    lower = bonkl.win_rate_gap_lower_bound(p, n)
    assert lower >= -SLACK
    assert gap >= lower - 1e-14


def ref_top_term(p, n):
    return ref_delta_win_rate(1 - mp_masses(p)[-1], mp.mpf(1), n)


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize(
    "name",
    [name for name in sorted(HARD_PMFS)],
)
def test_theorem_5_6_lower_bound_is_delta_of_top_outcome(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_top_term, p, n, dps=digits_for(p, n))
    assert_close(bonkl.win_rate_gap_lower_bound(p, n), ref, what=f"win_rate_gap_lower_bound({name}, {n})")


def ref_gap_as_sum_of_deltas(p, n):
    """The gap ``n/(n+1) - winrate`` as the sum of per-outcome terms ``delta_n(F^-, F)`` (mpmath)."""
    return ref_sum_over_outcomes(ref_delta_win_rate, p, n)


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_theorem_5_4_gap_is_sum_of_per_outcome_terms(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_gap_as_sum_of_deltas, p, n, dps=digits_for(p, n))
    assert_close(bonkl.win_rate_gap(p, n), ref, what=f"win_rate_gap({name}, {n})")


@property_settings(150)
@given(interval=quantile_intervals(), n=sample_sizes)
def test_theorem_5_4_delta_matches_mpmath_and_is_non_negative(interval, n):
    a, b = interval
    ref = reference(ref_delta_win_rate, a, b, n, dps=digits_for(n=n, eps=[b - a]))
    got = bonkl.delta_win_rate(a, b, n)
    assert_close(got, ref, what=f"delta_win_rate({a!r}, {b!r}, {n})")
    with mp.workdps(60):
        assert ref >= 0
    assert got >= -SLACK


@property_settings(100)
@given(p=ordinary_pmfs(min_size=1, max_size=20))
def test_corollary_5_7_gap_tends_to_half_top_mass(p):
    """As ``n`` grows the win rate tends to ``1 - eps_inf/2``; here ``eps_inf >= 1e-3/20``, so by
    ``n = 10^6`` the remainder ``(1 - eps_inf)^n`` is far below 1e-12."""
    ns = np.array([1e2, 1e4, 1e6])
    limit = bonkl.win_rate_gap_limit(p)
    assert limit == pytest.approx(p[-1] / 2, rel=1e-15)
    # gap = n/(n+1) - winrate -> 1 - 1/(n+1) - (1 - eps_inf/2)
    distance = np.abs(bonkl.win_rate_gap(p, ns) - (limit - 1 / (ns + 1)))
    assert distance[-1] <= 1e-12
    assert np.all(np.diff(distance) <= 1e-15)
    assert bonkl.bon_win_rate(p, 1e6) == pytest.approx(1 - p[-1] / 2, abs=1e-12)


def test_corollary_5_7_eps_inf_is_top_of_support():
    """An outcome of mass 0 at the top is never drawn: the limit is set by the top outcome of the support."""
    assert bonkl.win_rate_gap_limit([0.5, 0.5, 0.0]) == 0.25
    assert bonkl.win_rate_gap([0.5, 0.5, 0.0], 1e6) == pytest.approx(0.25, abs=1e-6)
    n = 7.0
    assert bonkl.win_rate_gap_lower_bound([0.5, 0.5, 0.0], n) == pytest.approx(
        bonkl.win_rate_gap_lower_bound([0.5, 0.5], n), rel=1e-14
    )


def test_win_rate_of_a_single_outcome_model():
    """One outcome: every draw ties, the win rate is 1/2 and the whole gap ``n/(n+1) - 1/2`` is the
    top outcome's term (Theorem 5.6 with equality)."""
    ns = np.array([1.0, 3.0, 1e6])
    np.testing.assert_allclose(bonkl.bon_win_rate([1.0], ns), 0.5, rtol=1e-15)
    np.testing.assert_allclose(bonkl.win_rate_gap([1.0], ns), ns / (ns + 1) - 0.5, rtol=1e-13)
    np.testing.assert_allclose(bonkl.win_rate_gap_lower_bound([1.0], ns), ns / (ns + 1) - 0.5, rtol=1e-13)
