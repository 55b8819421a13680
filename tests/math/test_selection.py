"""Best-of-Poisson and soft best-of-n against independent computations.

Best-of-Poisson: the Poisson mixture of Lemma 2.3 summed in mpmath, and the rule simulated.
Soft best-of-n: every n-tuple of outcomes enumerated (the rule's definition, in mpmath), and the
rule simulated; limits lam -> 0 (best-of-n) and lam -> inf (the reference).
"""

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mpref import HARD_PMFS, assert_close, digits_for, mp_cdf, mp_masses, pmfs, property_settings, reference
from scipy import stats

import bonkl

P_VALUE_FLOOR = 1e-4
DRAWS = 100_000
SMALL = {
    "binary": np.array([0.5, 0.5]),
    "three": np.array([0.6, 0.3, 0.1]),
    "top_light": np.array([0.45, 0.3, 0.2, 0.05]),
    "with_tiny": np.array([0.3, 1e-12, 0.4, 0.3 - 1e-12]),
}


def ref_bop_pmf(p, mu):
    """``sum_k Poisson(k; mu) (F^(k+1) - F^-^(k+1))``, summed until the Poisson tail is below 1e-60."""
    mu = mp.mpf(float(mu))
    head, below = mp_cdf(mp_masses(p))
    out = [mp.mpf(0)] * len(head)
    k, weight = 0, mp.exp(-mu)
    while True:
        for i, (f, fm) in enumerate(zip(head, below)):
            out[i] += weight * (f ** (k + 1) - fm ** (k + 1))
        k += 1
        weight *= mu / k
        if k > mu and weight < mp.mpf("1e-60"):
            return out


@pytest.mark.parametrize("name", ["binary", "tiny_top", "tiny_bottom", "heavy_top", "light_top", "top_1e-12"])
@pytest.mark.parametrize("mu", [0.0, 1e-9, 0.5, 3.0, 40.0])
def test_bop_pmf_is_the_poisson_mixture_of_best_of_n(name, mu):
    p = HARD_PMFS[name]
    ref = reference(ref_bop_pmf, p, mu, dps=digits_for(p, 1 + mu))
    assert_close(bonkl.bop_pmf(p, mu), ref, what=f"BoP {name} mu={mu}")


def test_bop_pmf_large_mu_and_shapes():
    p = HARD_PMFS["dirichlet_40"]
    mus = np.array([0.0, 1.0, 1e3, 1e6])
    got = bonkl.bop_pmf(p, mus)
    assert got.shape == (4, p.size)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-13)
    np.testing.assert_allclose(got[0], p, rtol=1e-14, atol=0)
    # for huge mu, N = 1 + Poisson(mu) concentrates at mu: close to best-of-(1 + mu)
    np.testing.assert_allclose(got[3], bonkl.bon_pmf(p, 1 + 1e6), atol=1e-3)


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("mu", [0.7, 6.0])
def test_bop_simulated(name, mu):
    p = SMALL[name]
    rng = np.random.default_rng([11, int(mu * 10)])
    sizes = 1 + rng.poisson(mu, size=DRAWS)
    u = rng.random(DRAWS) ** (1.0 / sizes)  # max of N uniforms
    outcome = np.minimum(np.searchsorted(np.cumsum(p), u, side="right"), p.size - 1)
    expected = bonkl.bop_pmf(p, mu) * DRAWS
    seen = expected > 5
    observed = np.bincount(outcome, minlength=p.size)
    assert np.all(observed[~seen] <= 5)
    stat = stats.chisquare(observed[seen], expected[seen] * observed[seen].sum() / expected[seen].sum())
    assert stat.pvalue > P_VALUE_FLOOR


def ref_soft_bon_enumerated(p, reward, n, lam):
    """Soft best-of-n by its definition: every n-tuple, each draw kept with prob ``exp(r/lam)/sum``."""
    masses = mp_masses(p)
    weights = [mp.exp((mp.mpf(float(r)) - mp.mpf(float(max(reward)))) / mp.mpf(float(lam))) for r in reward]
    out = [mp.mpf(0)] * len(masses)
    for draws in itertools.product(range(len(masses)), repeat=n):
        probability = mp.fprod(masses[j] for j in draws)
        total = mp.fsum(weights[j] for j in draws)
        for j in draws:
            out[j] += probability * weights[j] / total
    return out


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("lam", [0.02, 0.3, 1.0, 30.0])
def test_soft_bon_pmf_matches_enumeration(name, n, lam):
    p = SMALL[name]
    reward = np.linspace(0.0, 1.0, p.size) ** 1.5
    ref = reference(ref_soft_bon_enumerated, p, reward, n, lam, dps=30)
    assert_close(
        bonkl.soft_bon_pmf(p, reward, n, lam), ref, rtol=1e-11, atol=1e-14, what=f"soft BoN {name} n={n} lam={lam}"
    )


