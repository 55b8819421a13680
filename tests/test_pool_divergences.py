"""Renyi, chi-square and TV columns of the estimate table (``alphas=`` of :func:`bonkl.pool.pool_estimates`
and :func:`bonkl.pool_table.estimate_table`), against what :mod:`bonkl.columns` says they are.

For each outcome of a pool the log ratio ``x = log(pi_n(y)/pi(y))`` is formed with the Corollary 4.2
inputs (level mass bounded from below and the CDF ``F`` from above by the sampled answers' own
probabilities) and averaged with the pool's best-of-n weights:

    D_alpha = log E_w[exp((alpha - 1) x)]/(alpha - 1),   D_inf = max_{w > 0} x,
    chi2 = E_w[expm1(x)],                                  tv = E_w[max(1 - exp(-x), 0)].

Checked here: (1) every column against an mpmath recomputation of those formulas, with the best-of-n
weights taken from exact binomial coefficients (``math.comb``) or plain powers, on random pools;
(2) exactness with the true ``F`` and plug-in weights on an exact-frequency pool (tie-aware);
(3) the direction of the bias in expectation, by exact enumeration of every multinomial pool of
small models: upward for ``renyi_a`` (a < 1), the KL, chi2 and tv, and no direction for ``renyi_2`` and
``renyi_inf`` (both signs occur); (4) the ``_bound`` and ``_above_bound`` columns.
The last tests pin down edge cases that were once wrong (underflowing weights, orders near 1,
colliding names, rounding at n = 1).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bonkl
from bonkl.pool import make_pool, pool_estimates
from bonkl.pool_table import ABOVE_SLACK, estimate_table
from bonkl.pools import build_pools
from bonkl.ties import level_masses, tied_bon_pmf, tied_bon_win_rate

ALPHAS = (0.25, 0.5, 1.0, 2.0, 10.0)
DIVERGENCES = ("renyi_0.25", "renyi_0.5", "renyi_1", "renyi_2", "renyi_10", "renyi_inf", "chi2", "tv")


def property_settings(max_examples):
    """No deadline; derandomised (the same examples on every run) unless BONKL_HYPOTHESIS_RANDOM is set."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=os.environ.get("BONKL_HYPOTHESIS_RANDOM") is None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def column(alpha) -> str:
    return "renyi_inf" if alpha == math.inf else f"renyi_{alpha:g}"


def pool_of(mass, reward, counts, seed=0):
    """A pool holding answer ``i`` (probability ``mass[i]``, reward ``reward[i]``) ``counts[i]`` times, shuffled."""
    mass, reward = np.asarray(mass, dtype=np.float64), np.asarray(reward, dtype=np.float64)
    draws = np.random.default_rng(seed).permutation(np.repeat(np.arange(mass.size), counts))
    return make_pool(np.log(mass[draws]), reward[draws], [f"answer{i}" for i in draws])


@st.composite
def random_pools(draw, max_answers=6, max_count=5):
    """A pool of a model with up to 6 sampled answers (masses summing to at most 1, some tiny),
    rewards from {0, 1, 2, 3} so that distinct answers often tie, each answer drawn 1-5 times."""
    k = draw(st.integers(1, max_answers))
    raw = np.array(draw(st.lists(st.one_of(st.floats(1e-3, 1.0), st.floats(1e-9, 1e-3)), min_size=k, max_size=k)))
    total = draw(st.sampled_from([1.0, 0.999, 0.5, 0.05]))  # 1: the pool holds every answer of the model
    mass = raw / raw.sum() * total
    reward = draw(st.lists(st.integers(0, 3), min_size=k, max_size=k))
    counts = draw(st.lists(st.integers(1, max_count), min_size=k, max_size=k))
    return pool_of(mass, reward, counts, seed=draw(st.integers(0, 3)))


# ---------------------------------------------------------------------------------------------
# An independent reference: the column formulas in mpmath, weights from exact binomial coefficients


