"""The estimate table: one row per prompt and ``n``, every column of :mod:`bonkl.columns`, for all
prompts at once (the CLI and the workflow both call :func:`estimate_table`).

Every KL column is a function of the winner's reward level (docs/MATH.md, "Ties and finite
pools"): its mass ``eps`` is bounded from below by the summed probabilities of the level's
distinct sampled answers (the answer's own probability when no two distinct answers tie, or with
``ties="logprob"``), and the Corollary 4.2 column also bounds ``F`` from above by the answers
ranked above. Each column is averaged over best-of-n's winner with the unbiased subset weights
(``method="unbiased"``, ``n <= N``) or the plug-in weights (``method="plugin"``, any real ``n``).

A pool drawn from a sampler ``q`` (tempered, truncated, another engine) carries ``log q`` beside
``log pi`` (docs/MATH.md, "Best-of-n from another sampler"): the paper's columns then describe
best-of-n's own step, ``KL(BoN_q || q)``, with ``q``-masses in place of ``pi``-masses, and
``sampler_log_ratio``, the unbiased estimate of ``E_{BoN_q}[log q - log pi]``, completes them to
``KL(BoN_q || pi)``. An evaluation reward is averaged over the winner like the reward that selects it.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from . import intervals as ci
from . import ustat
from ._validate import sample_size, subset_sizes
from .bon import kl_bon
from .columns import DRAW_INTERVAL_COLUMNS, INTERVAL_COLUMNS
from .divergences import chi2_bound, renyi_bound, renyi_order, tv_bound
from .estimators import kl_alternate, kl_estimator, kl_log_ratio
from .pools import PoolGroup, Pools
from .tilted import tilted_rows

METHODS = ("unbiased", "plugin")
#: The table's columns, in order, before the intervals (``<col>_ci_low/_ci_high``, ``ci_note``) and the
#: divergences (:mod:`bonkl.columns` says what each is); :data:`SAMPLER_COLUMNS` and :data:`EVAL_COLUMNS`
#: join them when their inputs are given.
TABLE_COLUMNS = [
    "prompt_id",
    "n",
    "num_samples",
    "num_outcomes",
    "kl_bon",
    "kl_estimator_mean",
    "kl_estimator_q05",
    "kl_estimator_q95",
    "kl_estimator_tilted_min",
    "kl_estimator_tilted_max",
    "kl_alternate",
    "kl_corollary_4_2_bound",
    "kl_corollary_4_2_above_kl_bon",
    "expected_reward",
    "win_rate",
    "beyond_pool",
]
#: Only with a sampler's log-probabilities (after ``kl_corollary_4_2_above_kl_bon``), and with an
#: evaluation reward (after ``expected_reward``).
SAMPLER_COLUMNS = ["sampler_log_ratio", "kl_to_reference_estimator_mean", "kl_to_reference_corollary_4_2_bound"]
EVAL_COLUMNS = ["expected_eval_reward"]
QUANTILES = (0.05, 0.95)
KL_COLUMNS = ("kl_estimator_mean", "kl_alternate")
ABOVE_SLACK = 1e-12  # an estimate is above a bound by more than rounding (n = 1: both are 0)
EXACT_AT_ONE = (*KL_COLUMNS, "win_rate")  # 0, 0 and 1/2 at n = 1 for every pool: no interval needed


def _draw_values(group: PoolGroup) -> dict[str, np.ndarray]:
    """Per-outcome values ``(P, K)`` averaged over best-of-n's winner like the reward, present only
    with their inputs: ``log q(y) - log pi(y)`` and the evaluation reward."""
    out = {}
    if group.sampler_logprob is not None:
        out["sampler_log_ratio"] = group.sampler_logprob - group.logprob
    if group.eval_reward is not None:
        out["expected_eval_reward"] = group.eval_reward
    return out


def _level_values(group: PoolGroup, levels: ustat.Levels, n: float) -> dict[str, np.ndarray]:
    """Per level ``(P, L)``: eq. 25, eq. 23, the Corollary 4.2 log ratio, the reward, and the level
    means of :func:`_draw_values` (ties broken uniformly: each of the level's draws weighs the same).

    The masses are those of the distribution the pool was drawn from: ``q`` when the group has a
    sampler's log-probabilities (best-of-n's step from ``q``), else the reference ``pi``."""
    occupied = levels.m > 0
    mass = np.minimum(group.level_sum(group.drawn_from_sampler().eps), 1.0)
    mass = np.where(occupied, mass, 1.0)  # empty levels: any valid mass, weight 0
    above = ustat._suffix_after(np.where(occupied, mass, 0.0))
    cdf = np.clip(1.0 - above, mass, 1.0)
    means = {"expected_reward": group.reward, **_draw_values(group)}
    with np.errstate(invalid="ignore", divide="ignore"):
        means = {
            name: np.where(occupied, group.level_sum(group.count * h) / levels.m, 0.0) for name, h in means.items()
        }
    return {
        "kl_estimator_mean": kl_estimator(mass, n),
        "kl_alternate": kl_alternate(mass, n),
        "kl_corollary_4_2_bound": kl_log_ratio(mass, cdf, n),
        **means,
    }


def _quantile_rows(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """The smallest value whose weighted CDF reaches ``q``, per row."""
    order = np.argsort(values, axis=-1, kind="stable")
    cumulative = np.cumsum(np.take_along_axis(weights, order, axis=-1), axis=-1)
    first = np.argmax(cumulative >= q * cumulative[..., -1:] * (1 - 1e-12), axis=-1)
    return np.take_along_axis(np.take_along_axis(values, order, axis=-1), first[..., None], axis=-1)[..., 0]


def _divergence_name(alpha: float) -> str:
    return "renyi_inf" if alpha == np.inf else f"renyi_{alpha:.12g}"


def _divergences(x: np.ndarray, weights: np.ndarray, log_weights: np.ndarray, n: float, alphas) -> dict:
    """Renyi (orders ``alphas`` and infinity), chi-square and TV from the log ratio ``x`` per level.

    ``D_alpha`` is the tilted mean (eq. 133) of ``x`` at tilt ``alpha - 1``: computed around the mean,
    it keeps its digits for orders near 1, and with the weights' logarithms it keeps the weights
    that underflow a double (orders near 0 at huge ``n``)."""
    out = {}
    for alpha in [*alphas, np.inf]:
        name = _divergence_name(alpha)
        if alpha == np.inf:
            value = np.max(np.where(np.isfinite(log_weights), x, -np.inf), axis=-1)
        else:
            value = tilted_rows(x, weights, alpha - 1.0, log_w=log_weights)
        out[name] = np.maximum(value, 0.0)  # a divergence; clip the weights' last-bit drift
        out[name + "_bound"] = np.full(value.shape, renyi_bound(n, alpha))
    out["chi2"] = np.maximum(np.sum(weights * np.expm1(x), axis=-1), 0.0)
    out["chi2_bound"] = np.full(x.shape[:-1], chi2_bound(n))
    out["tv"] = np.clip(np.sum(weights * -np.expm1(-np.maximum(x, 0.0)), axis=-1), 0.0, 1.0)
    out["tv_bound"] = np.full(x.shape[:-1], tv_bound(n))
    for name in [k for k in out if not k.endswith("_bound")]:
        out[name + "_above_bound"] = out[name] > out[name + "_bound"] * (1 + 1e-9) + ABOVE_SLACK
    return out


def _draw_statistic(group, counts, levels, weights, h, n):
    """``(U, jackknife error)`` of a per-outcome value ``h`` (``(P, K)``) that may differ between tied
    answers: its level means move with the (resampled) counts, as the U-statistic's do."""
    variance = ustat.mean_jackknife_variance(group, counts, levels, h, n, weights)
    estimate = np.sum(weights * ustat.level_means(group, counts, levels, h), axis=-1)
    return estimate, np.sqrt(np.maximum(variance, 0.0))


