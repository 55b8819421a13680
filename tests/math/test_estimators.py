"""The KL estimators of Section 4: eq. 23, Corollary 4.2, Definition 4.3 (eq. 25), Conjecture 4.4, Lemma 4.5."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mpref import (
    HARD_EPS,
    HARD_NS,
    HARD_PMFS,
    assert_close,
    digits_for,
    masses_eps,
    mp_cdf,
    mp_masses,
    ordinary_pmfs,
    pmfs,
    property_settings,
    ref_bon_pmf,
    ref_kl_alternate,
    ref_kl_bon,
    ref_kl_estimator,
    ref_kl_log_ratio,
    reference,
    sample_sizes,
)

import bonkl

SLACK = 1e-13


# --- Definition 4.3, eq. 25 ----------------------------------------------------------------------


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("eps", HARD_EPS)
def test_eq_25_kl_estimator_matches_mpmath(eps, n):
    ref = reference(ref_kl_estimator, eps, n, dps=digits_for(n=n, eps=[eps]))
    assert_close(bonkl.kl_estimator(eps, n), ref, what=f"kl_estimator({eps!r}, {n})")


@property_settings(150)
@given(eps=masses_eps, n=sample_sizes)
def test_eq_25_kl_estimator_matches_mpmath_on_random_inputs(eps, n):
    ref = reference(ref_kl_estimator, eps, n, dps=digits_for(n=n, eps=[eps]))
    assert_close(bonkl.kl_estimator(eps, n), ref, what=f"kl_estimator({eps!r}, {n})")


def test_eq_25_kl_estimator_broadcasts():
    eps = np.array(HARD_EPS)
    ns = np.array(HARD_NS)
    grid = bonkl.kl_estimator(eps[None, :], ns[:, None])
    assert grid.shape == (ns.size, eps.size)
    for i, n in enumerate(ns):
        for j, e in enumerate(eps):
            assert grid[i, j] == pytest.approx(bonkl.kl_estimator(e, n), rel=1e-14, abs=0)


@property_settings(300)
@given(eps=masses_eps, n=sample_sizes)
def test_lemma_4_5_estimator_between_zero_and_formula(eps, n):
    value = bonkl.kl_estimator(eps, n)
    assert np.isfinite(value)
    assert -SLACK <= value <= bonkl.kl_bon(n) * (1 + 1e-12) + SLACK


@property_settings(300)
@given(eps=masses_eps, factor=st.floats(1.0, 1e6), n=sample_sizes)
def test_kl_estimator_non_increasing_in_eps(eps, factor, n):
    larger = min(1.0, eps * factor)
    assert bonkl.kl_estimator(larger, n) <= bonkl.kl_estimator(eps, n) * (1 + 1e-12) + SLACK


@pytest.mark.parametrize("n", HARD_NS)
def test_kl_estimator_limits(n):
    """``KLhat(1) = 0``; ``KLhat -> KL_bon(n)`` as ``eps -> 0`` (reached in float64 by 1e-300)."""
    assert bonkl.kl_estimator(1.0, n) == 0.0
    kl_bon = bonkl.kl_bon(n)
    assert bonkl.kl_estimator(1e-300, n) == pytest.approx(kl_bon, rel=1e-12, abs=1e-300)
    distance = [kl_bon - bonkl.kl_estimator(eps, n) for eps in (1e-2, 1e-3, 1e-4, 1e-10)]
    assert all(d >= -SLACK for d in distance)
    if n >= 2:
        assert distance[0] > distance[1] > distance[2]
        assert distance[3] <= 1e-3 * distance[0]


@pytest.mark.parametrize("n", [2.0, 10.0, 100.0])
@pytest.mark.parametrize("eps", [0.5, 0.1, 0.01])
def test_definition_4_3_estimator_is_kl_of_top_outcome_over_a_continuum(eps, n):
    """``KLhat(eps)`` is the best-of-n KL of a model whose top outcome has mass ``eps`` above a
    continuum: ``kl_exact`` on ``L`` equal masses ``(1 - eps)/L`` below it approaches it as ``L``
    grows, at second order (the error shrinks about 100-fold from ``L = 10^3`` to ``10^4``)."""
    errors = []
    for size in (10**3, 10**4):
        p = np.append(np.full(size, (1 - eps) / size), eps)
        errors.append(abs(bonkl.kl_exact(p / p.sum(), n) - bonkl.kl_estimator(eps, n)))
    assert errors[1] <= max(errors[0] / 30, 1e-14)
    assert errors[1] <= 1e-5


# --- eq. 23 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("eps", HARD_EPS)
def test_eq_23_kl_alternate_matches_mpmath(eps, n):
    ref = reference(ref_kl_alternate, eps, n, dps=digits_for(n=n, eps=[eps]))
    assert_close(bonkl.kl_alternate(eps, n), ref, what=f"kl_alternate({eps!r}, {n})")


@property_settings(300)
@given(eps=masses_eps, n=sample_sizes)
def test_eq_23_alternate_below_min_log_n_log_inv_eps(eps, n):
    value = bonkl.kl_alternate(eps, n)
    # eq. 23 is a difference of logarithms as large as log(1e-300) = -691: allow their rounding
    slack = SLACK + 4e-16 * (1 - np.log(eps))
    assert -slack <= value
    assert value <= min(np.log(n), -np.log(eps)) * (1 + 1e-12) + slack


@pytest.mark.parametrize("n", [2.0, 10.0, 1e3])
def test_eq_23_alternate_loose_by_n_minus_1_over_n_when_n_eps_small(n):
    eps = 1e-12
    excess = bonkl.kl_alternate(eps, n) - bonkl.kl_estimator(eps, n)
    assert excess == pytest.approx((n - 1) / n, abs=1e-8)


# --- Corollary 4.2 -------------------------------------------------------------------------------


@st.composite
def mass_and_cdf(draw):
    eps = draw(masses_eps)
    kind = draw(st.sampled_from(["equal", "one", "free"]))
    if kind == "equal":
        return eps, eps
    if kind == "one":
        return eps, 1.0
    return eps, eps + (1.0 - eps) * draw(st.floats(0.0, 1.0))


@property_settings(150)
@given(pair=mass_and_cdf(), n=sample_sizes)
def test_corollary_4_2_log_ratio_matches_mpmath(pair, n):
    eps, cdf = pair
    ref = reference(ref_kl_log_ratio, eps, cdf, n, dps=digits_for(n=n, eps=[eps]))
    assert_close(bonkl.kl_log_ratio(eps, cdf, n), ref, what=f"kl_log_ratio({eps!r}, {cdf!r}, {n})")


@property_settings(200)
@given(pair=mass_and_cdf(), shift=st.floats(0.0, 1.0), n=sample_sizes)
def test_corollary_4_2_log_ratio_increasing_in_cdf(pair, shift, n):
    eps, cdf = pair
    higher = cdf + (1.0 - cdf) * shift
    assert bonkl.kl_log_ratio(eps, higher, n) >= bonkl.kl_log_ratio(eps, cdf, n) - 1e-12


def float_cdf(p, upward=False):
    """``F(y_i)`` of the normalised masses, rounded once from the exact running sum (so that
    ``F(y_L) = 1`` and ``p_i <= F_i`` up to the normalisation's rounding); ``upward`` rounds
    towards +inf, so the result is an upper bound on the true ``F``."""
    with mp.workdps(digits_for(p)):
        head, _ = mp_cdf(mp_masses(p))
        cdf = np.array([float(h) for h in head])
        if upward:
            below = np.array([mp.mpf(float(c)) < h for c, h in zip(cdf, head)])
            cdf = np.where(below, np.nextafter(cdf, 2.0), cdf)
        return np.minimum(np.maximum(cdf, p), 1.0)


@property_settings(100)
@given(p=pmfs(), n=st.one_of(st.floats(0.0, 4.0).map(lambda e: float(10.0**e)), st.sampled_from([1.0, 1.0 + 1e-9])))
def test_corollary_4_2_expectation_with_true_cdf_is_exact_kl(p, n):
    cdf = float_cdf(p)
    support = p > 0
    expectation = np.sum(bonkl.bon_pmf(p, n)[support] * bonkl.kl_log_ratio(p[support], cdf[support], n))
    assert_close(expectation, bonkl.kl_exact(p, n), rtol=1e-10, atol=1e-12, what=f"Corollary 4.2 (n={n})")


@property_settings(100)
@given(p=pmfs(max_size=20), n=sample_sizes, data=st.data())
def test_corollary_4_2_upper_bound_on_cdf_gives_upper_bound_on_kl(p, n, data):
    # F rounded up: a float64 F a rounding below the true one is not an upper bound (at n = 10^4
    # that alone moves the log ratio by 1e-12)
    cdf = float_cdf(p, upward=True)
    fractions = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=p.size, max_size=p.size)))
    upper = cdf + (1.0 - cdf) * fractions
    bound = np.sum(bonkl.bon_pmf(p, n) * bonkl.kl_log_ratio(p, upper, n))
    assert bound >= bonkl.kl_exact(p, n) * (1 - 1e-12) - SLACK


# --- expectations under pi_n, Conjecture 4.4, Lemma 4.5 ------------------------------------------


def ref_expected(statistic):
    def expectation(p, n):
        masses = mp_masses(p)
        pin = ref_bon_pmf(p, n)
        return mp.fsum(q * statistic(float(m), n) for q, m in zip(pin, masses) if q > 0)

    return expectation


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_expected_kl_estimator_matches_mpmath(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_expected(ref_kl_estimator), p, n, dps=digits_for(p, n))
    assert_close(bonkl.expected_kl_estimator(p, n), ref, what=f"E[KLhat]({name}, {n})")


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_expected_kl_alternate_matches_mpmath(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_expected(ref_kl_alternate), p, n, dps=digits_for(p, n))
    assert_close(bonkl.expected_kl_alternate(p, n), ref, what=f"E[alt]({name}, {n})")


def test_eq_23_alternate_at_eps_one_without_warning():
    assert bonkl.kl_alternate(1.0, 5.0) == 0.0
    assert bonkl.expected_kl_alternate([1.0], 5.0) == 0.0


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_expected_estimators_vectorised_over_n(name):
    p = HARD_PMFS[name]
    ns = np.array(HARD_NS)
    got = bonkl.expected_kl_estimator(p, ns)
    assert got.shape == ns.shape
    np.testing.assert_allclose(got, [bonkl.expected_kl_estimator(p, n) for n in ns], rtol=1e-14, atol=0)


@property_settings(300)
@given(p=st.one_of(pmfs(max_size=40), ordinary_pmfs(max_size=60)), n=sample_sizes)
def test_conjecture_4_4_expected_estimator_above_exact_kl(p, n):
    assert bonkl.expected_kl_estimator(p, n) >= bonkl.kl_exact(p, n) * (1 - 1e-12) - SLACK


@property_settings(150)
@given(p=pmfs(max_size=30), n=sample_sizes)
def test_lemma_4_5_estimator_spread_below_half_formula(p, n):
    """``0 <= KLhat <= KL_bon(n)`` so its standard deviation under ``pi_n`` is at most ``KL_bon(n)/2``."""
    pin = bonkl.bon_pmf(p, n)
    values = bonkl.kl_estimator(p, n)
    mean = np.sum(pin * values)
    sd = np.sqrt(np.sum(pin * (values - mean) ** 2))
    assert sd <= bonkl.kl_bon(n) / 2 * (1 + 1e-12) + SLACK
    assert mean == pytest.approx(bonkl.expected_kl_estimator(p, n), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("n", HARD_NS[1:] + [3.0, 40.0])
def test_example_1_estimator_tracks_exact_kl(n):
    """On Example 1 every draw has ``eps = 1/2``; eq. 25 then exceeds eq. 5 by exactly
    ``2^-n KL_bon(n)``: within the paper's ``2^-n (log n - (n-1)/n)``."""

    def ref_excess(n):
        a = mp.mpf(2) ** -mp.mpf(float(n))
        return a * ref_kl_bon(n)

    excess = bonkl.expected_kl_estimator([0.5, 0.5], n) - bonkl.kl_exact([0.5, 0.5], n)
    assert_close(excess, reference(ref_excess, n), what=f"Example 1 excess ({n})")
    assert excess <= 2.0**-n * bonkl.kl_bon(n) * (1 + 1e-9) + 1e-15


def test_conjecture_4_4_on_dirichlet_and_power_law_models():
    """The paper's search (Conjecture 4.4), in small: 1,500 random PMFs (2 to 60 outcomes,
    Dirichlet and power-law masses in random reward order), each at n = 1, 2, 7, 50, 10^3, 10^4:
    no violation of ``E[KLhat] >= KL``."""
    rng = np.random.default_rng(44)
    ns = np.array([1.0, 2.0, 7.0, 50.0, 1e3, 1e4])
    worst = np.inf
    for trial in range(1500):
        size = int(rng.integers(2, 61))
        if trial % 2:
            p = rng.dirichlet(np.full(size, 10.0 ** rng.uniform(-1.5, 1.0)))
        else:
            p = rng.permutation(np.arange(1, size + 1) ** -rng.uniform(0.5, 3.0))
        p = p / p.sum()
        slack = bonkl.expected_kl_estimator(p, ns) - bonkl.kl_exact(p, ns)
        worst = min(worst, float(np.min(slack + 1e-12 * bonkl.kl_exact(p, ns) + SLACK)))
    assert worst >= 0.0, worst
