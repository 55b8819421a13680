"""Worked examples: Example 1 (eq. 5) and Example 3 (Figure 9), against mpmath and discrete limits."""

import mpmath as mp
import numpy as np
import pytest
from mpref import HARD_NS, assert_close, reference

import bonkl

# --- Example 1 -----------------------------------------------------------------------------------


def ref_example1(n):
    """Eq. 5: ``log 2 - h(2^-n)`` and the win rate ``2^-n/4 + (1 - 2^-n) 3/4`` (Lemma 5.2)."""
    x = mp.mpf(2) ** -mp.mpf(float(n))
    entropy = -x * mp.log(x) - (1 - x) * mp.log(1 - x)
    return [mp.log(2) - entropy, x / 4 + (1 - x) * 3 / 4]


EXAMPLE_1_NS = HARD_NS + [3.0, 30.0, 60.0, 1100.0]


@pytest.mark.parametrize("n", EXAMPLE_1_NS)
def test_example_1_closed_forms_match_mpmath(n):
    kl, win = reference(ref_example1, n)
    assert_close(bonkl.example1_kl(n), kl, what=f"example1_kl({n})")
    assert_close(bonkl.example1_win_rate(n), win, what=f"example1_win_rate({n})")


@pytest.mark.parametrize("n", EXAMPLE_1_NS)
def test_example_1_eq_5_is_kl_exact_on_two_equal_masses(n):
    kl, win = reference(ref_example1, n)
    assert_close(bonkl.kl_exact([0.5, 0.5], n), kl, what=f"kl_exact([1/2, 1/2], {n})")
    assert_close(bonkl.bon_win_rate([0.5, 0.5], n), win, what=f"bon_win_rate([1/2, 1/2], {n})")


def test_example_1_bounded_by_log_2_and_three_quarters():
    """Figure 6: the KL stays below ``log 2`` (while eq. 4 grows like ``log n``) and the win rate below 3/4;
    both limits are reached as ``n -> infinity``."""
    ns = np.geomspace(1, 1e6, 61)
    kl = bonkl.example1_kl(ns)
    win = bonkl.example1_win_rate(ns)
    assert np.all(kl <= np.log(2)) and np.all(np.diff(kl) >= 0)
    assert np.all(win <= 0.75) and np.all(np.diff(win) >= 0)
    assert kl[-1] == np.log(2) and win[-1] == 0.75
    assert np.all(bonkl.kl_bon(ns[ns > 2]) > kl[ns > 2])
    assert bonkl.kl_bon(1e6) > 12


# --- Example 3: closed forms against integrals of the densities ----------------------------------


def quad_on_unit_interval(integrand, scale):
    """``int_0^1`` with breakpoints packed geometrically towards 1 at the density's width ``scale``."""
    points = [mp.mpf(0)]
    width = mp.mpf(scale)
    edges = []
    while width < 1:
        edges.append(1 - width)
        width *= 4
    points += sorted(edges) + [mp.mpf(1)]
    value, error = mp.quad(integrand, points, error=True)
    assert error <= mp.mpf("1e-30") * (1 + abs(value)), f"quadrature did not converge ({error})"
    return value


def ref_example3_bon(n):
    """Density ``n u^(n-1)`` of the winner's quantile: KL ``int d log d``, win rate ``int u d``."""
    n = mp.mpf(float(n))

    def density(u):
        return n * u ** (n - 1)

    kl = quad_on_unit_interval(lambda u: density(u) * mp.log(density(u)) if u > 0 else mp.mpf(0), 1 / n)
    win = quad_on_unit_interval(lambda u: u * density(u), 1 / n)
    return [kl, win]


@pytest.mark.parametrize("n", [1.0, 1.0 + 1e-9, 1.5, 2.0, 10.0, 1e3, 1e4, 1e6])
def test_example_3_best_of_n_closed_form_matches_integral(n):
    kl, win = reference(ref_example3_bon, n, dps=40)
    assert_close(bonkl.example3_bon(n), [kl, win], what=f"example3_bon({n})")


def ref_example3_rr(p):
    """Density ``1/p`` on ``[1-p, 1]``."""
    p = mp.mpf(p)
    kl = mp.quad(lambda u: mp.log(1 / p) / p, [1 - p, 1])
    win = mp.quad(lambda u: u / p, [1 - p, 1])
    return [kl, win]


@pytest.mark.parametrize("p", [1e-12, 1e-3, 0.1, 0.5, 0.9, 1.0])
def test_example_3_rewind_repeat_closed_form_matches_integral(p):
    kl, win = reference(ref_example3_rr, p, dps=40)
    assert_close(bonkl.example3_rr(p), [kl, win], what=f"example3_rr({p})")


