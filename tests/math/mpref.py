"""Shared pieces of the mathematics suite: tolerances, hypothesis strategies, mpmath references.

(A plain module rather than conftest.py, so that test modules import it by a name no other
directory's conftest.py can shadow; conftest.py puts this directory on ``sys.path``.)

Every reference below is written straight from docs/MATH.md in mpmath, with plain
powers and differences, and shares no code with ``bonkl``. The working precision is chosen per
call from the data (:func:`digits_for`) and every reference is evaluated twice, at that precision
and 30 digits above it; the two must agree, so a reference that lost its digits fails loudly
instead of passing a wrong value through.
"""

from __future__ import annotations

import math
import os

import mpmath as mp
import numpy as np
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

# The suite's agreement rule: |got - ref| <= RTOL |ref| + ATOL.
RTOL = 1e-10
ATOL = 1e-12
BASE_DPS = 50

# ---------------------------------------------------------------------------------------------
# Comparison helpers


def assert_close(got, ref, *, rtol=RTOL, atol=ATOL, what=""):
    """``|got - ref| <= rtol |ref| + atol`` elementwise; ``ref`` may hold mpmath numbers.

    The difference is taken in mpmath, so a float64 rounding of ``ref`` does not enter.
    """
    got_arr = np.asarray(got, dtype=np.float64)
    ref_list = list(np.ravel(np.asarray(ref, dtype=object)))
    got_list = list(got_arr.ravel())
    assert len(got_list) == len(ref_list), f"{what}: {len(got_list)} values against {len(ref_list)} references"
    with mp.workdps(60):
        for index, (g, r) in enumerate(zip(got_list, ref_list)):
            assert math.isfinite(g), f"{what}[{index}]: got {g!r}, reference {mp.nstr(r, 20)}"
            r = mp.mpf(r)
            error = abs(mp.mpf(float(g)) - r)
            bound = rtol * abs(r) + atol
            assert error <= bound, (
                f"{what}[{index}]: got {g!r}, reference {mp.nstr(r, 25)}, "
                f"error {mp.nstr(error, 3)} > {mp.nstr(bound, 3)}"
            )


def reference(function, *args, dps=BASE_DPS):
    """``function(*args)`` at ``dps`` digits, checked against the same at ``dps + 30``.

    Returns the higher-precision value(s) (an mpf or a list of mpfs). Raises if the two
    evaluations differ by more than 1e-25 relative (1e-40 absolute): the reference itself would
    then be unreliable, and that is a defect of the test, not of ``bonkl``.
    """
    with mp.workdps(dps):
        low = function(*args)
    with mp.workdps(dps + 30):
        high = function(*args)
    low_list = low if isinstance(low, (list, tuple)) else [low]
    high_list = high if isinstance(high, (list, tuple)) else [high]
    with mp.workdps(dps + 30):
        for a, b in zip(low_list, high_list):
            assert abs(a - b) <= mp.mpf("1e-25") * abs(b) + mp.mpf("1e-40"), (
                f"reference not converged at {dps} digits: {mp.nstr(a, 30)} vs {mp.nstr(b, 30)}"
            )
    return high


def digits_for(p=None, n=1.0, eps=None):
    """Working digits for a reference: 50, plus what tiny masses and huge ``n`` cancel.

    ``F^n - (F - p)^n`` loses about ``log10(F/p) + log10(n)`` digits when formed directly, and
    ``1 - eps`` keeps ``eps`` only with ``log10(1/eps)`` more digits.
    """
    tiny = 1.0
    if p is not None:
        positive = np.asarray(p, dtype=np.float64)
        positive = positive[positive > 0]
        tiny = min(tiny, float(positive.min()))
    if eps is not None:
        tiny = min(tiny, float(np.min(eps)))
    n_max = float(np.max(n))
    return BASE_DPS + int(math.ceil(-math.log10(tiny))) + int(math.ceil(math.log10(n_max))) + 10


# ---------------------------------------------------------------------------------------------
# mpmath references, written from docs/MATH.md (inputs are float64 values, taken exactly)


def mp_masses(p):
    """The float masses, exactly, normalised by their exact sum (bonkl renormalises as well)."""
    masses = [mp.mpf(float(x)) for x in p]
    total = mp.fsum(masses)
    return [m / total for m in masses]


def mp_cdf(masses):
    """``(F(y_i), F^-(y_i))`` by exact running sums (eq. 7-8)."""
    head, below, running = [], [], mp.mpf(0)
    for m in masses:
        below.append(running)
        running = running + m
        head.append(running)
    return head, below


