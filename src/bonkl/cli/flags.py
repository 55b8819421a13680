"""The flags' argparse types: each checks its value's range once, where it enters, and names it."""

from __future__ import annotations

import argparse

import numpy as np

MAX_N = 10_000_000  # as the workflow's lm.n; the fault tests check every number is in range up to here


def parse_ns(text: str) -> np.ndarray:
    """``"1,2,4"`` -> array: the one ``--n`` parser (``estimate`` and ``audit``); each value a real
    number in [1, MAX_N]."""
    try:
        ns = np.array([float(part) for part in text.split(",") if part.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(f"--n must be comma-separated numbers, got {text!r}") from None
    if ns.size == 0 or not np.all(np.isfinite(ns) & (ns >= 1)):
        raise argparse.ArgumentTypeError(f"--n values must be numbers >= 1, got {text!r}")
    if ns.max() > MAX_N:
        raise argparse.ArgumentTypeError(
            f"--n values must be at most {MAX_N} (the largest n whose numbers are checked), got {ns.max():g}"
        )
    return ns


def parse_orders(text: str) -> list[float]:
    """``"0.5,2"`` -> Renyi orders, each a number > 0."""
    try:
        alphas = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--divergences must be comma-separated orders, got {text!r}") from None
    if not alphas or not all(a > 0 for a in alphas):
        raise argparse.ArgumentTypeError(f"--divergences orders must be numbers > 0, got {text!r}")
    return alphas


def whole_number(minimum: int):
    """argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse
