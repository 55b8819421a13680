"""Many pools of samples as padded arrays: the layout every pool estimate is computed on.

A pool is one prompt's ``N`` i.i.d. draws from the model. Identical draws (one key) are one
*outcome*; outcomes of equal reward form a *level* (``ties="random"``), or each outcome is its own
level (``ties="logprob"``, a strict order by reward, then log-probability, then key). Pools of the
same size ``N`` share one :class:`PoolGroup`: arrays of shape ``(pools, outcomes)`` in increasing
(reward, log-probability, key) order, padded with zero-count outcomes in an extra last level, so
that every estimate is a few whole-array operations whatever the number of prompts
(:mod:`bonkl.ustat`). Levels never straddle two pools, and sums over levels restart in each row.

Optional per-outcome arrays ride along: ``sampler_logprob`` (``log q(y)`` when the pool was drawn
from a sampler ``q``, tempered or truncated, rather than from the reference ``pi``: docs/MATH.md,
"Best-of-n from another sampler") and ``eval_reward`` (a reward that evaluates the winner but does
not select it). Without them nothing is computed for them.

:func:`build_pools` checks that the draws can come from a model (docs/MATH.md, "Finite pools")
and names the prompt and the rows of the first one that cannot.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

TIES = ("random", "logprob")
# Distinct outcomes' probabilities may exceed 1 by float rounding of the log-probabilities, no more.
TOTAL_MASS_TOLERANCE = 1e-6
# Two draws of one key must agree to this relative precision (float rounding of one sequence's log-probability).
SAME_VALUE_TOLERANCE = 1e-6
# exp(logprob) underflows for long sequences; the estimators are flat in eps this close to 0.
SMALLEST_MASS = np.finfo(np.float64).tiny


@dataclass(frozen=True)
class PoolGroup:
    """The pools of one size ``N``: row ``i`` is pool ``index[i]`` of the :class:`Pools`."""

    size: int  # N: draws in every pool of the group
    index: np.ndarray  # (P,) the pools' positions in Pools.ids
    count: np.ndarray  # (P, K) draws of each outcome; 0 on padding
    logprob: np.ndarray  # (P, K) log pi(y); 0 on padding
    reward: np.ndarray  # (P, K); 0 on padding
    level: np.ndarray  # (P, K) the outcome's level in its pool; padding: the last column
    key: np.ndarray  # (P, K) object: the outcome's key; None on padding
    sampler_logprob: np.ndarray | None = None  # (P, K) log q(y) of the sampler drawn from; 0 on padding
    eval_reward: np.ndarray | None = None  # (P, K) the evaluation reward; 0 on padding

    @property
    def width(self) -> int:
        """Level columns: the largest pool's levels plus one for padding."""
        return int(self.level.max()) + 1

    @property
    def real(self) -> np.ndarray:
        """(P, K) True for an outcome of the pool, False for padding."""
        return self.count > 0

    @property
    def eps(self) -> np.ndarray:
        """``pi(y)`` (eq. 19), floored at the smallest positive double; 0 on padding."""
        return np.where(self.real, np.maximum(np.exp(self.logprob), SMALLEST_MASS), 0.0)

    def drawn_from_sampler(self) -> PoolGroup:
        """The pools with the sampler's ``log q`` as their log-probability (itself when there is no
        sampler): best-of-n's step from ``q``, the distribution the pool was drawn from, is the
        paper's setting with ``q`` for ``pi`` (docs/MATH.md, "Best-of-n from another sampler")."""
        if self.sampler_logprob is None:
            return self
        return replace(self, logprob=self.sampler_logprob)

    def take(self, rows: np.ndarray) -> PoolGroup:
        """The pools ``rows`` of the group, as a group of their own (optional arrays included)."""
        optional = {
            name: None if getattr(self, name) is None else getattr(self, name)[rows]
            for name in ("sampler_logprob", "eval_reward")
        }
        return replace(
            self,
            index=self.index[rows],
            count=self.count[rows],
            logprob=self.logprob[rows],
            reward=self.reward[rows],
            level=self.level[rows],
            key=self.key[rows],
            **optional,
        )

    def narrow(self) -> PoolGroup:
        """The same pools without the padding columns none of them needs (padding stays one last
        level): per-level arrays of the group, cut to ``[:, :width]``, fit the result."""
        outcomes = int(self.num_outcomes.max())
        top = int(np.where(self.real, self.level, -1).max())
        cut = {
            name: None if getattr(self, name) is None else getattr(self, name)[:, :outcomes]
            for name in ("count", "logprob", "reward", "key", "sampler_logprob", "eval_reward")
        }
        level = np.where(cut["count"] > 0, self.level[:, :outcomes], top + 1)
        return replace(self, level=level, **cut)

    @property
    def num_outcomes(self) -> np.ndarray:
        return self.real.sum(axis=-1)

    @functools.cached_property
    def one_per_level(self) -> bool:
        """Every outcome is a level of its own, at its own position (no ties, or ``ties="logprob"``):
        per-level sums are then the per-outcome values themselves."""
        columns = np.arange(self.level.shape[1])
        return bool(np.all(np.where(self.real, self.level == columns, self.level == self.width - 1)))

    def level_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of per-outcome ``values`` (``(..., P, K)``) over each level: ``(..., P, width)``."""
        values = np.asarray(values, dtype=np.float64)
        values = np.broadcast_to(values, values.shape[:-2] + self.count.shape)
        width = self.width
        if self.one_per_level and width == values.shape[-1] + 1:
            padding = np.sum(np.where(self.real, 0.0, values), axis=-1, keepdims=True)
            return np.concatenate((np.where(self.real, values, 0.0), padding), axis=-1)
        rows = np.arange(int(np.prod(values.shape[:-1], dtype=np.int64)))
        flat = (rows.reshape(values.shape[:-1])[..., None] * width + self.level).ravel()
        return np.bincount(flat, weights=values.ravel(), minlength=rows.size * width).reshape(
            values.shape[:-1] + (width,)
        )

    def at_outcomes(self, per_level: np.ndarray) -> np.ndarray:
        """Per-level values (``(..., P, width)``) read at each outcome's level: ``(..., P, K)``."""
        if self.one_per_level and per_level.shape[-1] == self.level.shape[1] + 1:
            return np.where(self.real, per_level[..., :-1], per_level[..., -1:])
        level = np.broadcast_to(self.level, per_level.shape[:-1] + self.level.shape[-1:])
        return np.take_along_axis(per_level, level, axis=-1)

    def by_reward(self) -> PoolGroup:
        """The same pools with equal rewards in one level (the win rate's levels, whatever the ties)."""
        step = np.diff(self.reward, axis=-1) > 0
        level = np.concatenate((np.zeros((self.level.shape[0], 1), dtype=np.int64), np.cumsum(step, axis=-1)), axis=-1)
        padding = level.max() + 1
        return replace(self, level=np.where(self.real, level, padding))

    def single_answer_levels(self) -> np.ndarray:
        """(P,) True where every level of the pool holds one distinct outcome (no reward ties)."""
        per_level = self.level_sum(self.real)[:, :-1]
        return np.all(per_level <= 1, axis=-1)