@pytest.mark.parametrize("n,lam", [(16, 0.1), (64, 0.03), (7, 2.0)])
def test_soft_bon_simulated(n, lam):
    p = np.random.default_rng(3).dirichlet(np.ones(6))
    reward = np.sort(np.random.default_rng(4).random(6))
    rng = np.random.default_rng([5, n])
    draws = rng.choice(p.size, size=(DRAWS, n), p=p)
    logits = reward[draws] / lam
    gumbel = logits - np.log(-np.log(rng.random((DRAWS, n))))  # Gumbel-max = softmax choice
    outcome = draws[np.arange(DRAWS), gumbel.argmax(axis=1)]
    observed = np.bincount(outcome, minlength=p.size)
    expected = bonkl.soft_bon_pmf(p, reward, n, lam) * DRAWS
    assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > P_VALUE_FLOOR


@pytest.mark.parametrize("name", sorted(HARD_PMFS))
@pytest.mark.parametrize("n", [1.0, 1.5, 2.0, 16.0, 1e4, 1e6])
def test_soft_bon_tends_to_best_of_n_and_to_the_reference(name, n):
    p = HARD_PMFS[name]
    reward = np.arange(p.size, dtype=np.float64)
    assert_close(
        bonkl.soft_bon_pmf(p, reward, n, 1e-6),
        bonkl.bon_pmf(p, n),
        rtol=1e-11,
        atol=1e-13,
        what=f"lam -> 0 {name} n={n}",
    )
    np.testing.assert_allclose(bonkl.soft_bon_pmf(p, reward, n, 1e12), p, rtol=1e-6 * n, atol=1e-13)


@property_settings(60)
@given(
    p=pmfs(max_size=12),
    n=st.floats(1.0, 1e4),
    lam=st.floats(-4.0, 3.0).map(lambda e: 10.0**e),
    seed=st.integers(0, 100),
)
def test_soft_bon_is_a_pmf_between_the_reference_and_best_of_n(p, n, lam, seed):
    reward = np.cumsum(np.random.default_rng(seed).random(p.size) + 1e-3)
    rho = bonkl.soft_bon_pmf(p, reward, n, lam)
    assert np.all(rho >= 0)
    assert rho.sum() == pytest.approx(1.0, abs=1e-12)
    # selection favours higher rewards: win rate between the reference's 1/2 and best-of-n's
    win = bonkl.win_rate(rho, p)
    assert 0.5 - 1e-12 <= win <= bonkl.bon_win_rate(p, n) + 1e-12


@property_settings(60)
@given(p=pmfs(max_size=20), mu=st.floats(0.0, 1e5))
def test_bop_is_a_pmf(p, mu):
    rho = bonkl.bop_pmf(p, mu)
    assert np.all(rho >= 0)
    assert rho.sum() == pytest.approx(1.0, abs=1e-12)


def test_bad_inputs_are_one_clear_error():
    p = [0.5, 0.5]
    with pytest.raises(ValueError, match="mu must be"):
        bonkl.bop_pmf(p, -1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        bonkl.soft_bon_pmf(p, [1.0, 1.0], 2, 0.1)
    with pytest.raises(ValueError, match="one value per mass"):
        bonkl.soft_bon_pmf(p, [1.0, 2.0, 3.0], 2, 0.1)
    with pytest.raises(ValueError, match="lam must be"):
        bonkl.soft_bon_pmf(p, [0.0, 1.0], 2, 0.0)
    with pytest.raises(ValueError, match="n must be"):
        bonkl.soft_bon_pmf(p, [0.0, 1.0], 0.5, 1.0)
    assert math.isclose(bonkl.soft_bon_pmf(p, [0.0, 1.0], 1, 0.1)[1], 0.5)
