"""Renyi, chi-square and total variation of best-of-n (exact, Lemma 2.3) and the Mroueh (2024) bounds.

References: the divergences by their definitions in mpmath over ``ref_bon_pmf`` (plain powers);
the bounds by mpmath quadrature of ``integral_0^1 f(n u^(n-1)) du``, not by their closed forms.
"""

import math

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
    ref_bon_pmf,
    reference,
    sample_sizes,
)

import bonkl

ALPHAS = [0.3, 0.5, 1.0 - 1e-6, 1.0, 1.0 + 1e-6, 2.0, 10.0, 1e3, math.inf]
SLACK = 1e-12


def ref_renyi(p, n, alpha):
    """``log(sum p (pi_n/p)^alpha)/(alpha - 1)``; the KL at ``alpha = 1``, ``log max pi_n/p`` at inf."""
    masses = mp_masses(p)
    pin = ref_bon_pmf(p, n)
    pairs = [(q, m) for q, m in zip(pin, masses, strict=True) if m > 0]
    if alpha == math.inf:
        return max(mp.log(q / m) for q, m in pairs if q > 0)
    if alpha == 1.0:
        return mp.fsum(q * mp.log(q / m) for q, m in pairs if q > 0)
    a = mp.mpf(alpha)
    return mp.log(mp.fsum(m * (q / m) ** a for q, m in pairs)) / (a - 1)


def ref_chi2(p, n):
    masses = mp_masses(p)
    return mp.fsum((q - m) ** 2 / m for q, m in zip(ref_bon_pmf(p, n), masses, strict=True) if m > 0)


def ref_tv(p, n):
    return mp.fsum(abs(q - m) for q, m in zip(ref_bon_pmf(p, n), mp_masses(p), strict=True)) / 2


def quad_bound(f, n):
    """``integral_0^1 f(n u^(n-1)) du`` by tanh-sinh quadrature, split where ``n u^(n-1) = 1``."""
    n = mp.mpf(float(n))
    if n == 1:
        return f(mp.mpf(1))
    knee = n ** (-1 / (n - 1))
    return mp.quad(lambda u: f(n * u ** (n - 1)), [0, knee, 1])


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
@pytest.mark.parametrize("alpha", ALPHAS)
def test_renyi_divergence_bon_matches_mpmath(name, alpha):
    p = HARD_PMFS[name]
    got = bonkl.renyi_divergence_bon(p, HARD_NS, alpha)
    refs = [reference(ref_renyi, p, n, alpha, dps=digits_for(p, n)) for n in HARD_NS]
    assert_close(got, refs, what=f"D_{alpha} {name}")


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_chi2_and_tv_of_bon_match_mpmath(name):
    p = HARD_PMFS[name]
    chi2 = [reference(ref_chi2, p, n, dps=digits_for(p, n)) for n in HARD_NS]
    tv = [reference(ref_tv, p, n, dps=digits_for(p, n)) for n in HARD_NS]
    assert_close(bonkl.chi2_divergence_bon(p, HARD_NS), chi2, what=f"chi2 {name}")
    assert_close(bonkl.tv_distance_bon(p, HARD_NS), tv, what=f"tv {name}")


BOUND_NS = [1.0, 1.0 + 1e-9, 1.0 + 1e-4, 1.5, 2.0, 7.0, 100.0, 1e4, 1e6]


@pytest.mark.parametrize("alpha", [0.3, 0.5, 1.0 - 1e-6, 1.0, 1.0 + 1e-6, 2.0, 10.0])
def test_renyi_bound_is_the_quadrature_of_the_winners_density(alpha):
    a = mp.mpf(alpha)

    def integral(n):
        if a == 1:
            return quad_bound(lambda t: t * mp.log(t), n)
        return mp.log(quad_bound(lambda t: t**a, n)) / (a - 1)

    refs = [reference(integral, n, dps=80) for n in BOUND_NS]
    assert_close(bonkl.renyi_bound(BOUND_NS, alpha), refs, what=f"renyi bound {alpha}")


def test_chi2_and_tv_bounds_are_the_quadratures():
    chi2 = [reference(quad_bound, lambda t: (t - 1) ** 2, n, dps=40) for n in BOUND_NS]
    tv = [reference(quad_bound, lambda t: abs(t - 1) / 2, n, dps=40) for n in BOUND_NS]
    assert_close(bonkl.chi2_bound(BOUND_NS), chi2, what="chi2 bound")
    assert_close(bonkl.tv_bound(BOUND_NS), tv, what="tv bound")


def test_bound_limits():
    n = np.array([1.0, 1.5, 2.0, 16.0, 1e6])
    np.testing.assert_allclose(bonkl.renyi_bound(n, 1.0), bonkl.kl_bon(n), rtol=1e-15, atol=0)
    np.testing.assert_allclose(bonkl.renyi_bound(n, 1.0 + 1e-9), bonkl.kl_bon(n), rtol=1e-8, atol=0)
    np.testing.assert_allclose(bonkl.renyi_bound(n, math.inf), np.log(n), rtol=1e-15, atol=0)
    np.testing.assert_allclose(bonkl.renyi_bound(n, 1e12), np.log(n), rtol=1e-9, atol=1e-300)
    assert bonkl.tv_bound(1.0) == 0.0 and bonkl.chi2_bound(1.0) == 0.0
    assert bonkl.tv_bound(1e6) == pytest.approx(1.0, abs=2e-5)


