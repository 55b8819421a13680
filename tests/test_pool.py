"""Pool estimates (bonkl.pool): unbiased for the model's best-of-n, exact on a pool that is the model.

The key claim is checked by simulation: many pools of ``N`` draws from models whose best-of-n is
known exactly (heavy reward ties included), every ``n <= N``, each column's mean over the pools
against the exact value within 4 standard errors. Every generator is seeded.
"""

import functools

import numpy as np
import pandas as pd
import pytest

import bonkl
from bonkl.pool import (
    ESTIMATE_COLUMNS,
    Pool,
    bootstrap_intervals,
    estimator_distribution,
    make_pool,
    pool_estimates,
    tilted_summary,
)
from bonkl.ties import tied_bon_pmf, tied_bon_win_rate, tied_kl_exact

NS = np.array([1, 2, 3, 8, 50, 1000])
KL_COLUMNS = ["kl_bon", "kl_estimator_mean", "kl_alternate", "kl_corollary_4_2_bound"]
UNBIASED_COLUMNS = ["kl_estimator_mean", "kl_alternate", "expected_reward", "win_rate"]


def exact_pool(counts, seed=0):
    """A pool holding outcome i exactly counts[i] times, shuffled; its masses are counts/sum."""
    counts = np.asarray(counts)
    mass = counts / counts.sum()
    outcome = np.repeat(np.arange(counts.size), counts)
    np.random.default_rng(seed).shuffle(outcome)
    return mass, outcome


def strict_order(p, reward):
    """The model's outcomes sorted as a pool orders them: by reward, then log-probability."""
    order = np.lexsort((np.log(p), reward))
    return p[order], reward[order]


# -- the pool is the model: every column exact --------------------------------------------------


