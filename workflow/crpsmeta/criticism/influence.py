"""Influence of single studies: exact leave-one-study-out refits (metafor's ``leave1out``, refitted in full).

Each refit drops every row of one study (all its arms, timepoints and
contrasts) and samples the model again with the same priors and settings; the
change in each key estimand is the refit's posterior median minus the full
fit's, also expressed in units of the full fit's posterior SD.
"""

from __future__ import annotations

import pandas as pd

from crpsmeta.inputs.selection import leave_out  # noqa: F401 (the refits' rows; re-exported here)

INFLUENCE_COLUMNS = [
    "model",
    "prior_set",
    "timepoint",
    "estimand",
    "left_out",
    "full_median",
    "full_lower",
    "full_upper",
    "full_sd",
    "loo_median",
    "loo_lower",
    "loo_upper",
    "change",
    "change_in_sd",
    "loo_fit_passed_gate",
]


def influence_table(
    full: pd.DataFrame,
    refits: dict[str, pd.DataFrame],
    *,
    key_estimands: list[str],
    passed: dict[str, bool] | None = None,
) -> pd.DataFrame:
    """One row per left-out study x timepoint x key estimand.

    Parameters
    ----------
    full : DataFrame
        The full fit's estimands table (:func:`crpsmeta.summaries.estimands.estimands_table`).
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
            rows.append(
                {
                    "model": key[0],
                    "prior_set": r["prior_set"],
                    "timepoint": key[1],
                    "estimand": key[2],
                    "left_out": study,
                    "full_median": r["median"],
                    "full_lower": r["lower"],
                    "full_upper": r["upper"],
                    "full_sd": r["sd"],
                    "loo_median": o["median"],
                    "loo_lower": o["lower"],
                    "loo_upper": o["upper"],
                    "change": change,
                    "change_in_sd": change / r["sd"] if r["sd"] > 0 else float("nan"),
                    "loo_fit_passed_gate": (passed or {}).get(study, True),
                }
            )
    return pd.DataFrame(rows, columns=INFLUENCE_COLUMNS)


def most_influential(table: pd.DataFrame) -> pd.DataFrame:
    """Per timepoint x estimand: the study whose removal moves the median most."""
    if table.empty:
        return table.assign(rank=[])
    idx = (
        table.assign(abs_change=table["change"].abs())
        .groupby(["model", "timepoint", "estimand"], sort=False)["abs_change"]
        .idxmax()
    )
    return table.loc[idx.values].reset_index(drop=True)