def interval_columns(group: PoolGroup) -> list[str]:
    """The columns with intervals for this group: :data:`INTERVAL_COLUMNS`, and those of
    :data:`DRAW_INTERVAL_COLUMNS` whose input the pools carry."""
    return [*INTERVAL_COLUMNS, *(c for c in DRAW_INTERVAL_COLUMNS if c in _draw_values(group))]


def _no_intervals(columns, rows: int) -> dict:
    return {f"{c}_ci_{side}": np.full(rows, np.nan) for c in columns for side in ("low", "high")}


@functools.lru_cache(maxsize=256)
def _bounds(column: str, n: int) -> tuple[float, float]:
    """The column's mathematical range at ``n``, where intervals are clipped."""
    ranges = {"kl_estimator_mean": (0.0, float(kl_bon(n))), "kl_alternate": (0.0, float(np.log(n))), "win_rate": (0, 1)}
    return ranges.get(column, (-np.inf, np.inf))


class _Counts:
    """The pools' own draw counts (``(P, K)``) with their levels (and win-rate levels), made once for
    every ``n``."""

    def __init__(self, group: PoolGroup, counts: np.ndarray):
        self.levels = ustat.levels_of(group, counts)
        self.by_reward = group.by_reward()
        same = np.array_equal(self.by_reward.level, group.level)
        self.reward_levels = self.levels if same else ustat.levels_of(self.by_reward, counts)


