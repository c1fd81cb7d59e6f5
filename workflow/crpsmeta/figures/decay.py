"""The time-course model's figure: the ketamine-over-placebo difference over weeks since the end of infusion,
with its credible band, the prediction band of a new study, the prior's band, and each study's own point."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crpsmeta.figures.style import plt

# how each kind of row is marked
MARKERS = {
    "responders": ("o", "responder count (single arm)"),
    "contrast": ("s", "controlled pain contrast"),
    "pain": ("^", "single-arm pain change"),
}


def curve_table(idata, *, figure_weeks: float, prob: float, step: float = 0.25) -> pd.DataFrame:
    """The curves the figure draws, by week: median and equal-tailed ``prob`` interval of the posterior's
    risk difference and log odds ratio, of a new study's risk difference (prediction) and of the prior's
    risk difference (where the record has prior draws)."""
    from crpsmeta.fitting.record import constant_data, record_seed
    from crpsmeta.models.time_course import curves

    weeks = np.arange(0.0, float(figure_weeks) + step / 2, step)
    late_week = float(constant_data(idata, "placebo_late_week"))
    groups = {"posterior": curves(idata.posterior, weeks, late_week=late_week, seed=record_seed(idata))}
    if "prior" in idata.groups() and "half_life" in idata.prior:
        groups["prior"] = curves(idata.prior, weeks, late_week=late_week)
    q = [(1 - prob) / 2, 0.5, 1 - (1 - prob) / 2]
    rows = []
    for group, values in groups.items():
        for quantity in ("risk_difference", "log_odds_ratio", "predicted_risk_difference"):
            if quantity not in values or (group == "prior" and quantity.startswith("predicted")):
                continue
            flat = values[quantity].reshape(-1, len(weeks))
            lo, med, hi = np.quantile(flat, q, axis=0)
            rows += [
                {
                    "group": group,
                    "quantity": quantity,
                    "weeks": w,
                    "median": m,
                    "lower": a,
                    "upper": b,
                    "interval_prob": prob,
                }
                for w, m, a, b in zip(weeks, med, lo, hi)
            ]
    return pd.DataFrame(rows)


def difference_by_week_figure(
    curve: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    threshold: float,
    prob: float,
    half_life: pd.Series | None = None,
    prior_text: str = "",
) -> plt.Figure:
    """Risk difference (left) and log odds ratio (right) over weeks: posterior median and band, a new
    study's prediction band (risk difference), the prior's band (dashed), the clinical threshold, and each
    row's study-specific modelled value at its week (``studies``: the fit's study_estimates.csv)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    pct = f"{100 * prob:g} %"
    for ax, quantity, ylabel in (
        (axes[0], "risk_difference", "Responder rate, ketamine minus placebo"),
        (axes[1], "log_odds_ratio", "Log odds ratio, ketamine vs placebo"),
    ):
        post = curve[(curve["group"] == "posterior") & (curve["quantity"] == quantity)]
        prior = curve[(curve["group"] == "prior") & (curve["quantity"] == quantity)]
        pred = curve[(curve["group"] == "posterior") & (curve["quantity"] == "predicted_" + quantity)]
        if len(pred):
            ax.fill_between(
                pred["weeks"],
                pred["lower"],
                pred["upper"],
                color="tab:blue",
                alpha=0.12,
                lw=0,
                label=f"new study ({pct} prediction)",
            )
        ax.fill_between(
            post["weeks"], post["lower"], post["upper"], color="tab:blue", alpha=0.3, lw=0, label=f"{pct} credible band"
        )
        ax.plot(post["weeks"], post["median"], color="tab:blue", lw=2, label="posterior median")
        if len(prior):
            ax.plot(prior["weeks"], prior["lower"], color="0.4", ls="--", lw=1, label=f"prior ({pct})")
            ax.plot(prior["weeks"], prior["upper"], color="0.4", ls="--", lw=1)
        pts = studies[studies["quantity"] == quantity]
        for kind, (marker, label) in MARKERS.items():
            sel = pts[pts["kind"] == kind]
            if sel.empty:
                continue
            ax.errorbar(
                sel["weeks"],
                sel["shrunken_median"],
                yerr=[sel["shrunken_median"] - sel["shrunken_lower"], sel["shrunken_upper"] - sel["shrunken_median"]],
                fmt=marker,
                color="tab:red",
                ms=5,
                capsize=2,
                lw=0.8,
                alpha=0.8,
                label=f"study at its week: {label}",
            )
            for r in sel.itertuples():
                ax.annotate(
                    r.study_id,
                    (r.weeks, r.shrunken_median),
                    fontsize=6,
                    xytext=(3, 3),
                    textcoords="offset points",
                    color="0.3",
                )
        ax.axhline(0, color="0.5", lw=0.8)
        if quantity == "risk_difference":
            ax.axhline(threshold, color="tab:green", ls=":", lw=1.2, label=f"clinical threshold ({threshold:g})")
        ax.set_xlabel("Weeks since the end of infusion")
        ax.set_ylabel(ylabel)
        ax.set_xlim(0, float(curve["weeks"].max()))
    axes[0].legend(loc="upper right", fontsize=7)
    title = "How the difference over placebo fades (time-course model)"
    if half_life is not None:
        title += f": half-life {half_life['median']:.1f} weeks ({half_life['lower']:.1f}-{half_life['upper']:.1f})"
    fig.suptitle(title, fontsize=10)
    note = (
        "Points: each study's modelled value at the week of its row (shrunken towards the pooled curve; a week "
        "the source does not give is a parameter, shown at its posterior median). Randomised comparison at the "
        "reference responder definition."
    )
    fig.text(0.01, 0.01, note + ("\n" + prior_text if prior_text else ""), fontsize=6.5, color="0.35", wrap=True)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    return fig
