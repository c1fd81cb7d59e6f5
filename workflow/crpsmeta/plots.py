"""Forest plots in the field's layout (metafor's forest(), RevMan)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["forest_plot"]


def forest_plot(studies: pd.DataFrame, estimands: pd.DataFrame, *, title: str, prob: float,
                xlabel: str = "Responder rate (ketamine arm)",
                interval_type: str, prior_text: str = "") -> plt.Figure:
    """Observed study rates, shrunken estimates, pooled and predictive intervals.

    Parameters
    ----------
    studies : DataFrame
        From :func:`crpsmeta.estimands.study_table` (optionally with
        ``responder_definition``).
    estimands : DataFrame
        From :func:`crpsmeta.estimands.estimands_table`; rows ``pooled_rate``
        and ``predicted_rate`` are drawn.
    """
    k = len(studies)
    height = 2.4 + 0.42 * (k + 3)
    fig, ax = plt.subplots(figsize=(11, height))
    pct = f"{prob * 100:g} %"
    kind = "equal-tailed" if interval_type == "equal_tailed" else "highest-density"
    ypos = list(range(k + 2, 2, -1))
    for y, (_, row) in zip(ypos, studies.iterrows()):
        ax.errorbar(row["observed_rate"], y + 0.15,
                    xerr=[[row["observed_rate"] - row["observed_lower"]], [row["observed_upper"] - row["observed_rate"]]],
                    fmt="s", color="black", ms=4 + 6 * (row["n"] / studies["n"].max()), capsize=2, lw=1)
        ax.errorbar(row["shrunken_median"], y - 0.15,
                    xerr=[[row["shrunken_median"] - row["shrunken_lower"]], [row["shrunken_upper"] - row["shrunken_median"]]],
                    fmt="o", color="tab:blue", ms=4, capsize=2, lw=1)
    est = estimands.set_index("estimand")
    pooled, pred = est.loc["pooled_rate"], est.loc["predicted_rate"]
    yp = 1.2
    ax.fill([pooled["lower"], pooled["median"], pooled["upper"], pooled["median"]],
            [yp, yp + 0.3, yp, yp - 0.3], color="tab:red", alpha=0.85, label=f"pooled rate ({pct} CrI)")
    ax.plot([pred["lower"], pred["upper"]], [0.4, 0.4], color="tab:red", lw=3, alpha=0.5,
            label=f"predicted rate in a new study ({pct} PI)")
    labels = []
    for y, (_, row) in zip(ypos, studies.iterrows()):
        definition = f"  ({row['definition_class']})" if "definition_class" in row else ""
        labels.append(f"{row['study_id']}  {row['responders']}/{row['n']}{definition}")
        ax.text(1.04, y, f"{row['observed_rate']:.2f}  |  {row['shrunken_median']:.2f} "
                f"[{row['shrunken_lower']:.2f}, {row['shrunken_upper']:.2f}]",
                transform=ax.get_yaxis_transform(), va="center", fontsize=8, family="monospace")
    ax.text(1.04, k + 2.8, "observed | shrunken [CrI]", transform=ax.get_yaxis_transform(), fontsize=8,
            va="center", weight="bold")
    for y, r in ((yp, pooled), (0.4, pred)):
        ax.text(1.04, y, f"        {r['median']:.2f} [{r['lower']:.2f}, {r['upper']:.2f}]",
                transform=ax.get_yaxis_transform(), va="center", fontsize=8, family="monospace")
    ax.set_yticks(ypos + [yp, 0.4])
    ax.set_yticklabels(labels + ["Pooled (random effects)", "Prediction"], fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.3, k + 3)
    ax.axvline(pooled["median"], color="tab:red", lw=0.6, ls=":")
    ax.set_xlabel(xlabel)
    ax.errorbar([], [], xerr=[], fmt="s", color="black", label=f"observed rate (exact {pct} CI)")
    ax.errorbar([], [], xerr=[], fmt="o", color="tab:blue", label=f"shrunken study estimate ({pct} {kind} CrI)")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7, ncol=2, frameon=False)
    ax.set_title(title, fontsize=10, pad=48)
    summary = (f"pooled {pooled['median']:.2f} [{pooled['lower']:.2f}, {pooled['upper']:.2f}]; "
               f"prediction [{pred['lower']:.2f}, {pred['upper']:.2f}]; "
               f"tau {est.loc['tau', 'median']:.2f}")
    fig.text(0.01, 0.01, f"How to read: black squares are each study's observed rate (size ~ n) with its exact "
             f"binomial CI; blue dots are the model's shrunken estimates. Red diamond: pooled rate; red bar: "
             f"where a new study's rate is expected.\n{summary}. {prior_text}", fontsize=7, va="bottom", wrap=True)
    fig.subplots_adjust(left=0.27, right=0.70, bottom=0.55 / height * 2.2, top=1 - 1.1 / height)
    return fig
