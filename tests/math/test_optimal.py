"""The KL-regularised, win-rate-optimal policy ``pi_beta`` (Section 7, eq. 1-2 with the calibrated reward)."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mpref import (
    HARD_PMFS,
    assert_close,
    digits_for,
    mp_masses,
    ordinary_pmfs,
    pmfs,
    property_settings,
    ref_kl_divergence,
    ref_optimal_policy,
    reference,
)
from scipy.optimize import brentq

import bonkl

BETAS = [1e-4, 1e-2, 0.1, 1.0, 10.0, 1e3, 1e12]
betas = st.floats(-6.0, 6.0).map(lambda e: float(10.0**e))


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_optimal_policy_matches_mpmath(name, beta):
    p = HARD_PMFS[name]
    ref = reference(ref_optimal_policy, p, beta, dps=digits_for(p))
    assert_close(bonkl.optimal_policy(p, beta), ref, what=f"pi_beta({name}, {beta})")


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
def test_optimal_policy_vectorised_over_beta(name):
    p = HARD_PMFS[name]
    grid = bonkl.optimal_policy(p, np.array(BETAS))
    assert grid.shape == (len(BETAS), p.size)
    for row, beta in zip(grid, BETAS):
        np.testing.assert_allclose(row, bonkl.optimal_policy(p, beta), rtol=1e-14, atol=0)


@property_settings(200)
@given(p=pmfs(max_size=40), beta=betas)
def test_optimal_policy_is_a_pmf(p, beta):
    policy = bonkl.optimal_policy(p, beta)
    assert policy.shape == p.shape  # a scalar beta gives one PMF
    assert np.all(np.isfinite(policy)) and np.all(policy >= 0)
    assert abs(policy.sum() - 1.0) <= 1e-12


@property_settings(100)
@given(p=pmfs(max_size=30))
def test_optimal_policy_large_beta_is_the_reference(p):
    """``beta -> infinity``: no reward, ``pi_beta -> pi`` (``|pi_beta/pi - 1| <= 1/beta``)."""
    np.testing.assert_allclose(bonkl.optimal_policy(p, 1e12), p, rtol=1e-11, atol=0)


@property_settings(100)
@given(p=ordinary_pmfs(min_size=2, max_size=30))
def test_optimal_policy_small_beta_puts_all_mass_on_the_top_outcome(p):
    """``beta -> 0``: all mass on the highest-reward outcome (here ``C_L - C_{L-1} >= 4e-5``)."""
    policy = bonkl.optimal_policy(p, 1e-8)
    assert policy[-1] == pytest.approx(1.0, abs=1e-12)


def test_optimal_policy_keeps_zero_mass_outcomes_at_zero():
    p = np.array([0.0, 0.3, 0.0, 0.7, 0.0])
    for beta in BETAS:
        policy = bonkl.optimal_policy(p, beta)
        assert np.all(policy[p == 0] == 0)
        assert policy.sum() == pytest.approx(1.0, abs=1e-14)


@property_settings(150)
@given(p=ordinary_pmfs(min_size=2, max_size=20), beta=betas, factor=st.floats(1.0 + 1e-3, 1e3))
def test_optimal_policy_kl_and_win_rate_decrease_with_beta(p, beta, factor):
    sharp, soft = bonkl.optimal_policy(p, np.array([beta, beta * factor]))
    assert bonkl.kl_divergence(soft, p) <= bonkl.kl_divergence(sharp, p) + 1e-14
    assert bonkl.win_rate(soft, p) <= bonkl.win_rate(sharp, p) + 1e-14


def objective(rho, p, beta):
    """``E_rho[C] - beta KL(rho || pi)``, eq. 1 with the calibrated reward."""
    return bonkl.win_rate(rho, p) - beta * bonkl.kl_divergence(rho, p)


@property_settings(150)
@given(p=ordinary_pmfs(min_size=2, max_size=20), beta=betas, data=st.data())
def test_optimal_policy_maximises_the_regularised_objective(p, beta, data):
    """Gibbs' variational principle: no policy beats ``pi_beta`` on ``E[C] - beta KL``; in particular
    not best-of-n, rewind-and-repeat, or an arbitrary policy."""
    best = objective(bonkl.optimal_policy(p, beta), p, beta)
    n = data.draw(st.floats(1.0, 1e4), label="n")
    q = data.draw(st.floats(0.0, 0.999), label="q")
    weights = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=p.size, max_size=p.size), label="rho"))
    rivals = [bonkl.bon_pmf(p, n), bonkl.rr_pmf(p, q), p]
    if weights.sum() > 0:
        rivals.append(weights / weights.sum())
    tolerance = 1e-12 * (1 + beta)
    for rho in rivals:
        assert objective(rho, p, beta) <= best + tolerance


def beta_at_kl(p, target):
    """The ``beta`` with ``KL(pi_beta || pi) = target`` (the KL decreases in ``beta``), or None past the top."""

    def excess(log_beta):
        return bonkl.kl_divergence(bonkl.optimal_policy(p, np.exp(log_beta)), p) - target

    if excess(-600.0) <= 0:
        return None
    if excess(60.0) >= 0:  # target ~ 0 (n = 1): pi_beta for beta = e^60 is the reference itself
        return np.exp(60.0)
    return np.exp(brentq(excess, -600.0, 60.0, xtol=1e-13, rtol=1e-15))


@property_settings(100)
@given(p=ordinary_pmfs(min_size=2, max_size=12), n=st.floats(1.0, 50.0))
def test_optimal_tradeoff_dominates_best_of_n_at_equal_kl(p, n):
    """Checked first numerically (300 random models, no violation beyond 2e-15), then asserted:
    at the KL of best-of-n, ``pi_beta`` wins at least as often (it solves max E[C] s.t. KL <= D)."""
    target = bonkl.kl_exact(p, n)
    win_bon = bonkl.bon_win_rate(p, n)
    beta = beta_at_kl(p, target)
    if beta is None:  # target at the point-mass KL log(1/eps_inf): the top outcome alone
        assert win_bon <= 1 - p[-1] / 2 + 1e-12
        return
    assert bonkl.win_rate(bonkl.optimal_policy(p, beta), p) >= win_bon - 1e-10


@property_settings(100)
@given(p=ordinary_pmfs(min_size=2, max_size=12), data=st.data())
def test_optimal_tradeoff_dominates_rewind_repeat_at_equal_kl(p, data):
    j = data.draw(st.integers(1, p.size - 1))
    p_tau = p[j:].sum()
    beta = beta_at_kl(p, -np.log(p_tau))
    if beta is None:
        return
    assert bonkl.win_rate(bonkl.optimal_policy(p, beta), p) >= 1 - p_tau / 2 - 1e-10


@property_settings(100)
@given(p=pmfs(max_size=20), data=st.data())
def test_kl_divergence_matches_mpmath(p, data):
    weights = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=p.size, max_size=p.size)))
    if weights.sum() == 0:
        weights[0] = 1.0
    rho = weights / weights.sum()

    def ref(rho, p):
        return ref_kl_divergence([mp.mpf(float(r)) for r in rho], mp_masses(p))

    assert_close(bonkl.kl_divergence(rho, p), reference(ref, rho, p, dps=digits_for(p)), what="KL(rho || p)")
