"""KL estimates against n for pools of language-model samples (Figures 4, 5, 10, 11, 12; CLI)."""

from __future__ import annotations

import math

import pandas as pd

# (column, legend label, line style); the eq. 25 mean also gets its tilted band.
CURVES = [
    ("kl_estimator_mean", r"$\widehat{\mathrm{KL}}$ (eq. 25), mean", dict(color="tab:blue", linestyle="-")),
    ("kl_alternate", "alternate bound (eq. 23)", dict(color="tab:orange", linestyle=":")),
    ("kl_corollary_4_2_bound", "Cor. 4.2 upper bound, $F$ bounded by samples", dict(color="tab:green", linestyle="-.")),
    ("kl_bon", r"$\log n - (n-1)/n$ (eq. 4)", dict(color="0.2", linestyle="--")),
]
BAND = ("kl_estimator_tilted_min", "kl_estimator_tilted_max")
# Per-pool facts the panels state: how many samples, how many finished, which n lie past the pool.
POOL = ["num_samples", "finished_fraction", "beyond_pool"]
FINISHED_WARNING = 0.9  # a panel whose pool is less finished than this says so


def _interval(column: str) -> tuple[str, str]:
    return f"{column}_ci_low", f"{column}_ci_high"


def plotted_table(table: pd.DataFrame) -> pd.DataFrame:
    """The numbers a figure plots, tidy: one row per (prompt, n), one column per curve, its
    bootstrap interval where the table has one, and the pool facts each panel states."""
    columns = ["prompt_id", "n"] + [c for c, _, _ in CURVES] + list(BAND)
    columns += [c for curve, _, _ in CURVES for c in _interval(curve) if c in table.columns]
    columns += [c for c in POOL if c in table.columns]
    return table[columns].sort_values(["prompt_id", "n"]).reset_index(drop=True)


def _annotate_pool(ax, prompt, part: pd.DataFrame) -> None:
    """Title the panel with its pool; shade n past the pool size (plug-in estimates there describe
    the pool, not the model); warn in red when the pool is mostly unfinished (the token cap limits
    what the panel can show)."""
    if "beyond_pool" in part and part["beyond_pool"].any():
        ax.axvspan(
            part["num_samples"].iloc[0],
            part["n"].max(),
            color="0.85",
            zorder=0,
            label="$n$ > pool size: describes the pool, not the model",
        )
    title, color = str(prompt), "black"
    if "num_samples" in part:
        title += f" ({int(part['num_samples'].iloc[0])} samples)"
    if "finished_fraction" in part:
        finished = part["finished_fraction"].iloc[0]
        if finished < FINISHED_WARNING:
            title, color = f"{title}\nonly {finished:.0%} finished", "tab:red"
    ax.set_title(title, color=color)


def plot_estimates(
    table: pd.DataFrame,
    *,
    title: str,
    panel_width: float = 2.4,
    panel_height: float = 2.1,
    columns: int = 4,
    bootstrap: bool = True,
):
    """One panel per prompt: eq. 4, eq. 23, the Corollary 4.2 bound and the eq. 25 mean with its
    tilted band; bootstrap intervals as vertical bars at each n (``bootstrap``)."""
    import matplotlib.pyplot as plt

    from . import use_style

    use_style()
    prompts = sorted(table["prompt_id"].unique())
    columns = min(columns, len(prompts))
    rows = math.ceil(len(prompts) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(panel_width * columns, panel_height * rows + 0.6), sharex=True, squeeze=False
    )
    for ax, prompt in zip(axes.flat, prompts):
        part = table[table["prompt_id"] == prompt].sort_values("n")
        _annotate_pool(ax, prompt, part)
        ax.fill_between(
            part["n"],
            part[BAND[0]],
            part[BAND[1]],
            color="tab:blue",
            alpha=0.2,
            linewidth=0,
            label="eq. 25 tilted min/max",
        )
        for column, label, style in CURVES:
            ax.plot(part["n"], part[column], label=label, **style)
            low, high = _interval(column)
            if bootstrap and low in part:  # the interval as drawn: it need not contain the estimate
                ax.vlines(part["n"], part[low], part[high], color=style["color"], linewidth=0.8, alpha=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("$n$")
        ax.set_ylim(bottom=0)
    for ax in axes[:, 0]:
        ax.set_ylabel("KL divergence (nats)")
    for ax in list(axes.flat)[len(prompts) :]:
        ax.set_visible(False)
    handles = {}
    for ax in axes.flat[: len(prompts)]:  # the shading may appear in some panels only
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    with_intervals = bootstrap and _interval("kl_estimator_mean")[0] in table
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="lower center",
        ncol=3,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
        title_fontsize="x-small",
        title="vertical bars: bootstrap intervals over the pool" if with_intervals else None,
    )
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.16 if rows == 1 else 0.09, 1, 1))
    return fig


def plot_estimates_figure(table: pd.DataFrame, path, *, title: str, **options) -> None:
    """Render :func:`plot_estimates` to ``path`` (any matplotlib format)."""
    from . import save_figure

    save_figure(plot_estimates(table, title=title, **options), path)
