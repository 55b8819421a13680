"""Figure 13 (beyond the paper): five selection rules, and best-of-n's divergences against their bounds.

Drawn from the tidy table of rule ``closed_form_data`` for fig13_beyond_paper (``bonkl.pipeline.tradeoffs``): the top
row plots win rate against KL for each model, the bottom row each divergence of best-of-n (solid)
against the Mroueh (2024) bound (dashed) as ``n`` grows. Nothing is computed here.
"""

from __future__ import annotations

import pandas as pd

from . import FAMILIES, KL_LABEL, WIN_LABEL, use_style

TITLE = "Beyond the paper (Fig. 13): selection rules and the Mroueh (2024) bounds"
MODELS = {"example2": "Example 2", "many_outcomes": "many outcomes"}
RULES = {
    "best_of_n": FAMILIES["best_of_n"],
    "best_of_poisson": (
        "Best-of-Poisson ($\\mu = n - 1$)",
        "best_of_poisson",
        dict(linestyle=(0, (4, 1.5)), linewidth=1.2, zorder=5),
    ),
    "soft_best_of_n": ("soft best-of-$n$", "soft_best_of_n", dict(linestyle=(0, (3, 1, 1, 1)), zorder=4)),
    "rewind_repeat": FAMILIES["rewind_repeat"],
    "optimal": FAMILIES["optimal"],
}
DIVERGENCE_LABELS = {"chi2": "$\\chi^2$", "tv": "TV"}


def _divergence_label(name: str) -> str:
    if name.startswith("renyi_"):
        alpha = name.split("_", 1)[1]
        return "$D_{" + ("\\infty" if alpha == "inf" else alpha) + "}$"
    return DIVERGENCE_LABELS[name]


def plot_beyond_paper(table: pd.DataFrame, options: dict):
    """Figure 13: win rate against KL per model (top), each divergence against its bound (bottom)."""
    import matplotlib.pyplot as plt

    use_style()
    models = [m for m in MODELS if m in set(table["model"])]
    fig, axes = plt.subplots(
        2, len(models), figsize=(options["width"], options["height"]), layout="constrained", squeeze=False
    )
    colors = options["colors"]
    tradeoff = table[table["part"] == "tradeoff"]
    divergence = table[table["part"] == "divergence"]
    for column, model in enumerate(models):
        ax = axes[0, column]
        for family, (label, key, style) in RULES.items():
            part = tradeoff[(tradeoff["model"] == model) & (tradeoff["family"] == family)].sort_values("kl")
            ax.plot(part["kl"], part["win_rate"], label=label, color=colors[key], **style)
        ax.set_xlabel(KL_LABEL)
        ax.set_ylabel(WIN_LABEL if column == 0 else "")
        ax.set_xlim(left=0)
        size = int(tradeoff.loc[tradeoff["model"] == model, "alphabet_size"].iloc[0])
        ax.set_title(f"{MODELS[model]}, $L = {size}$")
        ax = axes[1, column]
        part = divergence[divergence["model"] == model]
        for index, (name, curve) in enumerate(part.groupby("divergence", sort=False)):
            curve = curve.sort_values("n")
            color = f"C{index}"
            ax.plot(curve["n"], curve["exact"], color=color, label=_divergence_label(name))
            ax.plot(curve["n"], curve["bound"], color=color, linestyle="--", linewidth=0.9)
        if options.get("log_x", True):
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("$n$")
        ax.set_ylabel("divergence of best-of-$n$" if column == 0 else "")
        ax.plot([], [], color="0.4", linestyle="--", linewidth=0.9, label="bound (Mroueh 2024)")
    loc = options.get("legend_loc", "below")
    if loc != "none":
        for row in (0, 1):
            handles, labels = axes[row, 0].get_legend_handles_labels()
            axes[row, -1].legend(
                handles,
                labels,
                loc="lower right" if row == 0 else "upper left",
                fontsize="x-small",
                ncol=1 if row == 0 else 2,
            )
    for ax in axes[1]:
        ax.set_ylim(bottom=1e-3)
    if options.get("title", True):
        fig.suptitle(TITLE, fontsize="small", color="0.3")
    return fig
