"""Figures of the validation target: SBC ranks as ECDF differences with the simultaneous band, and interval
coverage against its binomial tolerance region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.criticism.ecdf import simultaneous_band
from crpsmeta.figures.ecdf import draw_ecdf_difference
from crpsmeta.figures.style import plt


def sbc_plot(ranks: pd.DataFrame, uniformity: pd.DataFrame, *, prob_band: float = 0.95):
    """Grid of ECDF-difference plots of SBC ranks: one row per scenario, one panel per parameter."""

    scenarios = list(dict.fromkeys(ranks["scenario"]))
    ncols = max(ranks.groupby("scenario")["parameter"].nunique())
    height = 1.9 * len(scenarios) + 1.2
    fig, axes = plt.subplots(
        len(scenarios), ncols, figsize=(max(1.9 * ncols + 0.8, 9.0), height), squeeze=False, sharex=True
    )
    verdict = uniformity.set_index(["scenario", "parameter"])
    for i, scenario in enumerate(scenarios):
        sub = ranks[ranks["scenario"] == scenario]
        params = list(dict.fromkeys(sub["parameter"]))
        for j in range(ncols):
            ax = axes[i, j]
            if j >= len(params):
                ax.axis("off")
                continue
            g = sub[sub["parameter"] == params[j]]
            L, r = int(g["sbc_draws"].iloc[0]), len(g)
            z = np.arange(1, min(L + 1, 50) + 1) / min(L + 1, 50)
            lower, upper = simultaneous_band(r, z, prob_band)
            frac = (np.sort(g["rank"].to_numpy()) + 0.5) / (L + 1)
            ecdf = np.searchsorted(frac, z, side="right") / r
            bad = bool(verdict.loc[(scenario, params[j]), "rejected"])
            draw_ecdf_difference(ax, z, ecdf, lower, upper, color="tab:red" if bad else "black")
            p = verdict.loc[(scenario, params[j]), "p_value"]
            ax.set_title(
                f"{params[j]}\np = {p:.2g}" + ("  REJECTED" if bad else ""),
                fontsize=7,
                color="tab:red" if bad else "black",
            )
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel(f"{scenario}\nECDF - uniform", fontsize=7)
            if i == len(scenarios) - 1:
                ax.set_xlabel("fractional rank", fontsize=7)
    fig.suptitle("Simulation-based calibration: ranks of the true value among posterior draws", fontsize=10)
    fig.text(
        0.01,
        0.005,
        "How to read: each panel is one parameter in one scenario. The line is the empirical CDF "
        "of the ranks of the true values among thinned posterior draws, minus the uniform CDF. For a correct "
        "model and sampler the ranks are uniform and the line stays near 0, inside the shaded band (where "
        f"{prob_band:.0%} of uniform samples of this size stay everywhere). An arch above 0 = the truth ranks "
        "low too often (the posterior sits too high); an arch below 0 = too low; above then below = "
        "posteriors too narrow (overconfident); below then above = too wide. Red = the chi-square "
        "uniformity test rejected (p below the Bonferroni per-check level).",
        fontsize=7,
        va="bottom",
        wrap=True,
    )
    fig.tight_layout(rect=(0, 0.75 / height, 1, 1 - 0.35 / height))
    return fig


def coverage_plot(coverage: pd.DataFrame):
    """Coverage of the central intervals per scenario x parameter, with its binomial tolerance region."""

    scenarios = list(dict.fromkeys(coverage["scenario"]))
    height = 0.32 * len(coverage) + 0.6 * len(scenarios) + 2.2
    fig, axes = plt.subplots(
        len(scenarios),
        1,
        figsize=(8.5, height),
        squeeze=False,
        gridspec_kw={"height_ratios": [max(1, (coverage["scenario"] == s).sum()) for s in scenarios]},
    )
    nominal = float(coverage["nominal"].iloc[0])
    for ax, scenario in zip(axes[:, 0], scenarios):
        sub = coverage[coverage["scenario"] == scenario].reset_index(drop=True)
        y = np.arange(len(sub))[::-1]
        ax.barh(
            y,
            (sub["tolerance_upper"] - sub["tolerance_lower"]) / sub["replications"],
            left=sub["tolerance_lower"] / sub["replications"],
            color="0.85",
            height=0.6,
            label="tolerance region",
        )
        ok = sub["within_tolerance"].astype(bool).to_numpy()
        ax.scatter(sub["coverage"][ok], y[ok], color="tab:blue", zorder=3, s=18, label="within tolerance")
        ax.scatter(sub["coverage"][~ok], y[~ok], color="tab:red", zorder=3, s=24, marker="x", label="outside")
        ax.axvline(nominal, color="0.3", lw=0.8, ls="--")
        ax.set_yticks(
            y, [f"{p}  ({c}/{r})" for p, c, r in zip(sub["parameter"], sub["covered"], sub["replications"])], fontsize=7
        )
        ax.set_xlim(min(0.5, float(sub["coverage"].min()) - 0.05), 1.01)
        ax.set_title(
            f"{scenario} ({sub['model'].iloc[0]}, {int(sub['replications'].max())} replications)",
            fontsize=9,
            loc="left",
        )
        ax.tick_params(axis="x", labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    axes[-1, 0].set_xlabel(
        f"share of replicates whose central {nominal:.0%} interval covers the true value", fontsize=8
    )
    fig.suptitle("Coverage of posterior intervals on data simulated with known parameters", fontsize=10)
    fig.text(
        0.01,
        0.005,
        f"How to read: each dot is the share of replicates whose {nominal:.0%} interval "
        "contained the value the data were simulated from (truths drawn from the prior). For a correct "
        f"model and sampler this share is {nominal:.0%} up to chance; the grey bar is the range chance gives "
        "(binomial tolerance region at the Bonferroni per-check level). A red cross outside its bar fails "
        "the validation target: intervals too narrow (left) or too wide (right).",
        fontsize=7,
        va="bottom",
        wrap=True,
    )
    fig.tight_layout(rect=(0, 0.9 / height, 1, 1 - 0.3 / height))
    return fig