def _resampled(sub: PoolGroup, counts: np.ndarray, cut: dict, draws: dict, reward_level: np.ndarray) -> dict:
    """``n -> column -> (U, jackknife error)``, ``(R, P)`` each, for every set of counts (``counts``:
    ``(R, P, K)``, the pools' own or resampled; ``cut``: ``n -> column -> (P, L)`` values;
    ``reward_level``: each outcome's level of equal reward, the win rate's): the per-level values and
    the win rate in one compiled pass per set (:mod:`bonkl.resampled`), the values that differ
    between tied answers in arrays. The win rate, exactly 1/2 at ``n = 1``, is left out there."""
    from .resampled import statistics  # numba: imported only where intervals are computed

    ns = list(cut)
    per_level = [c for c in next(iter(cut.values())) if c not in draws]
    h = np.stack([np.stack([cut[n][c] for c in per_level]) for n in ns])
    estimate, variance, rate, rate_variance = statistics(
        counts, sub.level, reward_level, h, sub.size, ns, [n > 1 for n in ns]
    )
    levels = ustat.levels_of(sub, counts) if draws else None
    out = {}
    for t, n in enumerate(ns):
        out[n] = {c: (estimate[t, i], np.sqrt(np.maximum(variance[t, i], 0.0))) for i, c in enumerate(per_level)}
        out[n]["win_rate"] = rate[t], np.sqrt(np.maximum(rate_variance[t], 0.0))
        if draws:
            weights = ustat.subset_weights(levels, n)
            for column, values in draws.items():
                out[n][column] = _draw_statistic(sub, counts, levels, weights, values, n)
    return out


def _parallel_map(function, items, threads: int) -> list:
    """``[function(item) for item in items]``, on up to ``threads`` threads (numpy releases the GIL
    in whole-array work; each item's result is its own, so the threads do not change a number)."""
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(function, items))


def _group_intervals(
    group: PoolGroup, ids, values: dict, plugin: dict, settings: ci.IntervalSettings, exact_levels, threads: int = 1
) -> dict:
    """``n -> {<col>_ci_low/_ci_high}`` for the pools of ``group`` at every ``n`` of ``values``
    (``n -> per-level values``); NaN where not available. Each chunk of pools is resampled once for
    every ``n``, and its levels are made once; ``threads`` chunks run at once (numpy releases the
    GIL in whole-array work; every chunk's numbers are its own, so the result is the same)."""
    rows, columns = group.count.shape[0], interval_columns(group)
    out = {n: _no_intervals(columns, rows) for n in values}
    eligible = [n for n in values if ci.eligible(group.size, n)]
    if not eligible:
        return out
    by_width = np.argsort(group.num_outcomes, kind="stable")  # chunks of similar widths: less padding
    parts = [by_width[part] for part in ci.chunks(group, settings)]

    def one(keep):
        sub = group.take(keep).narrow()
        return keep, _chunk_intervals(sub, ids[keep], values, plugin, keep, eligible, settings)

    for keep, found in _parallel_map(one, parts, threads):
        for n, ends in found.items():
            for name, value in ends.items():
                out[n][name][keep] = value
    for n in eligible:  # eq. 25 and eq. 23 only where their level masses are exact
        for column in KL_COLUMNS:
            for side in ("low", "high"):
                out[n][f"{column}_ci_{side}"][~exact_levels] = np.nan
    return out


