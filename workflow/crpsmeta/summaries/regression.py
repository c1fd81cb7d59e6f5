"""Tables of the meta-regressions and the small-study regression, read from their fit records.

A coefficient is reported with its interval and posterior probability of being above zero; a covariate
reported by fewer studies than ``min_studies`` is labelled underpowered (Cochrane Handbook 10.11.5.1), and
the small-study test is not reported as a test below that count (Sterne et al. 2011).
"""

from __future__ import annotations

import pandas as pd

from crpsmeta.fitting.record import read_record
from crpsmeta.inputs.covariates import COVARIATES, LEFT_OUT, design, estimable

META_COLUMNS = [
    "covariate",
    "timepoint",
    "term",
    "covariate_definition",
    "unit",
    "reference_level",
    "centre",
    "k",
    "k_by_level",
    "k_missing",
    "studies",
    "mean",
    "sd",
    "median",
    "lower",
    "upper",
    "interval_prob",
    "interval_type",
    "prob_gt_0",
    "tau_median",
    "r_hat",
    "ess_bulk",
    "ess_tail",
    "underpowered",
    "label",
    "note",
]


SMALL_STUDY_COLUMNS = [
    "timepoint",
    "k",
    "studies",
    "mean",
    "sd",
    "median",
    "lower",
    "upper",
    "interval_prob",
    "interval_type",
    "prob_gt_0",
    "flagged",
    "underpowered",
    "label",
    "conclusion",
    "r_hat",
    "ess_bulk",
    "ess_tail",
]


def underpowered_label(k: int, min_studies: int) -> str:
    """``"underpowered (k < 10)"`` when fewer than ``min_studies`` studies inform the estimate, else ``""``."""
    return f"underpowered (k < {min_studies})" if k < min_studies else ""


def coefficient_rows(idata, prob: float = 0.95, interval_type: str = "equal_tailed") -> list[dict]:
    """Summary of each coefficient of a fit: mean, sd, median, interval, P(beta > 0), convergence."""
    from crpsmeta.summaries.estimands import summarize_draws

    post = idata.posterior
    tau_med = float(post["tau"].median())
    rows = []
    for term in post["beta"]["term"].values:
        draws = post["beta"].sel(term=term)
        rows.append(
            {
                "term": str(term),
                **summarize_draws(draws, prob, interval_type),
                "prob_gt_0": float((draws.values > 0).mean()),
                "tau_median": tau_med,
            }
        )
    return rows


def _nan_stats(prob, interval_type) -> dict:
    return {
        k: float("nan")
        for k in ("mean", "sd", "median", "lower", "upper", "prob_gt_0", "tau_median", "r_hat", "ess_bulk", "ess_tail")
    } | {"interval_prob": prob, "interval_type": interval_type}


def meta_regression_table(
    fits: list[dict],
    *,
    min_studies: int = 10,
    prob: float = 0.95,
    interval_type: str = "equal_tailed",
    levels: dict | None = None,
) -> pd.DataFrame:
    """One row per covariate x timepoint x term.

    ``fits``: dicts with ``covariate``, ``timepoint``, ``used`` (regression
    input rows), ``left_out`` (pooled_rate rows without the covariate) and
    ``idata`` (None when not fitted; then ``note`` says why). ``k`` is the
    number of studies informing the coefficient; ``k_by_level`` the studies
    per level (categorical) and ``k_missing`` those at this timepoint left
    out for want of the covariate.
    """
    rows = []
    for fit in fits:
        cov, used = fit["covariate"], fit["used"]
        spec = COVARIATES[cov]
        lv = (levels or {}).get(cov)
        d = design(used, cov, lv) if len(used) else None
        k = len(used)
        label = underpowered_label(k, min_studies)
        base = {
            "covariate": cov,
            "timepoint": fit["timepoint"],
            "unit": spec.unit,
            "covariate_definition": spec.definition
            + ("; centred at its mean" if spec.kind == "numeric" else "; indicators centred at their means"),
            "reference_level": d.reference if d else "",
            "k": k,
            "k_by_level": "; ".join(f"{a}: {b}" for a, b in d.counts.items()) if d else "",
            "k_missing": len(fit["left_out"]),
            "studies": ";".join(used["study_id"]) if k else "",
            "underpowered": k < min_studies,
            "label": label,
        }
        if fit.get("idata") is None:
            _, why = estimable(used, cov, lv) if k else (False, "not fitted: no study has this covariate")
            rows.append(
                {
                    **base,
                    "term": cov,
                    "centre": float("nan"),
                    **_nan_stats(prob, interval_type),
                    "note": why or fit.get("note", "not fitted"),
                }
            )
            continue
        centre = dict(zip(d.terms, d.centre))
        for r in coefficient_rows(fit["idata"], prob, interval_type):
            note = (
                f"change in logit responder rate per {spec.unit}"
                if spec.kind == "numeric"
                else f"logit responder rate of {r['term']} minus {d.reference}"
            )
            if fit.get("failed_gates"):
                note += "; CONVERGENCE GATE FAILED: " + ", ".join(fit["failed_gates"])
            rows.append({**base, **r, "centre": float(centre[r["term"]]), "note": note})
    return pd.DataFrame(rows, columns=META_COLUMNS)


