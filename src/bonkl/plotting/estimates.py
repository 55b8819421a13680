"""KL estimates against n for pools of language-model samples (Figures 4, 5, 10, 11, 12; CLI)."""

from __future__ import annotations

import math

import pandas as pd

# (column, legend label, line style); the eq. 25 mean also gets its tilted band.
CURVES = [
    ("kl_estimator_mean", r"$\widehat{\mathrm{KL}}$ (eq. 25), mean", dict(color="tab:blue", linestyle="-")),
    ("kl_alternate", "alternate bound (eq. 23)", dict(color="tab:orange", linestyle=":")),
    ("kl_corollary_4_2", "Cor. 4.2, $F$ from pool", dict(color="tab:green", linestyle="-.")),
    ("kl_bon", r"$\log n - (n-1)/n$ (eq. 4)", dict(color="0.2", linestyle="--")),
]
BAND = ("kl_estimator_tilted_min", "kl_estimator_tilted_max")


def plotted_table(table: pd.DataFrame) -> pd.DataFrame:
    """The numbers a figure plots, tidy: one row per (prompt, n), one column per curve."""
    columns = ["prompt_id", "n"] + [c for c, _, _ in CURVES] + list(BAND)
    return table[columns].sort_values(["prompt_id", "n"]).reset_index(drop=True)


def plot_estimates(table: pd.DataFrame, *, title: str, panel_width: float = 2.4,
                   panel_height: float = 2.1, columns: int = 4):
    """One panel per prompt: eq. 4, eq. 23, Corollary 4.2 and the eq. 25 mean with its tilted band."""
    import matplotlib.pyplot as plt

    from . import use_style

    use_style()
    prompts = sorted(table["prompt_id"].unique())
    columns = min(columns, len(prompts))
    rows = math.ceil(len(prompts) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel_width * columns, panel_height * rows + 0.5),
                             sharex=True, squeeze=False)
    for ax, prompt in zip(axes.flat, prompts):
        part = table[table["prompt_id"] == prompt].sort_values("n")
        ax.fill_between(part["n"], part[BAND[0]], part[BAND[1]], color="tab:blue", alpha=0.2, linewidth=0,
                        label="eq. 25 tilted min/max")
        for column, label, style in CURVES:
            ax.plot(part["n"], part[column], label=label, **style)
        ax.set_xscale("log")
        ax.set_title(str(prompt))
        ax.set_xlabel("$n$")
        ax.set_ylim(bottom=0)
    for ax in axes[:, 0]:
        ax.set_ylabel("KL divergence (nats)")
    for ax in list(axes.flat)[len(prompts):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.12 if rows == 1 else 0.07, 1, 1))
    return fig


def plot_estimates_figure(table: pd.DataFrame, path, *, title: str, **options) -> None:
    """Render :func:`plot_estimates` to ``path`` (any matplotlib format)."""
    import matplotlib.pyplot as plt

    fig = plot_estimates(table, title=title, **options)
    fig.savefig(path)
    plt.close(fig)
