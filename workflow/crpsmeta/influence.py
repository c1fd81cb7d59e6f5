"""Influence of single studies: exact leave-one-study-out refits (metafor's ``leave1out``, refitted in full).

Each refit drops every row of one study (all its arms, timepoints and
contrasts) and samples the model again with the same priors and settings; the
change in each key estimand is the refit's posterior median minus the full
fit's, also expressed in units of the full fit's posterior SD.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["leave_out", "influence_table", "most_influential", "influence_figure", "INFLUENCE_COLUMNS"]

INFLUENCE_COLUMNS = ["model", "prior_set", "timepoint", "estimand", "left_out", "full_median", "full_lower",
                     "full_upper", "full_sd", "loo_median", "loo_lower", "loo_upper", "change", "change_in_sd",
                     "loo_fit_passed_gate"]


def leave_out(used: pd.DataFrame, study_id: str) -> pd.DataFrame:
    """The rows of ``used`` without study ``study_id`` (which must be there)."""
    keep = used["study_id"].astype(str) != str(study_id)
    if keep.all():
        raise ValueError(f"study {study_id!r} contributes no row to this fit; known: "
                         f"{', '.join(sorted(set(used['study_id'].astype(str))))}")
    if not keep.any():
        raise ValueError(f"study {study_id!r} is the only study in this fit: nothing is left to fit")
    return used[keep].reset_index(drop=True)


def influence_table(full: pd.DataFrame, refits: dict[str, pd.DataFrame], *, key_estimands: list[str],
                    passed: dict[str, bool] | None = None) -> pd.DataFrame:
    """One row per left-out study x timepoint x key estimand.

    Parameters
    ----------
    full : DataFrame
        The full fit's estimands table (:func:`crpsmeta.estimands.estimands_table`).
    refits : dict
        Left-out study id -> the refit's estimands table.
    passed : dict, optional
        Left-out study id -> whether the refit passed its convergence gate.
    """
    keys = ["model", "timepoint", "estimand"]
    base = full[full["estimand"].isin(key_estimands)].set_index(keys)
    rows = []
    for study, table in refits.items():
        sub = table[table["estimand"].isin(key_estimands)].set_index(keys)
        for key, r in base.iterrows():
            if key not in sub.index:
                continue
            o = sub.loc[key]
            change = float(o["median"] - r["median"])
            rows.append({"model": key[0], "prior_set": r["prior_set"], "timepoint": key[1], "estimand": key[2],
                         "left_out": study, "full_median": r["median"], "full_lower": r["lower"],
                         "full_upper": r["upper"], "full_sd": r["sd"], "loo_median": o["median"],
                         "loo_lower": o["lower"], "loo_upper": o["upper"], "change": change,
                         "change_in_sd": change / r["sd"] if r["sd"] > 0 else float("nan"),
                         "loo_fit_passed_gate": (passed or {}).get(study, True)})
    return pd.DataFrame(rows, columns=INFLUENCE_COLUMNS)


def most_influential(table: pd.DataFrame) -> pd.DataFrame:
    """Per timepoint x estimand: the study whose removal moves the median most."""
    if table.empty:
        return table.assign(rank=[])
    idx = table.assign(abs_change=table["change"].abs()).groupby(["model", "timepoint", "estimand"],
                                                                  sort=False)["abs_change"].idxmax()
    return table.loc[idx.values].reset_index(drop=True)


def influence_figure(table: pd.DataFrame, *, prob: float, prior_text: str = "") -> plt.Figure:
    """Leave-one-study-out forest: the full fit's interval, then each refit's, per estimand x timepoint."""
    panels = list(dict.fromkeys(zip(table["estimand"], table["timepoint"])))
    studies = list(dict.fromkeys(table["left_out"]))
    ncol = 2
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 1.4 + nrow * (0.32 * (len(studies) + 1) + 0.9)),
                             squeeze=False)
    top = most_influential(table).set_index(["estimand", "timepoint"])["left_out"]
    for ax, (estimand, tp) in zip(axes.ravel(), panels):
        sub = table[(table["estimand"] == estimand) & (table["timepoint"] == tp)].set_index("left_out")
        first = sub.iloc[0]
        ax.axvspan(first["full_lower"], first["full_upper"], color="tab:red", alpha=0.12)
        ax.axvline(first["full_median"], color="tab:red", lw=1)
        ax.errorbar(first["full_median"], 0, xerr=[[first["full_median"] - first["full_lower"]],
                                                   [first["full_upper"] - first["full_median"]]],
                    fmt="D", color="tab:red", capsize=2)
        labels = ["all studies"]
        for i, study in enumerate(studies, start=1):
            if study not in sub.index:
                continue
            r = sub.loc[study]
            color = "black" if study == top.get((estimand, tp)) else "tab:blue"
            ax.errorbar(r["loo_median"], -i, xerr=[[r["loo_median"] - r["loo_lower"]],
                                                   [r["loo_upper"] - r["loo_median"]]],
                        fmt="o", color=color, capsize=2, ms=4)
            flag = "" if r["loo_fit_passed_gate"] else " (gate failed)"
            labels.append(f"without {study}{flag}")
        ax.set_yticks([0] + [-i for i, s in enumerate(studies, start=1) if s in sub.index])
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_title(f"{estimand}, {tp}  (most influential: {top.get((estimand, tp), '-')})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.text(0.01, 0.005, f"How to read: the red diamond and band are the full fit's posterior median and "
             f"{prob * 100:g} % credible interval; each row below refits the model without one study. A row whose "
             f"median moves far from the red line marks a study the result leans on (black: the most "
             f"influential).\n{prior_text}", fontsize=7, va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
