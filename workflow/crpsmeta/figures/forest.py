"""Forest plots in the field's layout (metafor's forest(), RevMan).

:func:`forest_plot` draws one model's studies, shrunken estimates and pooled diamond with its prediction
interval; :func:`effect_forest_figure` the placebo-adjusted study effects.
"""

from __future__ import annotations

import matplotlib.ticker
import numpy as np
import pandas as pd

from crpsmeta.figures.findings import _get
from crpsmeta.figures.style import plt
from crpsmeta.registry import pooled_arm
from crpsmeta.vocabulary import WHEN


def forest_plot(
    studies: pd.DataFrame,
    estimands: pd.DataFrame,
    *,
    title: str,
    prob: float,
    xlabel: str = "Responder rate (ketamine arm)",
    interval_type: str,
    prior_text: str = "",
) -> plt.Figure:
    """Observed study rates, shrunken estimates, pooled and predictive intervals.

    Parameters
    ----------
    studies : DataFrame
        From :func:`crpsmeta.summaries.estimands.study_table` (optionally with
        ``responder_definition``).
    estimands : DataFrame
        From :func:`crpsmeta.summaries.estimands.estimands_table`; rows ``pooled_rate``
        and ``predicted_rate`` are drawn.
    """
    k = len(studies)
    height = 2.4 + 0.42 * (k + 3)
    fig, ax = plt.subplots(figsize=(11, height))
    pct = f"{prob * 100:g} %"
    kind = "equal-tailed" if interval_type == "equal_tailed" else "highest-density"
    ypos = list(range(k + 2, 2, -1))
    for y, (_, row) in zip(ypos, studies.iterrows()):
        ax.errorbar(
            row["observed_rate"],
            y + 0.15,
            xerr=[[row["observed_rate"] - row["observed_lower"]], [row["observed_upper"] - row["observed_rate"]]],
            fmt="s",
            color="black",
            ms=4 + 6 * (row["n"] / studies["n"].max()),
            capsize=2,
            lw=1,
        )
        ax.errorbar(
            row["shrunken_median"],
            y - 0.15,
            xerr=[[row["shrunken_median"] - row["shrunken_lower"]], [row["shrunken_upper"] - row["shrunken_median"]]],
            fmt="o",
            color="tab:blue",
            ms=4,
            capsize=2,
            lw=1,
        )
    est = estimands.set_index("estimand")
    pooled, pred = est.loc["pooled_rate"], est.loc["predicted_rate"]
    yp = 1.2
    ax.fill(
        [pooled["lower"], pooled["median"], pooled["upper"], pooled["median"]],
        [yp, yp + 0.3, yp, yp - 0.3],
        color="tab:red",
        alpha=0.85,
        label=f"pooled rate ({pct} CrI)",
    )
    ax.plot(
        [pred["lower"], pred["upper"]],
        [0.4, 0.4],
        color="tab:red",
        lw=3,
        alpha=0.5,
        label=f"predicted rate in a new study ({pct} PI)",
    )
    labels = []
    for y, (_, row) in zip(ypos, studies.iterrows()):
        definition = f"  ({row['definition_class']})" if "definition_class" in row else ""
        labels.append(f"{row['study_id']}  {row['responders']}/{row['n']}{definition}")
        ax.text(
            1.04,
            y,
            f"{row['observed_rate']:.2f}  |  {row['shrunken_median']:.2f} "
            f"[{row['shrunken_lower']:.2f}, {row['shrunken_upper']:.2f}]",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8,
            family="monospace",
        )
    ax.text(
        1.04,
        k + 2.8,
        "observed | shrunken [CrI]",
        transform=ax.get_yaxis_transform(),
        fontsize=8,
        va="center",
        weight="bold",
    )
    for y, r in ((yp, pooled), (0.4, pred)):
        ax.text(
            1.04,
            y,
            f"        {r['median']:.2f} [{r['lower']:.2f}, {r['upper']:.2f}]",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8,
            family="monospace",
        )
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
    summary = (
        f"pooled {pooled['median']:.2f} [{pooled['lower']:.2f}, {pooled['upper']:.2f}]; "
        f"prediction [{pred['lower']:.2f}, {pred['upper']:.2f}]; "
        f"tau {est.loc['tau', 'median']:.2f}"
    )
    fig.text(
        0.01,
        0.01,
        f"How to read: black squares are each study's observed rate (size ~ n) with its exact "
        f"binomial CI; blue dots are the model's shrunken estimates. Red diamond: pooled rate; red bar: "
        f"where a new study's rate is expected.\n{summary}. {prior_text}",
        fontsize=7,
        va="bottom",
        wrap=True,
    )
    fig.subplots_adjust(left=0.27, right=0.70, bottom=0.55 / height * 2.2, top=1 - 1.1 / height)
    return fig


