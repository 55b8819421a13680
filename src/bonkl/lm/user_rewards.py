"""Rewards the user writes as Python functions, and the check every reward's output must pass.

A function reward is named by a spec ``"module:function"`` (an importable module, e.g. one of the
user's installed packages or on ``PYTHONPATH``) or ``"path/to/file.py:function"`` (a file, loaded
under a private module name). The function has the built-in rewards' signature::

    def my_reward(samples: pandas.DataFrame, reference: str | None = None) -> array of floats

over the samples table of ``bonkl.lm.sampling.sample_responses`` (``text``, ``token_ids``,
``logprob``, ``num_tokens``, ``finished``, ...). A function that also accepts a ``prompt`` keyword
(or ``**kwargs``) is given the prompt's user text as ``prompt=``; the others never see it, so the
built-in rewards are called exactly as before.

Every problem with a spec, or with what the function returns, is one ``ValueError`` that names the
spec and says what to fix: the workflow prints it as one line, with no traceback.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from numbers import Real

import numpy as np
import pandas as pd

RewardFunction = Callable[..., object]


def split_spec(spec: str) -> tuple[str, str]:
    """``(module or file, function)`` of ``"module:function"``; the last colon splits (a Windows
    drive letter keeps its own)."""
    if not isinstance(spec, str) or spec.count(":") < 1:
        raise ValueError(f"python reward {spec!r} is not of the form 'module:function' or 'path/to/file.py:function'")
    where, _, name = spec.rpartition(":")
    if not where or not name.isidentifier():
        raise ValueError(
            f"python reward {spec!r}: give a module (or .py file) and a function name, "
            "e.g. 'my_rewards:helpfulness' or 'rewards/mine.py:helpfulness'"
        )
    return where, name


def is_file_spec(where: str) -> bool:
    """A file path rather than a dotted module name."""
    return where.endswith(".py") or "/" in where or os.sep in where


def _import_file(spec: str, path: str):
    """The module in file ``path``, under a private name derived from its absolute path."""
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise ValueError(f"python reward {spec!r}: file {path} does not exist; fix the path before the ':'")
    name = "bonkl_user_reward_" + hashlib.sha1(path.encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    loader_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import(spec: str, where: str):
    """The module of a spec; any failure while importing is one ValueError naming the spec."""
    try:
        if is_file_spec(where):
            return _import_file(spec, where)
        return importlib.import_module(where)
    except ValueError:
        raise
    except ModuleNotFoundError as error:
        if error.name and where.split(".")[0] == error.name.split(".")[0]:
            raise ValueError(
                f"python reward {spec!r}: no module named {where!r}; install it, add its folder to "
                "PYTHONPATH, or give the file instead ('path/to/file.py:function')"
            ) from None
        raise ValueError(
            f"python reward {spec!r}: importing {where!r} failed: it needs module {error.name!r}, "
            "which is not installed here"
        ) from None
    except Exception as error:  # noqa: BLE001 - the user's module may raise anything on import
        raise ValueError(
            f"python reward {spec!r}: importing {where!r} failed ({type(error).__name__}: {error}); fix the module"
        ) from None


def _check_signature(spec: str, function) -> None:
    """The function must take ``(samples, reference=...)``: checked now, not after the sampling."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # some builtins have no signature: trust them
        return
    try:
        signature.bind(pd.DataFrame(), reference=None)
    except TypeError as error:
        raise ValueError(
            f"python reward {spec!r}: the function must accept (samples, reference=None) like the "
            f"built-in rewards, but its signature is {signature} ({error})"
        ) from None


def accepts_prompt(function) -> bool:
    """Whether the function takes a ``prompt`` keyword (by name, or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.kind is p.VAR_KEYWORD or (p.name == "prompt" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        for p in parameters
    )


def resolve_function(spec: str) -> RewardFunction:
    """The callable a ``"module:function"`` or ``"file.py:function"`` spec names, checked."""
    where, name = split_spec(spec)
    module = _import(spec, where)
    if not hasattr(module, name):
        found = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise ValueError(
            f"python reward {spec!r}: {where!r} has no attribute {name!r}; callables there: {found or 'none'}"
        )
    function = getattr(module, name)
    if not callable(function):
        raise ValueError(
            f"python reward {spec!r}: {where}.{name} is a {type(function).__name__}, not a function; "
            "name a function (samples, reference=None) -> one float per sample"
        )
    _check_signature(spec, function)
    return function


def _first_bad_row(values: np.ndarray) -> int | None:
    """Index of the first entry that is not a real number (bools and text are not)."""
    if values.dtype.kind in "iuf":
        return None
    for row, value in enumerate(values):
        if isinstance(value, bool | np.bool_) or not isinstance(value, Real | np.integer | np.floating):
            return row
    return None


def _as_vector(name: str, values, rows: int) -> np.ndarray:
    """``values`` as a 1-D array of ``rows`` entries, or one error saying what came back."""
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"reward {name}: returned a table; return one value per sample (a list, array or Series)")
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    try:
        array = np.asarray(values)
    except ValueError:  # ragged nesting: one entry per outer item, checked one by one
        array = np.array(list(values), dtype=object)
    if array.ndim == 1 and array.dtype.kind in "USO" and not isinstance(values, np.ndarray):
        array = np.empty(len(array), dtype=object)  # numpy made text of every entry: keep each one's type
        array[:] = list(values)
    if array.ndim != 1:
        what = f"{values!r:.80}" if array.ndim == 0 else f"an array of shape {array.shape}"
        raise ValueError(f"reward {name}: returned {what}; return one value per sample ({rows} values)")
    if len(array) != rows:
        raise ValueError(f"reward {name}: returned {len(array)} values for {rows} samples; return one per sample")
    return array


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _sample_label(samples: pd.DataFrame, row: int) -> str:
    if "sample_index" in samples:
        return f"row {row} (sample_index {samples['sample_index'].iloc[row]})"
    return f"row {row}"


def check_values(name: str, values, samples: pd.DataFrame) -> np.ndarray:
    """The reward's output as float64, after checking it is one finite real number per sample and
    one value per distinct response (``token_ids``): a pool with one response at two rewards is
    no pool a reward function can give (``bonkl.pool.make_pool`` would refuse it later, less clearly).
    """
    array = _as_vector(name, values, len(samples))
    bad = _first_bad_row(array)
    if bad is not None:
        value = _plain(array[bad])
        raise ValueError(
            f"reward {name}: {_sample_label(samples, bad)} is {value!r} ({type(value).__name__}), not a real number"
        )
    result = array.astype(np.float64)
    if not np.all(np.isfinite(result)):
        bad = int(np.argmax(~np.isfinite(result)))
        raise ValueError(f"reward {name}: {_sample_label(samples, bad)} is {result[bad]}; rewards must be finite")
    _check_one_value_per_response(name, result, samples)
    return result


def _check_one_value_per_response(name: str, result: np.ndarray, samples: pd.DataFrame) -> None:
    if "token_ids" not in samples:
        return
    seen: dict[tuple, int] = {}
    for row, ids in enumerate(samples["token_ids"]):
        first = seen.setdefault(tuple(ids.tolist() if hasattr(ids, "tolist") else ids), row)
        if result[first] != result[row]:
            raise ValueError(
                f"reward {name}: {_sample_label(samples, first)} and {_sample_label(samples, row)} are the same "
                f"response but got {float(result[first])!r} and {float(result[row])!r}; a reward must be a function "
                "of the response"
            )
