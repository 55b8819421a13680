"""Monte Carlo: best-of-n and rewind-and-repeat drawn the way the paper defines them, against bonkl.

Best-of-n: ``n`` reference draws, keep the one of highest reward (outcomes are indexed by
increasing reward, so the largest index). Rewind-and-repeat: draw until the continuous quantile
``U = F^-(y) + V pi(y)`` reaches ``q``. Frequencies are compared by a chi-square test and means
by a 4-sigma interval; every generator is seeded, so each test is deterministic.
"""

import numpy as np
import pytest
from scipy import stats

import bonkl

DRAWS = 100_000
P_VALUE_FLOOR = 1e-4

MODELS = {
    "binary": np.array([0.5, 0.5]),
    "four": np.array([0.1, 0.2, 0.3, 0.4]),
    "top_light": np.array([0.45, 0.3, 0.2, 0.05]),
    "dirichlet_8": np.random.default_rng(7).dirichlet(np.ones(8)),
    "with_tiny": np.array([0.3, 1e-300, 0.4, 1e-200, 0.3 - 1e-200 - 1e-300]),
}


def draw_best_of_n(rng, p, n, size):
    """Best-of-n by its definition: ``n`` i.i.d. reference draws, the highest-reward one kept."""
    return rng.choice(p.size, size=(size, n), p=p / p.sum()).max(axis=1)


def draw_rewind_repeat(rng, p, q, size):
    """Rewind-and-repeat with a continuous threshold: redraw until ``F^-(y) + V pi(y) >= q``.

    Returns the accepted outcomes and the number of draws ``K`` each took.
    """
    p = p / p.sum()
    below = np.concatenate(([0.0], np.cumsum(p)[:-1]))
    outcome = np.full(size, -1)
    draws = np.zeros(size, dtype=np.int64)
    pending = np.arange(size)
    while pending.size:
        y = rng.choice(p.size, size=pending.size, p=p)
        u = below[y] + rng.random(pending.size) * p[y]
        draws[pending] += 1
        accepted = u >= q
        outcome[pending[accepted]] = y[accepted]
        pending = pending[~accepted]
    return outcome, draws


def chi_square_p_value(outcomes, probabilities):
    """Pearson's test of the observed outcome counts against ``probabilities``.

    Outcomes of zero probability must never be observed; outcomes expected fewer than 5 times are
    pooled into one cell.
    """
    counts = np.bincount(outcomes, minlength=probabilities.size)
    assert np.all(counts[probabilities == 0] == 0), "an outcome of probability 0 was drawn"
    expected = probabilities * counts.sum()
    small = (expected < 5) & (probabilities > 0)
    pooled_observed, pooled_expected = counts[small].sum(), expected[small].sum()
    keep = expected >= 5
    observed, expected = counts[keep], expected[keep]
    if pooled_expected >= 5:
        observed, expected = np.append(observed, pooled_observed), np.append(expected, pooled_expected)
        pooled_p = 1.0
    else:
        # too rare to pool into a chi-square cell: a two-sided Poisson test of the pooled count
        pooled_p = min(
            1.0,
            2
            * min(
                stats.poisson.cdf(pooled_observed, pooled_expected),
                stats.poisson.sf(pooled_observed - 1, pooled_expected),
            ),
        )
    if observed.size < 2:  # everything in one cell: nothing left for the chi-square to test
        return pooled_p
    expected = expected * observed.sum() / expected.sum()
    return min(pooled_p, stats.chisquare(observed, expected).pvalue)


def assert_mean_within_4_sigma(samples, value, what):
    mean = samples.mean()
    sigma = samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(mean - value) <= 4 * sigma + 1e-12, f"{what}: sample mean {mean} vs {value} (sigma {sigma})"


@pytest.mark.parametrize("n", [1, 2, 5, 20])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_lemma_2_3_simulated_best_of_n_matches_bon_pmf(name, n):
    p = MODELS[name]
    rng = np.random.default_rng(1000 + 10 * n + sorted(MODELS).index(name))
    winners = draw_best_of_n(rng, p, n, DRAWS)
    assert chi_square_p_value(winners, bonkl.bon_pmf(p, n)) > P_VALUE_FLOOR


def test_lemma_2_3_chi_square_detects_the_eq_4_model():
    """The test has power: best-of-n draws are told apart from a wrong PMF (``pi_n`` for ``n+1``)."""
    p = MODELS["four"]
    winners = draw_best_of_n(np.random.default_rng(5), p, 5, DRAWS)
    assert chi_square_p_value(winners, bonkl.bon_pmf(p, 6)) < 1e-12


