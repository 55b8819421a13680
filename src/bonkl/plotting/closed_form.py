"""Figures 1, 2, 3, 6, 7, 8 and 9 of the paper, drawn from the tidy tables the workflow computes.

Each ``plot_*`` function takes the figure's CSV table (one row per plotted point) and the plot
options of its rule (``config.plot``: ``width``, ``height``, ``log_x``, ``legend_loc``, ``xlim``,
``ylim``, ``title``, ``colors``) and returns a matplotlib figure. Nothing is computed here.
:data:`FIGURES` maps each output name to its function and to the paper's figure number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from . import FAMILIES, KL_LABEL, WIN_LABEL, paper_title, save_figure, use_style
from .beyond_paper import plot_beyond_paper

# The estimators of Figures 1-3: (column, legend label, colour key, line style).
KL_CURVES = {
    "kl_exact": ("exact KL", "exact", dict(linestyle="-", linewidth=2.4, alpha=0.45, zorder=2)),
    "kl_bon": (r"$\log n - \frac{n-1}{n}$ (eq. 4)", "kl_bon", dict(linestyle="--", zorder=3)),
    "kl_alternate_mean": (
        r"$\mathbb{E}$[alternate, eq. 23]",
        "alternate",
        dict(linestyle=(0, (1, 1.3)), linewidth=1.5, zorder=3),
    ),
    "kl_estimator_mean": (
        r"$\mathbb{E}[\widehat{\mathrm{KL}}]$ (eq. 25)",
        "estimator",
        dict(linestyle=(0, (5, 1.5, 1, 1.5)), linewidth=1.1, zorder=4),
    ),
}
BAND = ("kl_estimator_tilted_min", "kl_estimator_tilted_max")


def _figure(options, ncols=1, **kwargs):
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(
        1, ncols, figsize=(options["width"], options["height"]), layout="constrained", squeeze=False, **kwargs
    )
    return fig, list(axes.flat)


def _finish(fig, axes, options, figure_number, *, handles=None, labels=None):
    """Axis limits, legend and the line saying which figure of the paper this reproduces."""
    for ax in axes:
        if options.get("xlim"):
            ax.set_xlim(*options["xlim"])
        if options.get("ylim"):
            ax.set_ylim(*options["ylim"])
    loc = options.get("legend_loc", "best")
    if handles is None:
        handles, labels = axes[0].get_legend_handles_labels()
    if loc == "below":
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5))
    elif loc != "none":
        axes[0].legend(handles, labels, loc=loc)
    if options.get("title", True):
        fig.suptitle(paper_title(figure_number), fontsize="small", color="0.3")
    return fig


def _kl_axes(ax, options, *, ylabel=True):
    if options.get("log_x", True):
        ax.set_xscale("log")
    ax.set_xlabel("$n$")
    if ylabel:
        ax.set_ylabel(KL_LABEL)
    ax.set_ylim(bottom=0)
    ax.margins(x=0)


def _kl_curves(ax, part, options, columns, labels=None):
    colors = options["colors"]
    for column in columns:
        label, key, style = KL_CURVES[column]
        label = (labels or {}).get(column, label)
        ax.plot(part["n"], part[column], label=label, color=colors[key], **style)


def plot_example1_kl(table: pd.DataFrame, options: dict):
    """Figure 1: Example 1 (two equiprobable outcomes): the exact KL (eq. 5), eq. 4 and eq. 25 against n."""
    fig, (ax,) = _figure(options)
    _kl_curves(
        ax,
        table.sort_values("n"),
        options,
        ["kl_exact", "kl_bon", "kl_estimator_mean"],
        labels={"kl_exact": "exact KL (eq. 5)"},
    )
    _kl_axes(ax, options)
    return _finish(fig, [ax], options, 1)


def plot_uniform_kl(table: pd.DataFrame, options: dict):
    """Figure 2: uniform models, one panel per alphabet size ``L``."""
    sizes = sorted(table["alphabet_size"].unique())
    fig, axes = _figure(options, ncols=len(sizes), sharey=True)
    columns = ["kl_exact", "kl_bon", "kl_alternate_mean", "kl_estimator_mean"]
    for i, (ax, size) in enumerate(zip(axes, sizes, strict=True)):
        _kl_curves(ax, table[table["alphabet_size"] == size].sort_values("n"), options, columns)
        _kl_axes(ax, options, ylabel=i == 0)
        ax.axvline(size, color="0.6", linewidth=0.6, linestyle=":", zorder=1)
        ax.set_title(f"uniform, $L = {_latex_number(size)}$")
    handles, labels = axes[0].get_legend_handles_labels()
    return _finish(fig, axes, options, 2, handles=handles, labels=labels)


def plot_top_outcomes_kl(table: pd.DataFrame, options: dict):
    """Figure 3: (a) one rare top outcome, (b) three rare top outcomes; with the tilted band of eq. 25."""
    panels = sorted(table["panel"].unique())
    fig, axes = _figure(options, ncols=len(panels), sharey=True)
    colors = options["colors"]
    columns = ["kl_exact", "kl_bon", "kl_alternate_mean", "kl_estimator_mean"]
    for i, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
        part = table[table["panel"] == panel].sort_values("n")
        tilt = part["tilt"].iloc[0]
        ax.fill_between(
            part["n"],
            part[BAND[0]],
            part[BAND[1]],
            color=colors["estimator"],
            alpha=0.18,
            linewidth=0,
            zorder=1,
            label=f"eq. 25 tilted min/max ($t = \\pm{tilt:g}$)",
        )
        _kl_curves(ax, part, options, columns)
        _kl_axes(ax, options, ylabel=i == 0)
        masses = ", ".join(_latex_number(float(m)) for m in str(part["top_masses"].iloc[0]).split(";"))
        size = _latex_number(int(part["alphabet_size"].iloc[0]))
        ax.set_title(f"({panel}) $L = {size}$, top masses ${masses}$")
    handles, labels = axes[0].get_legend_handles_labels()
    # Legend order: the curves first, the band last.
    order = list(range(1, len(handles))) + [0]
    return _finish(fig, axes, options, 3, handles=[handles[i] for i in order], labels=[labels[i] for i in order])


def plot_example1_tradeoff(table: pd.DataFrame, options: dict):
    """Figure 6: Example 1, the actual win rate against the exact KL and against eq. 4."""
    fig, (ax,) = _figure(options)
    colors = options["colors"]
    part = table.sort_values("n")
    ax.plot(part["kl_exact"], part["win_rate"], color=colors["exact"], label="win rate vs exact KL (eq. 5)")
    ax.plot(
        part["kl_bon"],
        part["win_rate"],
        color=colors["kl_bon"],
        linestyle="--",
        label=r"win rate vs $\log n - \frac{n-1}{n}$ (eq. 4)",
    )
    integers = part[part["n"].isin([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])]
    for column, key in (("kl_exact", "exact"), ("kl_bon", "kl_bon")):
        ax.plot(integers[column], integers["win_rate"], linestyle="none", marker="o", markersize=2.2, color=colors[key])
    # The limit n -> infinity: the best outcome always wins, KL log 2, win rate 3/4.
    limit = part.iloc[-1]
    ax.annotate(
        r"$n \to \infty$: KL $\to \log 2$, win rate $\to 3/4$",
        xy=(limit["kl_exact"], limit["win_rate"]),
        xytext=(limit["kl_exact"] + 0.35, 0.66),
        fontsize="small",
        arrowprops=dict(arrowstyle="->", linewidth=0.6, color="0.3"),
    )
    ax.plot([], [], linestyle="none", marker="o", markersize=2.2, color="0.3", label=r"$n = 1, 2, 4, 8, \ldots$")
    ax.set_xlabel(KL_LABEL)
    ax.set_ylabel(WIN_LABEL)
    ax.set_xlim(left=0)
    return _finish(fig, [ax], options, 6)


def plot_example2_simplex(table: pd.DataFrame, options: dict):
    """Figure 7: Example 2 on the probability simplex: best-of-n, rewind-and-repeat, optimal pi_beta."""
    from .ternary import simplex_axes, simplex_plot, simplex_scatter

    use_style()
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(options["width"], options["height"]), layout="constrained")
    ax = simplex_axes(fig)
    colors = options["colors"]
    columns = ["pi_y1", "pi_y2", "pi_y3"]
    for family, (label, key, style) in FAMILIES.items():
        part = table[table["family"] == family].sort_values("parameter", ascending=family != "optimal")
        simplex_plot(ax, part[columns].to_numpy(), label=label, color=colors[key], **style)
    reference = table[table["family"] == "reference"][columns].to_numpy()
    simplex_scatter(ax, reference, color="black", s=14, zorder=6, label=r"reference $\pi$")
    loc = options.get("legend_loc", "best")
    if loc != "none":
        ax.legend(loc="upper left" if loc in ("best", "below") else loc, bbox_to_anchor=(-0.1, 1.08))
    if options.get("title", True):
        fig.suptitle(paper_title(7), fontsize="small", color="0.3")
    return fig


def _tradeoff(table, options, figure_number, *, families=FAMILIES):
    fig, (ax,) = _figure(options)
    colors = options["colors"]
    for family, (label, key, style) in families.items():
        part = table[table["family"] == family].sort_values("kl")
        ax.plot(part["kl"], part["win_rate"], label=label, color=colors[key], **style)
    ax.set_xlabel(KL_LABEL)
    ax.set_ylabel(WIN_LABEL)
    ax.set_xlim(left=0)
    return _finish(fig, [ax], options, figure_number)


def plot_example2_tradeoff(table: pd.DataFrame, options: dict):
    """Figure 8: Example 2, win rate against KL for the three families."""
    return _tradeoff(table, options, 8)


def plot_example3_tradeoff(table: pd.DataFrame, options: dict):
    """Figure 9: Example 3 (a continuum of outcomes), win rate against KL from the closed forms."""
    return _tradeoff(table, options, 9)


def _latex_number(value) -> str:
    """Math-mode text for a number: ``10^{4}``, ``2.5 \\times 10^{-3}``, or plain (``0.3``, ``100``)."""
    value = float(value)
    if value == 0 or 1e-2 <= abs(value) < 1e4:
        return f"{value:g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    exponent = int(exponent)
    return f"10^{{{exponent}}}" if mantissa == "1" else f"{mantissa} \\times 10^{{{exponent}}}"


@dataclass(frozen=True)
class Figure:
    """One closed-form figure: the one place the workflow, the tests and the notebooks read it from.

    ``settings`` is the config section of its numbers; its data rule runs
    ``workflow/scripts/<stem>.py`` (Figures 7 and 8 share ``example2_policies.py``).
    """

    paper_figure: int
    draw: Callable
    settings: str
    shows: str  # what the figure shows: the report's caption after the figure's number
    in_paper: bool = True

    @property
    def caption(self) -> str:
        """The Snakemake report's caption."""
        lead = paper_title(self.paper_figure) if self.in_paper else f"Beyond the paper (Fig. {self.paper_figure})"
        return f"{lead}: {self.shows}"