def reference_levels(pool, ties):
    """Per level of the pool (increasing reward): ``(draws m_g, level mass bound P_g, CDF bound F_g)``.

    Levels: equal rewards under ``ties="random"``, single answers (in the pool's order) under
    ``"logprob"``. ``P_g`` sums the level's sampled answers' probabilities, ``1 - F_g`` those above it.
    """
    eps = [mp.exp(mp.mpf(float(lp))) for lp in pool.logprob]
    groups = []
    for i, r in enumerate(pool.reward):
        if ties == "random" and groups and pool.reward[groups[-1][0]] == r:
            groups[-1].append(i)
        else:
            groups.append([i])
    levels = []
    for g, members in enumerate(groups):
        m = int(sum(pool.count[i] for i in members))
        level_mass = min(mp.fsum(eps[i] for i in members), mp.mpf(1))
        above = mp.fsum(eps[i] for later in groups[g + 1 :] for i in later)
        levels.append((m, level_mass, min(max(1 - above, level_mass), mp.mpf(1))))
    return levels


def reference_weights(draws_per_level, n, method):
    """Best-of-n weight of each level: ``(C(A_g, n) - C(A_{g-1}, n))/C(N, n)`` (unbiased, exact
    fractions) or ``(A_g/N)^n - (A_{g-1}/N)^n`` (plug-in, mpmath)."""
    size = sum(draws_per_level)
    upper = list(itertools.accumulate(draws_per_level))
    lower = [a - m for a, m in zip(upper, draws_per_level)]
    if method == "unbiased":
        total = math.comb(size, int(n))
        return [Fraction(math.comb(a, int(n)) - math.comb(b, int(n)), total) for a, b in zip(upper, lower)]
    n = mp.mpf(float(n))
    return [(mp.mpf(a) / size) ** n - (mp.mpf(b) / size) ** n for a, b in zip(upper, lower)]


def reference_divergences(pool, n, *, ties, method, alphas=ALPHAS):
    """The divergence columns of one row, from the docstring's formulas at 50 digits."""
    with mp.workdps(50):
        levels = reference_levels(pool, ties)
        weights = reference_weights([m for m, _, _ in levels], n, method)
        positive = [(mp.mpf(w.numerator) / w.denominator if isinstance(w, Fraction) else w) for w in weights]
        kept = [(w, lv) for w, lv in zip(positive, levels) if w > 0]
        total = mp.fsum(w for w, _ in kept)  # 1 up to the working precision
        nn = mp.mpf(float(n))
        x = [mp.log((f**nn - (f - p) ** nn) / p) for _, (_, p, f) in kept]
        w = [wt / total for wt, _ in kept]
        out = {}
        for alpha in (*alphas, math.inf):
            if alpha == math.inf:
                value = max(x)
            elif alpha == 1:
                value = mp.fsum(wi * xi for wi, xi in zip(w, x))
            else:
                a = mp.mpf(alpha)
                value = mp.log(mp.fsum(wi * mp.exp((a - 1) * xi) for wi, xi in zip(w, x))) / (a - 1)
            out[column(alpha)] = float(max(value, 0))
        out["chi2"] = float(max(mp.fsum(wi * mp.expm1(xi) for wi, xi in zip(w, x)), 0))
        out["tv"] = float(mp.fsum(wi * max(1 - mp.exp(-xi), 0) for wi, xi in zip(w, x)))
        return out


def assert_columns(table, references, what, rtol=1e-9, atol=1e-12):
    for name in references[0]:
        got = table[name].to_numpy(np.float64)
        ref = np.array([r[name] for r in references])
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, err_msg=f"{what}: column {name}")


@property_settings(40)
@given(pool=random_pools(), ties=st.sampled_from(["random", "logprob"]))
def test_unbiased_columns_are_the_corollary_4_2_ratio_averaged_with_subset_weights(pool, ties):
    """Claim: each divergence column is the Corollary 4.2 log ratio (level mass and F bounded by the
    sampled answers) averaged with the unbiased best-of-n weights, for every n <= N; checked against
    mpmath with the weights (C(A_g, n) - C(A_{g-1}, n))/C(N, n) in exact fractions."""
    ns = np.arange(1, pool.num_draws + 1)
    table = pool_estimates(pool, ns, ties=ties, method="unbiased", alphas=ALPHAS)
    refs = [reference_divergences(pool, n, ties=ties, method="unbiased") for n in ns]
    assert_columns(table, refs, f"unbiased, ties={ties}")