@pytest.mark.parametrize("n", [2, 5, 20])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_lemma_5_2_simulated_win_rate_matches_bon_win_rate(name, n):
    """Win rate by eq. 28 directly: a best-of-n draw against a fresh reference draw, ties 1/2."""
    p = MODELS[name]
    rng = np.random.default_rng(2000 + 10 * n + sorted(MODELS).index(name))
    y = draw_best_of_n(rng, p, n, DRAWS)
    z = rng.choice(p.size, size=DRAWS, p=p / p.sum())
    wins = (y > z) + 0.5 * (y == z)
    assert_mean_within_4_sigma(wins, bonkl.bon_win_rate(p, n), f"win rate ({name}, n={n})")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_lemma_5_1_simulated_win_rate_of_any_policy(name, seed):
    p = MODELS[name]
    rng = np.random.default_rng(3000 + 10 * seed + sorted(MODELS).index(name))
    rho = rng.dirichlet(np.full(p.size, 0.5))
    y = rng.choice(p.size, size=DRAWS, p=rho)
    z = rng.choice(p.size, size=DRAWS, p=p / p.sum())
    wins = (y > z) + 0.5 * (y == z)
    assert_mean_within_4_sigma(wins, bonkl.win_rate(rho, p), f"win rate of rho ({name})")


@pytest.mark.parametrize("n", [2, 5, 20])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_eq_25_and_eq_23_simulated_mean_over_best_of_n_draws(name, n):
    """The average of ``KLhat(pi(y))`` (and of eq. 23) over best-of-n draws estimates its expectation."""
    p = MODELS[name]
    rng = np.random.default_rng(4000 + 10 * n + sorted(MODELS).index(name))
    eps = (p / p.sum())[draw_best_of_n(rng, p, n, DRAWS)]
    assert_mean_within_4_sigma(bonkl.kl_estimator(eps, n), bonkl.expected_kl_estimator(p, n), f"E[KLhat] ({name})")
    if p[-1] < 1.0:
        assert_mean_within_4_sigma(bonkl.kl_alternate(eps, n), bonkl.expected_kl_alternate(p, n), f"E[alt] ({name})")


# Thresholds inside outcomes (not at a boundary), so the continuous rule matters.
RR_CASES = [
    ("binary", 0.3),
    ("binary", 0.45),
    ("four", 0.05),
    ("four", 0.55),
    ("four", 0.7),  # inside the top outcome: all mass there
    ("top_light", 0.9),
    ("dirichlet_8", 0.6),
    ("with_tiny", 0.5),
]


@pytest.mark.parametrize(("name", "q"), RR_CASES)
def test_lemma_6_1_simulated_rewind_repeat_matches_rr_pmf(name, q):
    p = MODELS[name]
    rng = np.random.default_rng(5000 + RR_CASES.index((name, q)))
    outcome, _ = draw_rewind_repeat(rng, p, q, DRAWS)
    assert chi_square_p_value(outcome, bonkl.rr_pmf(p, q)) > P_VALUE_FLOOR


@pytest.mark.parametrize(("name", "q"), RR_CASES)
def test_theorem_6_3_harmonic_estimator_unbiased_in_simulation(name, q):
    """``E[H_{K-1}] = log(1/p_tau)`` with ``p_tau = 1 - q``, the acceptance probability; and ``E[K] = 1/p_tau``."""
    p = MODELS[name]
    rng = np.random.default_rng(6000 + RR_CASES.index((name, q)))
    _, draws = draw_rewind_repeat(rng, p, q, DRAWS)
    assert_mean_within_4_sigma(bonkl.rr_kl_estimator(draws), -np.log1p(-q), f"E[H_(K-1)] ({name}, q={q})")
    assert_mean_within_4_sigma(draws.astype(float), 1 / (1 - q), f"E[K] ({name}, q={q})")


@pytest.mark.parametrize(("name", "q"), RR_CASES)
def test_lemma_6_2_simulated_rewind_repeat_win_rate(name, q):
    """At a continuous threshold the win rate is ``E[C(y)]``; at most ``1 - p_tau/2`` (equality at boundaries)."""
    p = MODELS[name]
    rng = np.random.default_rng(7000 + RR_CASES.index((name, q)))
    outcome, _ = draw_rewind_repeat(rng, p, q, DRAWS)
    z = rng.choice(p.size, size=DRAWS, p=p / p.sum())
    wins = (outcome > z) + 0.5 * (outcome == z)
    expected = bonkl.win_rate(bonkl.rr_pmf(p, q), p)
    assert_mean_within_4_sigma(wins, expected, f"rr win rate ({name}, q={q})")
    assert expected <= bonkl.rr_win_rate(1 - q) + 1e-14


def test_lemma_6_1_chi_square_detects_a_wrong_threshold():
    """The rewind-and-repeat test has power: draws at ``q = 0.55`` are told apart from ``rr_pmf(p, 0.5)``."""
    p = MODELS["four"]
    outcome, _ = draw_rewind_repeat(np.random.default_rng(8), p, 0.55, DRAWS)
    assert chi_square_p_value(outcome, bonkl.rr_pmf(p, 0.5)) < 1e-12