def _chunk_intervals(sub: PoolGroup, ids, values: dict, plugin: dict, keep, eligible, settings) -> dict:
    """``n -> {<col>_ci_low/_ci_high}`` for the pools ``keep`` of the group (``sub``: those pools;
    ``plugin``: :func:`_plugin_weights` of the group's pools). The pools' own counts go through the
    same pass as their resamples, as its first row."""
    columns = interval_columns(sub)
    pool, draws = _Counts(sub, sub.count), _draw_values(sub)
    cut = {n: {c: values[n][c][keep, : sub.width] for c in columns if c != "win_rate"} for n in eligible}
    counts = np.concatenate((sub.count[None].astype(np.int32), ci.resample_counts(sub, ids, settings)))
    statistics = _resampled(sub, counts, cut, draws, pool.by_reward.level)
    widths = pool.levels.m.shape[-1], pool.reward_levels.m.shape[-1]
    out = {}
    for n in eligible:
        weights, reward_weights = (w[keep, :width] for w, width in zip(plugin[n], widths))
        targets = {c: np.sum(weights * h, axis=-1) for c, h in cut[n].items()}
        targets["win_rate"] = ustat.plugin_win_rate_rows(pool.reward_levels, n, reward_weights)
        out[n] = {}
        for column in columns:
            estimate, error = statistics[n][column]  # row 0: the pool, then its resamples
            low, high = ci.studentized(
                estimate[0], error[0], estimate[1:], error[1:], targets[column], settings.level, _bounds(column, n)
            )
            out[n][f"{column}_ci_low"], out[n][f"{column}_ci_high"] = low, high
    return out


def _notes(group: PoolGroup, n: float, method: str, exact_levels: np.ndarray, found: dict) -> np.ndarray:
    """Why a row's intervals are (partly) empty, in words (one text per pattern of reasons: few kinds)."""
    rows = group.count.shape[0]
    if method != "unbiased":
        return np.full(rows, "intervals only for method unbiased", dtype=object)
    if n > group.size * ci.MAX_FRACTION:
        blocks = round(1 / ci.MAX_FRACTION)
        return np.full(rows, f"n > N/{blocks}: the pool holds fewer than {blocks} best-of-n draws", dtype=object)
    columns = [c for c in interval_columns(group) if not (n == 1 and c in EXACT_AT_ONE)]
    empty = [np.isnan(found[f"{c}_ci_low"]) & (exact_levels | (c not in KL_COLUMNS)) for c in columns]
    patterns, row_pattern = np.unique(np.column_stack([~exact_levels, *empty]), axis=0, return_inverse=True)
    texts = []
    for bounded, *missing in patterns:
        parts = ["eq. 25/23: distinct answers tie in reward, their level mass is only bounded"] if bounded else []
        if any(missing):
            parts.append("no variation in the pool: " + ", ".join(c for c, m in zip(columns, missing) if m))
        texts.append("; ".join(parts))
    return np.array(texts, dtype=object)[row_pattern.ravel()]


def _spread(values: np.ndarray, weights: np.ndarray, tilt: float, empty_rows: int | None) -> dict:
    """The quantiles and tilted means of eq. 25 under best-of-n (NaN for empty rows)."""
    names = [f"kl_estimator_q{round(100 * a):02d}" for a in QUANTILES]
    if empty_rows is not None:
        return {
            name: np.full(empty_rows, np.nan) for name in [*names, "kl_estimator_tilted_min", "kl_estimator_tilted_max"]
        }
    out = {name: _quantile_rows(values, weights, a) for name, a in zip(names, QUANTILES)}
    out["kl_estimator_tilted_min"] = tilted_rows(values, weights, -tilt)
    out["kl_estimator_tilted_max"] = tilted_rows(values, weights, tilt)
    return out


def _weights(levels: ustat.Levels, n: float, method: str, empty: bool) -> np.ndarray:
    """Best-of-n's weight on each level: the pool's n-subsets (unbiased) or draws with replacement."""
    if empty:  # the unbiased estimate needs n <= N: an empty row, left out of prompt averages
        return np.zeros(levels.m.shape)
    if method == "unbiased":
        return ustat.subset_weights(levels, int(n))
    return ustat.plugin_weights(levels, n)


