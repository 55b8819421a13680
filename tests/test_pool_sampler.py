"""Best-of-n from a sampler q (tempered, truncated) and an evaluation reward (docs/MATH.md, "Best-of-n
from another sampler"): exact values on discrete models, unbiasedness by simulation, Coste et al.'s
estimator, and the pool checks.

The reference pi has 36 outcomes, with reward ties (12 levels) or distinct rewards; q is pi at
temperature 0.7, cut to top-p 0.9 and renormalised. Exact values come from enumerating the model:
``KL(BoN_q || pi)`` as ``sum BoN_q (log BoN_q - log pi)``, with BoN_q from :mod:`bonkl.ties` on q.
"""

import functools
import itertools
import math
import re
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import bonkl
from bonkl.cli import main
from bonkl.coverage_sampler import processed, sampler_coverage
from bonkl.intervals import IntervalSettings
from bonkl.pool_table import EVAL_COLUMNS, SAMPLER_COLUMNS, TABLE_COLUMNS, estimate_table
from bonkl.pools import build_pools
from bonkl.summary import prompt_average
from bonkl.ties import level_masses, tied_bon_pmf, tied_bon_win_rate

OUTCOMES = 36


def model(ties: bool):
    """``(pi, q, reward, gold)`` on q's support, in the order a pool sorts them (reward, log pi)."""
    rng = np.random.default_rng(2000 + ties)
    pi = rng.dirichlet(np.full(OUTCOMES, 0.7))
    reward = rng.integers(0, 12, OUTCOMES).astype(float) if ties else rng.permutation(OUTCOMES).astype(float)
    gold = reward + rng.normal(0.0, 2.0, OUTCOMES)  # a gold reward that differs between tied answers
    q = processed(pi, temperature=0.7, top_p=0.9)
    keep = q > 0
    order = np.lexsort((np.log(pi[keep]), reward[keep]))
    return pi[keep][order], q[keep][order], reward[keep][order], gold[keep][order]


def bon_q(q, reward, ns, ties: str) -> np.ndarray:
    """Best-of-n's masses from q, ``(len(ns), outcomes)``: tie-aware, or the strict (reward, log pi) order."""
    ns = np.asarray(ns, dtype=np.float64)
    return tied_bon_pmf(q, reward, ns) if ties == "random" else bonkl.bon_pmf(q, ns)


def exact(pi, q, reward, gold, ns, ties: str) -> dict:
    """The sampler's best-of-n by enumeration."""
    pin = bon_q(q, reward, ns, ties)
    log_pin = np.log(np.where(pin > 0, pin, 1.0))
    kl = lambda base: np.sum(np.where(pin > 0, pin * (log_pin - np.log(base)), 0.0), axis=1)  # noqa: E731
    if ties == "random":
        masses, levels = level_masses(q, reward)
        eps = masses[levels]
    else:
        eps = q
    return {
        "kl_to_reference": kl(pi),  # KL(BoN_q || pi)
        "kl_to_sampler": kl(q),  # KL(BoN_q || q)
        "sampler_log_ratio": pin @ (np.log(q) - np.log(pi)),
        "expected_eval_reward": pin @ gold,
        "expected_reward": pin @ reward,
        "kl_estimator_mean": np.sum(pin * bonkl.kl_estimator(eps, np.asarray(ns, float)[:, None]), axis=1),
        "win_rate": tied_bon_win_rate(q, reward, np.asarray(ns, dtype=np.float64)),
    }


def sampler_pools(draws, pi, q, reward, gold, ties="random", prompt=None, **drop):
    """Pools of the given draws (outcome indices), with ``log q`` and the gold reward unless dropped."""
    prompt = np.zeros(draws.size, dtype=np.int64) if prompt is None else prompt
    extra = {"sampler_logprob": np.log(q[draws]), "eval_reward": gold[draws]}
    extra = {k: v for k, v in extra.items() if not drop.get(k)}
    return build_pools(prompt, np.log(pi[draws]), reward[draws], draws, ties=ties, **extra)


def test_sampler_is_pi_tempered_then_cut_to_top_p():
    pi = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    tempered = pi ** (1 / 0.7) / np.sum(pi ** (1 / 0.7))
    np.testing.assert_allclose(processed(pi, 0.7), tempered, rtol=1e-14)
    cut = processed(pi, 0.7, 0.9)
    kept = np.cumsum(tempered) < 0.9
    kept[np.argmin(kept)] = True  # the smallest set of most likely outcomes whose mass reaches 0.9
    np.testing.assert_allclose(cut, np.where(kept, tempered, 0.0) / tempered[kept].sum(), rtol=1e-14)


