"""Best-of-n as it is run (beyond the paper): a tempered, truncated sampler against temperature 1.

One row of two panels per prompt: the KL of best-of-n to the reference model against ``n`` (eq. 4 as
it is usually reported; best-of-n from the model itself; best-of-n from the sampler ``q``, to the
reference and for its own step), and the expected reward against that KL.
"""

from __future__ import annotations

import textwrap

import pandas as pd

REFERENCE = "temperature 1"


def practice_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One tidy table from the estimate tables of each sampler (label -> table): per prompt, sampler
    and ``n``, the KL to the reference, the KL of best-of-n's own step and the expected reward."""
    parts = []
    for label, table in tables.items():
        to_reference = table.get("kl_to_reference_estimator_mean", table["kl_estimator_mean"])
        parts.append(
            pd.DataFrame(
                {
                    "prompt_id": table["prompt_id"],
                    "sampler": label,
                    "n": table["n"],
                    "kl_bon": table["kl_bon"],
                    "kl_to_reference": to_reference,
                    "kl_own_step": table["kl_estimator_mean"],
                    "sampler_log_ratio": table.get("sampler_log_ratio", 0.0 * table["n"]),
                    "expected_reward": table["expected_reward"],
                }
            )
        )
    return pd.concat(parts, ignore_index=True).sort_values(["prompt_id", "sampler", "n"]).reset_index(drop=True)


def plot_practice(frame: pd.DataFrame, *, title: str, panel_width: float = 2.6, panel_height: float = 2.2):
    import matplotlib.pyplot as plt

    from . import use_style

    use_style()
    prompts = sorted(frame["prompt_id"].unique(), key=str)
    legend_height = 0.18 * 4 + 0.05  # four entries, one a line: the labels are long
    fig, axes = plt.subplots(
        len(prompts), 2, figsize=(2 * panel_width, panel_height * len(prompts) + legend_height + 0.5), squeeze=False
    )
    colors = {}
    for row, prompt in zip(axes, prompts):
        part = frame[frame["prompt_id"] == prompt]
        kl_axis, reward_axis = row
        reference = part[part["sampler"] == REFERENCE].sort_values("n")
        own = None
        kl_axis.plot(
            reference["n"], reference["kl_bon"], color="0.2", ls="--", label=r"$\log n - (n-1)/n$ (eq. 4, as reported)"
        )
        for sampler, line in part.groupby("sampler", sort=False):
            line = line.sort_values("n")
            variant = sampler != REFERENCE
            label = (
                f"{sampler}: KL(BoN$_q$ || $\\pi$), = KL(q || $\\pi$) at n = 1"
                if variant
                else f"{sampler}: KL(BoN || $\\pi$) (eq. 25 mean)"
            )
            drawn = kl_axis.plot(line["n"], line["kl_to_reference"], marker="o", ms=2, label=label)
            colors[sampler] = drawn[0].get_color()
            if variant:
                kl_axis.plot(
                    line["n"],
                    line["kl_own_step"],
                    color=colors[sampler],
                    ls=":",
                    label=f"{sampler}: best-of-n's own step KL(BoN$_q$ || q)",
                )
                own = line.iloc[0]["kl_to_reference"]  # n = 1: the sampler's own KL, before best-of-n
            reward_axis.plot(line["kl_to_reference"], line["expected_reward"], marker="o", ms=2, color=colors[sampler])
        kl_axis.set_xscale("log")
        kl_axis.set_xlabel("$n$")
        kl_axis.set_ylabel(r"KL to the reference $\pi$ (nats)")
        kl_axis.set_title(f"{prompt}: at n = 1, KL(q || $\\pi$) = {own:.2f}" if own is not None else str(prompt))
        reward_axis.set_xlabel(r"KL to the reference $\pi$ (nats)")
        reward_axis.set_ylabel("expected reward")
        reward_axis.set_title(f"{prompt}: reward against KL")
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=1, frameon=False, fontsize="small")
    fig.suptitle(textwrap.fill(title, 75), fontsize="medium")
    fig.tight_layout(rect=(0, legend_height / fig.get_figheight(), 1, 1))
    return fig