def _log_weights(levels: ustat.Levels, n: float, method: str) -> np.ndarray:
    if method == "unbiased":
        return ustat.log_subset_weights(levels, int(n))
    return ustat.log_plugin_weights(levels, n)


def _weighted_mean(group: PoolGroup, per_level: np.ndarray, per_outcome: np.ndarray, weights: np.ndarray):
    """``sum_g W_g hbar_g`` clipped into the range of the pool's values (weights sum to 1: only
    last-bit drift is removed)."""
    values = np.where(group.real, per_outcome, np.nan)
    low, high = np.nanmin(values, axis=-1), np.nanmax(values, axis=-1)
    return np.clip(np.sum(weights * per_level, axis=-1), low, high)


def _means(group: PoolGroup, values: dict, weights: np.ndarray, n: float) -> dict:
    """The best-of-n means of eq. 25, eq. 23, Corollary 4.2, the reward and :func:`_draw_values`,
    each clipped into its range (weights sum to 1: only last-bit drift is removed)."""
    out = {"kl_estimator_mean": np.clip(np.sum(weights * values["kl_estimator_mean"], axis=-1), 0.0, kl_bon(n))}
    out["kl_alternate"] = np.clip(np.sum(weights * values["kl_alternate"], axis=-1), 0.0, np.log(n))
    bound = np.sum(weights * values["kl_corollary_4_2_bound"], axis=-1)
    out["kl_corollary_4_2_bound"] = np.clip(bound, 0.0, out["kl_alternate"])
    per_outcome = {"expected_reward": group.reward, **_draw_values(group)}
    for name, h in per_outcome.items():
        out[name] = _weighted_mean(group, values[name], h, weights)
    return out


def _sampler_columns(means: dict) -> dict:
    """``KL(BoN_q || pi) = KL(BoN_q || q) + E_{BoN_q}[log q - log pi]``: the two KL columns of the
    best-of-n step completed by the unbiased log-ratio term (absent without a sampler)."""
    if "sampler_log_ratio" not in means:
        return {}
    ratio = means["sampler_log_ratio"]
    return {
        "sampler_log_ratio": ratio,
        "kl_to_reference_estimator_mean": means["kl_estimator_mean"] + ratio,
        "kl_to_reference_corollary_4_2_bound": means["kl_corollary_4_2_bound"] + ratio,
    }


def _win_rate(group: PoolGroup, by_reward: ustat.Levels, n: float, method: str) -> np.ndarray:
    """Against one more draw from the model; a tie in reward counts 1/2, however best-of-n breaks it
    (``by_reward``: the pools' levels of equal reward)."""
    if method == "plugin":
        return ustat.plugin_win_rate_rows(by_reward, n)
    if n + 1 <= group.size:
        return ustat.subset_win_rate_rows(by_reward, int(n))
    return np.full(group.count.shape[0], np.nan)