@dataclass(frozen=True)
class Pools:
    """Every prompt's pool, in prompt-id order, grouped by pool size."""

    ids: np.ndarray  # (prompts,) prompt ids, sorted
    sizes: np.ndarray  # (prompts,) N of each pool
    groups: tuple[PoolGroup, ...]
    ties: str

    def group_of(self) -> np.ndarray:
        """(prompts,) which group holds each prompt."""
        out = np.empty(self.ids.size, dtype=np.int64)
        for g, group in enumerate(self.groups):
            out[group.index] = g
        return out


def _choice(value: str, allowed: tuple, name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def _rows(positions: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(r)) for r in positions[:limit])
    return shown + (f" and {positions.size - limit} more" if positions.size > limit else "")


# Per-draw values that one response (one key) must carry once: column -> what the error calls it.
VALUE_NAMES = {
    "logprob": "log-probability",
    "reward": "reward",
    "sampler_logprob": "sampler log-probability",
    "eval_reward": "evaluation reward",
}


def _outcomes(frame: pd.DataFrame, ids: np.ndarray, keys: np.ndarray) -> pd.DataFrame:
    """Distinct (prompt, key) outcomes with their draw counts; refuses one key with two values of
    any per-draw column (the optional ``sampler_logprob`` and ``eval_reward`` included)."""
    values = [name for name in VALUE_NAMES if name in frame]
    grouped = frame.groupby(["prompt", "key"], sort=False)
    spec = {"count": ("logprob", "size")}
    for name in values:
        spec |= {name: (name, "first"), f"low_{name}": (name, "min"), f"high_{name}": (name, "max")}
    out = grouped.agg(**spec).reset_index()
    for name in values:
        _check_one_value(out, frame, ids, keys, name)
    return out.drop(columns=[f"{end}_{name}" for name in values for end in ("low", "high")])


