"""Shared plotting code of the workflow's figures: one style, atomic PDF/PNG saving, a ternary helper.

No mathematics here: every plotted number is computed by :mod:`bonkl` and read back from the
figure's CSV, so the plot rules only draw. ``matplotlib`` is imported lazily (``import bonkl``
never pulls it in).

* :func:`use_style` loads ``bonkl.mplstyle`` (8 pt text, 3.3 in / 6.8 in widths, Okabe-Ito colours);
* :func:`save_figure` writes one figure to PDF and PNG (or any suffix), each atomically;
* :func:`paper_title` is the line that says which figure of the paper a plot reproduces;
* :mod:`bonkl.plotting.ternary` draws on the probability simplex (mpltern);
* :mod:`bonkl.plotting.closed_form` draws Figures 1, 2, 3, 6, 7, 8, 9 from their CSV tables.
"""

from __future__ import annotations

from pathlib import Path

from ..files.atomic import atomic_path

STYLE = Path(__file__).with_name("bonkl.mplstyle")

PAPER = "Beirami et al. (2025)"

# Widths of a two-column paper, in inches.
COLUMN_WIDTH = 3.3
PAGE_WIDTH = 6.8

# Axis labels and the solution families (label, colour key, line style) that several figures share.
KL_LABEL = "KL divergence (nats)"
WIN_LABEL = "win rate against $\\pi$"
FAMILIES = {
    "best_of_n": ("best-of-$n$", "best_of_n", dict(linestyle="-", zorder=4)),
    "rewind_repeat": ("rewind-and-repeat", "rewind_repeat", dict(linestyle="--", zorder=3)),
    "optimal": (r"optimal $\pi_\beta$", "optimal", dict(linestyle=(0, (1, 1.2)), linewidth=1.7, zorder=5)),
}


def use_style() -> None:
    """Select the non-interactive Agg backend's defaults and load the shared style file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use(STYLE)


def paper_title(figure: int | str) -> str:
    """``Reproduces Fig. N of Beirami et al. (2025)``."""
    return f"Reproduces Fig. {figure} of {PAPER}"


def save_figure(fig, *paths, dpi: float | None = None, close: bool = True) -> None:
    """Write ``fig`` to each path (format from its suffix: ``.pdf``, ``.png``, ``.svg``...).

    Each file is written to a hidden sibling and renamed into place, so an interrupted run never
    leaves a truncated figure that looks finished. ``dpi`` applies to raster formats (PNG).
    Metadata dates are left out so that rerendering the same figure gives the same PDF bytes.
    """
    import matplotlib.pyplot as plt

    try:
        for path in paths:
            fmt = Path(path).suffix.lstrip(".").lower()
            metadata = {"CreationDate": None} if fmt == "pdf" else None
            with atomic_path(path) as partial:
                fig.savefig(partial, format=fmt, dpi=dpi, metadata=metadata)
    finally:
        if close:
            plt.close(fig)


__all__ = [
    "COLUMN_WIDTH",
    "FAMILIES",
    "KL_LABEL",
    "PAGE_WIDTH",
    "PAPER",
    "STYLE",
    "WIN_LABEL",
    "paper_title",
    "save_figure",
    "use_style",
]
