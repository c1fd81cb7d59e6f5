"""Study-level covariates of the meta-regressions and the small-study regression, before any model.

Each covariate's value per study (dose in mg/kg/h, infusion days, setting, responder definition, the
standard error for the small-study regression), the levels of a categorical one, and the centred design
matrix a regression is fitted with (:func:`design`); whether a covariate is estimable from the studies that
report it (:func:`estimable`). The models themselves are in :mod:`crpsmeta.models.pooled_rate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crpsmeta.registry import COVARIATES, REGRESSION_MODELS, REGRESSION_PREFIX

LEFT_OUT = "left out of this regression"  # end of the gap reason of a study without the covariate


# Default grouping of the categorical covariates' raw values into levels;
# the first level is the reference.
DEFAULT_LEVELS = {
    "setting": {"inpatient": ["inpatient", "icu"], "outpatient": ["outpatient"]},
    "definition": {
        "partial": ["ge30pct", "ge50pct", "ge2point_or_success", "meaningful", "any_relief"],
        "strict": ["complete_relief", "pain_free", "full_remission"],
    },
}


def covariate_of(model: str) -> str:
    """``regression_dose`` -> ``dose``; ValueError for anything else."""
    if not model.startswith(REGRESSION_PREFIX) or model[len(REGRESSION_PREFIX) :] not in COVARIATES:
        raise ValueError(f"{model!r} is not a regression model; known: {', '.join(REGRESSION_MODELS)}")
    return model[len(REGRESSION_PREFIX) :]


def _cells(responders, n):
    x = np.asarray(responders, dtype=float)
    n = np.asarray(n, dtype=float)
    add = np.where((x == 0) | (x == n), 0.5, 0.0)
    return x + add, n - x + add


def logit_rate(responders, n) -> np.ndarray:
    """Observed logit rate log((x + a) / (n - x + a)), a = 0.5 only for a zero cell (metafor's default)."""
    a, b = _cells(responders, n)
    return np.log(a / b)


def logit_se(responders, n) -> np.ndarray:
    """Standard error of the observed logit rate, sqrt(1/(x + a) + 1/(n - x + a)), a as in :func:`logit_rate`."""
    a, b = _cells(responders, n)
    return np.sqrt(1.0 / a + 1.0 / b)


def dose_mg_kg_h(studies: pd.DataFrame) -> pd.Series:
    """Infusion rate per study (index study_id): midpoint of min and max in mg/kg/h, or the one given."""
    lo = pd.to_numeric(studies["dose_min_mg_kg_h"], errors="coerce")
    hi = pd.to_numeric(studies["dose_max_mg_kg_h"], errors="coerce")
    mid = pd.concat([lo, hi], axis=1).mean(axis=1, skipna=True)  # NaN when both are missing
    return pd.Series(mid.to_numpy(), index=studies["study_id"].to_numpy(), name="dose")


def _group(raw, mapping: dict[str, list[str]]):
    for level, members in mapping.items():
        if raw in members:
            return level
    return None


def _check_levels(covariate: str, mapping: dict[str, list[str]]) -> None:
    seen = {}
    for level, members in mapping.items():
        for raw in members:
            if raw in seen:
                raise ValueError(f"meta_regression.levels.{covariate}: {raw!r} is in both {seen[raw]!r} and {level!r}")
            seen[raw] = level


def covariate_values(
    studies: pd.DataFrame, used: pd.DataFrame, covariate: str, levels: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """The covariate of each study in ``used`` (pooled_rate input rows).

    Returns a frame aligned with ``used`` with ``value`` (the raw value: a
    number, or the data's category) and ``level`` (a categorical covariate's
    level after grouping; the value itself for a numeric one), and
    ``missing_reason`` (empty when the study has the covariate).
    """
    spec = COVARIATES[covariate]
    sid = used["study_id"]
    if covariate == "se":
        value = pd.Series(logit_se(used["responders"], used["n"]), index=used.index)
    elif covariate == "dose":
        value = sid.map(dose_mg_kg_h(studies))
    elif covariate == "days":
        value = sid.map(dict(zip(studies["study_id"], pd.to_numeric(studies["days"], errors="coerce"))))
    elif covariate == "setting":
        value = sid.map(dict(zip(studies["study_id"], studies["setting"])))
    else:  # definition
        value = used["definition_class"]
    out = pd.DataFrame({"study_id": sid, "value": value}, index=used.index)
    missing = out["value"].isna()
    if spec.kind == "categorical":
        mapping = levels or DEFAULT_LEVELS[covariate]
        _check_levels(covariate, mapping)
        level = [None if m else _group(v, mapping) for v, m in zip(out["value"], missing)]
        reason = [
            "not reported"
            if m
            else ("" if lvl is not None else f"value {v!r} is in no level of meta_regression.levels.{covariate}")
            for v, m, lvl in zip(out["value"], missing, level)
        ]
        out["level"] = level
    else:
        out["level"] = out["value"].astype(float)
        reason = ["not reported" + (" in mg/kg/h" if covariate == "dose" else "") if m else "" for m in missing]
    out["missing_reason"] = reason
    return out


def add_covariate(
    used: pd.DataFrame, studies: pd.DataFrame, covariate: str, levels: dict[str, list[str]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split pooled_rate input rows into those with the covariate and those without.

    Returns ``(with_covariate, left_out)``: the first gets columns
    ``covariate``, ``value`` and ``level``; the second holds the rows left out
    with a ``reason``.
    """
    vals = covariate_values(studies, used, covariate, levels)
    has = vals["missing_reason"] == ""
    kept = used[has.to_numpy()].copy()
    kept["covariate"] = covariate
    kept["value"] = vals.loc[has, "value"].to_numpy()
    kept["level"] = vals.loc[has, "level"].to_numpy()
    dropped = used[~has.to_numpy()].copy()
    dropped["reason"] = [f"{covariate} {r}: {LEFT_OUT}" for r in vals.loc[~has, "missing_reason"]]
    return kept.reset_index(drop=True), dropped.reset_index(drop=True)


@dataclass(frozen=True)
class Design:
    """Centred design matrix of one univariable regression."""

    X: np.ndarray  # (k, p), centred
    terms: list[str]  # p term names: "dose", or "setting[outpatient]" per non-reference level
    centre: np.ndarray  # (p,) column means that were subtracted
    reference: str  # reference level ("" for a numeric covariate)
    counts: dict[str, int]  # studies per level (numeric: {covariate: k})


def _level_order(covariate: str, present, levels: dict | None) -> list[str]:
    mapping = levels or DEFAULT_LEVELS.get(covariate, {})
    order = [lvl for lvl in mapping if lvl in set(present)]
    return order + sorted(set(present) - set(order))


def design(used: pd.DataFrame, covariate: str, levels: dict | None = None) -> Design:
    """Centred design matrix from regression input rows (with ``level``).

    A numeric covariate gives one centred column. A categorical one gives an
    indicator per level present other than the reference (the first level, in
    config order, that any study has), each centred.
    """
    spec = COVARIATES[covariate]
    if spec.kind == "numeric":
        x = pd.to_numeric(used["level"]).to_numpy(dtype=float)
        centre = np.array([x.mean()]) if x.size else np.array([0.0])
        return Design((x - centre)[:, None], [covariate], centre, "", {covariate: int(x.size)})
    lv = used["level"].astype(str).to_numpy()
    order = _level_order(covariate, lv, levels)
    counts = {lvl: int((lv == lvl).sum()) for lvl in order}
    others = order[1:]
    D = np.column_stack([(lv == lvl).astype(float) for lvl in others]) if others else np.zeros((lv.size, 0))
    centre = D.mean(axis=0) if lv.size else np.zeros(D.shape[1])
    return Design(D - centre, [f"{covariate}[{lvl}]" for lvl in others], centre, order[0] if order else "", counts)


def estimable(used: pd.DataFrame, covariate: str, levels: dict | None = None) -> tuple[bool, str]:
    """Whether a regression on ``covariate`` can be fitted: >= 2 studies and >= 2 distinct values or levels."""
    k = len(used)
    if k < 2:
        return False, f"not fitted: {k} {'study has' if k == 1 else 'studies have'} this covariate (needs >= 2)"
    d = design(used, covariate, levels)
    if COVARIATES[covariate].kind == "numeric":
        if np.ptp(d.X[:, 0]) == 0:
            return False, f"not fitted: all {k} studies have the same value ({d.centre[0]:g})"
    elif not d.terms:
        return False, f"not fitted: all {k} studies are at one level ({d.reference})"
    return True, ""
