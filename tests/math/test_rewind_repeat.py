"""Rewind-and-repeat (Section 6): Lemma 6.1 with a continuous threshold, Lemma 6.2, Theorem 6.3."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from mpref import (
    HARD_PMFS,
    assert_close,
    digits_for,
    mp_cdf,
    mp_masses,
    ordinary_pmfs,
    pmfs,
    property_settings,
    ref_kl_divergence,
    ref_rr_pmf,
    reference,
)

import bonkl

SLACK = 1e-13

# Thresholds q in [0, 1): anywhere, and down to 1e-16 below 1.
thresholds = st.one_of(st.floats(0.0, 1.0, exclude_max=True), st.floats(-16.0, -1.0).map(lambda e: 1 - 10.0**e))


def boundaries(p):
    """``[(j, float(F^-(y_j)), p_tau)]`` for the outcomes of positive mass, ``p_tau = sum_{i>=j} p_i``
    as an exact mpmath tail of the normalised masses."""
    with mp.workdps(digits_for(p) + 20):
        masses = mp_masses(p)
        _, below = mp_cdf(masses)
        out = []
        for j in range(len(masses)):
            if masses[j] > 0 and float(below[j]) < 1.0:
                out.append((j, float(below[j]), mp.fsum(masses[j:])))
        return out


def q_grid(p):
    """Thresholds: 0, every outcome boundary, a point inside every outcome, and the edges below 1."""
    head = np.cumsum(p)
    below = np.concatenate(([0.0], head[:-1]))
    inside = below + 0.37 * p
    grid = np.concatenate(([0.0, 0.5, 1 - 1e-6, 1 - 1e-12, 1 - 2.0**-53], below, inside))
    return np.unique(grid[(grid >= 0) & (grid < 1)])


@pytest.mark.parametrize(
    "name",
    [name for name in sorted(HARD_PMFS)],
)
def test_lemma_6_1_rr_pmf_matches_mpmath(name):
    p = HARD_PMFS[name]
    qs = q_grid(p)
    got = bonkl.rr_pmf(p, qs)
    assert got.shape == (qs.size, p.size)
    for q, row in zip(qs, got):
        ref = reference(ref_rr_pmf, p, q, dps=digits_for(p, eps=[1 - q]))
        assert_close(row, ref, what=f"rr_pmf({name}, q={q!r})")


@property_settings(100)
@given(p=pmfs(), u=thresholds)
def test_lemma_6_1_rr_pmf_matches_mpmath_on_random_models(p, u):
    ref = reference(ref_rr_pmf, p, u, dps=digits_for(p, eps=[1 - u]))
    assert_close(bonkl.rr_pmf(p, u), ref, what=f"rr_pmf(q={u!r})")


@property_settings(300)
@given(p=pmfs(max_size=40), q=thresholds)
def test_rr_pmf_is_a_pmf(p, q):
    rr = bonkl.rr_pmf(p, q)
    assert np.all(np.isfinite(rr)) and np.all(rr >= 0)
    assert abs(rr.sum() - 1.0) <= 1e-12


def test_rr_pmf_sums_to_one_when_float_cdf_falls_short_of_one():
    """Ten masses 0.1: the float running sum ends at 0.9999999999999999, not 1. A threshold in the
    top outcome must still give a PMF (all mass on that outcome)."""
    p = np.full(10, 0.1)
    for q in (0.95, 1 - 1e-12, 1 - 2.0**-53):
        rr = bonkl.rr_pmf(p, q)
        assert rr[-1] == pytest.approx(1.0, abs=1e-12), (q, rr)
        assert rr.sum() == pytest.approx(1.0, abs=1e-12)


# Two models on which rr_pmf lost its digits at a boundary (found by random exploration).
CANCELLING = [
    np.array([0.2] * 5 + [2e-9, 2e-13]) / (1 + 2e-9 + 2e-13),
    np.array([1.999996e-01] * 5 + [1.999996e-06]),
]


@property_settings(200)
@given(p=pmfs(max_size=30), which=st.integers(0, 10**6))
@example(p=CANCELLING[0], which=6)
@example(p=CANCELLING[1], which=5)
def test_lemma_6_1_at_an_outcome_boundary(p, which):
    """At ``q = F^-(y_j)``: ``pi_rr(y_i) = pi(y_i)/p_tau`` for ``i >= j``, else 0 (eq. 40)."""
    cases = boundaries(p)
    j, q, p_tau = cases[which % len(cases)]
    rr = bonkl.rr_pmf(p, q)
    with mp.workdps(60):
        expected = [mp.mpf(0)] * j + [m / p_tau for m in mp_masses(p)[j:]]
    # q is F^-(y_j) rounded to float64: the threshold may sit one rounding error inside y_{j-1}
    assert_close(rr, expected, rtol=1e-10, atol=4e-16 / float(p_tau), what=f"rr_pmf at F^-(y_{j})")
    # and at that float q exactly, the 1e-10 rule
    assert_close(rr, reference(ref_rr_pmf, p, q, dps=digits_for(p)), what=f"rr_pmf at float F^-(y_{j})")


def ref_rr_win_rate(p, q):
    """The win rate of the mpmath ``pi_rr`` at the float threshold ``q``, by eq. 28-29 directly."""
    masses = mp_masses(p)
    rr = ref_rr_pmf(p, q)
    return mp.fsum(
        r * m * (1 if i > k else (mp.mpf(1) / 2 if i == k else 0))
        for i, r in enumerate(rr)
        for k, m in enumerate(masses)
    )


def ref_rr_kl(p, q):
    """``KL(pi_rr || pi)`` at the float threshold ``q``, from the mpmath PMF."""
    return ref_kl_divergence(ref_rr_pmf(p, q), mp_masses(p))


@property_settings(200)
@given(p=st.one_of(ordinary_pmfs(max_size=30), pmfs(max_size=30)), which=st.integers(0, 10**6))
@example(p=CANCELLING[0], which=6)
@example(p=CANCELLING[1], which=5)
def test_lemma_6_2_kl_and_win_rate_at_an_outcome_boundary(p, which):
    """``KL(pi_rr || pi) = log(1/p_tau)`` (eq. 41) and win rate ``1 - p_tau/2`` (eq. 42), exactly.

    ``q`` is ``F^-(y_j)`` rounded to float64, so the threshold may sit up to ``r = 2^-53/p_tau``
    (relative to ``p_tau``) inside the neighbouring outcome: a sliver of mass ``r`` moves to it,
    the KL moves by at most about ``r (1 + log(1/r))`` (an ``x log x`` term) and the win rate by
    ``r`` (the calibrated rewards differ by less than 1). Against the mpmath value at the same
    float ``q`` the full 1e-10 rule applies.
    """
    cases = boundaries(p)
    j, q, p_tau = cases[which % len(cases)]
    rr = bonkl.rr_pmf(p, q)
    kl, win = bonkl.kl_divergence(rr, p), bonkl.win_rate(rr, p)
    assert_close(kl, reference(ref_rr_kl, p, q, dps=digits_for(p)), what="KL(pi_rr || pi) at float q")
    r = 2.0**-53 / float(p_tau)
    with mp.workdps(60):
        log_inv = -mp.log(p_tau)
        half = 1 - p_tau / 2
    assert_close(kl, log_inv, rtol=1e-10, atol=1e-12 + 2 * r * (1 - np.log(r)), what="KL vs log(1/p_tau)")
    assert_close(win, half, rtol=1e-10, atol=1e-12 + 2 * r, what="win rate vs 1 - p_tau/2")
    assert_close(win, reference(ref_rr_win_rate, p, q, dps=digits_for(p)), what="win rate at float q")
    assert_close(bonkl.rr_kl(float(p_tau)), log_inv, what="rr_kl")
    assert_close(bonkl.rr_win_rate(float(p_tau)), half, what="rr_win_rate")


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_lemma_6_2_kl_matches_mpmath_at_every_boundary(name):
    """The same on the hard models, the KL of ``rr_pmf`` against an mpmath KL of the mpmath PMF."""
    p = HARD_PMFS[name]
    for j, q, _p_tau in boundaries(p):
        rr = bonkl.rr_pmf(p, q)
        ref = reference(ref_rr_kl, p, q, dps=digits_for(p))
        assert_close(bonkl.kl_divergence(rr, p), ref, what=f"KL(rr_pmf({name}, F^-(y_{j})))")


@property_settings(200)
@given(p=pmfs(max_size=30), q=st.floats(0.0, 0.999))
def test_continuous_threshold_kl_and_win_rate_below_continuum(p, q):
    """Between boundaries the threshold splits an outcome: the policy is the image of ``U ~ U[q, 1]``
    under the quantile map, so (data processing) its KL is at most ``log(1/(1-q))`` and its win
    rate at most ``1 - (1-q)/2``, with equality at the boundaries."""
    rr = bonkl.rr_pmf(p, q)
    assert bonkl.kl_divergence(rr, p) <= -np.log1p(-q) * (1 + 1e-12) + SLACK
    assert bonkl.win_rate(rr, p) <= 1 - (1 - q) / 2 + 1e-14


def test_rr_pmf_at_zero_threshold_is_the_reference():
    for name, p in HARD_PMFS.items():
        np.testing.assert_allclose(bonkl.rr_pmf(p, 0.0), p, rtol=1e-13, atol=1e-16, err_msg=name)


@pytest.mark.parametrize("p_tau", [1e-300, 1e-200, 1e-12, 0.3, 1 - 1e-12, 1.0])
def test_lemma_6_2_closed_forms_match_mpmath(p_tau):
    def ref(p_tau):
        p_tau = mp.mpf(p_tau)
        return [mp.log(1 / p_tau), 1 - p_tau / 2]

    kl, win = reference(ref, p_tau)
    assert_close(bonkl.rr_kl(p_tau), kl, what="rr_kl")
    assert_close(bonkl.rr_win_rate(p_tau), win, what="rr_win_rate")
    assert_close(bonkl.example3_rr(p_tau), [kl, win], what="example3_rr")


@pytest.mark.parametrize("k", [1, 2, 3, 10, 1000, 10**6, 10**9])
def test_theorem_6_3_estimator_is_harmonic_number(k):
    ref = reference(lambda k: mp.harmonic(k - 1), k)
    assert_close(bonkl.rr_kl_estimator(k), ref, what=f"H_{k - 1}")


def test_theorem_6_3_estimator_vectorised():
    ks = np.array([1, 2, 5, 100, 10**6])
    got = bonkl.rr_kl_estimator(ks)
    assert got.shape == ks.shape
    np.testing.assert_allclose(got, [bonkl.rr_kl_estimator(int(k)) for k in ks], rtol=1e-15)
    assert bonkl.rr_kl_estimator(1) == 0.0
    assert bonkl.rr_kl_estimator(2.0) == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("p_tau", [0.9, 0.5, 0.1, 0.01, 1e-3])
def test_theorem_6_3_unbiased_exact_expectation(p_tau):
    """``E[H_{K-1}] = log(1/p_tau)`` for ``K ~ Geometric(p_tau)``: the series summed to 1e-18."""
    k_max = int(np.ceil(np.log(1e-18) / np.log1p(-p_tau))) + 2
    k = np.arange(1, k_max + 1)
    weights = p_tau * np.exp((k - 1) * np.log1p(-p_tau))
    expectation = np.sum(weights * bonkl.rr_kl_estimator(k))
    assert expectation == pytest.approx(-np.log(p_tau), rel=1e-12)