def _check_one_value(out: pd.DataFrame, frame: pd.DataFrame, ids, keys, name: str) -> None:
    """Identical draws must agree on ``name`` to float rounding (``SAME_VALUE_TOLERANCE``, relative)."""
    low, high = out[f"low_{name}"], out[f"high_{name}"]
    bad = high - low > SAME_VALUE_TOLERANCE * np.maximum(1.0, high.abs())
    if not bad.any():
        return
    first = out[bad].iloc[0]
    rows = np.flatnonzero((frame["prompt"] == first["prompt"]) & (frame["key"] == first["key"]))
    what = VALUE_NAMES[name]
    raise ValueError(
        f"prompt {ids[int(first['prompt'])]!r}: identical samples (key {keys[int(first['key'])]!r}, rows "
        f"{_rows(rows)}) carry two different values of their {what}, {float(first[f'low_{name}'])!r} and "
        f"{float(first[f'high_{name}'])!r}; one response has one {what}: give distinct responses distinct keys"
        + (" (average a noisy judge's scores per response first)" if name == "eval_reward" else "")
    )


def _check_total_mass(outcomes: pd.DataFrame, frame: pd.DataFrame, ids: np.ndarray, column: str = "logprob") -> None:
    """Distinct outcomes' probabilities (``exp(column)``) sum to at most 1 in every pool."""
    total = np.exp(outcomes[column]).groupby(outcomes["prompt"]).sum()
    bad = total[total > 1 + TOTAL_MASS_TOLERANCE]
    if bad.size:
        prompt = bad.index[0]
        rows = np.flatnonzero(frame["prompt"] == prompt)
        label = "probabilities" if column == "logprob" else "probabilities under the sampler"
        fix = (
            "logprob must be the natural log-probability of the whole response under the reference (not a "
            "per-token average, not from a tempered or top-k sampler: give that as sampler_logprob)"
            if column == "logprob"
            else "sampler_logprob must be the natural log-probability of the whole response under the "
            "distribution it was drawn from (temperature, top-k, top-p applied)"
        )
        raise ValueError(
            f"prompt {ids[prompt]!r} (rows {_rows(rows)}): its distinct samples' {label} "
            f"sum to {float(bad.iloc[0]):.6g} > 1, which no model can produce: {fix}, and identical "
            "responses must share one key"
        )


