"""Figures of the summary of findings: the responder rates over time against the published pooled
figures, and how much of the ketamine response the placebo response explains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.figures.style import plt
from crpsmeta.formatting import pct
from crpsmeta.vocabulary import TIMEPOINT_LABELS


def _get(est: pd.DataFrame, model: str, tp: str, estimand: str):
    row = est[(est["model"] == model) & (est["timepoint"] == tp) & (est["estimand"] == estimand)]
    return None if row.empty else row.iloc[0]


def time_course_figure(
    estimands: pd.DataFrame, published: pd.DataFrame, *, prior_set: str, timepoints: list[str], prob: float
) -> plt.Figure:
    """Immediate versus follow-up: ketamine, placebo and raw pooled rates (left) and the difference (right)."""
    est = estimands[estimands["prior_set"] == prior_set]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    x = np.arange(len(timepoints))
    series = [
        (
            "placebo_adjusted",
            "ketamine_response_rate",
            "predicted_ketamine_rate",
            "Ketamine (model-based)",
            "tab:blue",
            -0.15,
        ),
        ("placebo_adjusted", "placebo_response_rate", "predicted_placebo_rate", "Placebo", "tab:gray", 0.0),
        ("pooled_rate", "pooled_rate", "predicted_rate", "Raw pooled (uncontrolled)", "tab:orange", 0.15),
    ]
    for model, name, pred, label, colour, dx in series:
        pts = [(_get(est, model, tp, name), _get(est, model, tp, pred)) for tp in timepoints]
        xs = [xi + dx for xi, (r, _) in zip(x, pts) if r is not None]
        if not xs:
            continue
        rs = [r for r, _ in pts if r is not None]
        med = np.array([r["median"] for r in rs])
        # one model's two timepoints are joined; the raw pools are separate fits on different studies
        ax.errorbar(
            xs,
            med,
            yerr=[med - [r["lower"] for r in rs], [r["upper"] for r in rs] - med],
            fmt="o-" if model == "placebo_adjusted" else "o",
            color=colour,
            capsize=4,
            lw=1.6,
            label=f"{label} ({100 * prob:g} % CrI)",
        )
        preds = [p for r, p in pts if r is not None]
        for xi, p in zip(xs, preds):
            if p is not None:
                ax.plot([xi + 0.04, xi + 0.04], [p["lower"], p["upper"]], color=colour, lw=4, alpha=0.25)
    if len(published):
        for _, p in published.iterrows():
            if p["timepoint"] in timepoints:
                xi = timepoints.index(p["timepoint"]) + 0.3
                ax.errorbar(
                    [xi],
                    [p["estimate"]],
                    yerr=[[p["estimate"] - p["lower"]], [p["upper"] - p["estimate"]]],
                    fmt="D",
                    color="black",
                    mfc="white",
                    capsize=4,
                )
        ax.errorbar(
            [],
            [],
            yerr=[],
            fmt="D",
            color="black",
            mfc="white",
            label=f"{published['label'].iloc[0]} (published 95 % CI)",
        )
    ax.plot([], [], color="gray", lw=4, alpha=0.25, label="prediction interval (new study)")
    ax.set_xticks(x)
    ax.set_xticklabels([TIMEPOINT_LABELS.get(t, t) for t in timepoints])
    ax.set_xlim(-0.5, len(timepoints) - 0.4)
    ax.set_ylim(0, 1)
    ax.set_ylabel("Responder rate")
    ax.set_title("Responder rates over time", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    rds = [
        (
            _get(est, "placebo_adjusted", tp, "risk_difference"),
            _get(est, "placebo_adjusted", tp, "predicted_risk_difference"),
        )
        for tp in timepoints
    ]
    for xi, (r, p) in zip(x, rds):
        if r is None:
            continue
        bx.errorbar(
            [xi],
            [r["median"]],
            yerr=[[r["median"] - r["lower"]], [r["upper"] - r["median"]]],
            fmt="o",
            color="tab:green",
            capsize=4,
        )
        if p is not None:
            bx.plot([xi + 0.08, xi + 0.08], [p["lower"], p["upper"]], color="tab:green", lw=4, alpha=0.25)
    bx.axhline(0, color="black", lw=0.8)
    bx.set_xticks(x)
    bx.set_xticklabels([TIMEPOINT_LABELS.get(t, t) for t in timepoints])
    bx.set_xlim(-0.5, len(timepoints) - 0.5)
    bx.set_ylabel("Risk difference (ketamine - placebo)")
    bx.set_title("Placebo-adjusted difference", fontsize=10)
    fig.text(
        0.01,
        0.01,
        "How to read: dots are posterior medians with credible intervals; faint bars are "
        "prediction intervals for a new study. Blue and grey come from the placebo-adjusted model (a "
        "randomised comparison at the reference responder definition); orange pools the ketamine arms as "
        "reported. White diamonds are the published pooled figures.",
        fontsize=7,
        wrap=True,
        va="bottom",
    )
    fig.subplots_adjust(bottom=0.2, wspace=0.3)
    return fig


def placebo_explained_figure(
    estimands: pd.DataFrame, *, prior_set: str, timepoints: list[str], prob: float
) -> plt.Figure:
    """How much of the raw (uncontrolled) responder rate the placebo term explains, per timepoint.

    One bar per timepoint, the model's uncontrolled-series rate split into
    placebo response, ketamine over placebo, and the design bias of
    uncontrolled series (posterior medians; segments can be negative), with the
    raw pooled rate of the pooled_rate model marked for comparison.
    """
    est = estimands[estimands["prior_set"] == prior_set]
    fig, ax = plt.subplots(figsize=(10, 1.6 + 1.3 * len(timepoints)))
    ys = np.arange(len(timepoints))[::-1]
    for y, tp in zip(ys, timepoints):
        placebo = _get(est, "placebo_adjusted", tp, "placebo_response_rate")
        ket = _get(est, "placebo_adjusted", tp, "ketamine_response_rate")
        single = _get(est, "placebo_adjusted", tp, "single_arm_rate")
        share = _get(est, "placebo_adjusted", tp, "placebo_share")
        if placebo is None or ket is None or single is None:
            continue
        parts = [
            ("placebo response", placebo["median"], "tab:gray"),
            ("ketamine over placebo", ket["median"] - placebo["median"], "tab:blue"),
            ("design bias of uncontrolled series", single["median"] - ket["median"], "tab:purple"),
        ]
        left = 0.0
        for name, width, colour in parts:
            ax.barh(y, width, left=left, color=colour, alpha=0.8, height=0.5, label=name if y == ys[0] else None)
            left += width
        ax.errorbar(
            [single["median"]],
            [y + 0.33],
            xerr=[[single["median"] - single["lower"]], [single["upper"] - single["median"]]],
            fmt="|",
            color="tab:purple",
            capsize=3,
            label="uncontrolled-series rate (CrI)" if y == ys[0] else None,
        )
        raw = _get(est, "pooled_rate", tp, "pooled_rate")
        if raw is not None:
            ax.errorbar(
                [raw["median"]],
                [y - 0.35],
                xerr=[[raw["median"] - raw["lower"]], [raw["upper"] - raw["median"]]],
                fmt="o",
                color="tab:orange",
                capsize=3,
                label="raw pooled rate, pooled_rate model (CrI)" if y == ys[0] else None,
            )
        if share is not None:
            ax.text(
                1.02,
                y,
                f"placebo share {pct(share['median'])}\n[{pct(share['lower'])}, {pct(share['upper'])}]",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=8,
            )
    ax.set_yticks(ys)
    ax.set_yticklabels([TIMEPOINT_LABELS.get(t, t) for t in timepoints])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.8, len(timepoints) - 0.2)
    ax.set_xlabel("Responder rate")
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False)
    fig.text(
        0.01,
        0.01,
        f"How to read: each bar is the responder rate an uncontrolled ketamine series is expected "
        f"to show (placebo-adjusted model, reference definition), split into what placebo alone would give "
        f"(grey), what ketamine adds (blue) and the bias of uncontrolled designs (purple; negative when "
        f"series report less than trials). Segments are posterior medians; the share on the right is a "
        f"posterior median with its {100 * prob:g} % CrI.",
        fontsize=7,
        wrap=True,
        va="bottom",
    )
    fig.subplots_adjust(left=0.13, right=0.82, top=0.78, bottom=0.32)
    return fig