@pytest.mark.parametrize("ties", [True, False])
def test_kl_to_reference_decomposes_into_the_best_of_n_step_and_the_log_ratio(ties):
    """``KL(BoN_q || pi) = KL(BoN_q || q) + E_{BoN_q}[log q - log pi]``, and the step is the tie-aware
    KL of best-of-n on q (bonkl.ties)."""
    pi, q, reward, gold = model(ties)
    ns = np.array([1, 2, 5, 40, 1000])
    values = exact(pi, q, reward, gold, ns, "random")
    np.testing.assert_allclose(values["kl_to_sampler"], bonkl.tied_kl_exact(q, reward, ns), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(
        values["kl_to_reference"], values["kl_to_sampler"] + values["sampler_log_ratio"], rtol=1e-12, atol=1e-13
    )
    assert values["sampler_log_ratio"][0] == pytest.approx(float(q @ (np.log(q) - np.log(pi))))  # KL(q || pi)


# -- (a) a pool that is the sampler: the plug-in gives the exact values ----------------------------


@pytest.mark.parametrize("ties_model", [True, False], ids=["reward-ties", "distinct"])
@pytest.mark.parametrize("ties", ["random", "logprob"])
def test_pool_that_is_the_sampler_gives_the_exact_values(ties_model, ties):
    """A pool holding each outcome exactly ``1000 q`` times (q rounded to thousandths, so that a pool can
    hold it): with the plug-in weights every column is the sampler's exact best-of-n value, the paper's
    columns those of best-of-n's step from q, the ``kl_to_reference`` ones of ``KL(BoN_q || pi)``."""
    pi, q, reward, gold = model(ties_model)
    counts = np.maximum(np.rint(q * 1000), 1).astype(int)
    q = counts / counts.sum()
    draws = np.random.default_rng(1).permutation(np.repeat(np.arange(q.size), counts))
    ns = np.array([1, 2, 3, 8, 50, 1000])
    table = estimate_table(sampler_pools(draws, pi, q, reward, gold, ties), ns, method="plugin")
    want = exact(pi, q, reward, gold, ns, ties)
    close = functools.partial(np.testing.assert_allclose, rtol=1e-9, atol=1e-12)
    close(table["sampler_log_ratio"], want["sampler_log_ratio"])
    close(table["kl_corollary_4_2_bound"], want["kl_to_sampler"])
    close(table["kl_to_reference_corollary_4_2_bound"], want["kl_to_reference"])
    close(table["kl_estimator_mean"], want["kl_estimator_mean"])
    close(table["kl_to_reference_estimator_mean"], want["kl_estimator_mean"] + want["sampler_log_ratio"])
    close(table["expected_eval_reward"], want["expected_eval_reward"])
    close(table["expected_reward"], want["expected_reward"])
    close(table["win_rate"], want["win_rate"])  # against one more draw from q


def test_sampler_equal_to_the_reference_changes_nothing():
    """``sampler_logprob = logprob``: the paper's columns are unchanged and the log ratio is 0 (a
    constant, so no interval: the note says so)."""
    pi, _, reward, gold = model(True)
    draws = np.random.default_rng(2).choice(pi.size, 300, p=pi / pi.sum())
    pools = build_pools(np.zeros(draws.size), np.log(pi[draws]), reward[draws], draws)
    same = build_pools(np.zeros(draws.size), np.log(pi[draws]), reward[draws], draws, sampler_logprob=np.log(pi[draws]))
    settings = IntervalSettings(30, seed=1)
    plain = estimate_table(pools, [1, 2, 8, 300], intervals=settings, alphas=[0.5])
    with_q = estimate_table(same, [1, 2, 8, 300], intervals=settings, alphas=[0.5])
    same_columns = [c for c in plain.columns if c != "ci_note"]
    pd.testing.assert_frame_equal(with_q[same_columns], plain[same_columns])
    small = with_q["n"] <= 300 / 8
    note = "no variation in the pool: sampler_log_ratio"
    assert with_q["ci_note"][small].str.endswith(note).all()
    assert with_q["sampler_log_ratio_ci_low"].isna().all()
    assert np.all(with_q["sampler_log_ratio"] == 0.0)
    np.testing.assert_array_equal(with_q["kl_to_reference_estimator_mean"], plain["kl_estimator_mean"])


# -- (b), (c) unbiased for every n <= N, by simulation ---------------------------------------------

POOLS, SIZE = 3000, 24
NS = np.arange(1, SIZE + 1)
CONFIGS = [(True, "random"), (True, "logprob"), (False, "random")]
IDS = ["reward-ties-random", "reward-ties-logprob", "distinct"]
COLUMNS = [
    "sampler_log_ratio",
    "expected_eval_reward",
    "expected_reward",
    "kl_estimator_mean",
    "kl_to_reference_estimator_mean",
    "kl_to_reference_corollary_4_2_bound",
]


@functools.cache
def simulate(ties_model: bool, ties: str) -> dict:
    """(pool, n) arrays of each column from one table of ``POOLS`` pools of ``SIZE`` draws from q."""
    pi, q, reward, gold = model(ties_model)
    draws = np.random.default_rng(3000 + ties_model).choice(q.size, (POOLS, SIZE), p=q).ravel()
    prompt = np.repeat(np.arange(POOLS), SIZE)
    table = estimate_table(sampler_pools(draws, pi, q, reward, gold, ties, prompt), NS)
    return {c: table[c].to_numpy().reshape(POOLS, SIZE) for c in COLUMNS}


def z_scores(samples, want):
    se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    return (samples.mean(axis=0) - want) / (se + 1e-12)


@pytest.mark.parametrize("ties_model, ties", CONFIGS, ids=IDS)
def test_log_ratio_and_evaluation_reward_are_unbiased_for_every_n(ties_model, ties):
    """``sampler_log_ratio`` and ``expected_eval_reward`` (a gold reward that differs between answers
    tied in the selecting reward) within 4 standard errors of the exact value at every ``n <= N``;
    ``kl_to_reference_estimator_mean`` at ``n = 1`` is ``KL(q || pi)`` without bias."""
    pi, q, reward, gold = model(ties_model)
    want = exact(pi, q, reward, gold, NS, ties)
    got = simulate(ties_model, ties)
    for column in ("sampler_log_ratio", "expected_eval_reward", "expected_reward"):
        z = z_scores(got[column], want[column])
        assert np.all(np.abs(z) <= 4), f"{column}: z = {np.round(z, 1)}"
    z = z_scores(got["kl_to_reference_estimator_mean"][:, 0], float(q @ (np.log(q) - np.log(pi))))
    assert abs(z) <= 4


@pytest.mark.parametrize("ties_model, ties", CONFIGS, ids=IDS)
def test_kl_to_reference_keeps_the_direction_of_its_kl_part(ties_model, ties):
    """The Corollary 4.2 column (q-masses) plus the log ratio is an upper bound on ``KL(BoN_q || pi)`` in
    expectation, and so is eq. 25 plus the log ratio (Conjecture 4.4 on q's levels)."""
    pi, q, reward, gold = model(ties_model)
    want = exact(pi, q, reward, gold, NS, ties)["kl_to_reference"]
    got = simulate(ties_model, ties)
    for column in ("kl_to_reference_corollary_4_2_bound", "kl_to_reference_estimator_mean"):
        z = z_scores(got[column], want)
        assert np.all(z >= -4), f"{column}: z = {np.round(z, 1)}"


def test_eq_25_uses_the_samplers_masses():
    """Distinct rewards: eq. 25's mean is unbiased for ``E_{BoN_q}[KLhat(q(y))]``, and the simulation
    tells it apart from the same estimator at the reference's masses ``pi(y)``."""
    pi, q, reward, gold = model(False)
    got = simulate(False, "random")["kl_estimator_mean"]
    pin = bon_q(q, reward, NS, "random")
    z = z_scores(got, exact(pi, q, reward, gold, NS, "random")["kl_estimator_mean"])
    assert np.all(np.abs(z) <= 4), np.round(z, 1)
    at_pi = z_scores(got, np.sum(pin * bonkl.kl_estimator(pi, NS[:, None].astype(float)), axis=1))
    assert np.max(np.abs(at_pi)) > 10


# -- (d) the evaluation reward: Coste et al.'s estimator, and the enumeration with ties ----------


def coste(proxy, gold, n) -> Fraction:
    """Coste et al. (2024): sort the N draws by the proxy; weight ``C(i-1, n-1)/C(N, n)`` on the i-th smallest."""
    order = sorted(range(len(proxy)), key=lambda i: proxy[i])
    size = len(proxy)
    return sum(Fraction(math.comb(i - 1, n - 1), math.comb(size, n)) * gold[j] for i, j in enumerate(order, 1))


@pytest.mark.parametrize("ties", ["random", "logprob"])
@pytest.mark.parametrize("repeats", [False, True], ids=["distinct-draws", "repeated-answers"])
def test_evaluation_reward_is_coste_et_al_without_ties(ties, repeats):
    """No two distinct answers tie in the proxy: ``expected_eval_reward`` is Coste et al.'s unbiased
    best-of-n estimator for every ``n <= N`` (computed exactly with fractions); a repeated answer
    carries one proxy and one gold reward, so its place among its copies does not matter."""
    rng = np.random.default_rng(4 if repeats else 5)
    answers = rng.choice(400, 40, replace=repeats)
    proxy = rng.permutation(400)[answers].astype(float) / 7.0
    gold = rng.integers(-50, 50, 400)[answers]
    logprob = -8.0 - answers / 100.0  # any model: 40 answers of mass below e^-8
    pools = build_pools(np.zeros(40), logprob, proxy, answers, ties=ties, eval_reward=gold.astype(float))
    assert repeats == (pools.groups[0].num_outcomes[0] < 40)
    table = estimate_table(pools, np.arange(1, 41))
    for n, got in zip(range(1, 41), table["expected_eval_reward"]):
        want = coste(proxy.tolist(), [Fraction(int(g)) for g in gold], n)
        assert got == pytest.approx(float(want), rel=1e-12, abs=1e-12), n


def brute_mean(values, proxy, tie_break, n) -> Fraction:
    """The average over every n-subset of draws of ``values`` at its winner: the top proxy, then the top
    ``tie_break`` (``None``: uniform among the tied draws)."""
    total, subsets = Fraction(0), 0
    for subset in itertools.combinations(range(len(proxy)), n):
        top = max(proxy[i] for i in subset)
        tied = [i for i in subset if proxy[i] == top]
        if tie_break is not None:
            best = max(tie_break[i] for i in tied)
            tied = [i for i in tied if tie_break[i] == best]
        total += sum(values[i] for i in tied) / len(tied)
        subsets += 1
    return total / subsets


@pytest.mark.parametrize("ties", ["random", "logprob"])
def test_log_ratio_and_evaluation_reward_match_the_enumeration_with_ties(ties):
    """A pool of 10 draws with reward ties and repeated answers: both columns equal the average over
    every n-subset of the winner's value, ties broken uniformly among the tied draws (``random``) or
    by the likelier answer (``logprob``)."""
    answers = np.array([0, 1, 1, 2, 3, 4, 4, 4, 5, 6])
    proxy = np.array([0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 3.0])
    log_pi = np.log(np.array([0.05, 0.1, 0.1, 0.08, 0.02, 0.12, 0.12, 0.12, 0.04, 0.01]))
    log_q = np.log(np.array([0.03, 0.15, 0.15, 0.1, 0.01, 0.2, 0.2, 0.2, 0.05, 0.004]))
    gold = np.array([3.0, -1.0, -1.0, 5.0, 7.0, 2.0, 2.0, 2.0, -4.0, 1.0])
    pools = build_pools(np.zeros(10), log_pi, proxy, answers, ties=ties, sampler_logprob=log_q, eval_reward=gold)
    table = estimate_table(pools, np.arange(1, 11))
    tie_break = None if ties == "random" else [Fraction(v) for v in log_pi]
    fractions = {
        "sampler_log_ratio": [Fraction(v) for v in log_q - log_pi],
        "expected_eval_reward": [Fraction(v) for v in gold],
    }
    for column, values in fractions.items():
        for n, got in zip(range(1, 11), table[column]):
            want = brute_mean(values, proxy.tolist(), tie_break, n)
            assert got == pytest.approx(float(want), rel=1e-12, abs=1e-13), (column, n)


# -- the columns appear with their inputs only ---------------------------------------------------


@pytest.mark.parametrize("sampler, evaluation", [(False, False), (True, False), (False, True), (True, True)])
def test_columns_appear_only_with_their_inputs(sampler, evaluation):
    pi, q, reward, gold = model(True)
    draws = np.random.default_rng(6).choice(q.size, 64, p=q)
    pools = sampler_pools(draws, pi, q, reward, gold, sampler_logprob=not sampler, eval_reward=not evaluation)
    table = estimate_table(pools, [1, 2, 8], intervals=IntervalSettings(20))
    plain = [c for c in table.columns if not c.endswith(("_ci_low", "_ci_high")) and c != "ci_note"]
    want = list(TABLE_COLUMNS)
    if sampler:
        at = want.index("kl_corollary_4_2_above_kl_bon") + 1
        want[at:at] = SAMPLER_COLUMNS
    if evaluation:
        at = want.index("expected_reward") + 1
        want[at:at] = EVAL_COLUMNS
    assert plain == want
    assert ("sampler_log_ratio_ci_low" in table) == sampler
    assert ("expected_eval_reward_ci_low" in table) == evaluation


def test_evaluation_reward_interval_and_log_ratio_interval_where_the_others_are():
    """Intervals for the two columns at ``n <= N/8`` (and at ``n = 1``: neither is exact there),
    around the estimate; none beyond."""
    pi, q, reward, gold = model(False)
    draws = np.random.default_rng(7).choice(q.size, 200, p=q)
    table = estimate_table(sampler_pools(draws, pi, q, reward, gold), [1, 2, 8, 25, 26], intervals=IntervalSettings(50))
    for column in ("sampler_log_ratio", "expected_eval_reward"):
        low, high, value = table[f"{column}_ci_low"], table[f"{column}_ci_high"], table[column]
        small = table["n"] <= 25
        assert low[small].notna().all() and low[~small].isna().all(), column
        assert np.all(low[small] <= value[small] + 1e-12) and np.all(value[small] <= high[small] + 1e-12)
    assert (table["ci_note"][table["n"] <= 25] == "").all()


@functools.cache
def reduced_sampler_study():
    """The sampler study (bonkl.coverage_sampler) reduced to two models at N = 64, 200 pools each:
    per-token tempering and truncation, and reward ties with a gold reward that differs inside a level."""
    settings = IntervalSettings(replicates=100)
    models = ("two_token/per-token t0.7_top_p0.9", "heavy_ties/t1.5")
    return pd.concat([sampler_coverage(name, 64, 200, settings, seed=11) for name in models], ignore_index=True)


def test_log_ratio_and_evaluation_reward_intervals_hold_their_level():
    """Nominal 0.90: within [0.80, 0.99] in every cell (the full study's window [0.85, 0.97] widened by
    2.5 binomial standard errors of 200 pools), reported by every pool at n <= N/8 and by none beyond."""
    study = reduced_sampler_study()
    mine = study[study["column"].isin(["sampler_log_ratio", "expected_eval_reward"])]
    small = mine[mine["n"] <= 8]
    assert (small["reported"] == 200).all(), small.to_string()
    assert (mine.loc[mine["n"] > 8, "reported"] == 0).all()
    assert small["coverage"].between(0.80, 0.99).all(), small.to_string()


# -- pools: what no sampler can produce ----------------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            {"sampler_logprob": [-1.0, -2.0, -1.5, -3.0]},
            r"prompt 'b': identical samples \(key 'x', rows 2, 3\).*sampler log-probability, -3.0 and -1.5",
        ),
        (
            {"eval_reward": [0.0, 1.0, 2.0, 2.5]},
            r"prompt 'b': identical samples \(key 'x', rows 2, 3\).*evaluation reward, 2.0 and 2.5",
        ),
        ({"sampler_logprob": np.log([0.5, 0.6, 0.3, 0.3])}, r"prompt 'a' \(rows 0, 1\).*under the sampler sum to 1.1"),
        ({"sampler_logprob": [-1.0, 0.5, -1.0, -1.0]}, r"sampler_logprob must be a natural log-probability.*row 1"),
        ({"sampler_logprob": [-1.0, np.nan, -1.0, -1.0]}, r"sampler_logprob must be finite.*row 1"),
        ({"eval_reward": [0.0, 1.0, np.inf, np.inf]}, r"eval_reward must be finite.*row 2"),
        ({"eval_reward": [0.0, 1.0]}, r"eval_reward must have one entry per sample \(4\), got 2"),
    ],
)
def test_pools_refuse_what_no_sampler_can_produce(extra, message):
    with pytest.raises(ValueError, match=message):
        build_pools(
            ["a", "a", "b", "b"], np.log([0.2, 0.3, 0.1, 0.1]), [0.0, 1.0, 2.0, 2.0], ["x", "y", "x", "x"], **extra
        )