@property_settings(40)
@given(
    pool=random_pools(),
    ties=st.sampled_from(["random", "logprob"]),
    ns=st.lists(st.sampled_from([1.0, 1.5, 2.0, 3.7, 8.0, 30.0, 100.0]), min_size=1, max_size=4, unique=True),
)
def test_plugin_columns_are_the_corollary_4_2_ratio_averaged_with_plugin_weights(pool, ties, ns):
    """Claim: with method="plugin" (real n, beyond N too) each column is the same average with the
    weights (A_g/N)^n - (A_{g-1}/N)^n; checked against mpmath."""
    table = pool_estimates(pool, ns, ties=ties, method="plugin", alphas=ALPHAS)
    refs = [reference_divergences(pool, n, ties=ties, method="plugin") for n in ns]
    assert_columns(table, refs, f"plugin, ties={ties}")


@property_settings(40)
@given(pool=random_pools(), ties=st.sampled_from(["random", "logprob"]), method=st.sampled_from(["unbiased", "plugin"]))
def test_alpha_one_is_the_corollary_4_2_kl_column(pool, ties, method):
    """Claim: the KL (alpha = 1) from these columns is kl_corollary_4_2_bound."""
    ns = np.arange(1, pool.num_draws + 1)
    table = pool_estimates(pool, ns, ties=ties, method=method, alphas=[1.0])
    np.testing.assert_allclose(table["renyi_1"], table["kl_corollary_4_2_bound"], rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Exact on a pool that is the model


COUNTS = np.array([3, 1, 4, 1, 5, 9, 2, 6])  # 31 draws
PLUGIN_NS = [1.0, 1.5, 2.0, 4.0, 16.0, 31.0, 64.0, 1000.0]


def exact_divergences(level_p, ns):
    """Exact divergences of best-of-n (bonkl.divergences) on the model whose outcomes are ``level_p``."""
    out = {column(a): bonkl.renyi_divergence_bon(level_p, ns, a) for a in (*ALPHAS, math.inf)}
    out["chi2"] = bonkl.chi2_divergence_bon(level_p, ns)
    out["tv"] = bonkl.tv_distance_bon(level_p, ns)
    return out


def test_plugin_on_an_exact_frequency_pool_is_the_exact_divergence():
    """Claim: with the true F (the pool holds every outcome) and plug-in weights on a pool whose
    frequencies are the model's masses, each column equals the exact divergence (bonkl.divergences),
    for real n and for n beyond the pool size."""
    p = COUNTS / COUNTS.sum()
    pool = pool_of(p, np.arange(p.size), COUNTS)
    table = pool_estimates(pool, PLUGIN_NS, method="plugin", alphas=ALPHAS)
    for name, exact in exact_divergences(p, np.array(PLUGIN_NS)).items():
        np.testing.assert_allclose(table[name], exact, rtol=1e-9, atol=1e-13, err_msg=name)
    np.testing.assert_allclose(table["renyi_1"], bonkl.kl_exact(p, np.array(PLUGIN_NS)), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("ties", ["random", "logprob"])
def test_plugin_on_an_exact_frequency_pool_with_ties_is_the_tie_aware_divergence(ties):
    """Claim (tie-aware): with ties="random" the exact divergence is that of best-of-n with ties broken
    uniformly, i.e. of the model over reward levels (pi_n/pi is constant in a level); with
    ties="logprob" it is strict-order best-of-n on the answers sorted by (reward, log-probability)."""
    counts = np.array([2, 3, 1, 4, 2, 5, 3])
    reward = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 3.0])
    p = counts / counts.sum()
    pool = pool_of(p, reward, counts)
    table = pool_estimates(pool, PLUGIN_NS, ties=ties, method="plugin", alphas=ALPHAS)
    ns = np.array(PLUGIN_NS)
    if ties == "random":
        model = level_masses(p, reward)[0]
        # the same through the tie-aware pmf: sum_y pi(y) (pi_n(y)/pi(y))^2 = sum_y pi_n(y)^2/pi(y)
        d2 = np.log(np.sum(tied_bon_pmf(p, reward, ns) ** 2 / p, axis=-1))
        np.testing.assert_allclose(table["renyi_2"], d2, rtol=1e-9, atol=1e-13)
    else:
        order = np.lexsort((np.log(p), reward))
        model = p[order]
    for name, exact in exact_divergences(model, ns).items():
        np.testing.assert_allclose(table[name], exact, rtol=1e-9, atol=1e-13, err_msg=f"{ties}: {name}")


