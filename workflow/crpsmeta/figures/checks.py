"""Figures of the predictive checks: each observation against its prior or posterior predictive interval,
and the LOO-PIT ECDF difference with its simultaneous band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.criticism.observations import SCALES
from crpsmeta.figures.ecdf import draw_ecdf_difference
from crpsmeta.figures.style import plt

PRIOR_HOW_TO_READ = (
    "the top panels show the responder rates (and risk difference) the priors imply before any data: a prior "
    "that piles its mass near 0 % or 100 %, or rules out plausible rates, shows there. Below, each row is one "
    "observation: the blue bars are where the priors alone expect it (thin: central {pct}, thick: central 50 %, "
    "tick: median; counts shown as rates) and the diamond is what the study observed. p = P(replicate > observed) "
    "(+ half the ties for counts; Box 1980). A red diamond on a shaded row (p outside the central {pct}) means "
    "the prior conflicts with that observation."
)


POSTERIOR_HOW_TO_READ = (
    "each row is one observation: the blue bars are where the fitted model expects a replicate of it (posterior "
    "predictive; thin: central {pct}, thick: central 50 %, tick: median; counts shown as rates) and the diamond "
    "is what the study observed. p = P(replicate > observed) (+ half the ties for counts). A red diamond on a "
    "shaded row (p outside the central {pct}) is an observation the model fails to reproduce. The observation "
    "also helped fit the model, so these p-values lean towards 0.5: a flag is a strong signal, no flag a weak one "
    "(LOO-PIT avoids this)."
)


def _interval_panel(
    ax, labels, lower, q25, median, q75, upper, observed=None, flagged=None, notes=None, xlabel="", xlim=None
):
    y = np.arange(len(labels))[::-1]
    ax.hlines(y, lower, upper, color="tab:blue", lw=1.2, alpha=0.7)
    ax.hlines(y, q25, q75, color="tab:blue", lw=4, alpha=0.7)
    ax.plot(median, y, "|", color="tab:blue", ms=10)
    if observed is not None:
        flagged = np.zeros(len(labels), bool) if flagged is None else np.asarray(flagged, bool)
        ax.plot(np.asarray(observed)[~flagged], y[~flagged], "D", color="black", ms=6, zorder=3)
        ax.plot(np.asarray(observed)[flagged], y[flagged], "D", color="tab:red", ms=8, zorder=4)
        for yi, f in zip(y, flagged):
            if f:
                ax.axhspan(yi - 0.45, yi + 0.45, color="tab:red", alpha=0.08, lw=0)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if notes is not None:
        for yi, note, f in zip(y, notes, flagged if flagged is not None else [False] * len(y)):
            ax.text(
                1.01,
                yi,
                note,
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=7,
                family="monospace",
                color="tab:red" if f else "black",
            )
    ax.grid(axis="x", alpha=0.3)


def _observation_label(r) -> str:
    count = f"  {int(r['observed_count'])}/{int(r['n'])}" if r["kind"] == "responders" else ""
    return f"{r['study_id']} {r['arm']} {r['timepoint']}{count}"


def predictive_check_plot(
    table: pd.DataFrame,
    *,
    title: str,
    prob: float,
    rates: pd.DataFrame | None = None,
    how_to_read: str,
    footer: str = "",
):
    """Observed value over the replicated interval, one row per observation, one panel per scale.

    ``table`` from :func:`predictive_check`; ``rates`` (optional, from
    :func:`prior_rates`) adds panels for the prior-implied rates and risk
    difference. Flagged observations are red on a shaded row.
    """
    panels = []
    if rates is not None and len(rates):
        for kind, part in (
            ("rates", rates[rates["quantity"] != "risk_difference"]),
            ("risk_difference", rates[rates["quantity"] == "risk_difference"]),
        ):
            if len(part):
                panels.append((kind, part))
    for kind in ("responders", "contrast", "pain"):
        part = table[table["kind"] == kind]
        if len(part):
            panels.append((kind, part))
    heights = [0.3 * (max(len(p), 1) + 0.8) for _, p in panels]  # axes heights, inches
    gap, top, bottom = 0.85, 0.95, 1.25  # inches: between panels (axis label + title), above, below
    fig_h = top + bottom + sum(heights) + gap * (len(panels) - 1)
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(10, fig_h),
        squeeze=False,
        gridspec_kw={"height_ratios": heights, "hspace": gap / np.mean(heights)},
    )
    pct = f"{prob * 100:g} %"
    for ax, (kind, part) in zip(axes[:, 0], panels):
        if kind in ("rates", "risk_difference"):
            labels = [f"{q.replace('_', ' ')} ({tp})" for q, tp in zip(part["quantity"], part["timepoint"])]
            notes = [f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in zip(part["median"], part["lower"], part["upper"])]
            _interval_panel(
                ax,
                labels,
                part["lower"],
                part["q25"],
                part["median"],
                part["q75"],
                part["upper"],
                notes=notes,
                xlim=(0, 1) if kind == "rates" else (-1, 1),
                xlabel=("prior rate" if kind == "rates" else "prior risk difference (ketamine - placebo)"),
            )
            ax.set_title("what the priors imply (no data)" if kind == "rates" else "", fontsize=9, loc="left")
            continue
        labels = [_observation_label(r) for _, r in part.iterrows()]
        notes = [f"obs {o:.2f}  p = {p:.3f}" for o, p in zip(part["observed"], part["p_value"])]
        _interval_panel(
            ax,
            labels,
            part["rep_lower"],
            part["rep_q25"],
            part["rep_median"],
            part["rep_q75"],
            part["rep_upper"],
            observed=part["observed"],
            flagged=part["flagged"],
            notes=notes,
            xlabel=SCALES[kind],
            xlim=(-0.02, 1.02) if kind == "responders" else None,
        )
        ax.set_title(f"{kind}: observed vs replicated", fontsize=9, loc="left")
    handles = [
        plt.Line2D([], [], color="tab:blue", lw=1.2, label=f"replicated, central {pct}"),
        plt.Line2D([], [], color="tab:blue", lw=4, label="replicated, central 50 %"),
        plt.Line2D([], [], color="black", marker="D", ls="", label="observed"),
        plt.Line2D([], [], color="tab:red", marker="D", ls="", label=f"observed, flagged (outside central {pct})"),
    ]
    fig.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.55 / fig_h), ncol=4, fontsize=7, frameon=False
    )
    fig.suptitle(title, fontsize=10, y=1 - 0.12 / fig_h, va="top")
    fig.text(0.01, 0.01, f"How to read: {how_to_read}\n{footer}".rstrip(), fontsize=7, va="bottom", wrap=True)
    fig.subplots_adjust(left=0.3, right=0.76, top=1 - top / fig_h, bottom=bottom / fig_h)
    return fig


def loo_pit_plot(table: pd.DataFrame, uniformity: dict, *, title: str, footer: str = ""):
    """PIT ECDF difference with its simultaneous band (left) and the PIT of each observation (right)."""

    table = table.reset_index(drop=True)
    prob = uniformity["prob"]
    pct = f"{prob * 100:g} %"
    k = len(table)
    fig_h = max(4.8, 2.4 + 0.28 * k)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, fig_h), gridspec_kw={"width_ratios": [1, 1]})
    draw_ecdf_difference(
        ax,
        uniformity["grid"],
        uniformity["ecdf"],
        uniformity["band_lower"],
        uniformity["band_upper"],
        color="tab:red" if uniformity["flagged"] else "black",
    )
    ax.set_xlabel("LOO-PIT value", fontsize=8)
    ax.set_ylabel("ECDF - uniform CDF", fontsize=8)
    verdict = "leaves the band: miscalibrated" if uniformity["flagged"] else "inside the band"
    ax.set_title(
        f"ECDF difference, {pct} simultaneous band; {verdict}\n"
        f"uniformity p = {uniformity['p_value']:.3f} (N = {uniformity['n']})",
        fontsize=8,
    )
    y = np.arange(k)[::-1]
    colors = {"responders": "tab:blue", "contrast": "tab:green", "pain": "tab:purple"}
    alpha = (1 - prob) / 2
    for kind, part in table.groupby("kind", sort=False):
        yy = y[part.index.to_numpy()]
        good = part["k_good"].to_numpy()
        ax2.plot(part["loo_pit"].to_numpy()[good], yy[good], "o", color=colors.get(kind, "black"), label=kind)
        ax2.plot(
            part["loo_pit"].to_numpy()[~good],
            yy[~good],
            "o",
            mfc="none",
            color=colors.get(kind, "black"),
            label=f"{kind}, Pareto k too high" if (~good).any() else None,
        )
    ax2.axvspan(0, alpha, color="tab:red", alpha=0.08)
    ax2.axvspan(1 - alpha, 1, color="tab:red", alpha=0.08)
    ax2.set_xlim(-0.02, 1.02)
    ax2.set_ylim(-0.6, k - 0.4)
    ax2.set_yticks(y)
    ax2.set_yticklabels([f"{r.study_id} {r.arm} {r.timepoint}" for r in table.itertuples()], fontsize=7)
    for yi, r in zip(y, table.itertuples()):
        ax2.text(
            1.01,
            yi,
            f"k = {r.pareto_k:.2f}",
            transform=ax2.get_yaxis_transform(),
            fontsize=7,
            va="center",
            color="black" if r.k_good else "tab:red",
        )
    ax2.set_xlabel("LOO-PIT of each observation (shaded: outside the central " + pct + ")", fontsize=8)
    ax2.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    fig.suptitle(title, fontsize=10)
    how = (
        "How to read: each LOO-PIT is where an observation falls in the model's prediction for it when it is "
        "left out (randomised for counts). If the model is calibrated the PITs are uniform and the line (black; "
        f"red once it leaves the band) stays inside the blue band ({pct} simultaneous, Säilynoja et al. 2022). "
        "Line above 0 on the left and below 0 on the right = PITs in both tails: predictions too narrow (e.g. "
        "heterogeneity underestimated); the reverse = predictions too wide; above 0 throughout = observations "
        "lower than predicted, below 0 = higher. With few observations the test has little power. Open circles "
        "and red k: Pareto k above the threshold, that PIT is unreliable (leaving the observation out changes "
        "the posterior too much for importance sampling)."
    )
    fig.text(0.01, 0.01, f"{how}\n{footer}".rstrip(), fontsize=7, va="bottom", wrap=True)
    fig.subplots_adjust(left=0.06, right=0.93, wspace=0.75, top=1 - 1.0 / fig_h, bottom=1.35 / fig_h)
    return fig