#: The closed-form figures by output stem (``results/figures/<stem>.{png,pdf,csv}``), in paper order.
FIGURES = {
    "fig01_example1_kl": Figure(
        1,
        plot_example1_kl,
        "example1_kl",
        "Example 1 (two equiprobable outcomes), the exact KL of best-of-n (eq. 5) stays below log 2 while "
        "log n - (n-1)/n (eq. 4) grows without bound; the expected estimator of eq. 25 tracks the exact KL.",
    ),
    "fig02_uniform_kl": Figure(
        2,
        plot_uniform_kl,
        "uniform",
        "uniform models of several alphabet sizes L; the exact KL saturates at log L once n exceeds L (dotted "
        "line), eq. 4 keeps growing, eq. 23 is loose by about (n-1)/n for n < L, and eq. 25 follows the exact KL.",
    ),
    "fig03_top_outcomes_kl": Figure(
        3,
        plot_top_outcomes_kl,
        "top_outcomes",
        "rare high-reward outcomes over a small uniform alphabet; the KL saturates until the next rarer outcome "
        "is found near n = 1/mass, eq. 23 and eq. 25 follow it, eq. 4 does not; the band is the tilted min/max "
        "of eq. 25 (Appendix C.2).",
    ),
    "fig06_example1_tradeoff": Figure(
        6,
        plot_example1_tradeoff,
        "example1_tradeoff",
        "Example 1, the actual win rate of best-of-n against its exact KL (eq. 5) and against eq. 4; with the "
        "exact KL the tradeoff is more favourable, reaching win rate 3/4 at KL log 2.",
    ),
    "fig07_example2_simplex": Figure(
        7,
        plot_example2_simplex,
        "example2",
        "Example 2 on the probability simplex; best-of-n over real n, rewind-and-repeat over a continuous "
        "threshold and the win-rate-optimal policy pi_beta over beta take different paths from the reference "
        "to the best outcome.",
    ),
    "fig08_example2_tradeoff": Figure(
        8,
        plot_example2_tradeoff,
        "example2",
        "Example 2, win rate against KL of best-of-n, rewind-and-repeat and the optimal policy pi_beta; "
        "best-of-n is strikingly close to optimal.",
    ),
    "fig09_example3_tradeoff": Figure(
        9,
        plot_example3_tradeoff,
        "example3",
        "Example 3 (outcomes of vanishing mass), win rate against KL from the closed forms; best-of-n is "
        "almost optimal and better than rewind-and-repeat.",
    ),
    "fig13_beyond_paper": Figure(
        13,
        plot_beyond_paper,
        "beyond_paper",
        "top, win rate against KL of five inference-time selection rules, every policy exact - best-of-n "
        "(Lemma 2.3), Best-of-Poisson (n - 1 ~ Poisson(mu)), soft best-of-n (a draw kept with probability "
        "proportional to exp(C/lambda)), rewind-and-repeat and the optimal pi_beta - on Example 2's model and "
        "on a Zipf model with many outcomes; bottom, the Renyi, chi-square and total-variation divergences of "
        "best-of-n (solid) against the Mroueh (2024) bounds integral_0^1 f(n u^(n-1)) du (dashed), which a "
        "continuous reward attains.",
        in_paper=False,
    ),
}


def render(name: str, table: pd.DataFrame, options: dict, *paths) -> None:
    """Draw figure ``name`` (a key of :data:`FIGURES`) from ``table`` and save it to ``paths``."""
    if name not in FIGURES:
        raise KeyError(f"unknown closed-form figure {name!r}; known: {sorted(FIGURES)}")
    fig = FIGURES[name].draw(table, options)
    save_figure(fig, *paths, dpi=options.get("dpi"))