def test_reference_mass_is_still_checked_with_a_sampler():
    with pytest.raises(ValueError, match=r"prompt 'a'.*probabilities sum to 1.2"):
        build_pools(["a", "a"], np.log([0.6, 0.6]), [0.0, 1.0], ["x", "y"], sampler_logprob=np.log([0.5, 0.5]))


def test_pools_accept_rounding_in_the_new_columns():
    pools = build_pools(
        ["a"] * 3,
        [-1.0, -1.0, -2.0],
        [0.0, 0.0, 1.0],
        ["x", "x", "y"],
        sampler_logprob=[-0.5, -0.5 - 1e-13, -1.2],
        eval_reward=[3.0, 3.0 + 1e-12, 4.0],
    )
    group = pools.groups[0]
    assert list(group.count[0]) == [2.0, 1.0] and list(group.eval_reward[0]) == [3.0, 4.0]
    np.testing.assert_allclose(group.drawn_from_sampler().logprob[0], [-0.5, -1.2])


# -- bonkl estimate --sampler-logprob-col / --eval-reward-col -------------------------------------


def sampler_file(tmp_path, **change):
    """A CSV pool that is the sampler (q rounded to hundredths), columns ``lq`` (log q) and ``gold``."""
    pi, q, reward, gold = model(True)
    counts = np.maximum(np.rint(q * 100), 1).astype(int)
    q = counts / counts.sum()
    draws = np.random.default_rng(8).permutation(np.repeat(np.arange(q.size), counts))
    frame = pd.DataFrame(
        {
            "prompt_id": "p",
            "logprob": np.log(pi[draws]),
            "reward": reward[draws],
            "sample_key": draws.astype(str),
            "lq": np.log(q[draws]),
            "gold": gold[draws],
        }
    )
    for column, (row, value) in change.items():
        frame.loc[row, column] = value
    path = tmp_path / "samples.csv"
    frame.to_csv(path, index=False)
    return path, (pi, q, reward, gold)


