"""The posterior report: summary of findings, its figures, provenance, and the self-contained HTML page.

Everything here takes plain data (data frames, InferenceData, dicts) and
returns tables, figures or text; the rule scripts read and write files.
"""

from __future__ import annotations

import base64
import math
import mimetypes
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .registry import MODELS, pooled_arm  # noqa: E402
from .vocabulary import (CONTROLLED_DESIGNS, DEFINITION_LABELS, RANDOMISED_DESIGNS, TIMEPOINT_LABELS,  # noqa: E402
                         WHEN)

__all__ = ["not_estimable", "SOF_COLUMNS", "SOF_ROWS", "TIMEPOINT_LABELS", "used_arms", "evidence_counts", "gate_status",
           "summary_of_findings", "time_course_figure", "placebo_explained_figure", "effect_forest_figure",
           "key_parameters", "prior_posterior_figure", "rank_figure", "data_uri", "table_html", "fmt", "pct",
           "render_report", "external_asset_references", "gate_summary", "sensitivity_pivot", "record_provenance",
           "evidence_tables", "comparison_notes", "report_caveats"]


# Summary-of-findings rows: (estimand, label, model, prediction estimand or probability).
SOF_ROWS = [
    ("ketamine_response_rate", "Ketamine responder rate (randomised comparison)", "placebo_adjusted",
     "predicted_ketamine_rate"),
    ("placebo_response_rate", "Placebo response rate", "placebo_adjusted", "predicted_placebo_rate"),
    ("risk_difference", "Placebo-adjusted difference (ketamine - placebo)", "placebo_adjusted",
     "predicted_risk_difference"),
    ("nnt", "Number needed to treat (NNT)", "placebo_adjusted", None),
    ("prob_risk_difference_gt_0", "P(ketamine better than placebo)", "placebo_adjusted",
     "prob_predicted_risk_difference_gt_0"),
    ("prob_risk_difference_gt_threshold", "P(difference above the clinical threshold)", "placebo_adjusted", None),
    ("pooled_rate", "Raw pooled responder rate (ketamine arms as reported, any definition)", "pooled_rate",
     "predicted_rate"),
    ("placebo_share", "Share of an uncontrolled series' rate that placebo explains", "placebo_adjusted", None),
    ("pooled_placebo_rate", "Placebo response rate, placebo arms alone (MAP prior)", "placebo_map",
     "predicted_placebo_rate"),
]
SOF_COLUMNS = ["timepoint", "estimand", "label", "model", "estimate", "lower", "upper", "pred_lower", "pred_upper",
               "probability", "predictive_probability", "studies", "patients", "controlled_studies",
               "controlled_patients", "randomised_studies", "randomised_patients", "placebo_count_arms", "study_ids",
               "prior_sensitivity", "gate_passed", "sentence", "note"]
# Summary row -> the power-scaling variable whose diagnosis it carries (results/sensitivity/power_scaling.csv).
POWER_SCALING_VARIABLE = {"ketamine_response_rate": "ketamine_response_rate",
                          "placebo_response_rate": "placebo_response_rate", "risk_difference": "risk_difference",
                          "nnt": "risk_difference", "prob_risk_difference_gt_0": "risk_difference",
                          "prob_risk_difference_gt_threshold": "risk_difference", "pooled_rate": "pooled_rate",
                          "placebo_share": "placebo_response_rate", "pooled_placebo_rate": "pooled_placebo_rate"}


def pct(x: float, digits: int = 0) -> str:
    """A proportion as a percentage string ('69 %'); '-' when missing."""
    return "-" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


