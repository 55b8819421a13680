"""Bad input is refused at the boundary with one ValueError whose message names the argument and the rule."""

import re

import numpy as np
import pytest

import bonkl

P = np.array([0.2, 0.3, 0.5])

# Every public function that takes a reference PMF ``p``, called with ``p`` in place.
TAKES_P = {
    "bon_pmf": lambda p: bonkl.bon_pmf(p, 2.0),
    "log_bon_pmf": lambda p: bonkl.log_bon_pmf(p, 2.0),
    "kl_exact": lambda p: bonkl.kl_exact(p, 2.0),
    "kl_gap": lambda p: bonkl.kl_gap(p, 2.0),
    "kl_gap_lower_bound": lambda p: bonkl.kl_gap_lower_bound(p, 2.0),
    "kl_gap_limit": lambda p: bonkl.kl_gap_limit(p, 2.0),
    "expected_kl_estimator": lambda p: bonkl.expected_kl_estimator(p, 2.0),
    "expected_kl_alternate": lambda p: bonkl.expected_kl_alternate(p, 2.0),
    "bon_expectation": lambda p: bonkl.bon_expectation(p, 2.0, bonkl.kl_estimator),
    "calibrated_reward": lambda p: bonkl.calibrated_reward(p),
    "win_rate": lambda p: bonkl.win_rate(np.full(3, 1 / 3), p),
    "bon_win_rate": lambda p: bonkl.bon_win_rate(p, 2.0),
    "win_rate_gap": lambda p: bonkl.win_rate_gap(p, 2.0),
    "win_rate_gap_lower_bound": lambda p: bonkl.win_rate_gap_lower_bound(p, 2.0),
    "win_rate_gap_limit": lambda p: bonkl.win_rate_gap_limit(p),
    "rr_pmf": lambda p: bonkl.rr_pmf(p, 0.5),
    "optimal_policy": lambda p: bonkl.optimal_policy(p, 1.0),
    "kl_divergence": lambda p: bonkl.kl_divergence(np.full(3, 1 / 3), p),
}

BAD_P = [
    ([[0.5, 0.5]], r"\bp must be a non-empty 1-D array of masses"),
    ([], r"\bp must be a non-empty 1-D array of masses"),
    ([0.5, np.nan, 0.5], r"\bp must be finite"),
    ([0.5, np.inf, 0.5], r"\bp must be finite"),
    ([1.5, -0.5], r"\bp must be non-negative"),
    ([0.2, 0.3, 0.5 + 2e-9], r"\bp must sum to 1 within 1e-09"),
    ([0.2, 0.3, 0.4], r"\bp must sum to 1 within 1e-09"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_P)
@pytest.mark.parametrize("name", sorted(TAKES_P))
def test_masses_rejected(name, bad, message):
    with pytest.raises(ValueError, match=message):
        TAKES_P[name](bad)


@pytest.mark.parametrize("name", sorted(TAKES_P))
def test_masses_within_tolerance_accepted_and_renormalised(name):
    """A sum off by at most 1e-9 is accepted, and the masses are used renormalised."""
    nearly = np.array([0.2, 0.3, 0.5 + 5e-10])
    np.testing.assert_allclose(TAKES_P[name](nearly), TAKES_P[name](nearly / nearly.sum()), rtol=1e-12, atol=1e-15)


# Every public function that takes a sample size ``n``.
TAKES_N = {
    "kl_bon": lambda n: bonkl.kl_bon(n),
    "bon_pmf": lambda n: bonkl.bon_pmf(P, n),
    "log_bon_pmf": lambda n: bonkl.log_bon_pmf(P, n),
    "kl_exact": lambda n: bonkl.kl_exact(P, n),
    "kl_gap": lambda n: bonkl.kl_gap(P, n),
    "kl_gap_lower_bound": lambda n: bonkl.kl_gap_lower_bound(P, n),
    "kl_gap_limit": lambda n: bonkl.kl_gap_limit(P, n),
    "kl_bon_antiderivative": lambda n: bonkl.kl_bon_antiderivative(0.5, n),
    "delta_kl": lambda n: bonkl.delta_kl(0.2, 0.5, n),
    "kl_estimator": lambda n: bonkl.kl_estimator(0.1, n),
    "kl_alternate": lambda n: bonkl.kl_alternate(0.1, n),
    "kl_log_ratio": lambda n: bonkl.kl_log_ratio(0.1, 0.5, n),
    "expected_kl_estimator": lambda n: bonkl.expected_kl_estimator(P, n),
    "expected_kl_alternate": lambda n: bonkl.expected_kl_alternate(P, n),
    "bon_win_rate": lambda n: bonkl.bon_win_rate(P, n),
    "win_rate_continuous": lambda n: bonkl.win_rate_continuous(n),
    "win_rate_gap": lambda n: bonkl.win_rate_gap(P, n),
    "delta_win_rate": lambda n: bonkl.delta_win_rate(0.2, 0.5, n),
    "win_rate_gap_lower_bound": lambda n: bonkl.win_rate_gap_lower_bound(P, n),
    "example1_kl": lambda n: bonkl.example1_kl(n),
    "example1_win_rate": lambda n: bonkl.example1_win_rate(n),
    "example3_bon": lambda n: bonkl.example3_bon(n),
    "blockwise_kl_bound": lambda n: bonkl.blockwise_kl_bound([3, 4], 2, n),
}

BAD_N = [0.5, 0.0, -3.0, 1.0 - 1e-12, np.nan, np.inf, [2.0, 0.5]]


@pytest.mark.parametrize("bad", BAD_N, ids=repr)
@pytest.mark.parametrize("name", sorted(TAKES_N))
def test_sample_size_below_one_rejected(name, bad):
    with pytest.raises(ValueError, match=r"\bn must be a finite real number >= 1"):
        TAKES_N[name](bad)


@pytest.mark.parametrize("name", sorted(TAKES_N))
def test_sample_size_one_accepted(name):
    assert np.all(np.isfinite(TAKES_N[name](1.0)))


TAKES_EPS = {
    "kl_estimator": (lambda eps: bonkl.kl_estimator(eps, 2.0), "eps"),
    "kl_alternate": (lambda eps: bonkl.kl_alternate(eps, 2.0), "eps"),
    "kl_log_ratio": (lambda eps: bonkl.kl_log_ratio(eps, 1.0, 2.0), "eps"),
    "kl_log_ratio cdf": (lambda cdf: bonkl.kl_log_ratio(1e-3, cdf, 2.0), "cdf"),
    "rr_kl": (lambda p_tau: bonkl.rr_kl(p_tau), "p_tau"),
    "rr_win_rate": (lambda p_tau: bonkl.rr_win_rate(p_tau), "p_tau"),
    "example3_rr": (lambda p_tau: bonkl.example3_rr(p_tau), "p_tau"),
}


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.0 + 1e-12, 2.0, np.nan, [0.5, 0.0]], ids=repr)
@pytest.mark.parametrize("name", sorted(TAKES_EPS))
def test_mass_outside_zero_one_rejected(name, bad):
    function, argument = TAKES_EPS[name]
    with pytest.raises(ValueError, match=rf"\b{argument} must lie in \(0, 1\]"):
        function(bad)


