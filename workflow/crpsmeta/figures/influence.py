"""The leave-one-study-out figure: how far each key estimand moves when one study is left out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.criticism.influence import most_influential
from crpsmeta.figures.style import plt


def influence_figure(table: pd.DataFrame, *, prob: float, prior_text: str = "") -> plt.Figure:
    """Leave-one-study-out forest: the full fit's interval, then each refit's, per estimand x timepoint."""
    panels = list(dict.fromkeys(zip(table["estimand"], table["timepoint"])))
    studies = list(dict.fromkeys(table["left_out"]))
    ncol = 2
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 1.4 + nrow * (0.32 * (len(studies) + 1) + 0.9)), squeeze=False)
    top = most_influential(table).set_index(["estimand", "timepoint"])["left_out"]
    for ax, (estimand, tp) in zip(axes.ravel(), panels):
        sub = table[(table["estimand"] == estimand) & (table["timepoint"] == tp)].set_index("left_out")
        first = sub.iloc[0]
        ax.axvspan(first["full_lower"], first["full_upper"], color="tab:red", alpha=0.12)
        ax.axvline(first["full_median"], color="tab:red", lw=1)
        ax.errorbar(
            first["full_median"],
            0,
            xerr=[[first["full_median"] - first["full_lower"]], [first["full_upper"] - first["full_median"]]],
            fmt="D",
            color="tab:red",
            capsize=2,
        )
        labels = ["all studies"]
        for i, study in enumerate(studies, start=1):
            if study not in sub.index:
                continue
            r = sub.loc[study]
            color = "black" if study == top.get((estimand, tp)) else "tab:blue"
            ax.errorbar(
                r["loo_median"],
                -i,
                xerr=[[r["loo_median"] - r["loo_lower"]], [r["loo_upper"] - r["loo_median"]]],
                fmt="o",
                color=color,
                capsize=2,
                ms=4,
            )
            flag = "" if r["loo_fit_passed_gate"] else " (gate failed)"
            labels.append(f"without {study}{flag}")
        ax.set_yticks([0] + [-i for i, s in enumerate(studies, start=1) if s in sub.index])
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_title(f"{estimand}, {tp}  (most influential: {top.get((estimand, tp), '-')})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    fig.text(
        0.01,
        0.005,
        f"How to read: the red diamond and band are the full fit's posterior median and "
        f"{prob * 100:g} % credible interval; each row below refits the model without one study. A row whose "
        f"median moves far from the red line marks a study the result leans on (black: the most "
        f"influential).\n{prior_text}",
        fontsize=7,
        va="bottom",
        wrap=True,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