def fmt(x, digits: int = 2) -> str:
    """A number for a table: fixed digits, '-' when missing, 'inf' kept."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return "inf" if math.isinf(x) else f"{x:.{digits}f}"
    return str(x)


def used_arms(used: pd.DataFrame, unit: str, *, model: str | None = None) -> pd.DataFrame:
    """A fit's used.csv as (study_id, arm, timepoint) rows: a contrast counts both arms.

    A per-timepoint fit's file (no arm or timepoint column) holds the arm its
    ``model`` pools (:func:`crpsmeta.registry.pooled_arm`: placebo arms for
    placebo_map, ketamine arms for pooled_rate and the meta-regressions) at
    ``unit``. A row without an arm from a model that pools no single arm is an
    error, not a guess.
    """
    default = pooled_arm(model) if model is not None else None
    rows = []
    for r in used.to_dict("records"):
        arm = r.get("arm")
        if arm is None or (isinstance(arm, float) and math.isnan(arm)):
            if default is None:
                raise ValueError(f"used.csv row of study {r.get('study_id')!r} names no arm, and model {model!r} "
                                 f"pools no single arm: pass the fit's model")
            arm = default
        arm = str(arm)
        tp = str(r["timepoint"]) if "timepoint" in r and pd.notna(r["timepoint"]) else unit
        for a in (["ketamine", "placebo"] if arm == "ketamine_vs_placebo" else [arm]):
            rows.append({"study_id": str(r["study_id"]), "arm": a, "timepoint": tp, "n": r.get("n")})
    return pd.DataFrame(rows, columns=["study_id", "arm", "timepoint", "n"]).drop_duplicates(
        subset=["study_id", "arm", "timepoint"])


def evidence_counts(outcomes: pd.DataFrame, used: pd.DataFrame, unit: str,
                    designs: dict[str, str] | None = None, *, model: str | None = None) -> dict[str, dict]:
    """Studies and patients behind a fit, per timepoint: in all, from controlled and from randomised studies.

    ``used`` is a fit's ``used.csv`` (rows actually in the likelihood), ``unit``
    its fit unit and ``model`` its model (which arm a file without an arm
    column holds, see :func:`used_arms`). Patients: for each study arm used at
    a timepoint, the largest ``n`` that ``outcomes`` (the validated data table)
    gives for that arm there, summed. ``controlled_*`` count only studies whose
    design (``designs``: study_id -> design, from studies.csv) has a placebo
    arm (``CONTROLLED_DESIGNS``: RCTs and non-randomised controlled studies);
    ``randomised_*`` only the RCTs among them (``RANDOMISED_DESIGNS``).
    """
    designs = designs or {}
    counts = {}
    # placebo arms whose responder counts enter (a contrast's placebo arm reports pain, not responders)
    if "kind" in used:
        is_count = used["kind"].astype(str) == "responders"
    else:
        is_count = used["arm"].astype(str) != "ketamine_vs_placebo" if "arm" in used else used["study_id"].notna()
    placebo_counts = used_arms(used[is_count], unit, model=model)
    placebo_counts = placebo_counts[placebo_counts["arm"] == "placebo"]["timepoint"].value_counts() \
        if len(placebo_counts) else pd.Series(dtype=int)
    for tp, rows in used_arms(used, unit, model=model).groupby("timepoint", sort=False):
        ids, controlled, randomised = list(dict.fromkeys(rows["study_id"])), set(), set()
        patients = controlled_patients = randomised_patients = 0
        for r in rows.itertuples():
            match = outcomes[(outcomes["study_id"].astype(str) == r.study_id) & (outcomes["arm"] == r.arm)
                             & (outcomes["timepoint"] == tp)]
            n = pd.to_numeric(match["n"], errors="coerce").max() if len(match) else np.nan
            n = n if np.isfinite(n) else pd.to_numeric(pd.Series([r.n]), errors="coerce").iloc[0]
            n = int(n) if np.isfinite(n) else 0
            patients += n
            if designs.get(r.study_id) in CONTROLLED_DESIGNS:
                controlled.add(r.study_id)
                controlled_patients += n
            if designs.get(r.study_id) in RANDOMISED_DESIGNS:
                randomised.add(r.study_id)
                randomised_patients += n
        counts[str(tp)] = {"studies": len(ids), "patients": patients, "study_ids": ";".join(ids),
                           "controlled_studies": len(controlled), "controlled_patients": controlled_patients,
                           "randomised_studies": len(randomised), "randomised_patients": randomised_patients,
                           "placebo_count_arms": int(placebo_counts.get(tp, 0))}
    return counts


def gate_status(diagnostics: pd.DataFrame) -> dict[tuple[str, str], bool]:
    """(model, fit unit) -> whether every convergence gate passed."""
    out = {}
    for (model, unit), rows in diagnostics.groupby(["model", "timepoint"]):
        out[(str(model), str(unit))] = bool(rows["passed"].astype(str).str.lower().eq("true").all())
    return out


def _points(x: float) -> str:
    return f"{100 * x:.0f}"


def _controlled_text(k: int, k_rct: int, where: str = "") -> str:
    """'2 controlled studies{where}, 1 of them randomised' (or '1 randomised controlled study{where}', ...)."""
    studies = "study" if k == 1 else "studies"
    if k_rct == k:
        return f"{k} randomised controlled {studies}{where}"
    if k_rct == 0:
        return f"{k} non-randomised controlled {studies}{where}"
    return f"{k} controlled {studies}{where}, {k_rct} of them randomised"


def _sentence(estimand: str, r: dict, when: str, definition: str, prob_label: str, threshold: float) -> str:
    ci = f"{prob_label} CrI {pct(r['lower'])} to {pct(r['upper'])}"
    pi = (f"; a new study could see {pct(r['pred_lower'])} to {pct(r['pred_upper'])}"
          if np.isfinite(r.get("pred_lower", np.nan)) else "")
    k, k_rct = r.get("controlled_studies", 0), r.get("randomised_studies", 0)
    basis = (f"model-based: {_controlled_text(k, k_rct, ' at this timepoint')}"
             if k else "model-based: no controlled study at this timepoint, so the priors and the single-arm "
                       "series carry it")
    if estimand == "ketamine_response_rate":
        return (f"For a randomised comparison, about {pct(r['estimate'])} of patients given ketamine would report "
                f"{definition} at {when} ({ci}){pi} ({basis}).")
    if estimand == "placebo_response_rate":
        arms = int(r.get("placebo_count_arms", 0) or 0)
        basis = ("no placebo arm reports responders here, so this rests mostly on the placebo prior" if not arms else
                 f"{arms} placebo {'arm reports' if arms == 1 else 'arms report'} responders here, "
                 "combined with the placebo prior")
        return f"About {pct(r['estimate'])} would report the same relief on placebo ({ci}){pi}; {basis}."
    if estimand == "risk_difference":
        pi_pts = (f"; a new study could see {_points(r['pred_lower'])} to {_points(r['pred_upper'])} points"
                  if np.isfinite(r.get("pred_lower", np.nan)) else "")
        return (f"Ketamine adds about {_points(r['estimate'])} percentage points over placebo at {when} "
                f"({prob_label} CrI {_points(r['lower'])} to {_points(r['upper'])}){pi_pts} ({basis}).")
    if estimand == "nnt":
        lo, hi, est = r["lower"], r["upper"], r["estimate"]
        if lo > 0 and hi > 0:
            return (f"About {est:.0f} patients need ketamine rather than placebo for one more to respond at {when} "
                    f"({prob_label} CrI {lo:.0f} to {hi:.0f}).")
        if lo < 0 and hi < 0:
            return (f"Ketamine does worse than placebo at {when}: one more patient fails to respond for about every "
                    f"{abs(est):.0f} treated (number needed to harm, {prob_label} CrI {min(abs(lo), abs(hi)):.0f} to "
                    f"{max(abs(lo), abs(hi)):.0f}).")
        side = (f"about {est:.0f} patients need ketamine for one more to respond" if est > 0 else
                f"the median points to harm (one more non-responder per {abs(est):.0f} treated)")
        return (f"At {when} {side}, but the interval includes no difference: it runs from a number needed to "
                f"benefit of {lo:.0f} through infinity to a number needed to harm of {abs(hi):.0f}.")
    if estimand == "prob_risk_difference_gt_0":
        same = (" (by the model's structure, not from follow-up data: the follow-up effect is the immediate one "
                "times a persistence between 0 and 1, so the two probabilities are equal)"
                if r["timepoint"] == "followup" else "")
        pred = (f"; the probability that a new randomised study would find ketamine ahead is "
                f"{pct(r['predictive_probability'])}" if np.isfinite(r.get("predictive_probability", np.nan))
                else "")
        return f"The probability that ketamine beats placebo at {when} is {pct(r['probability'])}{same}{pred}."
    if estimand == "prob_risk_difference_gt_threshold":
        return (f"The probability that ketamine adds more than {100 * threshold:g} percentage points over placebo "
                f"at {when} is {pct(r['probability'])}.")
    if estimand == "pooled_rate":
        return (f"Pooling the ketamine arms as reported (each study's own responder definition, several stricter "
                f"than {definition}; no placebo), about {pct(r['estimate'])} respond at {when} ({ci}){pi}. This is "
                f"the figure closest to earlier pooled rates.")
    if estimand == "pooled_placebo_rate":
        return (f"Pooling the placebo arms alone (each study's own responder definition), about "
                f"{pct(r['estimate'])} respond on placebo at {when} ({ci}){pi}: the prediction is the "
                f"meta-analytic-predictive prior for a new trial's placebo arm.")
    if estimand == "placebo_share":
        over = ("; above 100 % means placebo alone could account for all of it" if r["upper"] > 1 else "")
        return (f"The placebo response accounts for about {pct(r['estimate'])} of the responder rate an "
                f"uncontrolled series would show at {when} at {definition} ({ci}{over}).")
    return ""


def summary_of_findings(estimands: pd.DataFrame, *, prior_set: str, counts: dict[str, dict[str, dict]],
                        gates: dict[tuple[str, str], bool], timepoints: list[str], threshold: float,
                        reference_definition: str, prob: float,
                        power_scaling: pd.DataFrame | None = None) -> pd.DataFrame:
    """The summary-of-findings table: one row per timepoint x estimand in :data:`SOF_ROWS` that was estimated.

    ``estimands`` is results/summaries/estimands.csv; ``counts`` maps model ->
    :func:`evidence_counts`; ``gates`` comes from :func:`gate_status`;
    ``power_scaling`` (results/sensitivity/power_scaling.csv, optional) gives
    each row's prior-sensitivity diagnosis (see :data:`POWER_SCALING_VARIABLE`).
    """
    diagnosis = {}
    if power_scaling is not None and len(power_scaling):
        ps = power_scaling[power_scaling["prior_set"] == prior_set]
        for r in ps.itertuples():
            element = "" if pd.isna(r.element) else str(r.element)
            diagnosis[(str(r.model), str(r.timepoint), element, str(r.variable))] = str(r.diagnosis)
    est = estimands[estimands["prior_set"] == prior_set]
    rows = []
    prob_label = f"{100 * prob:g} %"
    definition = DEFINITION_LABELS.get(reference_definition, reference_definition)
    for tp in timepoints:
        for estimand, label, model, pred in SOF_ROWS:
            sel = est[(est["model"] == model) & (est["timepoint"] == tp)].set_index("estimand")
            if estimand not in sel.index:
                continue
            s = sel.loc[estimand]
            is_prob = estimand.startswith("prob_")
            r = {"timepoint": tp, "estimand": estimand, "label": label, "model": model,
                 "estimate": np.nan if is_prob else float(s["median"]),
                 "lower": float(s["lower"]), "upper": float(s["upper"]),
                 "pred_lower": np.nan, "pred_upper": np.nan,
                 "probability": float(s["mean"]) if is_prob else np.nan, "predictive_probability": np.nan,
                 "note": "" if pd.isna(s["note"]) else str(s["note"])}
            if pred and pred in sel.index:
                if is_prob:
                    r["predictive_probability"] = float(sel.loc[pred, "mean"])
                else:
                    r["pred_lower"], r["pred_upper"] = float(sel.loc[pred, "lower"]), float(sel.loc[pred, "upper"])
            unit = "joint" if model == "placebo_adjusted" else tp
            c = counts.get(model, {}).get(tp, {})
            r.update(studies=c.get("studies", 0), patients=c.get("patients", 0), study_ids=c.get("study_ids", ""),
                     controlled_studies=c.get("controlled_studies", 0),
                     controlled_patients=c.get("controlled_patients", 0),
                     randomised_studies=c.get("randomised_studies", 0),
                     randomised_patients=c.get("randomised_patients", 0),
                     placebo_count_arms=c.get("placebo_count_arms", 0),
                     gate_passed=gates.get((model, unit), False),
                     prior_sensitivity=diagnosis.get((model, unit, tp if unit == "joint" else "",
                                                      POWER_SCALING_VARIABLE.get(estimand, "")), "-"))
            when = WHEN.get(tp, tp)
            r["sentence"] = _sentence(estimand, r, when, definition, prob_label, threshold)
            if not r["gate_passed"]:
                r["sentence"] = "NOT CONVERGED - do not use. " + r["sentence"]
            rows.append(r)
    return pd.DataFrame(rows, columns=SOF_COLUMNS)


def _get(est: pd.DataFrame, model: str, tp: str, estimand: str):
    row = est[(est["model"] == model) & (est["timepoint"] == tp) & (est["estimand"] == estimand)]
    return None if row.empty else row.iloc[0]


def time_course_figure(estimands: pd.DataFrame, published: pd.DataFrame, *, prior_set: str,
                       timepoints: list[str], prob: float) -> plt.Figure:
    """Immediate versus follow-up: ketamine, placebo and raw pooled rates (left) and the difference (right)."""
    est = estimands[estimands["prior_set"] == prior_set]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    x = np.arange(len(timepoints))
    series = [("placebo_adjusted", "ketamine_response_rate", "predicted_ketamine_rate", "Ketamine (model-based)",
               "tab:blue", -0.15),
              ("placebo_adjusted", "placebo_response_rate", "predicted_placebo_rate", "Placebo", "tab:gray", 0.0),
              ("pooled_rate", "pooled_rate", "predicted_rate", "Raw pooled (uncontrolled)", "tab:orange", 0.15)]
    for model, name, pred, label, colour, dx in series:
        pts = [(_get(est, model, tp, name), _get(est, model, tp, pred)) for tp in timepoints]
        xs = [xi + dx for xi, (r, _) in zip(x, pts) if r is not None]
        if not xs:
            continue
        rs = [r for r, _ in pts if r is not None]
        med = np.array([r["median"] for r in rs])
        # one model's two timepoints are joined; the raw pools are separate fits on different studies
        ax.errorbar(xs, med, yerr=[med - [r["lower"] for r in rs], [r["upper"] for r in rs] - med],
                    fmt="o-" if model == "placebo_adjusted" else "o", color=colour, capsize=4, lw=1.6,
                    label=f"{label} ({100 * prob:g} % CrI)")
        preds = [p for r, p in pts if r is not None]
        for xi, p in zip(xs, preds):
            if p is not None:
                ax.plot([xi + 0.04, xi + 0.04], [p["lower"], p["upper"]], color=colour, lw=4, alpha=0.25)
    if len(published):
        for _, p in published.iterrows():
            if p["timepoint"] in timepoints:
                xi = timepoints.index(p["timepoint"]) + 0.3
                ax.errorbar([xi], [p["estimate"]], yerr=[[p["estimate"] - p["lower"]], [p["upper"] - p["estimate"]]],
                            fmt="D", color="black", mfc="white", capsize=4)
        ax.errorbar([], [], yerr=[], fmt="D", color="black", mfc="white",
                    label=f"{published['label'].iloc[0]} (published 95 % CI)")
    ax.plot([], [], color="gray", lw=4, alpha=0.25, label="prediction interval (new study)")
    ax.set_xticks(x)
    ax.set_xticklabels([TIMEPOINT_LABELS.get(t, t) for t in timepoints])
    ax.set_xlim(-0.5, len(timepoints) - 0.4)
    ax.set_ylim(0, 1)
    ax.set_ylabel("Responder rate")
    ax.set_title("Responder rates over time", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    rds = [(_get(est, "placebo_adjusted", tp, "risk_difference"),
            _get(est, "placebo_adjusted", tp, "predicted_risk_difference")) for tp in timepoints]
    for xi, (r, p) in zip(x, rds):
        if r is None:
            continue
        bx.errorbar([xi], [r["median"]], yerr=[[r["median"] - r["lower"]], [r["upper"] - r["median"]]], fmt="o",
                    color="tab:green", capsize=4)
        if p is not None:
            bx.plot([xi + 0.08, xi + 0.08], [p["lower"], p["upper"]], color="tab:green", lw=4, alpha=0.25)
    bx.axhline(0, color="black", lw=0.8)
    bx.set_xticks(x)
    bx.set_xticklabels([TIMEPOINT_LABELS.get(t, t) for t in timepoints])
    bx.set_xlim(-0.5, len(timepoints) - 0.5)
    bx.set_ylabel("Risk difference (ketamine - placebo)")
    bx.set_title("Placebo-adjusted difference", fontsize=10)
    fig.text(0.01, 0.01, "How to read: dots are posterior medians with credible intervals; faint bars are "
             "prediction intervals for a new study. Blue and grey come from the placebo-adjusted model (a "
             "randomised comparison at the reference responder definition); orange pools the ketamine arms as "
             "reported. White diamonds are the published pooled figures.", fontsize=7, wrap=True, va="bottom")
    fig.subplots_adjust(bottom=0.2, wspace=0.3)
    return fig


def placebo_explained_figure(estimands: pd.DataFrame, *, prior_set: str, timepoints: list[str],
                             prob: float) -> plt.Figure:
    """How much of the raw (uncontrolled) responder rate the placebo term explains, per timepoint.

    One bar per timepoint, the model's uncontrolled-series rate split into
    placebo response, ketamine over placebo, and the design bias of
    uncontrolled series (posterior medians; segments can be negative), with the
    raw pooled rate of the pooled_rate model marked for comparison.
    """
    est = estimands[estimands["prior_set"] == prior_set]
    fig, ax = plt.subplots(figsize=(10, 1.6 + 1.3 * len(timepoints)))
    ys = np.arange(len(timepoints))[::-1]
    for y, tp in zip(ys, timepoints):
        placebo = _get(est, "placebo_adjusted", tp, "placebo_response_rate")
        ket = _get(est, "placebo_adjusted", tp, "ketamine_response_rate")
        single = _get(est, "placebo_adjusted", tp, "single_arm_rate")
        share = _get(est, "placebo_adjusted", tp, "placebo_share")
        if placebo is None or ket is None or single is None:
            continue
        parts = [("placebo response", placebo["median"], "tab:gray"),
                 ("ketamine over placebo", ket["median"] - placebo["median"], "tab:blue"),
                 ("design bias of uncontrolled series", single["median"] - ket["median"], "tab:purple")]
        left = 0.0
        for name, width, colour in parts:
            ax.barh(y, width, left=left, color=colour, alpha=0.8, height=0.5,
                    label=name if y == ys[0] else None)
            left += width
        ax.errorbar([single["median"]], [y + 0.33], xerr=[[single["median"] - single["lower"]],
                                                           [single["upper"] - single["median"]]],
                    fmt="|", color="tab:purple", capsize=3, label="uncontrolled-series rate (CrI)" if y == ys[0] else None)
        raw = _get(est, "pooled_rate", tp, "pooled_rate")
        if raw is not None:
            ax.errorbar([raw["median"]], [y - 0.35], xerr=[[raw["median"] - raw["lower"]],
                                                            [raw["upper"] - raw["median"]]],
                        fmt="o", color="tab:orange", capsize=3,
                        label="raw pooled rate, pooled_rate model (CrI)" if y == ys[0] else None)
        if share is not None:
            ax.text(1.02, y, f"placebo share {pct(share['median'])}\n[{pct(share['lower'])}, {pct(share['upper'])}]",
                    transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.set_yticks(ys)
    ax.set_yticklabels([TIMEPOINT_LABELS.get(t, t) for t in timepoints])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.8, len(timepoints) - 0.2)
    ax.set_xlabel("Responder rate")
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False)
    fig.text(0.01, 0.01, f"How to read: each bar is the responder rate an uncontrolled ketamine series is expected "
             f"to show (placebo-adjusted model, reference definition), split into what placebo alone would give "
             f"(grey), what ketamine adds (blue) and the bias of uncontrolled designs (purple; negative when "
             f"series report less than trials). Segments are posterior medians; the share on the right is a "
             f"posterior median with its {100 * prob:g} % CrI.", fontsize=7, wrap=True, va="bottom")
    fig.subplots_adjust(left=0.13, right=0.82, top=0.78, bottom=0.32)
    return fig


def key_parameters(idata) -> list[str]:
    """The top-level parameters a prior set sets (those in the record's log_prior group, else mu and tau)."""
    if "log_prior" in idata.groups():
        names = [v for v in idata.log_prior.data_vars if v != "definition_offset_z"]
    else:
        names = [v for v in ("mu", "tau") if v in idata.posterior]
    return [v for v in names if v in idata.posterior]


def prior_posterior_figure(idata, variables: list[str], *, title: str, prior_text: str = "") -> plt.Figure:
    """Prior (grey) against posterior (blue) density for each key parameter (and element)."""
    panels = []
    for var in variables:
        post = idata.posterior[var]
        extra = [d for d in post.dims if d not in ("chain", "draw")]
        if extra:
            for coord in post[extra[0]].values:
                panels.append((f"{var}[{coord}]", post.sel({extra[0]: coord}),
                               idata.prior[var].sel({extra[0]: coord}) if "prior" in idata.groups()
                               and var in idata.prior else None))
        else:
            panels.append((var, post, idata.prior[var] if "prior" in idata.groups() and var in idata.prior else None))
    ncol = min(4, max(1, len(panels)))
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.4 * nrow + 0.9), squeeze=False)
    for ax, (name, post, prior) in zip(axes.ravel(), panels):
        p = np.asarray(post.values, dtype=float).ravel()
        q = np.asarray(prior.values, dtype=float).ravel() if prior is not None else np.array([])
        both = np.concatenate([p, q[np.isfinite(q)]])
        lo, hi = np.quantile(both, [0.005, 0.995])
        bins = np.linspace(lo, hi, 50) if hi > lo else 10
        if q.size:
            ax.hist(q, bins=bins, density=True, histtype="stepfilled", color="0.75", alpha=0.7, label="prior")
        ax.hist(p, bins=bins, density=True, histtype="step", color="tab:blue", lw=1.5, label="posterior")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.01, "How to read: grey is the prior, blue the posterior (histogram densities on the "
             "central 99 % of both). A posterior that looks like its prior means the data say little about that "
             f"parameter. {prior_text}", fontsize=7, wrap=True, va="bottom")
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    return fig


