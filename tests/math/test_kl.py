"""The exact KL of best-of-n (Section 3): Theorem 3.1, eq. 14, Lemmas A.1-A.2, Theorem 3.6, Corollary 3.7."""

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
    ref_antiderivative,
    ref_delta_kl,
    ref_kl_bon,
    ref_kl_exact,
    ref_kl_exact_grouped,
    ref_sum_over_outcomes,
    reference,
    sample_sizes,
)

import bonkl

# Rounding slack for the inequalities checked in float64 (a bound holding with equality may be
# missed by a few units in the last place; nothing near these sizes is a real violation).
SLACK = 1e-13


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_kl_exact_matches_mpmath(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_kl_exact, p, n, dps=digits_for(p, n))
    assert_close(bonkl.kl_exact(p, n), ref, what=f"kl_exact({name}, {n})")


@pytest.mark.parametrize("n", [1.0 + 1e-12, 1.0 + 1e-9, 1.0 + 1e-6, 1.0 + 1e-3])
@pytest.mark.parametrize("name", sorted(set(HARD_PMFS) - {"single"}))
def test_kl_exact_relative_precision_near_n_equal_1(name, n):
    """As ``n -> 1`` the KL is ``O((n-1)^2)``; summed as non-negative terms it keeps a relative
    error of about ``1e-16/(n-1)`` (the conditioning of ``log(pi_n/pi) = O(n-1)``), far inside the
    1e-12 absolute floor of the general rule. Asserted with a factor 100 to spare."""
    p = HARD_PMFS[name]
    ref = reference(ref_kl_exact, p, n, dps=digits_for(p, n) + 20)
    assert_close(bonkl.kl_exact(p, n), ref, rtol=1e-14 / (n - 1.0), atol=0, what=f"kl_exact({name}, {n})")


@property_settings(60)
@given(p=pmfs(), n=sample_sizes)
def test_kl_exact_matches_mpmath_on_random_models(p, n):
    ref = reference(ref_kl_exact, p, n, dps=digits_for(p, n))
    assert_close(bonkl.kl_exact(p, n), ref, what=f"kl_exact(n={n})")


# A model of 10^7 outcomes made of runs of equal masses: the mpmath reference sums each run by
# Euler-Maclaurin (checked against a term-by-term sum just below).
TEN_MILLION = {
    "uniform": ([(1e-7, 10**7)], [1.0 + 1e-9, 2.0, 10.0, 1e4, 1e6]),
    "three_runs": ([(1e-7, 5 * 10**6), (1.2e-7, 4 * 10**6), (2e-8, 10**6)], [1.0 + 1e-9, 2.0, 1e4, 1e6]),
    # 10^7 - 1 tiny outcomes holding 1/2 below one outcome of mass 1/2: at n = 10^6 every tiny
    # outcome's best-of-n mass underflows and kl_exact adds up their total mass instead
    "half_floor_half_top": ([(0.5 / (10**7 - 1), 10**7 - 1), (0.5, 1)], [2.0, 1e6]),
}


@pytest.mark.parametrize("n", [1.5, 3.0, 1000.0])
def test_grouped_reference_agrees_with_term_by_term_sum(n):
    """Self-check of the Euler-Maclaurin reference used for the 10^7-outcome model."""
    groups = [(2e-4, 3000), (7e-4 / 14, 14000)]
    em = reference(ref_kl_exact_grouped, groups, n, dps=40)
    with mp.workdps(60):
        direct = ref_kl_exact_grouped(groups, n, direct=True)
        assert abs(em - direct) <= mp.mpf("1e-30") * abs(direct)
    # and bonkl on the same model
    p = np.concatenate([np.full(count, mass) for mass, count in groups])
    assert_close(bonkl.kl_exact(p / p.sum(), n), direct, what=f"kl_exact(two runs, {n})")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [name for name in sorted(TEN_MILLION)],
)
def test_kl_exact_on_ten_million_outcomes(name):
    groups, ns = TEN_MILLION[name]
    p = np.concatenate([np.full(count, mass) for mass, count in groups])
    assert p.size == 10**7
    got = bonkl.kl_exact(p, ns)
    refs = [reference(ref_kl_exact_grouped, groups, n, dps=45) for n in ns]
    assert_close(got, refs, what=f"kl_exact({name}, 10^7 outcomes)")


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_kl_exact_vectorised_over_n(name):
    p = HARD_PMFS[name]
    ns = np.array(HARD_NS)
    got = bonkl.kl_exact(p, ns)
    assert got.shape == ns.shape
    np.testing.assert_allclose(got, [bonkl.kl_exact(p, n) for n in ns], rtol=1e-14, atol=0)
    grid = bonkl.kl_exact(p, ns.reshape(7, 1))
    assert grid.shape == (7, 1)
    np.testing.assert_allclose(grid[:, 0], got, rtol=1e-14, atol=0)
    assert np.ndim(bonkl.kl_exact(p, 3.0)) == 0


@property_settings(200)
@given(p=pmfs(max_size=40), n=sample_sizes)
def test_theorem_3_1_kl_below_formula(p, n):
    kl = bonkl.kl_exact(p, n)
    assert 0.0 <= kl <= bonkl.kl_bon(n) * (1 + 1e-12) + SLACK
    assert bonkl.kl_gap(p, n) >= -SLACK


@property_settings(150)
@given(p=pmfs(max_size=30), n=sample_sizes, factor=st.floats(1.0, 1e3))
def test_kl_exact_non_decreasing_in_n(p, n, factor):
    assert bonkl.kl_exact(p, n * factor) >= bonkl.kl_exact(p, n) * (1 - 1e-12) - SLACK


