"""Pool estimates (bonkl.pool, bonkl.pool_table): unbiased for the model's best-of-n, exact on a pool that is the model.

The key claim is checked by simulation: many pools of ``N`` draws from models whose best-of-n is
known exactly (heavy reward ties included), every ``n <= N``, each column's mean over the pools
against the exact value within 4 standard errors. Every generator is seeded.
"""

import functools

import numpy as np
import pandas as pd
import pytest

import bonkl
from bonkl.intervals import IntervalSettings
from bonkl.pool import Pool, estimator_distribution, make_pool, pool_estimates
from bonkl.pool_table import estimate_table
from bonkl.pools import build_pools
from bonkl.ties import level_masses, tied_bon_pmf, tied_bon_win_rate, tied_kl_exact

NS = np.array([1, 2, 3, 8, 50, 1000])
KL_COLUMNS = ["kl_bon", "kl_estimator_mean", "kl_alternate", "kl_corollary_4_2_bound"]
UNBIASED_COLUMNS = ["kl_estimator_mean", "kl_alternate", "expected_reward", "win_rate"]
ESTIMATE_COLUMNS = ["kl_estimator_mean", "kl_alternate", "kl_corollary_4_2_bound", "expected_reward", "win_rate"]


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


def level_expectation(p, reward, ns, statistic):
    """``E_{pi_n}[statistic(P_g, n)]`` under tie-aware best-of-n: the paper's estimator on the
    model whose outcomes are the reward levels (what the eq. 25/23 columns estimate)."""
    masses, levels = level_masses(p, reward)
    pin = tied_bon_pmf(p, reward, np.asarray(ns, dtype=np.float64))
    per_level = np.stack([np.bincount(levels, weights=row, minlength=masses.size) for row in pin])
    return np.sum(per_level * statistic(masses, np.asarray(ns, dtype=np.float64)[:, None]), axis=1)


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
    # The pool holds every outcome and the plug-in weights are the model's: the bound is the exact KL.
    np.testing.assert_allclose(table["kl_corollary_4_2_bound"], bonkl.kl_exact(p, NS), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["win_rate"], bonkl.bon_win_rate(p, NS), rtol=1e-12)
    np.testing.assert_allclose(table["expected_reward"], bonkl.bon_pmf(p, NS) @ np.sort(reward), rtol=1e-12)
    np.testing.assert_array_equal(table["beyond_pool"], NS > outcome.size)