def ref_bon_pmf(p, n):
    """Lemma 2.3: ``F^n - (F^-)^n`` with plain powers."""
    n = mp.mpf(float(n))
    head, below = mp_cdf(mp_masses(p))
    return [f**n - fm**n for f, fm in zip(head, below)]


def ref_kl_exact(p, n):
    """``KL(pi_n || pi) = sum pi_n log(pi_n / pi)`` with ``0 log 0 = 0``."""
    masses = mp_masses(p)
    pin = ref_bon_pmf(p, n)
    return mp.fsum(q * mp.log(q / m) for q, m in zip(pin, masses) if q > 0)


def ref_kl_bon(n):
    """Eq. 4."""
    n = mp.mpf(float(n))
    return mp.log(n) - (n - 1) / n


def ref_kl_estimator(eps, n):
    """Eq. 25, literally: ``a (log n - (n-1)/n + (n-1) log(1-eps)) + (1-a) log((1-a)/eps)``."""
    eps, n = mp.mpf(float(eps)), mp.mpf(float(n))
    a = (1 - eps) ** n
    continuum = 0 if a == 0 else a * (mp.log(n) - (n - 1) / n + (n - 1) * mp.log(1 - eps))
    return continuum + (1 - a) * mp.log((1 - a) / eps)


def ref_kl_alternate(eps, n):
    """Eq. 23."""
    eps, n = mp.mpf(float(eps)), mp.mpf(float(n))
    return mp.log((1 - (1 - eps) ** n) / eps)


def ref_kl_log_ratio(eps, cdf, n):
    """Corollary 4.2's log ratio ``log((F^n - (F - eps)^n) / eps)``."""
    eps, cdf, n = mp.mpf(float(eps)), mp.mpf(float(cdf)), mp.mpf(float(n))
    return mp.log((cdf**n - (cdf - eps) ** n) / eps)


def ref_bon_win_rate(p, n):
    """Lemma 5.2: ``sum_i (F_i^n - F_{i-1}^n)(F_i + F_{i-1})/2``."""
    n = mp.mpf(float(n))
    head, below = mp_cdf(mp_masses(p))
    return mp.fsum((f**n - fm**n) * (f + fm) / 2 for f, fm in zip(head, below))


def ref_calibrated_reward(p):
    """Eq. 30: ``C = F^- + pi/2``."""
    masses = mp_masses(p)
    _, below = mp_cdf(masses)
    return [fm + m / 2 for fm, m in zip(below, masses)]


def ref_win_rate(rho, p):
    """Eq. 28-29 by the definition, a double sum over (y, z) with win 1, 1/2, 0 (not via C)."""
    rho_m, p_m = mp_masses(rho), mp_masses(p)
    total = mp.mpf(0)
    for i, r in enumerate(rho_m):
        for j, q in enumerate(p_m):
            win = 1 if i > j else (mp.mpf(1) / 2 if i == j else 0)
            total += r * q * win
    return total


def ref_rr_pmf(p, q):
    """Section 6, continuous threshold: ``max(0, F_i - max(F_{i-1}, q)) / (1 - q)``."""
    q = mp.mpf(float(q))
    head, below = mp_cdf(mp_masses(p))
    return [max(mp.mpf(0), f - max(fm, q)) / (1 - q) for f, fm in zip(head, below)]


def ref_kl_divergence(rho_masses, p_masses):
    """``sum rho log(rho/p)`` for mpmath mass lists."""
    return mp.fsum(r * mp.log(r / q) for r, q in zip(rho_masses, p_masses) if r > 0)


def ref_optimal_policy(p, beta):
    """``pi(y) exp(C(y)/beta)``, normalised."""
    masses = mp_masses(p)
    calibrated = ref_calibrated_reward(p)
    beta = mp.mpf(float(beta))
    unnormalised = [m * mp.exp(c / beta) for m, c in zip(masses, calibrated)]
    total = mp.fsum(unnormalised)
    return [u / total for u in unnormalised]


def ref_antiderivative(u, n):
    """Lemma A.2: ``G(u) = u^n (log n - (n-1)/n + (n-1) log u)``, ``G(0) = 0``."""
    u, n = mp.mpf(u), mp.mpf(float(n))
    if u == 0:
        return mp.mpf(0)
    return u**n * (mp.log(n) - (n - 1) / n + (n - 1) * mp.log(u))