@pytest.mark.parametrize("n", [2.0, 8.0, 32.0])
def test_bounds_are_attained_by_a_nearly_continuous_reward(n):
    """A uniform model with 10^6 outcomes is continuous to within O(n/L)."""
    p = np.full(1_000_000, 1e-6)
    for alpha in (0.5, 2.0, math.inf):
        assert bonkl.renyi_divergence_bon(p, n, alpha) == pytest.approx(bonkl.renyi_bound(n, alpha), rel=1e-4)
    assert bonkl.chi2_divergence_bon(p, n) == pytest.approx(bonkl.chi2_bound(n), rel=1e-4)
    assert bonkl.tv_distance_bon(p, n) == pytest.approx(bonkl.tv_bound(n), rel=1e-4)


def test_example_1_closed_forms():
    """Two equiprobable outcomes: pi_n = (2^-n, 1 - 2^-n); w = (2^(1-n), 2 - 2^(1-n))."""
    n = np.array([1.0, 2.0, 5.0, 30.0])
    low = 2.0 ** (1 - n)
    np.testing.assert_allclose(bonkl.tv_distance_bon([0.5, 0.5], n), 0.5 - 2.0**-n, rtol=1e-14)
    np.testing.assert_allclose(bonkl.chi2_divergence_bon([0.5, 0.5], n), (1 - low) ** 2, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(
        bonkl.renyi_divergence_bon([0.5, 0.5], n, math.inf), np.log(2 - low), rtol=1e-14, atol=1e-300
    )


alphas = st.one_of(st.floats(0.01, 50.0), st.sampled_from([1.0, math.inf, 1.0 - 1e-7, 1.0 + 1e-7]))


@property_settings(300)
@given(p=pmfs(max_size=30), n=sample_sizes, alpha=alphas)
def test_exact_divergences_never_exceed_their_bounds(p, n, alpha):
    assert bonkl.renyi_divergence_bon(p, n, alpha) <= bonkl.renyi_bound(n, alpha) + SLACK
    assert bonkl.chi2_divergence_bon(p, n) <= bonkl.chi2_bound(n) * (1 + 1e-12) + SLACK
    assert bonkl.tv_distance_bon(p, n) <= bonkl.tv_bound(n) + SLACK


@property_settings(200)
@given(p=pmfs(max_size=30), n=sample_sizes, a=st.floats(0.01, 20.0), b=st.floats(0.01, 20.0))
def test_renyi_is_non_decreasing_in_alpha(p, n, a, b):
    low, high = sorted((a, b))
    d_low, d_high, d_inf = (bonkl.renyi_divergence_bon(p, n, x) for x in (low, high, math.inf))
    assert d_low <= d_high * (1 + 1e-10) + SLACK
    assert d_high <= d_inf * (1 + 1e-10) + SLACK
    assert bonkl.renyi_bound(n, low) <= bonkl.renyi_bound(n, high) * (1 + 1e-12) + SLACK


@property_settings(200)
@given(p=pmfs(max_size=30), n=sample_sizes, side=st.sampled_from([-1.0, 1.0]), step=st.floats(-12.0, -4.0))
def test_renyi_tends_to_kl_exact_as_alpha_tends_to_1(p, n, side, step):
    kl = bonkl.kl_exact(p, n)
    assert bonkl.renyi_divergence_bon(p, n, 1.0) == pytest.approx(kl, rel=1e-12, abs=1e-15)
    near = bonkl.renyi_divergence_bon(p, n, 1.0 + side * 10.0**step)
    # |d D_alpha / d alpha| at 1 is at most Var(log w)/2 <= log(n)^2 ... keep a generous 10 (1 + log n)^2
    assert near == pytest.approx(kl, rel=1e-8, abs=10.0**step * 10 * (1 + math.log(n)) ** 2 + 1e-15)


@property_settings(200)
@given(p=ordinary_pmfs(max_size=30), n=sample_sizes)
def test_chi2_is_expm1_of_renyi_2_and_tv_satisfies_pinsker(p, n):
    chi2 = bonkl.chi2_divergence_bon(p, n)
    assert chi2 == pytest.approx(math.expm1(bonkl.renyi_divergence_bon(p, n, 2.0)), rel=1e-9, abs=1e-15)
    tv = bonkl.tv_distance_bon(p, n)
    assert tv <= math.sqrt(bonkl.kl_exact(p, n) / 2) + SLACK
    assert 0.0 <= tv <= 1.0


@pytest.mark.parametrize("alpha", [0.0, -1.0, math.nan, -math.inf])
def test_bad_order_is_one_clear_error(alpha):
    with pytest.raises(ValueError, match="alpha must be a real number > 0 or inf"):
        bonkl.renyi_divergence_bon([0.5, 0.5], 2, alpha)
    with pytest.raises(ValueError, match="alpha"):
        bonkl.renyi_bound(2, alpha)


def test_bad_n_and_masses_are_rejected():
    with pytest.raises(ValueError, match="n must be"):
        bonkl.chi2_divergence_bon([0.5, 0.5], 0.5)
    with pytest.raises(ValueError, match="sum to 1"):
        bonkl.tv_distance_bon([0.5, 0.6], 2)
    with pytest.raises(ValueError, match="n must be"):
        bonkl.tv_bound(math.nan)


def test_claims_rows_hold_and_catch_a_broken_bound(monkeypatch):
    from bonkl import claims

    labels = [claim.label for claim in claims.CLAIMS if "Mroueh" in claim.name]
    table = claims.run_claims(40, seed=3, mc_draws=1000, workers=1).set_index("claim")
    assert (table.loc[labels, "violations"] == 0).all() and (table.loc[labels, "cases"] > 0).all()
    for name in ("renyi_bound", "chi2_bound", "tv_bound"):
        honest = getattr(bonkl, name)
        monkeypatch.setattr(bonkl, name, lambda *args, honest=honest: 0.99 * honest(*args))
    broken = claims.run_claims(10, seed=3, mc_draws=1000, workers=1).set_index("claim")
    assert (broken.loc[labels, "violations"] > 0).all(), broken.loc[labels].to_string()