# ---------------------------------------------------------------------------------------------
# Bias in expectation: exact enumeration of every pool of a small model


def compositions(total, parts):
    """Every vector of ``parts`` non-negative integers summing to ``total``."""
    for cut in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1, *cut, total + parts - 1)
        yield tuple(edges[i + 1] - edges[i] - 1 for i in range(parts))


@functools.cache
def enumerated(p: tuple, reward: tuple, size: int):
    """``(ns, {column: E[column]})``: the exact expectation over pools of ``size`` i.i.d. draws of every
    estimate-table column at every n = 1..size (method unbiased), from every count vector with its
    multinomial probability (one prompt per count vector, one estimate_table call)."""
    vectors = list(compositions(size, len(p)))
    with mp.workdps(40):
        probability = np.array(
            [
                float(mp.factorial(size) * mp.fprod(mp.mpf(q) ** c / mp.factorial(c) for q, c in zip(p, v)))
                for v in vectors
            ]
        )
    assert math.isclose(math.fsum(probability), 1.0, rel_tol=1e-13)
    prompt = np.repeat(np.arange(len(vectors)), size)
    answer = np.concatenate([np.repeat(np.arange(len(p)), v) for v in vectors])
    pools = build_pools(prompt, np.log(np.array(p))[answer], np.array(reward)[answer], answer)
    ns = np.arange(1, size + 1)
    table = estimate_table(pools, ns, method="unbiased", alphas=(0.5, 1.0, 2.0))
    expectation = {}
    for name in (
        "renyi_0.5",
        "renyi_1",
        "renyi_2",
        "renyi_inf",
        "chi2",
        "tv",
        "kl_corollary_4_2_bound",
        "expected_reward",
        "win_rate",
    ):
        values = table[name].to_numpy(np.float64).reshape(len(vectors), size)
        expectation[name] = np.array([math.fsum(probability * values[:, j]) for j in range(size)])
    return ns, expectation


def exact_for(p, reward, ns):
    """The tie-aware exact divergences (the model over reward levels)."""
    model = level_masses(np.array(p), np.array(reward))[0]
    out = exact_divergences(model, ns) | {"renyi_1": bonkl.kl_exact(model, ns)}
    out["kl_corollary_4_2_bound"] = out["renyi_1"]
    return out


def _grid():
    """Small models: hand-picked two-answer models, seeded random ones (Dirichlet(1)), one with a tie."""
    rng = np.random.default_rng(20250101)
    models = [
        ((0.9, 0.1), (0, 1)),
        ((0.98, 0.02), (0, 1)),
        ((0.5, 0.5), (0, 1)),
        ((0.1, 0.9), (0, 1)),
        ((0.6, 0.3, 0.1), (0, 1, 2)),
        ((0.2, 0.3, 0.5), (0, 1, 1)),
    ]
    for k in (3, 3, 3, 4):
        models.append((tuple(float(x) for x in rng.dirichlet(np.ones(k))), tuple(range(k))))
    cases = []
    for p, reward in models:
        for size in (8, 16, 32) if len(p) <= 3 else (8, 16):
            cases.append((p, reward, size))
    return cases


GRID = _grid()