def test_log_ratio_cdf_below_mass_rejected():
    with pytest.raises(ValueError, match=r"cdf must be >= eps"):
        bonkl.kl_log_ratio(0.5, 0.25, 2.0)


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, np.nan, [0.5, 1.0]], ids=repr)
def test_threshold_outside_zero_one_rejected(bad):
    with pytest.raises(ValueError, match=r"\bq must lie in \[0, 1\)"):
        bonkl.rr_pmf(P, bad)


@pytest.mark.parametrize("bad", [0, -1, 1.5, np.nan, np.inf, [1, 2, 0]], ids=repr)
def test_draw_count_not_a_positive_integer_rejected(bad):
    with pytest.raises(ValueError, match=r"\bk must be an integer >= 1"):
        bonkl.rr_kl_estimator(bad)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan], ids=repr)
def test_beta_not_positive_rejected(bad):
    with pytest.raises(ValueError, match=r"\bbeta must be finite and > 0"):
        bonkl.optimal_policy(P, bad)
    with pytest.raises(ValueError, match=r"\bbeta must be finite and > 0"):
        bonkl.example3_optimal(bad)


def test_policy_checked_like_masses():
    with pytest.raises(ValueError, match=r"\brho must be finite"):
        bonkl.win_rate([0.5, np.nan, 0.5], P)
    with pytest.raises(ValueError, match=r"\brho must sum to 1 within 1e-09"):
        bonkl.win_rate([0.5, 0.5, 0.5], P)
    with pytest.raises(ValueError, match=r"\brho must have one mass per outcome of p \(3\), got 2"):
        bonkl.win_rate([0.5, 0.5], P)


@pytest.mark.parametrize("function", [bonkl.delta_kl, bonkl.delta_win_rate])
def test_quantile_interval_checked(function):
    with pytest.raises(ValueError, match=r"\ba must be < b"):
        function(0.5, 0.5, 2.0)
    with pytest.raises(ValueError, match=r"\ba must lie in \[0, 1\]"):
        function(-0.1, 0.5, 2.0)
    with pytest.raises(ValueError, match=r"\bb must lie in \[0, 1\]"):
        function(0.1, 1.5, 2.0)


def test_antiderivative_argument_checked():
    with pytest.raises(ValueError, match=r"\bu must lie in \[0, 1\]"):
        bonkl.kl_bon_antiderivative(1.5, 2.0)


@pytest.mark.parametrize("bad", [[-1, 2], [1.5, 2], []], ids=repr)
def test_blockwise_lengths_checked(bad):
    with pytest.raises(ValueError, match=r"\blengths must be non-negative integers"):
        bonkl.blockwise_kl_bound(bad, 2, 4.0)


@pytest.mark.parametrize(
    "bad",
    [
        0,
        2.5,
        -1,
        np.nan,
    ],
    ids=repr,
)
def test_blockwise_block_checked(bad):
    with pytest.raises(ValueError, match=r"\bblock must be an integer >= 1"):
        bonkl.blockwise_kl_bound([3, 4], bad, 4.0)


def test_error_messages_show_the_offending_value():
    """The message also says what was passed, so a caller can find the bad input."""
    with pytest.raises(ValueError) as info:
        bonkl.kl_exact(P, 0.5)
    assert "0.5" in str(info.value)
    with pytest.raises(ValueError) as info:
        bonkl.kl_exact([0.2, 0.3, 0.4], 2.0)
    assert re.search(r"0\.9", str(info.value))