def _key_codes(key, logprob: np.ndarray, reward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(code per draw, key text per code)``; codes follow the keys' sorted order. Without keys,
    the key of a draw is its ``(logprob, reward)`` pair."""
    if key is None:
        pairs = pd.MultiIndex.from_arrays([logprob, reward])
        codes, uniques = pd.factorize(pairs, sort=True)
        return codes, np.array([f"{lp!r}|{r!r}" for lp, r in uniques], dtype=object)
    series = pd.Series(key)
    missing = series.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"sample key is missing at row {int(np.argmax(missing))}: give every sample a key "
            "(an empty response is the empty string)"
        )
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:  # keys of several types (1 and "1"): compare them as text
        codes, uniques = pd.factorize(series.map(str), sort=True)
    return codes, np.array([str(k) for k in uniques], dtype=object)


def _per_draw(name: str, values, size: int) -> np.ndarray:
    """An optional per-draw column as float64: one finite value per sample (``<= 0`` for a log-probability)."""
    values = np.ravel(np.asarray(values, dtype=np.float64))
    if values.size != size:
        raise ValueError(f"{name} must have one entry per sample ({size}), got {values.size}")
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{name} must be finite numbers; row {int(np.argmax(bad))} has NaN or infinity")
    if name.endswith("logprob") and np.any(values > 0):
        row = int(np.argmax(values > 0))
        raise ValueError(f"{name} must be a natural log-probability (<= 0); row {row} has {values[row]!r}")
    return values


def build_pools(
    prompt_id, logprob, reward, key=None, *, ties: str = "random", sampler_logprob=None, eval_reward=None
) -> Pools:
    """Group draws into pools, outcomes and levels (one row per draw in, padded arrays out).

    ``prompt_id`` and ``key`` are compared as given (text stays text, ``1`` and ``"1"`` differ);
    without ``key``, draws with
    equal ``(logprob, reward)`` are one outcome. Values must be finite and ``logprob <= 0``
    (checked here too, as this is the package's entry for pools); a ``ValueError`` names the prompt
    and rows of a pool no model can produce.

    ``sampler_logprob`` (optional): ``log q(y)`` under the sampler the draws came from, when it is
    not the reference (``logprob`` stays ``log pi(y)``); ``eval_reward`` (optional): a second reward
    that evaluates best-of-n's winner without selecting it. Identical draws must agree on both as on
    ``logprob``, and the sampler's probabilities of the distinct outcomes must sum to at most 1 too.
    """
    _choice(ties, TIES, "ties")
    logprob = np.ravel(np.asarray(logprob, dtype=np.float64))
    reward = np.ravel(np.asarray(reward, dtype=np.float64))
    prompt_id = np.ravel(np.asarray(prompt_id, dtype=object))
    lengths = {"prompt_id": prompt_id.size, "logprob": logprob.size, "reward": reward.size}
    if key is not None:  # numpy and pandas arrays keep their type; lists keep None and NaN as such
        key = np.ravel(
            key.to_numpy()
            if hasattr(key, "to_numpy")
            else key
            if isinstance(key, np.ndarray)
            else np.asarray(key, dtype=object)
        )
        lengths["key"] = key.size
    if len(set(lengths.values())) > 1:
        raise ValueError(f"prompt_id, logprob, reward and key must have one entry per sample; got lengths {lengths}")
    if logprob.size == 0:
        raise ValueError("the pool is empty: at least one sample is needed")
    bad = ~(np.isfinite(logprob) & np.isfinite(reward))
    if bad.any():
        raise ValueError(f"logprob and reward must be finite numbers; row {int(np.argmax(bad))} has NaN or infinity")
    if np.any(logprob > 0):
        row = int(np.argmax(logprob > 0))
        raise ValueError(f"logprob must be a natural log-probability (<= 0); row {row} has {logprob[row]!r}")
    extra = {
        name: _per_draw(name, values, logprob.size)
        for name, values in (("sampler_logprob", sampler_logprob), ("eval_reward", eval_reward))
        if values is not None
    }
    key_code, keys = _key_codes(key, logprob, reward)
    prompt_code, ids = pd.factorize(pd.Series(prompt_id), sort=True)
    ids = np.asarray(ids, dtype=object)
    frame = pd.DataFrame({"prompt": prompt_code, "key": key_code, "logprob": logprob, "reward": reward, **extra})
    outcomes = _outcomes(frame, ids, keys)
    _check_total_mass(outcomes, frame, ids)
    if "sampler_logprob" in extra:
        _check_total_mass(outcomes, frame, ids, "sampler_logprob")
    outcomes = outcomes.sort_values(["prompt", "reward", "logprob", "key"], kind="stable").reset_index(drop=True)
    outcomes["key_text"] = keys[outcomes["key"]]
    return _grouped(outcomes, ids, ties)


def _padded(values: np.ndarray, rows: np.ndarray, columns: np.ndarray, shape, fill, dtype=np.float64) -> np.ndarray:
    out = np.full(shape, fill, dtype=dtype)
    out[rows, columns] = values
    return out


def _grouped(outcomes: pd.DataFrame, ids: np.ndarray, ties: str) -> Pools:
    """Levels per pool, then one padded :class:`PoolGroup` per pool size."""
    prompt = outcomes["prompt"].to_numpy()
    start = np.r_[True, prompt[1:] != prompt[:-1]]
    if ties == "logprob":
        new_level = np.ones(prompt.size, dtype=bool)
    else:
        new_level = start | np.r_[True, np.diff(outcomes["reward"].to_numpy()) > 0]
    first = np.flatnonzero(start)[np.cumsum(start) - 1]  # each outcome's pool's first outcome
    level_cum = np.cumsum(new_level) - 1
    level = level_cum - level_cum[first]  # restart at 0 in each pool
    position = np.arange(prompt.size) - first
    sizes = outcomes.groupby("prompt")["count"].sum().to_numpy()
    groups = []
    for size in np.unique(sizes):
        members = np.flatnonzero(sizes == size)
        rows = np.isin(prompt, members)
        row_of, column = np.searchsorted(members, prompt[rows]), position[rows]
        shape = (members.size, int(column.max()) + 1)
        groups.append(
            PoolGroup(
                size=int(size),
                index=members,
                count=_padded(outcomes["count"].to_numpy(np.float64)[rows], row_of, column, shape, 0.0),
                logprob=_padded(outcomes["logprob"].to_numpy()[rows], row_of, column, shape, 0.0),
                reward=_padded(outcomes["reward"].to_numpy()[rows], row_of, column, shape, 0.0),
                level=_padded(level[rows], row_of, column, shape, int(level[rows].max()) + 1, np.int64),
                key=_padded(outcomes["key_text"].to_numpy(object)[rows], row_of, column, shape, None, object),
                **{
                    name: _padded(outcomes[name].to_numpy(np.float64)[rows], row_of, column, shape, 0.0)
                    for name in ("sampler_logprob", "eval_reward")
                    if name in outcomes
                },
            )
        )
    return Pools(ids=ids, sizes=sizes.astype(np.int64), groups=tuple(groups), ties=ties)


def one_pool(key, count, logprob, reward, *, ties: str = "random", prompt_id="") -> Pools:
    """:class:`Pools` holding one pool whose distinct outcomes are already merged and ordered by
    (reward, log-probability, key), as :func:`build_pools` leaves them (no checks)."""
    _choice(ties, TIES, "ties")
    outcomes = pd.DataFrame(
        {"prompt": 0, "count": count, "logprob": logprob, "reward": reward, "key_text": np.asarray(key, dtype=object)}
    )
    return _grouped(outcomes, np.array([prompt_id], dtype=object), ties)