def test_pool_matches_model_when_pool_is_the_model():
    mass, outcome = exact_pool([5, 1, 7, 3, 2, 9, 1])
    reward = np.array([0.3, 2.0, -1.0, 5.0, 4.0, 0.0, 1.0])  # a reward order unrelated to the index
    pool = make_pool(np.log(mass[outcome]), reward[outcome], key=outcome)
    p = mass[np.argsort(reward)]
    table = pool_estimates(pool, NS, method="plugin")
    np.testing.assert_allclose(table["kl_bon"], bonkl.kl_bon(NS), rtol=1e-12)
    np.testing.assert_allclose(table["kl_estimator_mean"], bonkl.expected_kl_estimator(p, NS), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(table["kl_alternate"], bonkl.expected_kl_alternate(p, NS), rtol=1e-10, atol=1e-13)
    # The pool holds every outcome: F is bounded exactly, so the bound is the exact KL.
    np.testing.assert_allclose(table["kl_corollary_4_2_bound"], bonkl.kl_exact(p, NS), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["win_rate"], bonkl.bon_win_rate(p, NS), rtol=1e-12)
    np.testing.assert_allclose(table["expected_reward"], bonkl.bon_pmf(p, NS) @ np.sort(reward), rtol=1e-12)
    np.testing.assert_array_equal(table["beyond_pool"], NS > outcome.size)


@pytest.mark.parametrize("ties", ["random", "logprob"])
def test_corollary_4_2_bound_is_exact_when_the_pool_holds_every_outcome(ties):
    """With reward ties: the plug-in weights are then ``pi_n`` and the bound is the exact KL
    (tie-aware for ``random``); the unbiased weights average the exact log ratio ``log(pi_n/pi)``."""
    counts = np.array([4, 1, 6, 3, 2, 8, 1, 5])
    mass, outcome = exact_pool(counts, seed=1)
    reward = np.array([1.0, 0.0, 2.0, 1.0, 0.0, 2.0, 1.0, 3.0])
    pool = make_pool(np.log(mass[outcome]), reward[outcome], key=outcome)
    p, r = strict_order(mass, reward)
    ns = np.array([1, 2, 5, 30, 1000])
    exact = tied_kl_exact(p, r, ns) if ties == "random" else bonkl.kl_exact(p, ns)
    plugin = pool_estimates(pool, ns, ties=ties, method="plugin")
    np.testing.assert_allclose(plugin["kl_corollary_4_2_bound"], exact, rtol=1e-9, atol=1e-12)
    ns = np.arange(1, outcome.size + 1)
    unbiased = pool_estimates(pool, ns, ties=ties)
    pin = tied_bon_pmf(p, r, ns) if ties == "random" else bonkl.bon_pmf(p, ns)
    weights = estimator_distribution(pool, ns, ties=ties)["weight"].to_numpy().reshape(ns.size, -1)
    np.testing.assert_allclose(
        unbiased["kl_corollary_4_2_bound"], np.sum(weights * np.log(pin / p), axis=1), rtol=1e-9, atol=1e-12
    )


# -- unbiasedness, by simulation -----------------------------------------------------------------

POOL_SIZE = 30
POOLS = 1000
POOL_NS = np.arange(1, POOL_SIZE + 1)
TILTS = [-3.0, 1.0, 3.0]


def _ties_model():
    """12 outcomes, integer rewards 0..4 (five levels of 2-3 outcomes), Dirichlet(0.5) masses."""
    rng = np.random.default_rng(23)
    p = rng.dirichlet(np.full(12, 0.5))
    return strict_order(p, np.sort(rng.integers(0, 5, 12)).astype(float))


MODELS = {
    "ties_dirichlet": _ties_model(),
    "rare_top": strict_order(np.array([0.3, 0.25, 0.2, 0.15, 0.08, 0.02]), np.array([0.0, 1.0, 1.0, 2.0, 3.0, 5.0])),
}
CONFIGS = {
    "ties_dirichlet": [("random", "unbiased"), ("logprob", "unbiased")],
    "rare_top": [("random", "unbiased"), ("random", "plugin")],
}


def pool_of(draws, p, reward):
    """What ``make_pool`` builds from draws of a strictly ordered model (keys are the indices),
    without its pandas cost (checked against ``make_pool`` below)."""
    outcome, count = np.unique(draws, return_counts=True)
    return Pool(
        key=outcome.astype(str).astype(object),
        count=count.astype(np.float64),
        logprob=np.log(p[outcome]),
        reward=reward[outcome],
    )


def exact_values(p, reward, ties):
    """The model's best-of-n values for ``n = 1..N`` (ties: ``random`` tie-aware, ``logprob`` strict)."""
    pin = tied_bon_pmf(p, reward, POOL_NS) if ties == "random" else bonkl.bon_pmf(p, POOL_NS)
    column = POOL_NS[:, None]
    estimator = bonkl.kl_estimator(p, column)
    return {
        "kl_estimator_mean": np.sum(pin * estimator, axis=1),
        "kl_alternate": np.sum(pin * bonkl.kl_alternate(p, column), axis=1),
        "expected_reward": pin @ reward,
        "win_rate": np.append(tied_bon_win_rate(p, reward, POOL_NS[:-1]), np.nan),
        "kl_exact": tied_kl_exact(p, reward, POOL_NS) if ties == "random" else bonkl.kl_exact(p, POOL_NS),
        "tilted_inner": {t: np.sum(pin * np.exp(t * estimator), axis=1) for t in TILTS},
    }


@functools.cache
def simulate(name):
    """``POOLS`` pools of ``POOL_SIZE`` draws: per config an array (pool, n, column), and for the
    first config the unbiased estimate of ``E[exp(t KLhat)]`` from ``estimator_distribution``."""
    p, reward = MODELS[name]
    rng = np.random.default_rng(7000 + sorted(MODELS).index(name))
    tables = {config: np.empty((POOLS, POOL_SIZE, len(ESTIMATE_COLUMNS))) for config in CONFIGS[name]}
    inner = {t: np.empty((POOLS, POOL_SIZE)) for t in TILTS}
    for i in range(POOLS):
        pool = pool_of(rng.choice(p.size, POOL_SIZE, p=p), p, reward)
        for ties, method in CONFIGS[name]:
            table = pool_estimates(pool, POOL_NS, ties=ties, method=method)
            tables[ties, method][i] = table[ESTIMATE_COLUMNS].to_numpy(np.float64)
        if name == "ties_dirichlet":
            law = estimator_distribution(pool, POOL_NS)
            values = law["kl_estimator"].to_numpy().reshape(POOL_SIZE, -1)
            weights = law["weight"].to_numpy().reshape(POOL_SIZE, -1)
            for t in TILTS:
                inner[t][i] = np.sum(weights * np.exp(t * values), axis=1)
    return tables, inner


def z_scores(samples, exact):
    """``(mean - exact) / SE`` per ``n``; an absolute 1e-12 keeps rounding from counting where SE = 0."""
    se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    return (samples.mean(axis=0) - exact) / (se + 1e-12 / 4)


def test_fast_pool_builder_matches_make_pool():
    p, reward = MODELS["ties_dirichlet"]
    rng = np.random.default_rng(7100)
    for _ in range(20):
        draws = rng.choice(p.size, POOL_SIZE, p=p)
        mine, theirs = pool_of(draws, p, reward), make_pool(np.log(p[draws]), reward[draws], key=draws)
        for field in ("key", "count", "logprob", "reward"):
            np.testing.assert_array_equal(getattr(mine, field), getattr(theirs, field))


CASES = [(name, config) for name in sorted(MODELS) for config in CONFIGS[name] if config[1] == "unbiased"]


@pytest.mark.slow
@pytest.mark.parametrize("name, config", CASES, ids=[f"{n}-{c[0]}" for n, c in CASES])
def test_unbiased_estimates_match_the_models_best_of_n_for_every_n(name, config):
    p, reward = MODELS[name]
    exact = exact_values(p, reward, config[0])
    tables = simulate(name)[0][config]
    for column in UNBIASED_COLUMNS:
        samples = tables[:, :, ESTIMATE_COLUMNS.index(column)]
        if column == "win_rate":  # needs n + 1 <= N: NaN at n = N in every pool
            assert np.all(np.isnan(samples[:, -1]))
            samples, want = samples[:, :-1], exact[column][:-1]
        else:
            want = exact[column]
        z = z_scores(samples, want)
        assert np.all(np.abs(z) <= 4), f"{column}: z = {np.round(z, 1)} (n = 1..)"


@pytest.mark.slow
@pytest.mark.parametrize("ties, other", [("random", "logprob"), ("logprob", "random")])
def test_unbiasedness_check_tells_the_tie_rules_apart(ties, other):
    """The simulation has power: each tie rule's KL means are far from the other rule's exact values."""
    p, reward = MODELS["ties_dirichlet"]
    tables = simulate("ties_dirichlet")[0][ties, "unbiased"]
    exact = exact_values(p, reward, other)
    for column in ("kl_estimator_mean", "kl_alternate"):
        assert np.max(np.abs(z_scores(tables[:, :, ESTIMATE_COLUMNS.index(column)], exact[column]))) > 10


@pytest.mark.slow
def test_plugin_expected_reward_is_biased_near_the_pool_size():
    """The plug-in draws with replacement from the pool: near ``n = N`` it repeats the pool's draws
    and falls clearly below the model's best-of-n reward, where the unbiased estimate does not."""
    p, reward = MODELS["rare_top"]
    exact = exact_values(p, reward, "random")["expected_reward"]
    tables = simulate("rare_top")[0]
    column = ESTIMATE_COLUMNS.index("expected_reward")
    plugin = z_scores(tables["random", "plugin"][:, :, column], exact)
    unbiased = z_scores(tables["random", "unbiased"][:, :, column], exact)
    near = slice(POOL_SIZE - 3, POOL_SIZE)
    assert np.all(plugin[near] < -6), f"plug-in z near N: {plugin[near]}"
    assert np.all(np.abs(unbiased[near]) <= 4)


@pytest.mark.slow
@pytest.mark.parametrize("t", TILTS)
def test_unbiased_inner_expectation_of_the_tilted_mean(t):
    """Eq. 133's inner ``E[exp(t KLhat)]``, weighted by ``estimator_distribution``, is unbiased."""
    p, reward = MODELS["ties_dirichlet"]
    samples = simulate("ties_dirichlet")[1][t]
    z = z_scores(samples, exact_values(p, reward, "random")["tilted_inner"][t])
    assert np.all(np.abs(z) <= 4), np.round(z, 1)


ALL_CONFIGS = [(name, config) for name in sorted(MODELS) for config in CONFIGS[name]]


@pytest.mark.slow
@pytest.mark.parametrize("name, config", ALL_CONFIGS, ids=[f"{n}-{c[0]}-{c[1]}" for n, c in ALL_CONFIGS])
def test_corollary_4_2_bound_at_most_eq_23_in_every_pool(name, config):
    tables = simulate(name)[0][config]
    bound = tables[:, :, ESTIMATE_COLUMNS.index("kl_corollary_4_2_bound")]
    alternate = tables[:, :, ESTIMATE_COLUMNS.index("kl_alternate")]
    assert np.all(bound <= alternate + 1e-12)


@pytest.mark.parametrize(
    "logprob, reward, n, method",
    [
        (np.log([0.2, 0.25]), [0.0, 1.0], 1, "unbiased"),  # bound -1.1e-16
        (np.log([0.2, 0.25]), [0.0, 1.0], 1, "plugin"),  # bound -1.1e-16
        ([-2.142390429201991e-06], [2.0], 1, "plugin"),  # bound -1.7e-21
        ([-700.0], [0.0], 1e6, "plugin"),  # bound log n + 5.7e-14, kl_alternate log n
    ],
)
def test_corollary_4_2_bound_within_zero_and_eq_23_column(logprob, reward, n, method):
    table = pool_estimates(make_pool(logprob, reward), [n], method=method)
    bound = table["kl_corollary_4_2_bound"].iloc[0]
    assert 0.0 <= bound <= table["kl_alternate"].iloc[0] <= np.log(n)


@pytest.mark.slow
@pytest.mark.parametrize("name, config", CASES, ids=[f"{n}-{c[0]}" for n, c in CASES])
def test_corollary_4_2_bound_is_above_the_exact_kl_on_average(name, config):
    p, reward = MODELS[name]
    bound = simulate(name)[0][config][:, :, ESTIMATE_COLUMNS.index("kl_corollary_4_2_bound")]
    z = z_scores(bound, exact_values(p, reward, config[0])["kl_exact"])
    assert np.all(z >= -4), np.round(z, 1)


# -- make_pool: what no model can produce -------------------------------------------------------


@pytest.mark.parametrize(
    "logprob, reward, key, message",
    [
        ([-1.0, -1.5], [0.0, 0.0], ["a", "a"], "one log-probability"),
        ([-1.0, -1.0], [0.0, 2.0], ["a", "a"], "one reward"),
        ([np.log(0.6), np.log(0.6)], [0.0, 1.0], ["a", "b"], "sum to 1.2"),
        ([np.log(0.6), np.log(0.6)], [0.0, 1.0], None, "sum to 1.2"),
        ([-1.0, -2.0], [0.0, 1.0], ["a", None], "key is missing at row 1"),
        ([-1.0, -2.0], [0.0, 1.0], [np.nan, "b"], "key is missing at row 0"),
        ([-1.0, 0.5], [0.0, 1.0], None, "<= 0"),
        ([-1.0, np.nan], [0.0, 1.0], None, "finite"),
        ([-1.0, -np.inf], [0.0, 1.0], None, "finite"),
        ([-1.0, -2.0], [np.inf, 1.0], None, "finite"),
        ([-1.0, -2.0], [0.0, np.nan], None, "finite"),
        ([], [], None, "empty"),
    ],
)
def test_make_pool_rejects_what_no_model_can_produce(logprob, reward, key, message):
    with pytest.raises(ValueError, match=message):
        make_pool(logprob, reward, key=key)


@pytest.mark.parametrize(
    "logprob, reward, key",
    [
        ([-1.0, -2.0], [0.0], None),
        ([-1.0, -2.0], [0.0, 1.0], ["a"]),
    ],
)
def test_make_pool_rejects_arrays_of_different_lengths_naming_them(logprob, reward, key):
    with pytest.raises(ValueError, match="(?i)length.*(logprob|reward|key)|(logprob|reward|key).*length"):
        make_pool(logprob, reward, key=key)


def test_make_pool_accepts_float_rounding():
    """Log-probabilities of one key a few ulps apart, and a total mass a rounding above 1, pass."""
    pool = make_pool([-1.0, -1.0 - 1e-13, np.log(1 - np.exp(-1.0)) + 1e-12], [0.0, 0.0, 1.0], key=["a", "a", "b"])
    assert list(pool.count) == [2.0, 1.0]


def test_identical_samples_merge_into_one_outcome():
    pool = make_pool([-1.0, -1.0, -2.0], [3.0, 3.0, 1.0], key=["a", "a", "b"])
    assert list(pool.count) == [1.0, 2.0]
    assert list(pool.key) == ["b", "a"]


def test_reward_ties_broken_by_logprob_then_key():
    pool = make_pool([-3.0, -1.0, -1.0], [0.0, 0.0, 0.0], key=["x", "z", "y"])
    assert list(pool.key) == ["x", "y", "z"]
    np.testing.assert_array_equal(pool.levels("random"), [0, 0, 0])
    np.testing.assert_array_equal(pool.levels("logprob"), [0, 1, 2])


@pytest.mark.parametrize(
    "kwargs, ns, message",
    [
        ({}, [31], "larger than the pool"),
        ({"ties": "first"}, [2], "ties must be one of"),
        ({"method": "jackknife"}, [2], "method must be one of"),
        ({}, [0.5], ">= 1"),
        ({}, [2.5], "whole numbers"),
    ],
)
def test_pool_estimates_bad_arguments_rejected(kwargs, ns, message):
    p, reward = MODELS["ties_dirichlet"]
    pool = pool_of(np.random.default_rng(0).choice(p.size, POOL_SIZE, p=p), p, reward)
    with pytest.raises(ValueError, match=message):
        pool_estimates(pool, ns, **kwargs)


# -- extreme inputs: every column stays in its range --------------------------------------------


def assert_in_range(pool, ns):
    for ties in ("random", "logprob"):
        for method in ("unbiased", "plugin"):
            usable = ns if method == "plugin" else ns[ns <= pool.num_draws]
            table = pool_estimates(pool, usable, ties=ties, method=method)
            log_n = np.log(table["n"].to_numpy())
            for column in KL_COLUMNS:
                values = table[column].to_numpy()
                assert np.all((values >= 0) & (values <= log_n)), (ties, method, column, values)
            reward = table["expected_reward"]
            assert np.all((reward >= pool.reward.min()) & (reward <= pool.reward.max()))
            win = table["win_rate"].to_numpy()
            undefined = (usable + 1 > pool.num_draws) if method == "unbiased" else np.zeros(usable.size, bool)
            np.testing.assert_array_equal(np.isnan(win), undefined)
            assert np.all((win[~undefined] >= 0) & (win[~undefined] <= 1))


def test_long_sequences_with_underflowing_probability_stay_in_range():
    pool = make_pool([-5000.0, -2000.0, -900.0, -5.0, -5000.0], [1.0, 2.0, 3.0, 4.0, 4.0], key=list("abcde"))
    assert_in_range(pool, np.array([1, 2, 3, 4, 5, 8, 50, 1000]))
    # eps -> 0 for the bottom outcome: its estimator is eq. 4 itself.
    assert bonkl.kl_estimator(pool.eps[0], 8.0) == pytest.approx(bonkl.kl_bon(8.0), rel=1e-12)


@pytest.mark.parametrize(
    "logprob, reward",
    [
        ([-3.0], [1.0]),
        ([-3.0, -3.0], [1.0, 1.0]),
        ([-0.1, -4000.0], [1.0, 1.0]),
        ([-0.1, -4000.0], [0.0, 1.0]),
        ([0.0], [7.0]),
    ],
)
def test_one_and_two_draws_stay_in_range(logprob, reward):
    assert_in_range(make_pool(logprob, reward), np.array([1, 2, 3, 10]))


def test_huge_pool_stays_in_range():
    rng = np.random.default_rng(7200)
    p = rng.dirichlet(np.full(5000, 0.2))
    draws = rng.choice(p.size, 20_000, p=p)
    reward = rng.integers(0, 50, p.size).astype(float)
    pool = make_pool(np.log(p[draws]), reward[draws], key=draws)
    assert pool.num_draws == 20_000
    assert_in_range(pool, np.array([1, 2, 100, 10_000, 19_999, 20_000, 10**6]))


def test_tilted_band_brackets_the_mean():
    mass, outcome = exact_pool([1, 2, 3, 4, 10])
    pool = make_pool(np.log(mass[outcome]), outcome.astype(float), key=outcome)
    for method, ns in (("plugin", NS), ("unbiased", np.array([1, 2, 3, 8, 20]))):
        distribution = estimator_distribution(pool, ns, method=method)
        summary = tilted_summary(distribution, [0.5, 5.0])
        table = pool_estimates(pool, ns, method=method).merge(summary, on="n")
        assert np.all(table["kl_estimator_tilted_min"] <= table["kl_estimator_mean"] + 1e-12)
        assert np.all(table["kl_estimator_tilted_max"] >= table["kl_estimator_mean"] - 1e-12)
        weights = distribution.groupby("n")["weight"].sum()
        np.testing.assert_allclose(weights, 1.0, rtol=1e-12)
        wide = table[table["tilt"] == 5.0].reset_index()
        narrow = table[table["tilt"] == 0.5].reset_index()
        assert np.all(wide["kl_estimator_tilted_max"] >= narrow["kl_estimator_tilted_max"] - 1e-12)


# -- bootstrap intervals ------------------------------------------------------------------------


@functools.cache
def bootstrap_pool():
    p, reward = MODELS["ties_dirichlet"]
    return pool_of(np.random.default_rng(7300).choice(p.size, 200, p=p), p, reward)


BOOT_NS = np.array([1, 2, 4, 8, 16, 32, 64])


def test_bootstrap_intervals_reproducible_for_a_seed():
    first = bootstrap_intervals(bootstrap_pool(), BOOT_NS, replicates=50, seed=3)
    pd.testing.assert_frame_equal(first, bootstrap_intervals(bootstrap_pool(), BOOT_NS, replicates=50, seed=3))
    other = bootstrap_intervals(bootstrap_pool(), BOOT_NS, replicates=50, seed=4)
    assert not first.equals(other)


@pytest.mark.parametrize("ties", ["random", "logprob"])
def test_bootstrap_intervals_ordered_and_cover_the_estimate(ties):
    pool = bootstrap_pool()
    intervals = bootstrap_intervals(pool, BOOT_NS, ties=ties, replicates=100, seed=1)
    point = pool_estimates(pool, BOOT_NS, ties=ties)
    covered = []
    for column in ESTIMATE_COLUMNS[1:]:
        low, high = intervals[f"{column}_ci_low"], intervals[f"{column}_ci_high"]
        assert np.all(low <= high), column
        covered.extend((low - 1e-12 <= point[column]) & (point[column] <= high + 1e-12))
    assert np.mean(covered) >= 0.8, f"{np.mean(covered):.2f} of the intervals hold the point estimate"


def test_bootstrap_intervals_win_rate_undefined_at_the_pool_size():
    pool = make_pool(np.log([0.2, 0.3, 0.1, 0.2]), [0.0, 1.0, 2.0, 2.0], key=list("abcd"))
    intervals = bootstrap_intervals(pool, [1, 3, 4], replicates=20)
    assert np.isnan(intervals["win_rate_ci_low"].iloc[-1]) and np.isnan(intervals["win_rate_ci_high"].iloc[-1])
    assert np.all(np.isfinite(intervals["win_rate_ci_low"].iloc[:-1]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"replicates": 1}, "replicates must be a whole number >= 2"),
        ({"replicates": 2.5}, "replicates must be a whole number >= 2"),
        ({"level": 0.0}, r"level must lie in \(0, 1\)"),
        ({"level": 1.0}, r"level must lie in \(0, 1\)"),
        ({"level": 95}, r"level must lie in \(0, 1\)"),
    ],
)
def test_bootstrap_intervals_bad_arguments_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_intervals(bootstrap_pool(), BOOT_NS, **kwargs)