def effect_forest_figure(
    study_effects: pd.DataFrame,
    estimands: pd.DataFrame,
    used: pd.DataFrame,
    *,
    prior_set: str,
    timepoints: list[str],
    prob: float,
    designs: dict[str, str] | None = None,
) -> plt.Figure:
    """Forest plot of the placebo-adjusted model on the odds-ratio scale, one panel per timepoint.

    Per study with data at the timepoint: the observed ketamine-versus-placebo
    contrast where the study has one (black, with its 95 % CI from the
    converted log OR and SE), else a note that a single-arm series has no
    within-study contrast; the shrunken study effect (blue); the pooled odds
    ratio (diamond) and a new randomised study's prediction interval (bar).
    """
    est = estimands[(estimands["prior_set"] == prior_set) & (estimands["model"] == "placebo_adjusted")]
    eff = study_effects[(study_effects["quantity"] == "log_odds_ratio")]
    n_rows = max([len(set(used.loc[used["timepoint"] == tp, "study_id"])) for tp in timepoints] + [1])
    fig, axes = plt.subplots(1, len(timepoints), figsize=(6.2 * len(timepoints), 2.6 + 0.42 * n_rows), squeeze=False)
    for ax, tp in zip(axes[0], timepoints):
        rows = used[used["timepoint"] == tp]
        ids = list(dict.fromkeys(rows["study_id"].astype(str)))
        ys = np.arange(len(ids))[::-1] + 2
        for y, sid in zip(ys, ids):
            is_contrast = rows["kind"].eq("contrast") if "kind" in rows.columns else rows["study_id"].isna()
            contrast = rows[(rows["study_id"].astype(str) == sid) & is_contrast]
            if len(contrast):
                c = contrast.iloc[0]
                lo, hi = c["log_or"] - 1.96 * c["se"], c["log_or"] + 1.96 * c["se"]
                ax.errorbar(
                    [np.exp(c["log_or"])],
                    [y + 0.15],
                    xerr=[[np.exp(c["log_or"]) - np.exp(lo)], [np.exp(hi) - np.exp(c["log_or"])]],
                    fmt="s",
                    color="black",
                    capsize=2,
                    ms=5,
                )
            else:
                design = (designs or {}).get(sid, "single-arm").replace("_", " ")
                ax.text(
                    0.02,
                    y + 0.15,
                    f"{design}: no within-study contrast",
                    fontsize=6,
                    color="0.4",
                    transform=ax.get_yaxis_transform(),
                    va="center",
                )
            s = eff[(eff["study_id"].astype(str) == sid) & (eff["timepoint"] == tp)]
            if len(s):
                s = s.iloc[0]
                ax.errorbar(
                    [np.exp(s["shrunken_median"])],
                    [y - 0.15],
                    xerr=[
                        [np.exp(s["shrunken_median"]) - np.exp(s["shrunken_lower"])],
                        [np.exp(s["shrunken_upper"]) - np.exp(s["shrunken_median"])],
                    ],
                    fmt="o",
                    color="tab:blue",
                    capsize=2,
                    ms=4,
                )
        pooled = _get(est, "placebo_adjusted", tp, "odds_ratio")
        pred = _get(est, "placebo_adjusted", tp, "predicted_log_odds_ratio")
        if pooled is not None:
            m, lo, hi = pooled["median"], pooled["lower"], pooled["upper"]
            ax.fill([lo, m, hi, m], [1.0, 1.3, 1.0, 0.7], color="tab:red", alpha=0.85)
            ax.axvline(m, color="tab:red", lw=0.6, ls=":")
        if pred is not None:
            ax.plot(np.exp([pred["lower"], pred["upper"]]), [0.2, 0.2], color="tab:red", lw=3, alpha=0.5)
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_yticks([*ys, 1.0, 0.2])
        ax.set_yticklabels([*ids, "Pooled odds ratio", "Prediction (new study)"], fontsize=8)
        ax.set_ylim(-0.4, len(ids) + 2.6)
        ax.set_xlabel("Odds ratio, ketamine vs placebo (log scale; > 1 favours ketamine)")
        ax.set_title(f"At {WHEN.get(tp, tp)}", fontsize=10)
    fig.text(
        0.01,
        0.01,
        f"How to read: black squares are a study's own ketamine-versus-placebo contrast (odds ratio "
        f"converted from its pain means, 95 % CI); single-arm series have none and inform the effect only "
        f"through the model's design-bias term. Blue dots: shrunken study effects; red diamond: pooled odds "
        f"ratio; red bar: where a new randomised study's odds ratio is expected ({100 * prob:g} % intervals).",
        fontsize=7,
        wrap=True,
        va="bottom",
    )
    fig.subplots_adjust(left=0.14, wspace=0.45, bottom=0.3 if n_rows < 6 else 0.2, top=0.9)
    return fig


def pooled_forest_figure(
    studies: pd.DataFrame,
    estimands: pd.DataFrame,
    *,
    model: str,
    timepoint: str,
    prob: float,
    interval_type: str,
    prior_text: str = "",
) -> plt.Figure:
    """:func:`forest_plot` of a model that pools one arm's responder rates (pooled_rate, placebo_map), titled
    with the arm and the timepoint; ValueError for a model that pools no single arm."""
    arm = pooled_arm(model)
    if arm is None:
        raise ValueError(f"a forest plot of pooled responder rates needs a model that pools one arm; {model} does not")
    # placebo_map's summary names its rates for the placebo arm; the plot reads the generic names
    estimands = estimands.replace(
        {"estimand": {"predicted_placebo_rate": "predicted_rate", "pooled_placebo_rate": "pooled_rate"}}
    )
    return forest_plot(
        studies,
        estimands,
        title=f"{arm.capitalize()} responder rate at {WHEN[timepoint]} ({model}, random-effects binomial-logit)",
        prob=prob,
        interval_type=interval_type,
        prior_text=prior_text,
        xlabel=f"Responder rate ({arm} arm)",
    )