@pytest.mark.parametrize("p, reward, size", GRID[:4])
def test_enumeration_reproduces_the_unbiased_columns(p, reward, size):
    """The enumeration itself is right: over all pools, the expected reward and the win rate (unbiased
    U-statistics) average to the model's exact tie-aware best-of-n values at every n."""
    ns, expectation = enumerated(p, reward, size)
    pin = tied_bon_pmf(np.array(p), np.array(reward), ns.astype(float))
    np.testing.assert_allclose(expectation["expected_reward"], pin @ np.array(reward, float), rtol=1e-12, atol=1e-14)
    within = ns + 1 <= size
    np.testing.assert_allclose(
        expectation["win_rate"][within],
        tied_bon_win_rate(np.array(p), np.array(reward), ns[within].astype(float)),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize("p, reward, size", GRID)
def test_orders_below_one_kl_chi2_and_tv_are_biased_upward_for_every_n(p, reward, size):
    """Claim: in expectation over pools (method unbiased) renyi_0.5, the KL (renyi_1, equal to
    kl_corollary_4_2_bound), chi2 and tv are at least the exact (tie-aware) divergence, every n <= N.
    (x from the sampled answers is at least the true log ratio; chi2, tv and the KL are increasing
    linear statistics, and for a < 1 Jensen's inequality adds to it.)"""
    ns, expectation = enumerated(p, reward, size)
    exact = exact_for(p, reward, ns.astype(float))
    for name in ("renyi_0.5", "renyi_1", "kl_corollary_4_2_bound", "chi2", "tv"):
        bias = expectation[name] - exact[name]
        slack = 1e-12 * (1 + np.abs(exact[name]))
        assert np.all(bias >= -slack), f"{name}: E[estimate] - exact = {bias.min():.3e} at n = {ns[np.argmin(bias)]}"


def test_renyi_2_and_renyi_inf_are_biased_downward_in_a_closed_form_case():
    """Claim: no direction is proved for a > 1 or a = inf, and indeed both can be biased downward.

    p = (0.9, 0.1) (the rarer answer B has the higher reward), N = n = 8. At n = N the unbiased weights
    put everything on the pool's top level. A pool holding B (probability 1 - 0.9^8) estimates every
    divergence by x_B = log((1 - 0.9^8)/0.1) (F = 1, exact); a pool of eight A's has nothing above A,
    so F_hat = 1, P_hat = 0.9 and x = log((1 - 0.1^8)/0.9). The truth: pi_8(A) = 0.9^8, w_A = 0.9^7,
    w_B = (1 - 0.9^8)/0.1, so D_2 = log(0.9^8 w_A + (1 - 0.9^8) w_B) = log(0.9^15 + (1 - 0.9^8)^2/0.1)
    and D_inf = log w_B. E[estimate] is about 1.036 against D_2 about 1.238 and D_inf about 1.740.
    """
    ns, expectation = enumerated((0.9, 0.1), (0, 1), 8)
    with mp.workdps(40):
        a8 = mp.mpf("0.9") ** 8
        x_top, x_alone = mp.log((1 - a8) / mp.mpf("0.1")), mp.log((1 - mp.mpf("0.1") ** 8) / mp.mpf("0.9"))
        expected = float((1 - a8) * x_top + a8 * x_alone)
        d2 = float(mp.log(mp.mpf("0.9") ** 15 + (1 - a8) ** 2 / mp.mpf("0.1")))
        d_inf = float(x_top)
    assert expectation["renyi_2"][-1] == pytest.approx(expected, rel=1e-12)
    assert expectation["renyi_inf"][-1] == pytest.approx(expected, rel=1e-12)
    assert bonkl.renyi_divergence_bon([0.9, 0.1], 8, 2.0) == pytest.approx(d2, rel=1e-12)
    assert bonkl.renyi_divergence_bon([0.9, 0.1], 8, math.inf) == pytest.approx(d_inf, rel=1e-12)
    assert expectation["renyi_2"][-1] - d2 < -0.2
    assert expectation["renyi_inf"][-1] - d_inf < -0.7


def test_renyi_2_is_biased_downward_even_when_every_pool_holds_every_answer():
    """Claim (no direction for a > 1): besides missing answers, the log of an unbiased average biases
    renyi_2 downward (Jensen). p = (0.5, 0.5), N = 32: a pool misses an answer with probability
    2^-31, which moves E[renyi_2] by at most 2^-31 log 2 < 1e-9, yet E[renyi_2] < D_2 by over 1e-3 at n = 2."""
    ns, expectation = enumerated((0.5, 0.5), (0, 1), 32)
    bias = expectation["renyi_2"][1] - bonkl.renyi_divergence_bon([0.5, 0.5], 2.0, 2.0)
    assert bias < -1e-3


def test_renyi_2_and_renyi_inf_have_no_bias_direction_over_the_grid():
    """Claim: for a > 1 and a = inf there is no proved direction: over the grid of small models, both
    a negative and a positive bias occur for renyi_2 and for renyi_inf (beyond float noise)."""
    found = {}
    for p, reward, size in GRID:
        ns, expectation = enumerated(p, reward, size)
        exact = exact_for(p, reward, ns.astype(float))
        for name in ("renyi_2", "renyi_inf"):
            bias = expectation[name] - exact[name]
            low, high = found.get(name, (0.0, 0.0))
            found[name] = (min(low, bias.min()), max(high, bias.max()))
    for name, (low, high) in found.items():
        assert low < -1e-2 and high > 1e-3, f"{name}: biases over the grid in [{low:.3e}, {high:.3e}]"


# ---------------------------------------------------------------------------------------------
# Bounds and flags


BOUNDS = {
    **{column(a): (lambda n, a=a: bonkl.renyi_bound(n, a)) for a in (*ALPHAS, math.inf)},
    "chi2": bonkl.chi2_bound,
    "tv": bonkl.tv_bound,
}


@property_settings(40)
@given(pool=random_pools(), ties=st.sampled_from(["random", "logprob"]), method=st.sampled_from(["unbiased", "plugin"]))
def test_bound_columns_are_mroueh_bounds_and_flags_mark_estimates_above_them(pool, ties, method):
    """Claim: <name>_bound is the Mroueh (2024) bound at n, and <name>_above_bound is True exactly
    where the estimate exceeds its bound times 1 + 1e-9 by more than rounding (ABOVE_SLACK)."""
    ns = np.arange(1, pool.num_draws + 1, dtype=float)
    table = pool_estimates(pool, ns, ties=ties, method=method, alphas=ALPHAS)
    for name, bound in BOUNDS.items():
        np.testing.assert_allclose(table[name + "_bound"], bound(ns), rtol=1e-15, atol=0, err_msg=name)
        flag = table[name + "_above_bound"].to_numpy()
        assert flag.dtype == bool
        above = table[name].to_numpy() > table[name + "_bound"].to_numpy() * (1 + 1e-9) + ABOVE_SLACK
        np.testing.assert_array_equal(flag, above)


def test_flags_fire_for_a_pool_of_one_rare_answer_and_never_for_an_exact_pool():
    """Claim: the flags measure estimator error. A pool of four draws of one answer of probability
    0.01 has nothing above it (F_hat = 1): at n = 2, x = log((1 - 0.99^2)/0.01) = log 1.99 = 0.688 for
    every order, above the Renyi bounds at n = 2 (0.067 for a = 0.25, log 2 - 1/2 = 0.193 for the KL,
    log(4/3) = 0.288 for a = 2, 0.504 for a = 10) but below log 2 = 0.693 (a = inf: x < log n always);
    chi2 = 0.99 > 1/3 and tv = 1 - 1/1.99 = 0.497 > 1/4. A pool that is the model (plug-in) gives the
    exact divergences, all below their bounds."""
    rare = pool_of([0.01], [0.0], [4])
    table = pool_estimates(rare, [2], alphas=ALPHAS).iloc[0]
    x = math.log(1.99)
    for name in DIVERGENCES:
        expected = 1 - 1 / 1.99 if name == "tv" else (0.99 if name == "chi2" else x)
        assert table[name] == pytest.approx(expected, rel=1e-12), name
        assert bool(table[name + "_above_bound"]) == (name != "renyi_inf"), name
    p = COUNTS / COUNTS.sum()
    ns = [n for n in PLUGIN_NS if n > 1]  # n = 1: see test_no_flag_at_n_equal_one
    exact = pool_estimates(pool_of(p, np.arange(p.size), COUNTS), ns, method="plugin", alphas=ALPHAS)
    for name in DIVERGENCES:
        assert not exact[name + "_above_bound"].any(), name


def test_rows_beyond_the_pool_are_empty_and_unflagged():
    """Claim: with method unbiased a row with n > N has no estimate (NaN) and no flag raised."""
    pool = pool_of([0.2, 0.3, 0.5], [0, 1, 2], [1, 2, 1])
    table = pool_estimates(pool, [4, 5, 9], alphas=ALPHAS)
    assert np.isfinite(table.loc[0, list(DIVERGENCES)].to_numpy(float)).all()
    for name in DIVERGENCES:
        assert table.loc[1:, name].isna().all(), name
        assert not table.loc[1:, name + "_above_bound"].any(), name


def test_orders_are_checked():
    """A Renyi order must be > 0 (or inf)."""
    pool = pool_of([0.2, 0.3], [0, 1], [1, 2])
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            pool_estimates(pool, [1, 2], alphas=[bad])


# ---------------------------------------------------------------------------------------------
# Edge cases that were once wrong (regression tests)


def test_small_orders_survive_underflowing_weights():
    """Claim (exact on an exact-frequency pool) at a small order: renyi_1e-06 at n = 1e5. The exact
    value is log(sum_y pi(y) w(y)^a)/(a - 1) = 0.0709 (mpmath agrees): the lower answers have
    pi_n(y) ~ exp(-22000), which underflows, but pi(y) w(y)^a is of order pi(y); the column keeps the
    weights' logarithms (multiplying the underflowed weight 0 by exp((a - 1) x) gave x_top = 1.642)."""
    p = COUNTS / COUNTS.sum()
    table = pool_estimates(pool_of(p, np.arange(p.size), COUNTS), [1e5], method="plugin", alphas=[1e-6])
    assert table["renyi_1e-06"][0] == pytest.approx(bonkl.renyi_divergence_bon(p, 1e5, 1e-6), rel=1e-6)


def test_orders_near_one_keep_their_digits():
    """Claim (exact on an exact-frequency pool) at a = 1 + 1e-12, n = 2: the column keeps full
    precision, as bonkl.renyi_divergence_bon does (log(E_w[exp((a-1) x)])/(a-1) taken directly keeps
    only ~4 digits of a number 1 + O(1e-12): relative error 2e-5 here, 16x at n = 1.001)."""
    p = COUNTS / COUNTS.sum()
    alpha = 1 + 1e-12
    table = pool_estimates(pool_of(p, np.arange(p.size), COUNTS), [2.0], method="plugin", alphas=[alpha])
    assert table["renyi_1"][0] == pytest.approx(bonkl.renyi_divergence_bon(p, 2.0, alpha), rel=1e-9)


def test_distinct_orders_get_distinct_columns():
    """Each requested order gets its own column (or is refused): alphas = [2, 2.0000001, 1, 1 + 1e-7]
    once gave only renyi_2 and renyi_1, the later order silently overwriting the earlier."""
    pool = pool_of([0.2, 0.3, 0.5], [0, 1, 2], [1, 2, 1])
    alphas = [2.0, 2.0000001, 1.0, 1.0000001]
    try:
        table = pool_estimates(pool, [2, 4], alphas=alphas)
    except ValueError:
        return  # refusing ambiguous orders is a valid fix
    names = [c for c in table.columns if c.startswith("renyi_") and not c.endswith(("_bound", "_above_bound"))]
    assert len(names) == len(alphas) + 1  # and renyi_inf


@pytest.mark.parametrize("method", ["unbiased", "plugin"])
def test_no_flag_at_n_equal_one(method):
    """Claim: a flag marks an estimate above its bound. At n = 1 best-of-n is the reference: every
    log ratio log((F - (F - P))/P) is exactly 0, so every estimate is 0 = its bound and no flag may
    fire. The columns form x in floats (renyi_inf = 4.4e-16, tv = 4.3e-17 here) and compare with
    bound * (1 + 1e-9) = 0, so renyi_inf_above_bound and tv_above_bound are True on the very pool
    that is the model."""
    p = COUNTS / COUNTS.sum()
    table = pool_estimates(pool_of(p, np.arange(p.size), COUNTS), [1], method=method, alphas=ALPHAS)
    for name in DIVERGENCES:
        assert not table[name + "_above_bound"].any(), name