def _plugin_weights(own: _Counts, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Best-of-n with replacement from each pool, over its levels and its levels of equal reward
    (``(P, L)`` each): what the resampled statistics are unbiased for, the pivots' targets."""
    return ustat.plugin_weights(own.levels, n), ustat.plugin_weights(own.reward_levels, n)


def _found_intervals(group: PoolGroup, ids, ns, method: str, settings, threads: int, own) -> tuple[dict, dict]:
    """``(n -> intervals, n -> per-level values)`` of the group at every ``n`` that gets intervals
    (both empty without ``settings``; ``own``: the pools' own counts). The values are the rows' too."""
    if settings is None or method != "unbiased":
        return {}, {}
    eligible = dict.fromkeys(int(n) for n in ns if ci.eligible(group.size, n))
    values = dict(zip(eligible, _parallel_map(functools.partial(_level_values, group, own.levels), eligible, threads)))
    plugin = dict(zip(eligible, _parallel_map(functools.partial(_plugin_weights, own), eligible, threads)))
    exact = group.single_answer_levels()
    return _group_intervals(group, ids, values, plugin, settings, exact, threads), values


def _group_rows(group: PoolGroup, ids, n: float, *, method, tilt, settings, alphas, intervals, own, values) -> dict:
    """Every column for the pools of one group at one ``n`` (``intervals`` and ``values``:
    :func:`_found_intervals`; ``own``: the pools' own counts and levels, made once for every ``n``)."""
    rows = group.count.shape[0]
    empty = method == "unbiased" and n > group.size
    levels = own.levels
    weights = _weights(levels, n, method, empty)
    values = values.pop(n, None) or _level_values(group, levels, n)  # released with this n's rows
    means = _means(group, values, weights, n)
    if empty:
        means = {name: np.full(rows, np.nan) for name in means}
    bound = np.full(rows, float(kl_bon(n)))
    out = {
        "prompt_id": ids,
        "n": np.full(rows, n, dtype=np.float64),
        "num_samples": np.full(rows, group.size),
        "num_outcomes": group.num_outcomes,
        "kl_bon": bound,
        "kl_estimator_mean": means["kl_estimator_mean"],
        **_spread(values["kl_estimator_mean"], weights, tilt, rows if empty else None),
        "kl_alternate": means["kl_alternate"],
        "kl_corollary_4_2_bound": means["kl_corollary_4_2_bound"],
        "kl_corollary_4_2_above_kl_bon": means["kl_corollary_4_2_bound"] > bound * (1 + 1e-12) + ABOVE_SLACK,
        **_sampler_columns(means),
        "expected_reward": means["expected_reward"],
        **{name: means[name] for name in EVAL_COLUMNS if name in means},
        "win_rate": _win_rate(group, own.reward_levels, n, method),
        "beyond_pool": np.full(rows, n > group.size),
    }
    if settings is not None:
        exact_levels = group.single_answer_levels()
        found = intervals.get(n) or _no_intervals(interval_columns(group), rows)
        out.update(found)
        out["ci_note"] = _notes(group, n, method, exact_levels, found)
    if alphas is not None and empty:
        names = [*(_divergence_name(a) for a in [*alphas, np.inf]), "chi2", "tv"]
        out.update({f"{name}{end}": np.full(rows, np.nan) for name in names for end in ("", "_bound")})
        out.update({f"{name}_above_bound": np.zeros(rows, bool) for name in names})
    elif alphas is not None:
        log_weights = _log_weights(levels, n, method)
        out.update(_divergences(values["kl_corollary_4_2_bound"], weights, log_weights, n, alphas))
    return out


def _rows_at(group: PoolGroup, ids, ns: np.ndarray, options: dict, j: int) -> pd.DataFrame:
    """:func:`_group_rows` at ``ns[j]`` as a frame, with its place in the table (``_order``)."""
    part = pd.DataFrame(_group_rows(group, ids, float(ns[j]), **options))
    return part.assign(_order=group.index * ns.size + j)


def estimate_table(
    pools: Pools,
    ns,
    *,
    method: str = "unbiased",
    tilt: float = 1.0,
    intervals: ci.IntervalSettings | None = None,
    alphas=None,
    threads: int = 1,
) -> pd.DataFrame:
    """One row per prompt (in ``pools.ids`` order) and ``n`` (in the given order), every column of
    :mod:`bonkl.columns`; with ``intervals``, the studentized-bootstrap intervals and ``ci_note``;
    with ``alphas`` (Renyi orders), the divergence columns. Rows where ``method="unbiased"`` and
    ``n > N`` are empty (NaN): the pool is too small for an unbiased estimate there. ``threads``:
    values of ``n``, and chunks of pools for the intervals, computed at once (the numbers do not
    depend on it)."""
    if int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    ns = np.atleast_1d(sample_size(ns)) if method == "plugin" else subset_sizes(ns).astype(np.float64)
    if ns.size == 0:
        raise ValueError("n is empty: give at least one sample size")
    if alphas is not None:  # one column per order: orders equal to 12 digits are one order
        alphas = list({_divergence_name(a): a for a in (renyi_order(a) for a in alphas) if a != np.inf}.values())
    parts = []
    for group in pools.groups:
        ids = pools.ids[group.index]
        own = _Counts(group, group.count)
        found, values = _found_intervals(group, ids, ns, method, intervals, int(threads), own)
        options = dict(
            method=method, tilt=tilt, settings=intervals, alphas=alphas, intervals=found, own=own, values=values
        )
        parts += _parallel_map(functools.partial(_rows_at, group, ids, ns, options), range(ns.size), threads)
    table = pd.concat(parts, ignore_index=True).sort_values("_order", kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)
