"""No warning and no NaN anywhere in the specified range: n up to 10^6 (and n -> 1), masses down to
1e-300, zero masses, eps -> 0 and eps = 1. RuntimeWarnings are errors in this suite (conftest.py)."""

import numpy as np
import pytest
from mpref import (
    HARD_EPS,
    HARD_NS,
    HARD_PMFS,
)

import bonkl

MODELS = dict(HARD_PMFS)
MODELS["zero_inside"] = np.array([0.25, 0.0, 0.5, 0.0, 0.25])
MODELS["zero_ends"] = np.array([0.0, 0.3, 0.7, 0.0])
MODELS["one_of_many"] = np.eye(6)[2]

NS = np.array(HARD_NS)

MODEL_FUNCTIONS = {
    "bon_pmf": lambda p: bonkl.bon_pmf(p, NS),
    "log_bon_pmf": lambda p: np.where(np.isneginf(bonkl.log_bon_pmf(p, NS)), 0.0, bonkl.log_bon_pmf(p, NS)),
    "kl_exact": lambda p: bonkl.kl_exact(p, NS),
    "kl_gap": lambda p: bonkl.kl_gap(p, NS),
    "kl_gap_lower_bound": lambda p: bonkl.kl_gap_lower_bound(p, NS),
    "kl_gap_limit": lambda p: bonkl.kl_gap_limit(p, NS),
    "expected_kl_estimator": lambda p: bonkl.expected_kl_estimator(p, NS),
    "expected_kl_alternate": lambda p: bonkl.expected_kl_alternate(p, NS),
    "calibrated_reward": lambda p: bonkl.calibrated_reward(p),
    "bon_win_rate": lambda p: bonkl.bon_win_rate(p, NS),
    "win_rate_gap": lambda p: bonkl.win_rate_gap(p, NS),
    "win_rate_gap_lower_bound": lambda p: bonkl.win_rate_gap_lower_bound(p, NS),
    "win_rate_gap_limit": lambda p: bonkl.win_rate_gap_limit(p),
    "win_rate": lambda p: bonkl.win_rate(bonkl.bon_pmf(p, NS), p),
    "rr_pmf": lambda p: bonkl.rr_pmf(p, np.array([0.0, 0.3, 0.5, 0.9, 1 - 1e-12, 1 - 2.0**-53])),
    "optimal_policy": lambda p: bonkl.optimal_policy(p, np.array([1e-300, 1e-6, 1.0, 1e6, 1e300])),
    "kl_divergence": lambda p: bonkl.kl_divergence(bonkl.optimal_policy(p, np.array([1e-6, 1.0])), p),
}


def _cases():
    for function in sorted(MODEL_FUNCTIONS):
        for model in sorted(MODELS):
            yield function, model


@pytest.mark.parametrize(("function", "model"), list(_cases()))
def test_no_warning_no_nan_on_extreme_models(function, model):
    value = np.asarray(MODEL_FUNCTIONS[function](MODELS[model]))
    assert value.size and np.all(np.isfinite(value)), value


def test_kl_exact_on_huge_n_and_tiny_masses_is_finite_and_bounded():
    p = MODELS["tiny_mixed"]
    ns = np.geomspace(1, 1e6, 25)
    kl = bonkl.kl_exact(p, ns)
    assert np.all(np.isfinite(kl)) and np.all(kl >= 0) and np.all(kl <= bonkl.kl_bon(ns) + 1e-13)
    assert np.all(np.diff(kl) >= -1e-13)


@pytest.mark.parametrize("eps", HARD_EPS)
def test_no_warning_no_nan_in_per_draw_estimators(eps):
    values = [
        bonkl.kl_estimator(eps, NS),
        bonkl.kl_alternate(eps, NS),
        bonkl.kl_log_ratio(eps, 1.0, NS),
        bonkl.kl_log_ratio(eps, eps, NS),
        bonkl.kl_log_ratio(eps, min(1.0, 2 * eps), NS),
    ]
    assert all(np.all(np.isfinite(v)) for v in values)


@pytest.mark.parametrize(
    ("a", "b"), [(0.0, 1.0), (0.0, 1e-300), (1.0 - 2.0**-53, 1.0), (0.5, 0.5 + 2.0**-53), (1e-300, 2e-300)]
)
def test_no_warning_no_nan_in_per_outcome_terms(a, b):
    for function in (bonkl.delta_kl, bonkl.delta_win_rate):
        assert np.all(np.isfinite(function(a, b, NS)))
    assert np.all(np.isfinite(bonkl.kl_bon_antiderivative(np.array([a, b]), NS[:, None])))


def test_no_warning_no_nan_in_closed_forms():
    values = [
        bonkl.kl_bon(NS),
        bonkl.example1_kl(NS),
        bonkl.example1_win_rate(NS),
        *bonkl.example3_bon(NS),
        *bonkl.example3_rr(np.array([1e-300, 0.5, 1.0])),
        *bonkl.example3_optimal(np.array([1e-40, 1e-3, 1.0, 1e3, 1e300])),
        bonkl.rr_kl_estimator(np.array([1, 2, 10**12])),
        bonkl.win_rate_continuous(NS),
    ]
    assert all(np.all(np.isfinite(v)) for v in values)