def ref_gap_as_sum_of_deltas(p, n):
    """Eq. 14: ``gap_n = sum_i Delta_n(F^-(y_i), F(y_i))``, each term from Lemma A.1 in mpmath."""
    return ref_sum_over_outcomes(ref_delta_kl, p, n)


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_eq_14_gap_is_sum_of_per_outcome_terms(name, n):
    """``KL_bon(n) - KL(pi_n || pi)`` equals the sum of Lemma A.1's terms (independent route to the gap)."""
    p = HARD_PMFS[name]
    ref = reference(ref_gap_as_sum_of_deltas, p, n, dps=digits_for(p, n))
    assert_close(bonkl.kl_gap(p, n), ref, what=f"kl_gap({name}, {n})")


@property_settings(150)
@given(interval=quantile_intervals(), n=sample_sizes)
def test_lemma_a_1_delta_matches_mpmath_and_is_non_negative(interval, n):
    a, b = interval
    got = bonkl.delta_kl(a, b, n)
    ref = reference(ref_delta_kl, a, b, n, dps=digits_for(n=n, eps=[b - a]))
    assert_close(got, ref, what=f"delta_kl({a!r}, {b!r}, {n})")
    with mp.workdps(60):
        assert ref >= 0
    assert got >= -SLACK


@property_settings(100)
@given(u=st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1e-300, 0.5, 1.0 - 1e-16, 1.0])), n=sample_sizes)
def test_lemma_a_2_antiderivative_matches_mpmath(u, n):
    ref = reference(ref_antiderivative, u, n, dps=digits_for(n=n))
    assert_close(bonkl.kl_bon_antiderivative(u, n), ref, what=f"G({u!r}, {n})")


@pytest.mark.parametrize("n", HARD_NS)
def test_lemma_a_2_antiderivative_endpoints(n):
    assert bonkl.kl_bon_antiderivative(0.0, n) == 0.0
    assert_close(bonkl.kl_bon_antiderivative(1.0, n), reference(ref_kl_bon, n), what="G(1)")
    # G' = g: a central difference in mpmath of the reference against g at u = 0.7
    with mp.workdps(50):
        u, nn = mp.mpf("0.7"), mp.mpf(float(n))
        g = nn * u ** (nn - 1) * mp.log(nn * u ** (nn - 1))
        assert abs(mp.diff(lambda x: ref_antiderivative(x, n), u) - g) < mp.mpf("1e-30")


@property_settings(200)
@given(p=pmfs(max_size=40), n=sample_sizes)
def test_theorem_3_6_gap_above_top_outcome_term(p, n):
    gap = bonkl.kl_gap(p, n)
    lower = bonkl.kl_gap_lower_bound(p, n)
    assert lower >= -SLACK
    assert gap >= lower * (1 - 1e-12) - SLACK


def ref_top_term(p, n):
    masses = mp_masses(p)
    return ref_delta_kl(1 - masses[-1], mp.mpf(1), n)


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_theorem_3_6_lower_bound_is_delta_of_top_outcome(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_top_term, p, n, dps=digits_for(p, n))
    assert_close(bonkl.kl_gap_lower_bound(p, n), ref, what=f"kl_gap_lower_bound({name}, {n})")


def ref_gap_limit(p, n):
    return ref_kl_bon(n) + mp.log(mp_masses(p)[-1])


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_corollary_3_7_limit_matches_mpmath(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_gap_limit, p, n)
    assert_close(bonkl.kl_gap_limit(p, n), ref, what=f"kl_gap_limit({name}, {n})")


@property_settings(100)
@given(p=ordinary_pmfs(min_size=2, max_size=20))
def test_corollary_3_7_gap_minus_limit_vanishes_as_n_grows(p):
    """``gap_n - (KL_bon(n) - log(1/eps_inf)) = log(1/eps_inf) - KL(pi_n || pi)``: non-negative,
    non-increasing in ``n`` and gone by ``n = 10^6`` (here ``eps_inf >= 1e-3 / 25``, so
    ``(1 - eps_inf)^n`` is below e^-40)."""
    ns = np.array([1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6])
    excess = bonkl.kl_gap(p, ns) - bonkl.kl_gap_limit(p, ns)
    assert np.all(excess >= -1e-12)
    assert np.all(np.diff(excess) <= 1e-12)
    assert excess[-1] <= 1e-10


def test_corollary_3_7_gap_unbounded_for_binary_model():
    ns = np.array([1e2, 1e4, 1e6])
    np.testing.assert_allclose(bonkl.kl_gap([0.5, 0.5], ns), bonkl.kl_bon(ns) - np.log(2), rtol=1e-13)
    assert bonkl.kl_gap([0.5, 0.5], 1e6) > 12.0


def test_kl_exact_ignores_zero_mass_outcomes():
    """An outcome of mass 0 is never drawn: adding it anywhere changes neither pi_n nor the KL."""
    ns = np.array([1.0, 2.0, 1e4])
    base = bonkl.kl_exact([0.25, 0.5, 0.25], ns)
    for padded in ([0.0, 0.25, 0.5, 0.25], [0.25, 0.0, 0.5, 0.25], [0.25, 0.5, 0.25, 0.0]):
        np.testing.assert_allclose(bonkl.kl_exact(padded, ns), base, rtol=1e-14)


def test_theorem_3_6_eps_inf_is_top_of_support():
    n = 50.0
    assert bonkl.kl_gap_lower_bound([0.5, 0.5, 0.0], n) == pytest.approx(bonkl.kl_gap_lower_bound([0.5, 0.5], n))
    assert bonkl.kl_gap_limit([0.5, 0.5, 0.0], n) == pytest.approx(bonkl.kl_gap_limit([0.5, 0.5], n))
