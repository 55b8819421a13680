"""The flags' argparse types: each checks its value once, where it enters, and names the allowed range.

A value out of range stops the command before it reads a file or loads a model, with one line
``bonkl <command>: error: argument --flag: ...``. The ranges are those of the code each flag feeds
(``bonkl.intervals``, ``bonkl.divergences``, ``bonkl.lm.settings``), imported from there, not written twice.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from ..divergences import MAX_ORDER
from ..intervals import LEVELS, REPLICATES
from ..lm.settings import SamplerSettings

MAX_N = 10_000_000  # as the workflow's lm.n; the fault tests check every number is in range up to here
MAX_TILT = 1000.0  # as the workflow's lm.estimate.tilt


def parse_ns(text: str) -> np.ndarray:
    """``"1,2,4"`` -> array: the one ``--n`` parser (``estimate`` and ``audit``); each value a real
    number in [1, MAX_N], each given once (a repeated n would repeat its rows)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        ns = np.array([float(part) for part in parts])
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers such as 1,2,4,8, got {text!r}") from None
    bad = [part for part, n in zip(parts, ns) if not 1 <= n <= MAX_N]
    if not parts or bad:
        shown = f"got {', '.join(bad)}" if bad else "got none"
        raise argparse.ArgumentTypeError(f"each n must be a number in [1, {MAX_N}], {shown}")
    _, first, counts = np.unique(ns, return_index=True, return_counts=True)
    if (counts > 1).any():
        raise argparse.ArgumentTypeError(f"{parts[first[counts > 1][0]]} is given twice; give each n once")
    return ns


def parse_orders(text: str) -> list[float]:
    """``"0.5,2"`` -> Renyi orders, each in (0, MAX_ORDER] or inf."""
    allowed = f"each order must be a number in (0, {MAX_ORDER:.0f}] or inf (above that, use inf), such as 0.5,2"
    try:
        alphas = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{allowed}; got {text!r}") from None
    if not alphas or not all(0 < a <= MAX_ORDER or a == math.inf for a in alphas):
        raise argparse.ArgumentTypeError(f"{allowed}; got {text!r}")
    return alphas


def whole_number(minimum: int, maximum: int | None = None):
    """argparse type: an integer in [minimum, maximum]."""
    allowed = f"a whole number >= {minimum}" if maximum is None else f"a whole number in [{minimum}, {maximum}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value

    return parse


def replicates(text: str) -> int:
    """``--bootstrap``: 0 (no intervals) or a number of resamples in REPLICATES."""
    low, high = REPLICATES
    value = whole_number(0)(text)
    if value and not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be 0 (no intervals) or a whole number in [{low}, {high}], got {value}")
    return value


def number_in(low: float, high: float, *, closed_low=False, closed_high=True):
    """argparse type: a finite number in the interval, its brackets as given."""
    shown = f"{'[' if closed_low else '('}{low:g}, {high:g}{']' if closed_high else ')'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number in {shown}, got {text!r}") from None
        above = value > low if not closed_low else value >= low
        below = value < high if not closed_high else value <= high
        if not (math.isfinite(value) and above and below):
            raise argparse.ArgumentTypeError(f"must be a number in {shown}, got {text}")
        return value

    return parse


def level(text: str) -> float:
    """``--level``: a confidence level in LEVELS (the coverage study's)."""
    return number_in(*LEVELS, closed_low=True, closed_high=False)(text)


def sampler_setting(name: str):
    """argparse type of one setting of :class:`bonkl.lm.settings.SamplerSettings` (``top_k`` a whole
    number, the others numbers): checked by the settings themselves, whose message names the range."""

    def parse(text: str):
        try:
            value = int(text) if name == "top_k" else float(text)
        except ValueError:
            kind = "a whole number" if name == "top_k" else "a number"
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        try:
            SamplerSettings(**{name: value})
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error).replace(f"sampler setting {name} ", "")) from None
        return value

    return parse
