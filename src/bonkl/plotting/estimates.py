"""KL estimates against n for pools of language-model samples (Figures 4, 5, 10, 11, 12; CLI).

One panel for the average over prompts (with its t interval across prompts, when there are several
prompts), then one panel per prompt. Vertical bars are the studentized-bootstrap intervals, drawn
only where the coverage study found they hold their level; a panel says when it has none and why. A
bar may end at the column's range (0, ``KL_bon(n)``) where the pool cannot bound that side.
"""

from __future__ import annotations

import math

import pandas as pd

# (column, legend label, line style); the eq. 25 mean also gets its spread band.
CURVES = [
    ("kl_estimator_mean", r"$\widehat{\mathrm{KL}}$ (eq. 25), mean", dict(color="tab:blue", linestyle="-")),
    ("kl_alternate", "eq. 23 (upper bound in expectation)", dict(color="tab:orange", linestyle=":")),
    (
        "kl_corollary_4_2_bound",
        "Cor. 4.2, $F$ bounded by samples (upper bound in expectation)",
        dict(color="tab:green", linestyle="-."),
    ),
    ("kl_bon", r"$\log n - (n-1)/n$ (eq. 4)", dict(color="0.2", linestyle="--")),
]
SPREADS = {
    "tilted": (("kl_estimator_tilted_min", "kl_estimator_tilted_max"), "eq. 25 tilted means at $\\mp t$ (eq. 133)"),
    "quantiles": (("kl_estimator_q05", "kl_estimator_q95"), "eq. 25, 5%-95% under best-of-n"),
}
ABOVE = "kl_corollary_4_2_above_kl_bon"
MAX_PANELS = 12  # prompts drawn one per panel (the average is always drawn): a readable figure for any number
# Per-pool facts the panels state: how many samples, how many finished, which n lie past the pool.
POOL = ["num_samples", "finished_fraction", "beyond_pool", "ci_note", ABOVE]
FINISHED_WARNING = 0.9  # a panel whose pool is less finished than this says so
AVERAGE = "average over prompts"


def _interval(column: str) -> tuple[str, str]:
    return f"{column}_ci_low", f"{column}_ci_high"


def plotted_table(table: pd.DataFrame) -> pd.DataFrame:
    """The numbers a figure plots, tidy: one row per (prompt, n), one column per curve, both spread
    bands, the intervals where the table has them, and the pool facts each panel states."""
    columns = ["prompt_id", "n"] + [c for c, _, _ in CURVES] + [c for pair, _ in SPREADS.values() for c in pair]
    columns += [c for curve, _, _ in CURVES for c in _interval(curve) if c in table.columns]
    columns += [c for c in POOL if c in table.columns]
    return table[[c for c in columns if c in table.columns]].sort_values(["prompt_id", "n"]).reset_index(drop=True)