def ref_delta_kl(a, b, n):
    """Lemma A.1: ``G(b) - G(a) - (b^n - a^n) log((b^n - a^n)/(b - a))``."""
    a, b, nn = mp.mpf(a), mp.mpf(b), mp.mpf(float(n))
    mass = b**nn - a**nn
    return ref_antiderivative(b, n) - ref_antiderivative(a, n) - mass * mp.log(mass / (b - a))


def ref_delta_win_rate(a, b, n):
    """Section 5: ``n/(n+1) (b^(n+1) - a^(n+1)) - (b^n - a^n)(a + b)/2``."""
    a, b, n = mp.mpf(a), mp.mpf(b), mp.mpf(float(n))
    return n / (n + 1) * (b ** (n + 1) - a ** (n + 1)) - (b**n - a**n) * (a + b) / 2


def ref_tilted_mean(x, t, weights=None):
    """Eq. 133: ``(1/t) log E[exp(t X)]`` in mpmath, written two exact ways so that no digits
    cancel: ``log1p(E[expm1(t X)]) / t`` when every ``|t X| < 1`` (tiny tilts), otherwise
    ``m + log E[exp(t (X - m))] / t`` with ``m`` the value the tilt favours (max for t > 0,
    min for t < 0, among values of positive weight)."""
    xs = [mp.mpf(float(v)) for v in x]
    ws = [mp.mpf(1)] * len(xs) if weights is None else [mp.mpf(float(w)) for w in weights]
    total = mp.fsum(ws)
    t = mp.mpf(float(t))
    if max(abs(t * v) for v in xs) < 1:
        return mp.log1p(mp.fsum(w * mp.expm1(t * v) for w, v in zip(ws, xs)) / total) / t
    support = [v for w, v in zip(ws, xs) if w > 0]
    m = max(support) if t > 0 else min(support)
    return m + mp.log(mp.fsum(w * mp.exp(t * (v - m)) for w, v in zip(ws, xs)) / total) / t


# ---------------------------------------------------------------------------------------------
# Hypothesis strategies


