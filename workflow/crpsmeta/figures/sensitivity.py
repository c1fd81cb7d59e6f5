"""The prior-sensitivity figure: each key estimand under every prior set, the primary set marked."""

from __future__ import annotations

import pandas as pd

from crpsmeta.figures.style import plt


def sensitivity_figure(estimands: pd.DataFrame, *, key_estimands: list[str], primary: str, prob: float) -> plt.Figure:
    """Each key estimand (median and interval) under every prior set, one panel per model x timepoint."""
    est = estimands[estimands["estimand"].isin(key_estimands) & estimands["median"].notna()]
    panels = list(dict.fromkeys(zip(est["model"], est["timepoint"])))
    if not panels:  # e.g. key estimands of a model config does not fit: say so on the figure, do not fail
        fig, ax = plt.subplots(figsize=(9, 1.6))
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            f"None of the key estimands ({', '.join(key_estimands)}; config criticism.key_estimands) "
            "is estimated by the fitted models,\nso there is nothing to compare across prior sets.",
            ha="center",
            va="center",
            fontsize=9,
            wrap=True,
        )
        return fig
    sets = list(dict.fromkeys(est["prior_set"]))
    n_rows = [len(est[(est["model"] == m) & (est["timepoint"] == t)]) + 2 for m, t in panels]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 1.0 + 0.25 * sum(n_rows)), squeeze=False, gridspec_kw={"height_ratios": n_rows}
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (model, tp) in zip(axes[:, 0], panels):
        sub = est[(est["model"] == model) & (est["timepoint"] == tp)]
        names = [k for k in key_estimands if k in set(sub["estimand"])]
        labels, y = [], 0
        for name in names:
            for j, prior_set in enumerate(sets):
                row = sub[(sub["estimand"] == name) & (sub["prior_set"] == prior_set)]
                if row.empty:
                    continue
                r = row.iloc[0]
                ax.errorbar(
                    r["median"],
                    -y,
                    xerr=[[r["median"] - r["lower"]], [r["upper"] - r["median"]]],
                    fmt="D" if prior_set == primary else "o",
                    color=colors[j % len(colors)],
                    capsize=2,
                    ms=5,
                    lw=1.5 if prior_set == primary else 1,
                )
                labels.append(f"{name} | {prior_set}{' (primary)' if prior_set == primary else ''}")
                y += 1
            y += 0.6
        ax.set_yticks([-v for v in _positions(names, sub, sets)])
        ax.set_yticklabels(labels, fontsize=7)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(f"{model}, {tp}", fontsize=9)
        ax.set_xlabel("rate or risk difference (posterior median and interval)", fontsize=8)
    fig.text(
        0.01,
        0.005,
        f"How to read: each row is one estimand under one named prior set (config prior_sets): "
        f"the marker is the posterior median, the bar the {prob * 100:g} % credible interval; diamonds mark "
        f"the primary prior set.\nIf the rows of an estimand agree, the conclusion does not hinge on the "
        f"prior; if they move, the data cannot settle it and the prior is doing the work.",
        fontsize=7,
        va="bottom",
        wrap=True,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _positions(names, sub, sets) -> list[float]:
    pos, y = [], 0
    for name in names:
        for prior_set in sets:
            if not sub[(sub["estimand"] == name) & (sub["prior_set"] == prior_set)].empty:
                pos.append(y)
                y += 1
        y += 0.6
    return pos