def figure_table(table: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """What a language-model figure plots, as one CSV: :func:`plotted_table` of the prompts, then
    the average over prompts (``summary``) under the prompt id :data:`AVERAGE`."""
    average = summary.assign(prompt_id=AVERAGE)
    keep = ["prompt_id", "n", "num_prompts"] + [c for c, _, _ in CURVES] + list(_interval("kl_estimator_mean"))
    return pd.concat([plotted_table(table), average[[c for c in keep if c in average]]], ignore_index=True)


def plot_figure_table(frame: pd.DataFrame, *, title: str, **options):
    """:func:`plot_estimates` from a :func:`figure_table` CSV."""
    average = frame["prompt_id"] == AVERAGE
    return plot_estimates(frame[~average], title=title, summary=frame[average], **options)


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


def _interval_note(part: pd.DataFrame) -> str | None:
    """What the panel says about its bars: none at all, or none for eq. 25/23 (reward ties)."""
    low = _interval("kl_estimator_mean")[0]
    if low not in part:
        return None
    if part[low].isna().all():
        notes = part.get("ci_note", pd.Series(dtype=object)).fillna("")
        if notes.str.contains("distinct answers tie").any():
            return "no bars: reward ties,\neq. 25's level mass is bounded"
        return "no bars: no variation\nor n > N/8"
    return None


def _draw_panel(ax, part: pd.DataFrame, spread: str, intervals: bool, barred=None) -> None:
    columns, label = SPREADS[spread]
    if all(c in part for c in columns):
        ax.fill_between(part["n"], part[columns[0]], part[columns[1]], color="tab:blue", alpha=0.2, lw=0, label=label)
    for column, label, style in CURVES:
        if column not in part:
            continue
        ax.plot(part["n"], part[column], label=label, **style)
        low, high = _interval(column)
        if intervals and low in part and (barred is None or column in barred):  # NaN where none is reported
            shown = part[low].notna()
            ax.vlines(part["n"][shown], part[low][shown], part[high][shown], color=style["color"], lw=0.8, alpha=0.8)
    if ABOVE in part and part[ABOVE].astype(bool).any():
        above = part[part[ABOVE].astype(bool)]
        ax.plot(
            above["n"],
            above["kl_corollary_4_2_bound"],
            "o",
            mfc="none",
            color="tab:green",
            ms=3,
            label="Cor. 4.2 above eq. 4 (eq. 4 is the better bound)",
        )
    note = _interval_note(part) if intervals else None
    if note:
        ax.text(0.97, 0.04, note, transform=ax.transAxes, ha="right", va="bottom", fontsize="xx-small", color="0.35")
    ax.set_xscale("log")
    ax.set_xlabel("$n$")
    ax.set_ylim(bottom=0)


def plot_estimates(
    table: pd.DataFrame,
    *,
    title: str,
    summary: pd.DataFrame | None = None,
    panel_width: float = 2.4,
    panel_height: float = 2.1,
    columns: int = 4,
    intervals: bool = True,
    spread: str = "tilted",
    max_panels: int = MAX_PANELS,
):
    """The average over prompts (from ``summary``, when it averages several prompts), then one
    panel per prompt, at most ``max_panels`` (the first by id; the title says how many are left out)."""
    import matplotlib.pyplot as plt

    from . import use_style

    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {sorted(SPREADS)}, got {spread!r}")
    use_style()
    prompts = sorted(table["prompt_id"].unique(), key=str)
    shown = prompts[:max_panels]
    with_average = summary is not None and len(prompts) > 1
    panels = len(shown) + with_average
    columns = min(columns, panels)
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(panel_width * columns, panel_height * rows + 0.6), sharex=True, squeeze=False
    )
    flat = list(axes.flat)
    if with_average:
        ax = flat.pop(0)
        average = summary.sort_values("n")
        _draw_panel(ax, average, spread, intervals, barred=("kl_estimator_mean",))
        ax.set_title(f"average of {int(average['num_prompts'].max())} prompts\n(bars: t interval)")
    for ax, prompt in zip(flat, shown):
        part = table[table["prompt_id"] == prompt].sort_values("n")
        _annotate_pool(ax, prompt, part)
        _draw_panel(ax, part, spread, intervals)
    for ax in axes[:, 0]:
        ax.set_ylabel("KL divergence (nats)")
    for ax in flat[len(shown) :]:
        ax.set_visible(False)
    handles = {}
    for ax in axes.flat[:panels]:  # the shading and markers may appear in some panels only
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    legend_title = (
        "vertical bars: 90% studentized-bootstrap intervals, where their coverage holds (n <= N/8);\n"
        "a bar that reaches 0 or KL_bon(n): the pool cannot bound that side"
        if intervals and _interval("kl_estimator_mean")[0] in table
        else None
    )
    left_out = len(prompts) - len(shown)
    fig.suptitle(title + (f" (first {len(shown)} of {len(prompts)} prompts shown)" if left_out else ""))
    free = list(axes.flat[panels:])
    legend = {"ncol": 2, "frameon": False, "title_fontsize": "x-small", "title": legend_title}
    if len(free) >= 2:  # the legend fills the empty panels of the last row, not a band below them
        fig.tight_layout()
        boxes = [ax.get_position() for ax in free]
        x0, y0 = min(b.x0 for b in boxes), min(b.y0 for b in boxes)
        x1, y1 = max(b.x1 for b in boxes), max(b.y1 for b in boxes)
        box = (x0, y0, x1 - x0, y1 - y0)
        fig.legend(list(handles.values()), list(handles), loc="center", bbox_to_anchor=box, **{**legend, "ncol": 1})
        return fig
    fig.legend(list(handles.values()), list(handles), loc="lower center", bbox_to_anchor=(0.5, 0.0), **legend)
    legend_inches = 0.3 + 0.17 * math.ceil(len(handles) / 2)
    fig.tight_layout(rect=(0, min(0.5, legend_inches / fig.get_figheight()), 1, 1))
    return fig


def plot_estimates_figure(table: pd.DataFrame, path, *, title: str, **options) -> None:
    """Render :func:`plot_estimates` to ``path`` (any matplotlib format)."""
    from . import save_figure

    save_figure(plot_estimates(table, title=title, **options), path)


__all__ = [
    "AVERAGE",
    "CURVES",
    "figure_table",
    "plot_estimates",
    "plot_estimates_figure",
    "plot_figure_table",
    "plotted_table",
]