def rank_figure(idata, variables: list[str], *, title: str) -> plt.Figure:
    """Rank plots per chain (Vehtari et al. 2021), ArviZ's plot_rank: flat, overlapping bars = chains agree."""
    import arviz as az

    axes = az.plot_rank(idata, var_names=variables, kind="bars", figsize=(11, 1.9 * max(2, len(variables))))
    fig = np.asarray(axes).ravel()[0].figure
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.005, "How to read: the ranks of each chain's draws among all draws; if the chains sample "
             "the same distribution every bar is near the dashed line. Bars rising at one end or differing "
             "between chains mean a convergence problem.", fontsize=7, wrap=True, va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return fig


def data_uri(path: str | Path) -> str:
    """A file as a data: URI, so the page needs no other file."""
    kind = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def table_html(frame: pd.DataFrame, *, digits: int = 4, classes: str = "data") -> str:
    """A data frame as an escaped HTML table, numbers to ``digits`` significant digits for reading."""
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "-" if pd.isna(v) else f"{v:.{digits}g}")
    return shown.to_html(index=False, classes=classes, na_rep="", border=0, escape=True)


def render_report(template_dir: str | Path, context: dict, template: str = "index.html.j2") -> str:
    """Render the report template with Jinja2 (autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(template_dir)), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=fmt, pct=pct)
    return env.get_template(template).render(**context)


def external_asset_references(page: str) -> list[str]:
    """Every src/href in ``page`` that would need a network or another file (the page must have none)."""
    import re

    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    return [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]


# ---- page sections: plain tables from the workflow's outputs -----------------
def gate_summary(diagnostics: pd.DataFrame) -> pd.DataFrame:
    """One row per fit (model, prior set, unit): passed or not, and which diagnostics failed with their values."""
    rows = []
    for (model, prior_set, unit), g in diagnostics.groupby(["model", "prior_set", "timepoint"], sort=False):
        passed = g["passed"].astype(str).str.lower().eq("true")
        failed = g[~passed]
        rows.append({"model": model, "prior_set": prior_set, "fit": unit, "passed": bool(passed.all()),
                     "failed": "; ".join(f"{r.diagnostic} = {fmt(r.value, 3)} ({r.bound} {fmt(r.threshold, 3)}, "
                                         f"{r.worst_variable}; on failure: {r.on_failure})"
                                         for r in failed.itertuples()) or "-",
                     **{str(r.diagnostic): r.value for r in g.itertuples()}})
    return pd.DataFrame(rows)


def sensitivity_pivot(estimands: pd.DataFrame, *, model: str, names: list[str], prior_sets: list[str]) -> pd.DataFrame:
    """Key estimands (rows) across prior sets (columns), as 'median [lower, upper]' or a probability."""
    est = estimands[estimands["model"] == model]
    rows = []
    for (tp, name), g in est[est["estimand"].isin(names)].groupby(["timepoint", "estimand"], sort=False):
        row = {"timepoint": tp, "estimand": name}
        for ps in prior_sets:
            r = g[g["prior_set"] == ps]
            if r.empty:
                row[ps] = "-"
            elif name.startswith("prob_"):
                row[ps] = pct(float(r["mean"].iloc[0]))
            else:
                r = r.iloc[0]
                row[ps] = f"{fmt(r['median'])} [{fmt(r['lower'])}, {fmt(r['upper'])}]"
        rows.append(row)
    order = {n: i for i, n in enumerate(names)}
    return pd.DataFrame(rows).sort_values(["timepoint", "estimand"], key=lambda c: c.map(order) if c.name ==
                                          "estimand" else c.map({"immediate": 0, "followup": 1})).reset_index(drop=True)


def record_provenance(path: str | Path) -> dict:
    """What a fit's InferenceData record says about how it was made (seed, sampler, versions, data hashes)."""
    import json

    import xarray as xr

    with xr.open_dataset(path, group="posterior") as ds:
        attrs = dict(ds.attrs)
    loads = lambda v: json.loads(v) if isinstance(v, str) and v[:1] in "{[" else (v or {})  # noqa: E731
    sampler = loads(attrs.get("sampler"))
    return {"record": str(path), "model": attrs.get("model"), "prior_set": attrs.get("prior_set"),
            "fit": attrs.get("timepoint"), "seed": int(attrs["seed"]) if "seed" in attrs else None,
            "sampler": sampler.get("backend"),
            "chains_x_draws": f"{sampler.get('chains')} x {sampler.get('draws')} (tune {sampler.get('tune')})",
            "sampling_seconds": float(attrs.get("sampling_seconds", float("nan"))),
            "created_at": attrs.get("created_at"), "versions": loads(attrs.get("versions")),
            "data_sha256": loads(attrs.get("data_sha256"))}