@pytest.mark.parametrize("ties", ["random", "logprob"])
def test_pool_that_is_the_model_gives_the_tie_aware_values(ties):
    """With reward ties: the plug-in weights are then ``pi_n``, eq. 25 and eq. 23 are the paper's
    estimators on the model over levels (``random``) or over answers (``logprob``), and the
    Corollary 4.2 column is the exact KL of that best-of-n."""
    counts = np.array([4, 1, 6, 3, 2, 8, 1, 5])
    mass, outcome = exact_pool(counts, seed=1)
    reward = np.array([1.0, 0.0, 2.0, 1.0, 0.0, 2.0, 1.0, 3.0])
    pool = make_pool(np.log(mass[outcome]), reward[outcome], key=outcome)
    p, r = strict_order(mass, reward)
    ns = np.array([1, 2, 5, 30, 1000])
    plugin = pool_estimates(pool, ns, ties=ties, method="plugin")
    if ties == "random":
        exact_kl = tied_kl_exact(p, r, ns)
        eq25 = level_expectation(p, r, ns, bonkl.kl_estimator)
        eq23 = level_expectation(p, r, ns, bonkl.kl_alternate)
    else:
        exact_kl = bonkl.kl_exact(p, ns)
        eq25, eq23 = bonkl.expected_kl_estimator(p, ns), bonkl.expected_kl_alternate(p, ns)
    np.testing.assert_allclose(plugin["kl_corollary_4_2_bound"], exact_kl, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(plugin["kl_estimator_mean"], eq25, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(plugin["kl_alternate"], eq23, rtol=1e-9, atol=1e-12)
    assert np.all(plugin["kl_estimator_mean"] >= exact_kl - 1e-12)  # Conjecture 4.4 on the level model


def test_ties_policy_eq_25_describes_the_tie_aware_best_of_n():
    """The issue's example: ten tied top answers of 0.05 each (level mass 0.5), n = 64. The
    tie-aware KL is about log 2; eq. 25 at each answer's own mass would be the strict-order value
    2.84; at the level mass it describes the same best-of-n as the other columns."""
    top = np.full(10, 0.05)
    rest = np.full(25, 0.02)
    p = np.concatenate((rest, top))
    reward = np.concatenate((np.arange(25.0), np.full(10, 100.0)))
    counts = np.rint(p * 200).astype(int)
    mass, outcome = exact_pool(counts, seed=2)
    pool = make_pool(np.log(mass[outcome]), reward[outcome], key=outcome)
    row = pool_estimates(pool, [64], method="plugin").iloc[0]
    kl = tied_kl_exact(*strict_order(mass, reward), 64)
    assert kl == pytest.approx(np.log(2), abs=1e-6)
    assert row["kl_corollary_4_2_bound"] == pytest.approx(kl, rel=1e-9)
    assert row["kl_estimator_mean"] == pytest.approx(float(bonkl.kl_estimator(0.5, 64)), rel=1e-6)
    per_answer = float(np.sum(tied_bon_pmf(*strict_order(mass, reward), 64) * bonkl.kl_estimator(np.sort(mass), 64)))
    assert row["kl_estimator_mean"] < 1.0 < 2.8 < per_answer


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
    "distinct": strict_order(
        np.arange(1, 9) ** -1.3 / np.sum(np.arange(1, 9) ** -1.3), np.array([3, 7, 1, 0, 5, 2, 6, 4.0])
    ),
}
CONFIGS = {
    "ties_dirichlet": [("random", "unbiased"), ("logprob", "unbiased")],
    "rare_top": [("random", "unbiased"), ("random", "plugin")],
    "distinct": [("random", "unbiased")],
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
    """The model's best-of-n values for ``n = 1..N`` (ties: ``random`` tie-aware, ``logprob`` strict).

    Eq. 25 and eq. 23 under ``random``: the paper's estimator on the model over reward levels."""
    pin = tied_bon_pmf(p, reward, POOL_NS) if ties == "random" else bonkl.bon_pmf(p, POOL_NS)
    column = POOL_NS[:, None]
    if ties == "random":
        masses, levels = level_masses(p, reward)
        estimator = bonkl.kl_estimator(masses, column)[:, levels]
        alternate = bonkl.kl_alternate(masses, column)[:, levels]
    else:
        estimator, alternate = bonkl.kl_estimator(p, column), bonkl.kl_alternate(p, column)
    return {
        "kl_estimator_mean": np.sum(pin * estimator, axis=1),
        "kl_alternate": np.sum(pin * alternate, axis=1),
        "expected_reward": pin @ reward,
        "win_rate": np.append(tied_bon_win_rate(p, reward, POOL_NS[:-1]), np.nan),
        "kl_exact": tied_kl_exact(p, reward, POOL_NS) if ties == "random" else bonkl.kl_exact(p, POOL_NS),
        "tilted_inner": {t: np.sum(pin * np.exp(t * estimator), axis=1) for t in TILTS},
    }


def simulated_samples(name):
    """``POOLS`` pools of ``POOL_SIZE`` draws as one sample table (prompt ``i``)."""
    p, reward = MODELS[name]
    rng = np.random.default_rng(7000 + sorted(MODELS).index(name))
    draws = rng.choice(p.size, (POOLS, POOL_SIZE), p=p).ravel()
    return np.repeat(np.arange(POOLS), POOL_SIZE), np.log(p[draws]), reward[draws], draws


@functools.cache
def simulate(name):
    """Per config an array (pool, n, column) from one vectorised table of all the pools, and for
    the first config the unbiased estimate of ``E[exp(t KLhat)]`` from ``estimator_distribution``."""
    prompt, logprob, reward, key = simulated_samples(name)
    tables = {}
    for ties, method in CONFIGS[name]:
        table = estimate_table(build_pools(prompt, logprob, reward, key, ties=ties), POOL_NS, method=method)
        tables[ties, method] = table[ESTIMATE_COLUMNS].to_numpy(np.float64).reshape(POOLS, POOL_SIZE, -1)
    inner = {t: np.empty((POOLS, POOL_SIZE)) for t in TILTS}
    if name == "ties_dirichlet":
        p, model_reward = MODELS[name]
        for i in range(200):  # 200 pools: estimator_distribution is per pool
            pool = pool_of(key[i * POOL_SIZE : (i + 1) * POOL_SIZE], p, model_reward)
            law = estimator_distribution(pool, POOL_NS)
            values = law["kl_estimator"].to_numpy().reshape(POOL_SIZE, -1)
            weights = law["weight"].to_numpy().reshape(POOL_SIZE, -1)
            for t in TILTS:
                inner[t][i] = np.sum(weights * np.exp(t * values), axis=1)
        inner = {t: v[:200] for t, v in inner.items()}
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


def test_vectorised_table_equals_the_per_pool_table():
    """One table of many pools (bonkl.pool_table) equals the pools estimated one by one."""
    prompt, logprob, reward, key = simulated_samples("ties_dirichlet")
    rows = slice(0, 20 * POOL_SIZE)
    many = estimate_table(build_pools(prompt[rows], logprob[rows], reward[rows], key[rows]), POOL_NS)
    p, model_reward = MODELS["ties_dirichlet"]
    for i in range(20):
        one = pool_estimates(pool_of(key[i * POOL_SIZE : (i + 1) * POOL_SIZE], p, model_reward), POOL_NS)
        mine = many[many["prompt_id"] == i].drop(columns="prompt_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, one, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("ties", ["random", "logprob"])
def test_vectorised_table_equals_per_prompt_tables_on_mixed_pools(ties):
    """Ties, repeated answers, a one-sample prompt and prompts of different sizes in one file: the
    table of all prompts equals each prompt's own table (intervals and divergences included)."""
    rng = np.random.default_rng(7500)
    p, reward = MODELS["ties_dirichlet"]
    sizes = {"ties": 40, "one": 1, "seven": 7, "again": 40, "sixty": 60}
    prompt = np.concatenate([np.full(size, name, dtype=object) for name, size in sizes.items()])
    draws = rng.choice(p.size, prompt.size, p=p)
    settings = IntervalSettings(30, seed=2)
    ns = [1, 2, 3, 5, 8, 40, 60]
    many = estimate_table(
        build_pools(prompt, np.log(p[draws]), reward[draws], draws, ties=ties), ns, intervals=settings, alphas=[0.5, 2]
    )
    assert list(many["prompt_id"].unique()) == sorted(sizes)
    for name in sizes:
        rows = prompt == name
        one = estimate_table(
            build_pools(prompt[rows], np.log(p[draws[rows]]), reward[draws[rows]], draws[rows], ties=ties),
            ns,
            intervals=settings,
            alphas=[0.5, 2],
        )
        mine = many[many["prompt_id"] == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, one, rtol=1e-12, atol=1e-14, check_dtype=False)


def test_a_prompts_intervals_do_not_depend_on_the_other_prompts_in_the_file():
    """Resamples are seeded per prompt and drawn over the pool's own outcomes: a prompt with few
    distinct answers gets the same intervals alone and beside a prompt of the same size with many
    (whose answers widen the padded arrays)."""
    rng = np.random.default_rng(11)
    few = rng.choice(4, 64, p=[0.4, 0.3, 0.2, 0.1])
    many = rng.choice(60, 64)
    prompt = np.r_[np.full(64, "few", dtype=object), np.full(64, "many", dtype=object)]
    draws = np.r_[few, 100 + many]
    mass = np.where(draws < 100, np.array([0.4, 0.3, 0.2, 0.1, 0])[np.minimum(draws, 4)], 0.5 / 60)
    reward = (draws * 7919 % 101).astype(float)
    settings = IntervalSettings(40, seed=5)
    both = estimate_table(build_pools(prompt, np.log(mass), reward, draws), [2, 4, 8], intervals=settings)
    alone = estimate_table(build_pools(prompt[:64], np.log(mass[:64]), reward[:64], few), [2, 4, 8], intervals=settings)
    mine = both[both["prompt_id"] == "few"].reset_index(drop=True)
    assert mine["expected_reward_ci_low"].notna().all()
    pd.testing.assert_frame_equal(mine, alone, rtol=1e-12, atol=1e-14, check_dtype=False)


def test_intervals_do_not_depend_on_threads_or_chunks(monkeypatch):
    """Pools of mixed widths in many chunks, computed one chunk at a time or three at once, give
    the table of one chunk holding every pool."""
    from bonkl import intervals

    rng = np.random.default_rng(12)
    p, reward = MODELS["ties_dirichlet"]
    prompt = np.repeat(np.arange(30), 48)
    draws = rng.choice(p.size, prompt.size, p=p)
    pools = build_pools(prompt, np.log(p[draws]), reward[draws], draws)
    settings = IntervalSettings(40, seed=9)
    whole = estimate_table(pools, [1, 2, 6], intervals=settings)
    monkeypatch.setattr(intervals, "MAX_ELEMENTS", 40 * 30)  # a few pools per chunk
    for threads in (1, 3):
        table = estimate_table(pools, [1, 2, 6], intervals=settings, threads=threads)
        pd.testing.assert_frame_equal(table, whole, rtol=1e-12, atol=1e-14)
    assert whole["expected_reward_ci_low"].notna().sum() > 30
    with pytest.raises(ValueError, match="threads must be a whole number >= 1"):
        estimate_table(pools, [2], threads=0)


CASES = [(name, config) for name in sorted(MODELS) for config in CONFIGS[name] if config[1] == "unbiased"]


@pytest.mark.slow
@pytest.mark.parametrize("name, config", CASES, ids=[f"{n}-{c[0]}" for n, c in CASES])
def test_unbiased_estimates_match_the_models_best_of_n_for_every_n(name, config):
    """Unbiased for every n; eq. 25 and eq. 23 under random ties are unbiased only where each
    level's answers are all in the pool, else biased upward (their level mass is a lower bound)."""
    p, reward = MODELS[name]
    exact = exact_values(p, reward, config[0])
    tables = simulate(name)[0][config]
    tied = config[0] == "random" and len(np.unique(reward)) < reward.size
    for column in UNBIASED_COLUMNS:
        samples = tables[:, :, ESTIMATE_COLUMNS.index(column)]
        if column == "win_rate":  # needs n + 1 <= N: NaN at n = N in every pool
            assert np.all(np.isnan(samples[:, -1]))
            samples, want = samples[:, :-1], exact[column][:-1]
        else:
            want = exact[column]
        z = z_scores(samples, want)
        if tied and column.startswith("kl_"):
            assert np.all(z >= -4), f"{column}: z = {np.round(z, 1)} (n = 1..)"
        else:
            assert np.all(np.abs(z) <= 4), f"{column}: z = {np.round(z, 1)} (n = 1..)"


@pytest.mark.slow
def test_unbiasedness_check_tells_the_tie_rules_apart():
    """The simulation has power: the strict order's KL means are far from the tie-aware values."""
    p, reward = MODELS["ties_dirichlet"]
    tables = simulate("ties_dirichlet")[0]["logprob", "unbiased"]
    exact = exact_values(p, reward, "random")
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
    """Eq. 133's inner ``E[exp(t KLhat)]``, weighted by ``estimator_distribution``, is unbiased
    (ties_dirichlet: its levels' answers are all in most pools of 30, so eq. 25 sees the level mass);
    checked against the exact value within 4 standard errors, above it (the level mass bound) for t > 0."""
    p, reward = MODELS["ties_dirichlet"]
    samples = simulate("ties_dirichlet")[1][t]
    z = z_scores(samples, exact_values(p, reward, "random")["tilted_inner"][t])
    assert np.all(z >= -4 if t > 0 else z <= 4), np.round(z, 1)


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


def test_corollary_4_2_bound_falls_below_the_kl_in_single_pools():
    """An upper bound in expectation only: on p = (0.2, 0.3, 0.5), N = 32 (every pool holds every
    outcome), many single pools lie below the exact KL at small n."""
    p, reward = np.array([0.2, 0.3, 0.5]), np.array([0.0, 1.0, 2.0])
    rng = np.random.default_rng(7400)
    draws = rng.choice(3, (400, 32), p=p)
    table = estimate_table(
        build_pools(np.repeat(np.arange(400), 32), np.log(p[draws.ravel()]), reward[draws.ravel()], draws.ravel()),
        [2, 4],
    )
    below = table["kl_corollary_4_2_bound"].to_numpy() < np.repeat(bonkl.kl_exact(p, [2, 4])[None], 400, 0).ravel()
    assert 0.2 < below.mean() < 0.6


# -- make_pool: what no model can produce -------------------------------------------------------


@pytest.mark.parametrize(
    "logprob, reward, key, message",
    [
        ([-1.0, -1.5], [0.0, 0.0], ["a", "a"], "rows 0, 1.*values of their log-probability"),
        ([-1.0, -1.0], [0.0, 2.0], ["a", "a"], "rows 0, 1.*values of their reward"),
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
    np.testing.assert_array_equal(pool.pools("random").groups[0].level[0], [0, 0, 0])
    np.testing.assert_array_equal(pool.pools("logprob").groups[0].level[0], [0, 1, 2])


def test_impossible_pool_names_its_prompt_and_rows():
    with pytest.raises(ValueError, match=r"prompt 'q2' \(rows 2, 3\).*sum to 1.2"):
        build_pools(["q1", "q1", "q2", "q2"], np.log([0.5, 0.4, 0.6, 0.6]), [0, 1, 0, 1], ["a", "b", "a", "b"])


@pytest.mark.parametrize(
    "kwargs, ns, message",
    [
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


def test_unbiased_rows_past_the_pool_are_empty():
    """n > N cannot be estimated without bias: the row is there, its estimates are NaN."""
    p, reward = MODELS["ties_dirichlet"]
    pool = pool_of(np.random.default_rng(0).choice(p.size, POOL_SIZE, p=p), p, reward)
    table = pool_estimates(pool, [2, POOL_SIZE + 1])
    assert table[ESTIMATE_COLUMNS].iloc[1].isna().all() and table[ESTIMATE_COLUMNS].iloc[0].notna().all()


# -- extreme inputs: every column stays in its range --------------------------------------------


def assert_in_range(pool, ns):
    for ties in ("random", "logprob"):
        for method in ("unbiased", "plugin"):
            table = pool_estimates(pool, ns, ties=ties, method=method)
            if method == "unbiased":
                assert table.loc[ns > pool.num_draws, ESTIMATE_COLUMNS].isna().all().all()
                table = table[ns <= pool.num_draws]
            usable = table["n"].to_numpy()
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
        narrow = pool_estimates(pool, ns, method=method, tilt=0.5)
        wide = pool_estimates(pool, ns, method=method, tilt=5.0)
        for table in (narrow, wide):
            assert np.all(table["kl_estimator_tilted_min"] <= table["kl_estimator_mean"] + 1e-12)
            assert np.all(table["kl_estimator_tilted_max"] >= table["kl_estimator_mean"] - 1e-12)
        assert np.all(wide["kl_estimator_tilted_max"] >= narrow["kl_estimator_tilted_max"] - 1e-12)
        weights = estimator_distribution(pool, ns, method=method).groupby("n")["weight"].sum()
        np.testing.assert_allclose(weights, 1.0, rtol=1e-12)


# -- intervals ----------------------------------------------------------------------------------


@functools.cache
def interval_pool():
    p, reward = MODELS["distinct"]
    return pool_of(np.random.default_rng(7300).choice(p.size, 200, p=p), p, reward)


BOOT_NS = np.array([1, 2, 4, 8, 16, 25, 26, 64])


def test_intervals_reproducible_for_a_seed():
    first = pool_estimates(interval_pool(), BOOT_NS, intervals=IntervalSettings(50, seed=3))
    pd.testing.assert_frame_equal(
        first, pool_estimates(interval_pool(), BOOT_NS, intervals=IntervalSettings(50, seed=3))
    )
    other = pool_estimates(interval_pool(), BOOT_NS, intervals=IntervalSettings(50, seed=4))
    assert not first.equals(other)


def test_intervals_only_where_their_coverage_holds():
    """n <= N/8 (25 of 200), not past it; none at n = 1 for the columns exact there (0, 0, 1/2);
    ordered and inside each column's range; the note says why a row has none."""
    table = pool_estimates(interval_pool(), BOOT_NS, intervals=IntervalSettings(100, seed=1))
    for column in UNBIASED_COLUMNS:
        low, high = table[f"{column}_ci_low"], table[f"{column}_ci_high"]
        small = table["n"].between(2, 25)
        assert low[small].notna().all() and high[small].notna().all(), column
        assert low[table["n"] > 25].isna().all(), column
        assert np.all(low[small] <= high[small])
        assert np.all(low[small] <= table[column][small] + 1e-12) and np.all(
            table[column][small] <= high[small] + 1e-12
        )
    assert table.loc[0, ["kl_estimator_mean_ci_low", "win_rate_ci_low"]].isna().all()
    assert np.isfinite(table.loc[0, "expected_reward_ci_low"])
    assert table["ci_note"][table["n"] > 25].str.contains("n > N/8").all()
    assert (table["ci_note"][table["n"].between(1, 25)] == "").all()
    shown = table["kl_estimator_mean_ci_high"].notna()
    assert np.all(table["kl_estimator_mean_ci_high"][shown] <= bonkl.kl_bon(table["n"][shown]) + 1e-12)


def test_no_eq_25_interval_where_distinct_answers_tie():
    p, reward = MODELS["ties_dirichlet"]
    pool = pool_of(np.random.default_rng(7301).choice(p.size, 200, p=p), p, reward)
    table = pool_estimates(pool, [2, 8], intervals=IntervalSettings(50))
    assert table[["kl_estimator_mean_ci_low", "kl_alternate_ci_low"]].isna().all().all()
    assert table[["expected_reward_ci_low", "win_rate_ci_low"]].notna().all().all()
    assert table["ci_note"].str.contains("distinct answers tie").all()


def test_intervals_only_for_the_unbiased_method():
    table = pool_estimates(interval_pool(), [2], method="plugin", intervals=IntervalSettings(50))
    assert table["expected_reward_ci_low"].isna().all() and table["ci_note"].str.contains("unbiased").all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"replicates": 1}, r"replicates must be a whole number in \[20, 100000\]"),
        ({"replicates": 20.5}, "replicates must be a whole number"),
        ({"level": 0.0}, r"level must lie in \[0.5, 1\)"),
        ({"level": 1.0}, r"level must lie in \[0.5, 1\)"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
    ],
)
def test_interval_settings_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IntervalSettings(**kwargs)
