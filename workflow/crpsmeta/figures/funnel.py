"""The funnel plot of the small-study regression: each study's logit responder rate against its standard
error, with the pooled rate and the regression line (Egger-type, Sterne et al. 2011).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.figures.style import plt
from crpsmeta.fitting.record import record_attrs, record_prior_text
from crpsmeta.inputs.covariates import logit_rate, logit_se
from crpsmeta.models.priors import describe_prior


def funnel_plot(
    used: pd.DataFrame,
    *,
    timepoint_text: str,
    pooled_mu=None,
    egger=None,
    prob: float = 0.95,
    label: str = "",
    summary: str = "",
    prior_text: str = "",
):
    """Funnel plot: observed logit rate (x) against its standard error (y, inverted, as metafor's funnel()).

    Parameters
    ----------
    used : DataFrame
        ``study_id``, ``responders``, ``n`` of the studies at this timepoint.
    pooled_mu : array-like, optional
        Posterior draws of the pooled logit rate (pooled_rate's ``mu``): its
        median is the vertical line, and the pseudo 95 % region is
        median +/- 1.96 x SE.
    egger : InferenceData, optional
        The regression_se fit: its line mu + beta (SE - centre) is drawn
        (posterior median and ``prob`` band).
    """
    from scipy.special import expit, logit

    x = logit_rate(used["responders"], used["n"])
    se = logit_se(used["responders"], used["n"])
    fig, ax = plt.subplots(figsize=(8.5, 8.0))
    top = max(float(se.max()) * 1.15 if se.size else 1.0, 0.5)
    grid = np.linspace(0.0, top, 100)
    if pooled_mu is not None:
        m = float(np.median(np.asarray(pooled_mu)))
        ax.fill_betweenx(
            grid,
            m - 1.96 * grid,
            m + 1.96 * grid,
            color="0.92",
            zorder=0,
            label="pseudo 95 % region: pooled ± 1.96 × SE",
        )
        ax.plot(m - 1.96 * grid, grid, color="0.55", lw=0.8, ls="--")
        ax.plot(m + 1.96 * grid, grid, color="0.55", lw=0.8, ls="--")
        ax.axvline(m, color="tab:red", lw=1.2, label=f"pooled logit rate (pooled_rate) {m:.2f} = {expit(m):.0%}")
    if egger is not None:
        post = egger.posterior
        mu = post["mu"].values.reshape(-1)
        beta = post["beta"].values.reshape(-1)
        centre = float(egger.constant_data["centre"].values.reshape(-1)[0])
        lines = mu[:, None] + beta[:, None] * (grid[None, :] - centre)
        lo, med, hi = np.quantile(lines, [(1 - prob) / 2, 0.5, 1 - (1 - prob) / 2], axis=0)
        ax.fill_betweenx(grid, lo, hi, color="tab:blue", alpha=0.07, lw=0)
        ax.plot(lo, grid, color="tab:blue", lw=0.8, ls=":")
        ax.plot(hi, grid, color="tab:blue", lw=0.8, ls=":", label=f"its {prob * 100:g} % credible band")
        ax.plot(
            med,
            grid,
            color="tab:blue",
            lw=1.5,
            label=f"Egger-type line (median): logit rate = mu + beta × (SE − {centre:.2f})",
        )
    sizes = 20 + 180 * np.asarray(used["n"], dtype=float) / max(float(np.max(used["n"])), 1.0)
    ax.scatter(x, se, s=sizes, color="black", zorder=3, label="study (area ~ n)")
    for xi, si, sid, y, n in zip(x, se, used["study_id"], used["responders"], used["n"]):
        ax.annotate(f"{sid} {y}/{n}", (xi, si), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_ylim(top, 0.0)
    span = np.concatenate([x, [np.median(pooled_mu)] if pooled_mu is not None else []])
    half = max(1.96 * top, float(np.max(np.abs(span - np.median(span)))) + 0.5) if span.size else 3.0
    mid = float(np.median(pooled_mu)) if pooled_mu is not None else float(np.median(x)) if x.size else 0.0
    ax.set_xlim(mid - half, mid + half)
    ax.set_xlabel("observed logit responder rate, log((x + a) / (n − x + a))")
    ax.set_ylabel("standard error of the logit rate (inverted: precise studies at the top)")
    sec = ax.secondary_xaxis("top", functions=(lambda v: expit(v), lambda p: logit(np.clip(p, 1e-6, 1 - 1e-6))))
    sec.set_xticks([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95])
    sec.set_xlabel("responder rate")
    title = f"Funnel plot of ketamine responder rates {timepoint_text}"
    if label:
        title += f" — {label}"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.1), fontsize=7, ncol=2, frameon=False)  # never hides a study
    footer = (
        "How to read: each dot is a study, placed by its observed responder rate (logit scale, x) and how "
        "imprecise it is (standard error, y; small studies low down). Without small-study effects the dots "
        "scatter symmetrically inside the grey funnel around the red pooled line; a blue Egger-type line "
        "that tilts (its band not vertical) means the rate changes with study size. A positive coefficient "
        "= less precise studies report higher rates. With few studies the plot and the coefficient cannot "
        "rule a small-study effect in or out. 0.5 is added to both cells of a study with 0 or n "
        "responders (metafor)."
    )
    if summary:
        footer += "\n" + summary
    if prior_text:
        footer += " " + prior_text
    fig.text(0.01, 0.01, footer, fontsize=7, va="bottom", wrap=True)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.89, bottom=0.29)
    return fig


def funnel_prior_text(pooled, egger=None) -> str:
    """The funnel plot's footer, from its records: the pooled fit's prior set and priors (when pooled_rate is
    fitted: config may leave it out), and the Egger-type fit's coefficient prior when there is one."""
    text = record_prior_text(pooled) if pooled is not None else record_prior_text(egger) if egger is not None else ""
    if egger is not None:
        coefficient = record_attrs(egger).get("options", {}).get("coefficient_prior")
        if coefficient:
            text += f" Egger-type coefficient ~ {describe_prior(coefficient)}."
    return text