def small_study_table(
    fits: list[dict], *, min_studies: int = 10, prob: float = 0.95, interval_type: str = "equal_tailed"
) -> pd.DataFrame:
    """One row per timepoint: the Egger-type coefficient (regression on the SE of the logit rate).

    ``flagged`` is True when the coefficient's interval excludes 0; its sign
    says the direction (positive: less precise studies report higher rates,
    the pattern publication bias produces). ``label`` is the underpowered
    label when fewer than ``min_studies`` studies contribute.
    """
    rows = []
    for fit in fits:
        used = fit["used"]
        k = len(used)
        label = underpowered_label(k, min_studies)
        base = {
            "timepoint": fit["timepoint"],
            "k": k,
            "studies": ";".join(used["study_id"]) if k else "",
            "underpowered": k < min_studies,
            "label": label,
        }
        if fit.get("idata") is None:
            _, why = estimable(used, "se") if k else (False, "not fitted: no study at this timepoint")
            rows.append(
                {
                    **base,
                    **_nan_stats(prob, interval_type),
                    "flagged": False,
                    "conclusion": why or fit.get("note", "not fitted"),
                }
            )
            continue
        (r,) = coefficient_rows(fit["idata"], prob, interval_type)
        r.pop("term"), r.pop("tau_median")
        flagged = bool(r["lower"] > 0 or r["upper"] < 0)
        pct = f"{prob * 100:g} %"
        if flagged and r["median"] > 0:
            text = f"small-study effect: less precise studies report higher rates ({pct} interval excludes 0)"
        elif flagged:
            text = f"reverse small-study effect: less precise studies report lower rates ({pct} interval excludes 0)"
        else:
            text = f"no small-study effect detected ({pct} interval includes 0)"
        if label:
            text += f"; {label}: too few studies to rule one out"
        if fit.get("failed_gates"):
            text += "; CONVERGENCE GATE FAILED: " + ", ".join(fit["failed_gates"])
        rows.append({**base, **r, "flagged": flagged, "conclusion": text})
    return pd.DataFrame(rows, columns=SMALL_STUDY_COLUMNS)


def load_fits(plan: list[dict], used_paths, gaps_paths, idata_paths, diagnostics_paths) -> list[dict]:
    """Read what the tables need for each planned regression.

    ``plan`` has one dict per regression (``covariate``, ``timepoint``,
    ``fitted``, ``note``), in the order of ``used_paths`` and ``gaps_paths``;
    ``idata_paths`` and ``diagnostics_paths`` follow the fitted ones only.
    Returns dicts for :func:`meta_regression_table` and
    :func:`small_study_table` (``failed_gates`` lists diagnostics that failed
    a gate demoted to a warning).
    """

    records = iter(zip(idata_paths, diagnostics_paths))
    fits = []
    for p, used_path, gaps_path in zip(plan, used_paths, gaps_paths, strict=True):
        used = pd.read_csv(used_path, dtype={"study_id": str})
        gaps = pd.read_csv(gaps_path, dtype={"study_id": str})
        left_out = gaps[gaps["reason"].astype(str).str.endswith(LEFT_OUT)] if "reason" in gaps else gaps.iloc[0:0]
        fit = {
            "covariate": p["covariate"],
            "timepoint": p["timepoint"],
            "used": used,
            "left_out": left_out,
            "idata": None,
            "note": p.get("note", ""),
            "failed_gates": [],
        }
        if p["fitted"]:
            idata_path, diag_path = next(records)
            fit["idata"] = read_record(idata_path)
            diag = pd.read_csv(diag_path)
            fit["failed_gates"] = [
                f"{r.diagnostic} = {r.value:g} (threshold {r.threshold:g})"
                for r in diag.itertuples()
                if not bool(r.passed)
            ]
        fits.append(fit)
    if next(records, None) is not None:
        raise ValueError("more fit records than fitted regressions in the plan")
    return fits


def small_study_sentence(row, *, fitted: bool) -> str:
    """The small-study regression's result in one sentence, from its row of :func:`small_study_table`."""
    if not fitted:
        return f"k = {row['k']}: {row['conclusion']}."
    return (
        f"Egger-type coefficient {row['median']:.2f} [{row['lower']:.2f}, {row['upper']:.2f}], "
        f"P(coefficient > 0) = {row['prob_gt_0']:.2f}, k = {row['k']}: {row['conclusion']}."
    )