def run_estimate(path, out, *flags):
    return main(["estimate", "--samples", str(path), "--n", "1,2,8,64", "--out", str(out), "--quiet", *flags])


def test_cli_reads_the_sampler_and_evaluation_columns(tmp_path):
    path, (pi, q, reward, gold) = sampler_file(tmp_path)
    out = tmp_path / "out.csv"
    flags = ("--method", "plugin", "--sampler-logprob-col", "lq", "--eval-reward-col", "gold")
    assert run_estimate(path, out, *flags) == 0
    table = pd.read_csv(out)
    want = exact(pi, q, reward, gold, [1, 2, 8, 64], "random")
    np.testing.assert_allclose(table["sampler_log_ratio"], want["sampler_log_ratio"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        table["kl_to_reference_corollary_4_2_bound"], want["kl_to_reference"], rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(table["expected_eval_reward"], want["expected_eval_reward"], rtol=1e-9, atol=1e-12)
    assert run_estimate(path, out, "--method", "plugin") == 0  # the file has the columns, the flags are absent
    assert list(pd.read_csv(out).columns) == TABLE_COLUMNS


@pytest.mark.parametrize(
    "flags, change, message",
    [
        (("--sampler-logprob-col", "nope"), {}, "no column 'nope'"),
        (("--eval-reward-col", "reward"), {}, "must be different columns"),
        (("--sampler-logprob-col", "lq"), {"lq": (3, 0.5)}, "sampler_logprob must be a natural log-probability"),
        (("--eval-reward-col", "gold"), {"gold": (4, np.nan)}, "column 'gold', row 4"),
        (("--sampler-logprob-col", "lq"), {"lq": (0, -0.001)}, "sampler log-probability"),
    ],
)
def test_cli_refuses_bad_sampler_and_evaluation_columns(tmp_path, capsys, flags, change, message):
    path, _ = sampler_file(tmp_path, **change)
    out = tmp_path / "out.csv"
    assert run_estimate(path, out, *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("bonkl estimate: error:") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not out.exists()


def test_prompt_average_includes_the_new_columns():
    pi, q, reward, gold = model(True)
    draws = np.random.default_rng(9).choice(q.size, 3 * 40, p=q)
    prompt = np.repeat(["a", "b", "c"], 40)
    table = estimate_table(sampler_pools(draws, pi, q, reward, gold, prompt=prompt), [1, 4])
    summary = prompt_average(table)
    for column in [*SAMPLER_COLUMNS, *EVAL_COLUMNS]:
        np.testing.assert_allclose(summary[column], table.groupby("n")[column].mean().to_numpy(), rtol=1e-12)
        assert summary[f"{column}_se"].notna().all()