def evidence_tables(studies: pd.DataFrame, outcomes: pd.DataFrame, used: dict[str, pd.DataFrame],
                    gaps: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The evidence section: included studies, outcome rows with the fits that use them, exclusions, gaps.

    ``used`` and ``gaps`` map a fit name ('model/unit') to its used.csv and gaps.csv; the model in the name says
    which arm a used.csv without an arm column holds (:func:`used_arms`).
    """
    include = studies["include"].astype(str).str.lower().eq("true")
    uses: dict[tuple, list[str]] = {}
    for fit, frame in used.items():
        for r in used_arms(frame, fit.split("/")[-1], model=fit.split("/")[0]).itertuples():
            uses.setdefault((r.study_id, r.arm, r.timepoint), []).append(fit)
    out_rows = outcomes.copy()
    out_rows["used_by"] = [", ".join(dict.fromkeys(uses.get((str(r.study_id), str(r.arm), str(r.timepoint)), [])))
                           or "-" for r in outcomes.itertuples()]
    keep = [c for c in ["study_id", "arm", "timepoint", "measure", "n", "responders", "responders_pct",
                        "responder_definition", "definition_class", "pain_mean", "pain_se", "used_by", "source",
                        "verification", "derivation"] if c in out_rows.columns]
    contributing = {s for (s, _a, _t) in uses}
    study_cols = [c for c in ["study_id", "design", "drug_form", "dose_as_reported", "days", "setting", "source",
                              "verification", "notes"] if c in studies.columns]
    included = studies[include][study_cols].copy()
    included.insert(1, "contributes", included["study_id"].astype(str).isin(contributing).map({True: "yes",
                                                                                                False: "no"}))
    excluded = studies[~include][[c for c in ["study_id", "design", "exclusion_reason", "overlaps_with", "source",
                                              "verification"] if c in studies.columns]]
    gap_rows = []
    for fit, frame in gaps.items():
        for r in frame.to_dict("records"):
            gap_rows.append({"fit": fit, **{k: r.get(k) for k in ("study_id", "arm", "timepoint", "reason", "notes")}})
    silent = studies[include & ~studies["study_id"].astype(str).isin(contributing)]
    for r in silent.to_dict("records"):
        gap_rows.append({"fit": "(none)", "study_id": r["study_id"], "arm": "-", "timepoint": "-",
                         "reason": "included, but no usable outcome was reported", "notes": r.get("notes")})
    gap_frame = pd.DataFrame(gap_rows, columns=["fit", "study_id", "arm", "timepoint", "reason", "notes"])
    gap_frame = gap_frame.drop_duplicates(subset=["study_id", "arm", "timepoint", "reason"])
    return {"included": included, "outcomes": out_rows[keep], "excluded": excluded, "gaps": gap_frame}


def comparison_notes(sof: pd.DataFrame, published: pd.DataFrame, reference_definition: str) -> list[str]:
    """Why our numbers differ from the published pooled figures: one sentence per reason, with our numbers."""
    notes = []
    definition = DEFINITION_LABELS.get(reference_definition, reference_definition)
    for p in published.itertuples():
        raw = sof[(sof["timepoint"] == p.timepoint) & (sof["estimand"] == "pooled_rate")]
        ket = sof[(sof["timepoint"] == p.timepoint) & (sof["estimand"] == "ketamine_response_rate")]
        when = WHEN.get(p.timepoint, p.timepoint)
        k_text = f"{int(p.studies)} studies" if pd.notna(p.studies) else "study count not seen"
        line = f"At {when}, {p.synthesis_id} reports {p.estimate_pct:g} % [{p.lower_pct:g}, {p.upper_pct:g}] ({k_text})"
        if not raw.empty:
            r = raw.iloc[0]
            line += (f"; our raw pooled rate is {pct(r['estimate'])} [{pct(r['lower'])}, {pct(r['upper'])}] from "
                     f"{r['studies']} studies ({r['patients']} patients)")
        if not ket.empty:
            r = ket.iloc[0]
            line += (f", and the placebo-adjusted model's ketamine rate in a randomised comparison is "
                     f"{pct(r['estimate'])} [{pct(r['lower'])}, {pct(r['upper'])}]")
        notes.append(line + ".")
    notes += [
        "Different studies: the published review's included-study list and per-study counts were not seen (evidence "
        "ledger), and we enter only counts a source gives, so studies that report a percentage with no whole-number "
        "count, or no responder outcome at all, are left out (see Evidence - gaps).",
        f"Different outcome: the raw pool takes each study's own responder definition (complete relief, any relief, "
        f"pain-free ...); the placebo-adjusted model refers every estimate to {definition} through definition offsets.",
        "Different model: a random-effects binomial-logit model with the between-study SD (tau) estimated and its "
        "uncertainty carried into the intervals; with few studies this widens them, and the prediction interval "
        "(where a new study's rate may fall) is wider still.",
        "The placebo term: the published figures are responder rates of ketamine-treated patients, with no "
        "subtraction of what placebo alone would give; the placebo-adjusted rows separate the two.",
    ]
    return notes


def effect_forest_figure(study_effects: pd.DataFrame, estimands: pd.DataFrame, used: pd.DataFrame, *,
                         prior_set: str, timepoints: list[str], prob: float,
                         designs: dict[str, str] | None = None) -> plt.Figure:
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
                ax.errorbar([np.exp(c["log_or"])], [y + 0.15], xerr=[[np.exp(c["log_or"]) - np.exp(lo)],
                                                                      [np.exp(hi) - np.exp(c["log_or"])]],
                            fmt="s", color="black", capsize=2, ms=5)
            else:
                design = (designs or {}).get(sid, "single-arm").replace("_", " ")
                ax.text(0.02, y + 0.15, f"{design}: no within-study contrast", fontsize=6, color="0.4",
                        transform=ax.get_yaxis_transform(), va="center")
            s = eff[(eff["study_id"].astype(str) == sid) & (eff["timepoint"] == tp)]
            if len(s):
                s = s.iloc[0]
                ax.errorbar([np.exp(s["shrunken_median"])], [y - 0.15],
                            xerr=[[np.exp(s["shrunken_median"]) - np.exp(s["shrunken_lower"])],
                                  [np.exp(s["shrunken_upper"]) - np.exp(s["shrunken_median"])]],
                            fmt="o", color="tab:blue", capsize=2, ms=4)
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
    fig.text(0.01, 0.01, f"How to read: black squares are a study's own ketamine-versus-placebo contrast (odds ratio "
             f"converted from its pain means, 95 % CI); single-arm series have none and inform the effect only "
             f"through the model's design-bias term. Blue dots: shrunken study effects; red diamond: pooled odds "
             f"ratio; red bar: where a new randomised study's odds ratio is expected ({100 * prob:g} % intervals).",
             fontsize=7, wrap=True, va="bottom")
    fig.subplots_adjust(left=0.14, wspace=0.45, bottom=0.3 if n_rows < 6 else 0.2, top=0.9)
    return fig


MODEL_QUESTIONS = {name: s.question for name, s in MODELS.items()}


def not_estimable(skipped: list, fits: list, timepoints: list[str], sof: pd.DataFrame | None = None) -> list[str]:
    """Plain sentences for what the data cannot answer: each fit of config that has no data (``skipped``:
    (model, fit unit, reason) from :class:`crpsmeta.plan.Plan`), each timepoint no fit (``fits``: (model, fit
    unit)) covers, and each timepoint at which the placebo-adjusted answer rests on no controlled study (its
    numbers are then the priors applied to single-arm series)."""
    out = []
    for model, unit, reason in skipped:
        when = "at either timepoint" if unit == "joint" else f"at {WHEN.get(unit, unit)}"
        out.append(f"{MODEL_QUESTIONS.get(model, model)} {when}: not estimated, because {reason}.")
    if sof is not None and len(sof):
        adjusted = sof[(sof["model"] == "placebo_adjusted") & (sof["estimand"] == "risk_difference")]
        for r in adjusted.itertuples():
            if int(r.controlled_studies) == 0:
                out.append(f"How much of the relief is more than placebo at {WHEN.get(r.timepoint, r.timepoint)}: "
                           "no controlled study reports it, so the placebo-adjusted numbers there are the placebo "
                           "and design-bias priors applied to single-arm series, not a measured difference.")
    covered = {unit for _, unit in fits}
    missing = [tp for tp in timepoints if tp not in covered and "joint" not in covered]
    out += [f"Nothing is estimated at {WHEN.get(tp, tp)}: no fitted model has data there." for tp in missing]
    return out


def report_caveats(sof: pd.DataFrame, loo: pd.DataFrame | None = None) -> list[str]:
    """Warnings for the top of the page: thin controlled evidence, prior-driven rows, unreliable LOO."""
    out = []
    for tp, rows in sof.groupby("timepoint", sort=False):
        adjusted = rows[rows["model"] == "placebo_adjusted"]
        if len(adjusted):
            a = adjusted.iloc[0]
            k, k_rct = int(a["controlled_studies"]), int(a["randomised_studies"])
            if k == 0:
                rct = ""
            elif k_rct == 0:
                rct = ", not randomised" if k == 1 else ", none randomised"
            elif k_rct == k:
                rct = ", randomised" if k == 1 else ", all randomised"
            else:
                rct = f", {k_rct} of them randomised ({int(a['randomised_patients'])} patients)"
            out.append(f"At {WHEN.get(tp, tp)} the placebo-adjusted rows rest on {k} controlled "
                       f"{'study' if k == 1 else 'studies'} ({int(a['controlled_patients'])} patients){rct}; "
                       f"the rest is single-arm series and the priors.")
        flagged = rows[rows["prior_sensitivity"].isin(["prior-dominated", "prior-data conflict"])]
        if len(flagged):
            kinds = flagged["prior_sensitivity"].value_counts()
            out.append(f"At {WHEN.get(tp, tp)}, power scaling flags {len(flagged)} of {len(rows)} summary rows: "
                       + ", ".join(f"{n} {kind}" for kind, n in kinds.items())
                       + " (column 'Prior sensitivity'; details under Sensitivity).")
    if loo is not None and len(loo) and "reliable" in loo.columns:
        bad = loo[~loo["reliable"].astype(str).str.lower().eq("true")]
        if len(bad):
            out.append(f"PSIS-LOO is unreliable for {len(bad)} of {len(loo)} model comparisons (Pareto k above "
                       f"threshold); do not rank the models on it.")
    return out