def property_settings(max_examples):
    """Hypothesis settings for this suite: no deadline, and derandomised (the same examples on
    every run, so CI is reproducible) unless ``BONKL_HYPOTHESIS_RANDOM`` is set, which turns on
    fresh random exploration."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=os.environ.get("BONKL_HYPOTHESIS_RANDOM") is None,
        suppress_health_check=[HealthCheck.too_slow],
    )


# log10 of an unnormalised weight: mostly ordinary, sometimes tiny, sometimes at the edge of float64.
_LOG_WEIGHTS = st.one_of(
    st.floats(-3.0, 0.0),
    st.floats(-3.0, 0.0),
    st.floats(-12.0, -3.0),
    st.floats(-300.0, -100.0),
    st.sampled_from([-300.0, -200.0]),
)


@st.composite
def pmfs(draw, min_size=1, max_size=25, log_weights=_LOG_WEIGHTS):
    """Strictly positive float64 mass vectors (increasing reward order), tiny masses included."""
    size = draw(st.integers(min_size, max_size))
    weights = np.array([10.0 ** draw(log_weights) for _ in range(size)])
    return weights / weights.sum()


@st.composite
def ordinary_pmfs(draw, min_size=1, max_size=25):
    """Mass vectors without extreme masses (all weights within a factor 1e3)."""
    return draw(pmfs(min_size=min_size, max_size=max_size, log_weights=st.floats(-3.0, 0.0)))


@st.composite
def quantile_intervals(draw):
    """``0 <= a < b <= 1``: anywhere, at the ends, and narrow (down to 1e-15 wide)."""
    kind = draw(st.sampled_from(["free", "bottom", "top", "narrow"]))
    if kind == "bottom":
        return 0.0, draw(st.floats(1e-300, 1.0))
    if kind == "top":
        return 1.0 - draw(st.floats(1e-15, 1.0)), 1.0
    a = draw(st.floats(0.0, 1.0, exclude_max=True))
    width = 10.0 ** draw(st.floats(-15.0, 0.0)) if kind == "narrow" else draw(st.floats(0.0, 1.0))
    b = min(1.0, a + width)
    assume(a < b)
    return a, b


# Real sample sizes n >= 1: log-uniform to 10^6, the edges, and small integers.
sample_sizes = st.one_of(
    st.floats(0.0, 6.0).map(lambda e: float(10.0**e)),
    st.sampled_from([1.0, 1.0 + 1e-9, 1.0 + 1e-6, 2.0, 10.0, 1e4, 1e6]),
    st.integers(1, 64).map(float),
)

# Masses eps in [1e-300, 1], from the spec's smallest mass to 1 (and just below 1). Subnormal
# masses (below 2.2e-308) are outside the specification: n * log1p(-eps) is then subnormal and
# loses relative digits (see the report).
masses_eps = st.one_of(
    st.floats(-300.0, 0.0).map(lambda e: float(10.0**e)),
    st.floats(1e-300, 1.0),
    st.sampled_from([1.0, 1.0 - 1e-12, 1.0 - 1e-6, 0.5, 1e-300, 1e-200]),
)


# ---------------------------------------------------------------------------------------------
# Hard cases shared by the modules


def _normalised(values):
    values = np.asarray(values, dtype=np.float64)
    return values / values.sum()


HARD_PMFS = {
    "single": np.array([1.0]),
    "binary": np.array([0.5, 0.5]),
    "tiny_top": np.array([0.5, 0.5 - 1e-300, 1e-300]),
    "tiny_bottom": np.array([1e-300, 1e-200, 1.0 - 1e-200]),
    "tiny_mixed": _normalised([1e-300, 0.25, 1e-200, 0.25, 1e-300, 0.3, 1e-250, 0.2]),
    "heavy_top": np.array([1e-6, 1.0 - 1e-6]),
    "light_top": np.array([1.0 - 1e-6, 1e-6]),
    "top_1e-12": np.array([0.6, 0.4 - 1e-12, 1e-12]),
    "dirichlet_40": _normalised(np.random.default_rng(20250101).dirichlet(np.full(40, 0.3))),
}

HARD_NS = [1.0, 1.0 + 1e-9, 1.5, 2.0, 10.0, 1e4, 1e6]

HARD_EPS = [1e-300, 1e-200, 1e-16, 1e-6, 0.3, 0.5, 1.0 - 1e-6, 1.0 - 1e-12, 1.0 - 2.0**-53, 1.0]


# ---------------------------------------------------------------------------------------------
# KL of best-of-n on a huge model with few distinct masses (Euler-Maclaurin, in mpmath)


def _group_terms(offset, mass, n):
    """``k -> pi_n(k) log(pi_n(k)/mass)`` for the k-th outcome of a run of equal masses after ``offset``."""

    def term(k):
        high = offset + k * mass
        low = high - mass
        pin = high**n - low**n
        return pin * mp.log(pin / mass)

    return term


def _group_sum(offset, mass, count, n, head=64, order=10):
    """``sum_{k=1}^{count}`` of :func:`_group_terms`: the first ``head`` terms directly, the rest by
    Euler-Maclaurin (integral by tanh-sinh quadrature split geometrically from both ends, and
    ``order`` Bernoulli corrections with numerical derivatives)."""
    term = _group_terms(offset, mass, n)
    first = min(count, head)
    total = mp.fsum(term(mp.mpf(k)) for k in range(1, first + 1))
    if count == first:
        return total
    a, b = mp.mpf(first + 1), mp.mpf(count)
    points, step = {a, b}, mp.mpf(1)
    while step < b - a:
        points.update((b - step, a + step))
        step *= 4
    points = sorted(x for x in points if a <= x <= b)
    total += mp.quad(term, points) + (term(a) + term(b)) / 2
    for j in range(1, order + 1):
        weight = mp.bernoulli(2 * j) / mp.factorial(2 * j)
        total += weight * (mp.diff(term, b, 2 * j - 1) - mp.diff(term, a, 2 * j - 1))
    return total


def ref_kl_exact_grouped(groups, n, *, direct=False):
    """``KL(pi_n || pi)`` for a model made of runs ``[(mass, count), ...]`` in increasing reward order.

    The float masses are taken exactly and normalised by their exact total. ``direct=True`` sums
    every term one by one (for checking the Euler-Maclaurin route on small runs).
    """
    n = mp.mpf(float(n))
    masses = [mp.mpf(float(v)) for v, _ in groups]
    total_mass = mp.fsum(v * c for v, (_, c) in zip(masses, groups))
    offset, total = mp.mpf(0), mp.mpf(0)
    for v, (_, count) in zip(masses, groups):
        v = v / total_mass
        if direct:
            term = _group_terms(offset, v, n)
            total += mp.fsum(term(mp.mpf(k)) for k in range(1, count + 1))
        else:
            total += _group_sum(offset, v, count, n)
        offset += v * count
    return total


def ref_sum_over_outcomes(term, p, n):
    """``sum_i term(F^-(y_i), F(y_i), n)`` over the outcomes of positive mass (eq. 14, Theorem 5.4)."""
    head, below = mp_cdf(mp_masses(p))
    return mp.fsum(term(a, b, n) for a, b in zip(below, head) if b > a)
