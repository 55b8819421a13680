"""Lemma 2.3 (the best-of-n PMF), Lemma 4.1 (its bounds) and eq. 4 (KL_bon), against mpmath."""

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
    pmfs,
    property_settings,
    ref_bon_pmf,
    ref_kl_bon,
    reference,
    sample_sizes,
)

import bonkl


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_lemma_2_3_bon_pmf_matches_mpmath(name, n):
    p = HARD_PMFS[name]
    ref = reference(ref_bon_pmf, p, n, dps=digits_for(p, n))
    assert_close(bonkl.bon_pmf(p, n), ref, what=f"bon_pmf({name}, {n})")


@pytest.mark.parametrize("n", HARD_NS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_lemma_2_3_log_bon_pmf_keeps_relative_precision(name, n):
    """``log pi_n`` to 1e-10 relative, also where ``pi_n`` itself underflows float64 (the bottom
    outcomes at ``n = 10^6``, whose log-probabilities reach about -10^6)."""
    p = HARD_PMFS[name]
    ref = reference(ref_bon_pmf, p, n, dps=digits_for(p, n))
    got = bonkl.log_bon_pmf(p, n)
    assert got.shape == p.shape
    with mp.workdps(60):
        ref_log = [mp.log(r) for r in ref]
    assert_close(got, ref_log, what=f"log_bon_pmf({name}, {n})")


@property_settings(60)
@given(p=pmfs(), n=sample_sizes)
def test_lemma_2_3_bon_pmf_matches_mpmath_on_random_models(p, n):
    ref = reference(ref_bon_pmf, p, n, dps=digits_for(p, n))
    assert_close(bonkl.bon_pmf(p, n), ref, what=f"bon_pmf(n={n})")


@property_settings(200)
@given(p=pmfs(max_size=60), n=sample_sizes)
def test_bon_pmf_is_a_pmf(p, n):
    pin = bonkl.bon_pmf(p, n)
    assert pin.shape == p.shape
    assert np.all(np.isfinite(pin))
    assert np.all(pin >= 0)
    assert abs(pin.sum() - 1.0) <= 1e-12


@property_settings(200)
@given(p=pmfs(max_size=40), n=sample_sizes)
def test_lemma_4_1_bon_mass_below_its_bounds(p, n):
    """``pi_n(y) <= min(1 - (1 - pi(y))^n, n pi(y), 1)`` (bounds formed in float64, 1e-12 slack)."""
    pin = bonkl.bon_pmf(p, n)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf for a single outcome of mass 1
        tail_bound = -np.expm1(n * np.log1p(-p))
    bound = np.minimum(np.minimum(tail_bound, n * p), 1.0)
    assert np.all(pin <= bound * (1 + 1e-12)), (pin - bound).max()


def test_lemma_2_3_n_equal_1_is_the_reference():
    for p in HARD_PMFS.values():
        np.testing.assert_allclose(bonkl.bon_pmf(p, 1.0), p, rtol=1e-13, atol=0)


def test_lemma_2_3_binary_model_closed_form():
    """Example 1: ``pi_n(y_2) = 1 - 2^-n`` for two equiprobable outcomes."""
    n = np.array([1.0, 2.0, 3.5, 10.0, 60.0])
    pin = bonkl.bon_pmf([0.5, 0.5], n)
    np.testing.assert_allclose(pin[:, 1], 1 - 2.0**-n, rtol=1e-15)
    np.testing.assert_allclose(pin[:, 0], 2.0**-n, rtol=1e-13)


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_bon_pmf_vectorised_over_n(name):
    p = HARD_PMFS[name]
    ns = np.array(HARD_NS)
    stacked = bonkl.bon_pmf(p, ns)
    assert stacked.shape == (ns.size, p.size)
    for row, n in zip(stacked, ns):
        np.testing.assert_allclose(row, bonkl.bon_pmf(p, n), rtol=1e-14, atol=0)
    grid = bonkl.bon_pmf(p, ns.reshape(7, 1))
    assert grid.shape == (7, 1, p.size)
    np.testing.assert_allclose(grid[:, 0, :], stacked, rtol=1e-14, atol=0)


NEAR_ONE = [1.0, 1.0 + 1e-12, 1.0 + 1e-9, 1.0 + 1e-6, 1.0 + 0.999e-3, 1.0 + 1.001e-3, 1.01]


@pytest.mark.parametrize("n", NEAR_ONE + [1.5, 2.0, 10.0, 1e4, 1e6, 1e12])
def test_eq_4_kl_bon_matches_mpmath(n):
    ref = reference(ref_kl_bon, n)
    assert_close(bonkl.kl_bon(n), ref, what=f"kl_bon({n})")


@pytest.mark.parametrize("n", NEAR_ONE[1:])
def test_eq_4_kl_bon_relative_precision_near_n_equal_1(n):
    """Near ``n = 1`` eq. 4 is ``(n-1)^2/2 - ...``: it must keep its relative digits (no cancellation)."""
    ref = reference(ref_kl_bon, n)
    assert_close(bonkl.kl_bon(n), ref, rtol=1e-12, atol=0, what=f"kl_bon({n})")


def test_eq_4_kl_bon_vectorised():
    ns = np.array(NEAR_ONE + [2.0, 1e6])
    np.testing.assert_allclose(bonkl.kl_bon(ns), [bonkl.kl_bon(n) for n in ns], rtol=1e-15, atol=0)


@property_settings(200)
@given(n=sample_sizes, factor=st.floats(1.0 + 1e-6, 100.0))
def test_eq_4_kl_bon_increasing_in_n(n, factor):
    assert bonkl.kl_bon(n * factor) > bonkl.kl_bon(n)
    assert bonkl.kl_bon(n) >= 0.0
