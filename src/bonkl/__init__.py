"""bonkl: the best-of-n alignment policy's KL divergence and win rate (Beirami et al., ICML 2025).

The mathematics lives in small pure modules (numpy/scipy only); the language-model code in
``bonkl.lm`` is imported lazily so that the formulas never pull in torch.
"""

from .blockwise import blockwise_kl_bound
from .bon import bon_pmf, kl_bon, log_bon_pmf, top_mass
from .divergences import (
    chi2_bound,
    chi2_divergence_bon,
    kl_divergence,
    renyi_bound,
    renyi_divergence_bon,
    tv_bound,
    tv_distance_bon,
)
from .estimators import (
    bon_expectation,
    expected_kl_alternate,
    expected_kl_estimator,
    kl_alternate,
    kl_estimator,
    kl_log_ratio,
)
from .examples import example1_kl, example1_win_rate, example3_bon, example3_optimal, example3_rr
from .kl import (
    delta_kl,
    kl_bon_antiderivative,
    kl_exact,
    kl_gap,
    kl_gap_limit,
    kl_gap_lower_bound,
)
from .optimal import optimal_policy
from .rewind_repeat import rr_kl, rr_kl_estimator, rr_pmf, rr_win_rate
from .selection import bop_pmf, soft_bon_pmf
from .subsets import subset_bon_weights, subset_win_rate
from .ties import tied_bon_pmf, tied_bon_win_rate, tied_kl_exact
from .tilted import tilted_mean
from .win_rate import (
    bon_win_rate,
    calibrated_reward,
    delta_win_rate,
    win_rate,
    win_rate_continuous,
    win_rate_gap,
    win_rate_gap_limit,
    win_rate_gap_lower_bound,
)

__version__ = "0.1.0"

__all__ = [
    "blockwise_kl_bound",
    "bon_expectation",
    "bon_pmf",
    "bon_win_rate",
    "bop_pmf",
    "calibrated_reward",
    "chi2_bound",
    "chi2_divergence_bon",
    "delta_kl",
    "delta_win_rate",
    "example1_kl",
    "example1_win_rate",
    "example3_bon",
    "example3_optimal",
    "example3_rr",
    "expected_kl_alternate",
    "expected_kl_estimator",
    "kl_alternate",
    "kl_bon",
    "kl_bon_antiderivative",
    "kl_divergence",
    "kl_estimator",
    "kl_exact",
    "kl_gap",
    "kl_gap_limit",
    "kl_gap_lower_bound",
    "kl_log_ratio",
    "log_bon_pmf",
    "optimal_policy",
    "renyi_bound",
    "renyi_divergence_bon",
    "rr_kl",
    "rr_kl_estimator",
    "rr_pmf",
    "rr_win_rate",
    "soft_bon_pmf",
    "tilted_mean",
    "top_mass",
    "tied_bon_pmf",
    "tied_bon_win_rate",
    "tied_kl_exact",
    "subset_bon_weights",
    "subset_win_rate",
    "tv_bound",
    "tv_distance_bon",
    "win_rate",
    "win_rate_continuous",
    "win_rate_gap",
    "win_rate_gap_limit",
    "win_rate_gap_lower_bound",
    "sample_responses",
    "load_model",
]

_LAZY = {"sample_responses": "bonkl.lm.sampling", "load_model": "bonkl.lm.load"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bonkl' has no attribute {name!r}")