def ref_example3_optimal(beta):
    """Density ``lam e^(lam u)/(e^lam - 1)``, ``lam = 1/beta``, integrated."""
    lam = 1 / mp.mpf(float(beta))
    norm = lam / -mp.expm1(-lam)  # lam / (1 - e^-lam), so density = norm e^(lam (u - 1))

    def density(u):
        return norm * mp.exp(lam * (u - 1))

    scale = min(mp.mpf(1) / 2, 1 / lam)
    kl = quad_on_unit_interval(lambda u: density(u) * mp.log(density(u)), scale)
    win = quad_on_unit_interval(lambda u: u * density(u), scale)
    return [kl, win]


BETAS = [1e-3, 1e-2, 0.1, 1.0, 10.0, 99.9, 100.0, 100.1, 1e3, 1e6]


@pytest.mark.parametrize("beta", BETAS)
def test_example_3_optimal_closed_form_matches_integral(beta):
    kl, win = reference(ref_example3_optimal, beta, dps=40)
    assert_close(bonkl.example3_optimal(beta), [kl, win], what=f"example3_optimal({beta})")


def ref_example3_optimal_formula(beta):
    """docs/MATH.md's closed form, literally, for tilts too sharp to integrate numerically."""
    lam = 1 / mp.mpf(float(beta))
    win = 1 / (1 - mp.exp(-lam)) - 1 / lam
    return [mp.log(lam / (mp.exp(lam) - 1)) + lam * win, win]


@pytest.mark.parametrize(
    "beta",
    [
        1e-5,
        1e-20,
        1e-60,
        1e-300,
    ],
)
def test_example_3_optimal_closed_form_for_sharp_tilts(beta):
    # e^lam cancels against lam * winrate: about log10(lam) extra digits
    kl, win = reference(ref_example3_optimal_formula, beta, dps=60 + int(np.log10(1 / beta)))
    assert_close(bonkl.example3_optimal(beta), [kl, win], what=f"example3_optimal({beta})")


def test_example_3_optimal_vectorised():
    betas = np.array(BETAS)
    kl, win = bonkl.example3_optimal(betas)
    assert kl.shape == win.shape == betas.shape
    for b, k, w in zip(betas, kl, win):
        assert (k, w) == pytest.approx(bonkl.example3_optimal(b), rel=1e-15)


# --- Example 3 as the limit of discrete models with many tiny equal masses -----------------------


def uniform(size):
    return np.full(size, 1.0 / size)


def discrete_errors(function):
    """``|discrete - closed form|`` on uniform models of 10^4 and 10^5 outcomes."""
    return [function(uniform(size)) for size in (10**4, 10**5)]


def assert_second_order_limit(errors, what, factor=30):
    """The discrete value approaches the closed form like ``1/L^2``: 100-fold from 10^4 to 10^5
    outcomes (``factor``-fold asked, allowing for rounding near 1e-14), and is small at 10^5."""
    coarse, fine = errors
    assert fine <= max(coarse / factor, 1e-13), f"{what}: {coarse} -> {fine}"
    assert fine <= 1e-7, f"{what}: {fine}"


@pytest.mark.parametrize("n", [2.0, 10.0, 100.0])
def test_example_3_best_of_n_is_limit_of_discrete_models(n):
    kl_bon, win = bonkl.example3_bon(n)
    errors = discrete_errors(lambda p: abs(bonkl.kl_exact(p, n) - kl_bon))
    # the bottom outcome's x log x makes the KL error O(log L / L^2) at small n: ask 20-fold
    assert_second_order_limit(errors, f"KL, n={n}", factor=20)
    errors = discrete_errors(lambda p: abs(bonkl.bon_win_rate(p, n) - win))
    assert_second_order_limit(errors, f"win rate, n={n}")


@pytest.mark.parametrize("p_tau", [0.5, 0.1, 0.01])
def test_example_3_rewind_repeat_is_limit_of_discrete_models(p_tau):
    """At a threshold on an outcome boundary the discrete values equal the closed forms (Lemma 6.2)."""
    kl, win = bonkl.example3_rr(p_tau)
    p = uniform(10**5)
    rr = bonkl.rr_pmf(p, 1.0 - p_tau)
    assert bonkl.kl_divergence(rr, p) == pytest.approx(kl, rel=1e-9)
    assert bonkl.win_rate(rr, p) == pytest.approx(win, rel=1e-12)


@pytest.mark.parametrize("beta", [0.01, 0.1, 1.0, 10.0])
def test_example_3_optimal_is_limit_of_discrete_models(beta):
    kl, win = bonkl.example3_optimal(beta)
    errors = discrete_errors(lambda p: abs(bonkl.kl_divergence(bonkl.optimal_policy(p, beta), p) - kl))
    assert_second_order_limit(errors, f"KL, beta={beta}")
    errors = discrete_errors(lambda p: abs(bonkl.win_rate(bonkl.optimal_policy(p, beta), p) - win))
    assert_second_order_limit(errors, f"win rate, beta={beta}")
