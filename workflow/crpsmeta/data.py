"""From validated tables to model inputs."""

from __future__ import annotations

import pandas as pd

__all__ = ["responder_arms", "ALL_DEFINITIONS"]

ALL_DEFINITIONS = (
    "complete_relief", "pain_free", "full_remission", "ge30pct", "ge50pct",
    "ge2point_or_success", "meaningful", "any_relief",
)


def responder_arms(studies: pd.DataFrame, outcomes: pd.DataFrame, *, arm: str, timepoint: str,
                   definitions: str | list[str] = "all") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Responder counts of one arm at one timepoint, ready for a binomial model.

    Parameters
    ----------
    studies, outcomes : DataFrame
        Validated tables (see :func:`crpsmeta.validation.load_tables`).
    arm : {"ketamine", "placebo"}
    timepoint : {"immediate", "followup"}
    definitions : "all" or list of str
        Responder-definition classes to keep.

    Returns
    -------
    used : DataFrame
        One row per study with ``study_id, n, responders, definition_class,
        responder_definition, design, verification``, in table order.
    gaps : DataFrame
        Responder rows of this arm and timepoint that cannot enter a binomial
        likelihood (no count or no denominator), or whose definition is not
        selected, with the reason.
    """
    included = studies.loc[studies["include"].fillna(False).astype(bool), ["study_id", "design"]]
    rows = outcomes[(outcomes["arm"] == arm) & (outcomes["timepoint"] == timepoint)
                    & (outcomes["measure"] == "responders")]
    rows = rows.merge(included, on="study_id", how="inner")
    has_count = rows["n"].notna() & rows["responders"].notna()
    keep_def = rows["definition_class"].isin(ALL_DEFINITIONS if definitions == "all" else list(definitions))
    used = rows.loc[has_count & keep_def, ["study_id", "n", "responders", "definition_class",
                                           "responder_definition", "design", "verification"]]
    used = used.astype({"n": int, "responders": int}).reset_index(drop=True)
    gaps = rows.loc[~(has_count & keep_def), ["study_id", "n", "responders", "responders_pct",
                                              "definition_class", "notes"]].copy()
    gaps["reason"] = ["no responder count or no denominator reported" if not c else
                      "responder definition not selected in config" for c in has_count[~(has_count & keep_def)]]
    return used, gaps.reset_index(drop=True)
