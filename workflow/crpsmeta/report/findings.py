"""The summary of findings: one row per key estimand with its interval, evidence counts (studies,
patients, controlled and randomised), the plain-language sentence, caveats, what the data cannot estimate,
and the comparison with published pooled figures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from crpsmeta.formatting import pct
from crpsmeta.registry import MODELS, pooled_arm, spec
from crpsmeta.vocabulary import (
    CONTRAST_ARM,
    CONTROLLED_DESIGNS,
    DEFINITION_LABELS,
    JOINT,
    KETAMINE,
    PLACEBO,
    RANDOMISED_DESIGNS,
    WHEN,
)

# Summary-of-findings rows: (estimand, label, model, prediction estimand or probability).
SOF_ROWS = [
    (
        "ketamine_response_rate",
        "Ketamine responder rate (randomised comparison)",
        "placebo_adjusted",
        "predicted_ketamine_rate",
    ),
    ("placebo_response_rate", "Placebo response rate", "placebo_adjusted", "predicted_placebo_rate"),
    (
        "risk_difference",
        "Placebo-adjusted difference (ketamine - placebo)",
        "placebo_adjusted",
        "predicted_risk_difference",
    ),
    ("nnt", "Number needed to treat (NNT)", "placebo_adjusted", None),
    (
        "prob_risk_difference_gt_0",
        "P(ketamine better than placebo)",
        "placebo_adjusted",
        "prob_predicted_risk_difference_gt_0",
    ),
    ("prob_risk_difference_gt_threshold", "P(difference above the clinical threshold)", "placebo_adjusted", None),
    (
        "pooled_rate",
        "Raw pooled responder rate (ketamine arms as reported, any definition)",
        "pooled_rate",
        "predicted_rate",
    ),
    ("placebo_share", "Share of an uncontrolled series' rate that placebo explains", "placebo_adjusted", None),
    (
        "pooled_placebo_rate",
        "Placebo response rate, placebo arms alone (MAP prior)",
        "placebo_map",
        "predicted_placebo_rate",
    ),
]


SOF_COLUMNS = [
    "timepoint",
    "estimand",
    "label",
    "model",
    "estimate",
    "lower",
    "upper",
    "pred_lower",
    "pred_upper",
    "probability",
    "predictive_probability",
    "studies",
    "patients",
    "controlled_studies",
    "controlled_patients",
    "randomised_studies",
    "randomised_patients",
    "placebo_count_arms",
    "study_ids",
    "prior_sensitivity",
    "gate_passed",
    "sentence",
    "note",
]


# Summary row -> the power-scaling variable whose diagnosis it carries (results/sensitivity/power_scaling.csv).
POWER_SCALING_VARIABLE = {
    "ketamine_response_rate": "ketamine_response_rate",
    "placebo_response_rate": "placebo_response_rate",
    "risk_difference": "risk_difference",
    "nnt": "risk_difference",
    "prob_risk_difference_gt_0": "risk_difference",
    "prob_risk_difference_gt_threshold": "risk_difference",
    "pooled_rate": "pooled_rate",
    "placebo_share": "placebo_response_rate",
    "pooled_placebo_rate": "pooled_placebo_rate",
}


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
                raise ValueError(
                    f"used.csv row of study {r.get('study_id')!r} names no arm, and model {model!r} "
                    f"pools no single arm: pass the fit's model"
                )
            arm = default
        arm = str(arm)
        tp = str(r["timepoint"]) if "timepoint" in r and pd.notna(r["timepoint"]) else unit
        for a in [KETAMINE, PLACEBO] if arm == CONTRAST_ARM else [arm]:
            rows.append({"study_id": str(r["study_id"]), "arm": a, "timepoint": tp, "n": r.get("n")})
    return pd.DataFrame(rows, columns=["study_id", "arm", "timepoint", "n"]).drop_duplicates(
        subset=["study_id", "arm", "timepoint"]
    )


def evidence_counts(
    outcomes: pd.DataFrame,
    used: pd.DataFrame,
    unit: str,
    designs: dict[str, str] | None = None,
    *,
    model: str | None = None,
) -> dict[str, dict]:
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
        is_count = used["arm"].astype(str) != CONTRAST_ARM if "arm" in used else used["study_id"].notna()
    placebo_counts = used_arms(used[is_count], unit, model=model)
    placebo_counts = (
        placebo_counts[placebo_counts["arm"] == PLACEBO]["timepoint"].value_counts()
        if len(placebo_counts)
        else pd.Series(dtype=int)
    )
    for tp, rows in used_arms(used, unit, model=model).groupby("timepoint", sort=False):
        ids, controlled, randomised = list(dict.fromkeys(rows["study_id"])), set(), set()
        patients = controlled_patients = randomised_patients = 0
        for r in rows.itertuples():
            match = outcomes[
                (outcomes["study_id"].astype(str) == r.study_id)
                & (outcomes["arm"] == r.arm)
                & (outcomes["timepoint"] == tp)
            ]
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
        counts[str(tp)] = {
            "studies": len(ids),
            "patients": patients,
            "study_ids": ";".join(ids),
            "controlled_studies": len(controlled),
            "controlled_patients": controlled_patients,
            "randomised_studies": len(randomised),
            "randomised_patients": randomised_patients,
            "placebo_count_arms": int(placebo_counts.get(tp, 0)),
        }
    return counts


def gate_status(diagnostics: pd.DataFrame) -> dict[tuple[str, str], bool]:
    """(model, fit unit) -> whether every convergence gate passed."""
    out = {}
    for (model, unit), rows in diagnostics.groupby(["model", "timepoint"]):
        out[(str(model), str(unit))] = bool(rows["passed"].astype(str).str.lower().eq("true").all())
    return out


def _points(x: float) -> str:
    """A risk difference in whole percentage points (never "-0")."""
    return f"{int(round(100 * float(x)))}"


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
    pi = (
        f"; a new study could see {pct(r['pred_lower'])} to {pct(r['pred_upper'])}"
        if np.isfinite(r.get("pred_lower", np.nan))
        else ""
    )
    k, k_rct = r.get("controlled_studies", 0), r.get("randomised_studies", 0)
    basis = (
        f"model-based: {_controlled_text(k, k_rct, ' at this timepoint')}"
        if k
        else "model-based: no controlled study at this timepoint, so the priors and the single-arm series carry it"
    )
    if estimand == "ketamine_response_rate":
        return (
            f"For a randomised comparison, about {pct(r['estimate'])} of patients given ketamine would report "
            f"{definition} at {when} ({ci}){pi} ({basis})."
        )
    if estimand == "placebo_response_rate":
        arms = int(r.get("placebo_count_arms", 0) or 0)
        basis = (
            "no placebo arm reports responders here, so this rests mostly on the placebo prior"
            if not arms
            else f"{arms} placebo {'arm reports' if arms == 1 else 'arms report'} responders here, "
            "combined with the placebo prior"
        )
        return f"About {pct(r['estimate'])} would report the same relief on placebo ({ci}){pi}; {basis}."
    if estimand == "risk_difference":
        pi_pts = (
            f"; a new study could see {_points(r['pred_lower'])} to {_points(r['pred_upper'])} points"
            if np.isfinite(r.get("pred_lower", np.nan))
            else ""
        )
        return (
            f"Ketamine adds about {_points(r['estimate'])} percentage points over placebo at {when} "
            f"({prob_label} CrI {_points(r['lower'])} to {_points(r['upper'])}){pi_pts} ({basis})."
        )
    if estimand == "nnt":
        lo, hi, est = r["lower"], r["upper"], r["estimate"]
        if lo > 0 and hi > 0:
            return (
                f"About {est:.0f} patients need ketamine rather than placebo for one more to respond at {when} "
                f"({prob_label} CrI {lo:.0f} to {hi:.0f})."
            )
        if lo < 0 and hi < 0:
            return (
                f"Ketamine does worse than placebo at {when}: one more patient fails to respond for about every "
                f"{abs(est):.0f} treated (number needed to harm, {prob_label} CrI {min(abs(lo), abs(hi)):.0f} to "
                f"{max(abs(lo), abs(hi)):.0f})."
            )
        side = (
            f"about {est:.0f} patients need ketamine for one more to respond"
            if est > 0
            else f"the median points to harm (one more non-responder per {abs(est):.0f} treated)"
        )
        return (
            f"At {when} {side}, but the interval includes no difference: it runs from a number needed to "
            f"benefit of {lo:.0f} through infinity to a number needed to harm of {abs(hi):.0f}."
        )
    if estimand == "prob_risk_difference_gt_0":
        same = (
            " (by the model's structure, not from follow-up data: the follow-up effect is the immediate one "
            "times a persistence between 0 and 1, so the two probabilities are equal)"
            if r["timepoint"] == "followup"
            else ""
        )
        pred = (
            f"; the probability that a new randomised study would find ketamine ahead is "
            f"{pct(r['predictive_probability'])}"
            if np.isfinite(r.get("predictive_probability", np.nan))
            else ""
        )
        return f"The probability that ketamine beats placebo at {when} is {pct(r['probability'])}{same}{pred}."
    if estimand == "prob_risk_difference_gt_threshold":
        return (
            f"The probability that ketamine adds more than {100 * threshold:g} percentage points over placebo "
            f"at {when} is {pct(r['probability'])}."
        )
    if estimand == "pooled_rate":
        return (
            f"Pooling the ketamine arms as reported (each study's own responder definition, several stricter "
            f"than {definition}; no placebo), about {pct(r['estimate'])} respond at {when} ({ci}){pi}. This is "
            f"the figure closest to earlier pooled rates."
        )
    if estimand == "pooled_placebo_rate":
        return (
            f"Pooling the placebo arms alone (each study's own responder definition), about "
            f"{pct(r['estimate'])} respond on placebo at {when} ({ci}){pi}: the prediction is the "
            f"meta-analytic-predictive prior for a new trial's placebo arm."
        )
    if estimand == "placebo_share":
        over = "; above 100 % means placebo alone could account for all of it" if r["upper"] > 1 else ""
        return (
            f"The placebo response accounts for about {pct(r['estimate'])} of the responder rate an "
            f"uncontrolled series would show at {when} at {definition} ({ci}{over})."
        )
    return ""


def summary_of_findings(
    estimands: pd.DataFrame,
    *,
    prior_set: str,
    counts: dict[str, dict[str, dict]],
    gates: dict[tuple[str, str], bool],
    timepoints: list[str],
    threshold: float,
    reference_definition: str,
    prob: float,
    power_scaling: pd.DataFrame | None = None,
) -> pd.DataFrame:
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
            r = {
                "timepoint": tp,
                "estimand": estimand,
                "label": label,
                "model": model,
                "estimate": np.nan if is_prob else float(s["median"]),
                "lower": float(s["lower"]),
                "upper": float(s["upper"]),
                "pred_lower": np.nan,
                "pred_upper": np.nan,
                "probability": float(s["mean"]) if is_prob else np.nan,
                "predictive_probability": np.nan,
                "note": "" if pd.isna(s["note"]) else str(s["note"]),
            }
            if pred and pred in sel.index:
                if is_prob:
                    r["predictive_probability"] = float(sel.loc[pred, "mean"])
                else:
                    r["pred_lower"], r["pred_upper"] = float(sel.loc[pred, "lower"]), float(sel.loc[pred, "upper"])
            unit = spec(model).fit_units([tp])[0]
            c = counts.get(model, {}).get(tp, {})
            r.update(
                studies=c.get("studies", 0),
                patients=c.get("patients", 0),
                study_ids=c.get("study_ids", ""),
                controlled_studies=c.get("controlled_studies", 0),
                controlled_patients=c.get("controlled_patients", 0),
                randomised_studies=c.get("randomised_studies", 0),
                randomised_patients=c.get("randomised_patients", 0),
                placebo_count_arms=c.get("placebo_count_arms", 0),
                gate_passed=gates.get((model, unit), False),
                prior_sensitivity=diagnosis.get(
                    (model, unit, tp if unit == JOINT else "", POWER_SCALING_VARIABLE.get(estimand, "")), "-"
                ),
            )
            when = WHEN.get(tp, tp)
            r["sentence"] = _sentence(estimand, r, when, definition, prob_label, threshold)
            if not r["gate_passed"]:
                r["sentence"] = "NOT CONVERGED - do not use. " + r["sentence"]
            rows.append(r)
    return pd.DataFrame(rows, columns=SOF_COLUMNS)


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
            line += (
                f"; our raw pooled rate is {pct(r['estimate'])} [{pct(r['lower'])}, {pct(r['upper'])}] from "
                f"{r['studies']} studies ({r['patients']} patients)"
            )
        if not ket.empty:
            r = ket.iloc[0]
            line += (
                f", and the placebo-adjusted model's ketamine rate in a randomised comparison is "
                f"{pct(r['estimate'])} [{pct(r['lower'])}, {pct(r['upper'])}]"
            )
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


MODEL_QUESTIONS = {name: s.question for name, s in MODELS.items()}


def not_estimable(
    skipped: list, fits: list, timepoints: list[str], sof: pd.DataFrame | None = None, notes: list[str] = ()
) -> list[str]:
    """Plain sentences for what the data cannot answer: each fit of config that has no data (``skipped``:
    (model, fit unit, reason) from :class:`crpsmeta.plan.Plan`), each timepoint no fit (``fits``: (model, fit
    unit)) covers, and each timepoint at which the placebo-adjusted answer rests on no controlled study (its
    numbers are then the priors applied to single-arm series)."""
    out = []
    for model, unit, reason in skipped:
        when = "at either timepoint" if unit == JOINT else f"at {WHEN.get(unit, unit)}"
        out.append(f"{MODEL_QUESTIONS.get(model, model)} {when}: not estimated, because {reason}.")
    if sof is not None and len(sof):
        adjusted = sof[(sof["model"] == "placebo_adjusted") & (sof["estimand"] == "risk_difference")]
        for r in adjusted.itertuples():
            if int(r.controlled_studies) == 0:
                out.append(
                    f"How much of the relief is more than placebo at {WHEN.get(r.timepoint, r.timepoint)}: "
                    "no controlled study reports it, so the placebo-adjusted numbers there are the placebo "
                    "and design-bias priors applied to single-arm series, not a measured difference."
                )
    covered = {unit for _, unit in fits}
    missing = [tp for tp in timepoints if tp not in covered and JOINT not in covered]
    out += [f"Nothing is estimated at {WHEN.get(tp, tp)}: no fitted model has data there." for tp in missing]
    out += [note[0].upper() + note[1:] + "." for note in notes]  # the plan's notes (crpsmeta.plan.Plan.notes)
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
            out.append(
                f"At {WHEN.get(tp, tp)} the placebo-adjusted rows rest on {k} controlled "
                f"{'study' if k == 1 else 'studies'} ({int(a['controlled_patients'])} patients){rct}; "
                f"the rest is single-arm series and the priors."
            )
        flagged = rows[rows["prior_sensitivity"].isin(["prior-dominated", "prior-data conflict"])]
        if len(flagged):
            kinds = flagged["prior_sensitivity"].value_counts()
            out.append(
                f"At {WHEN.get(tp, tp)}, power scaling flags {len(flagged)} of {len(rows)} summary rows: "
                + ", ".join(f"{n} {kind}" for kind, n in kinds.items())
                + " (column 'Prior sensitivity'; details under Sensitivity)."
            )
    if loo is not None and len(loo) and "reliable" in loo.columns:
        bad = loo[~loo["reliable"].astype(str).str.lower().eq("true")]
        if len(bad):
            out.append(
                f"PSIS-LOO is unreliable for {len(bad)} of {len(loo)} model comparisons (Pareto k above "
                f"threshold); do not rank the models on it."
            )
    return out


def evidence_counts_by_model(outcomes: pd.DataFrame, used_by_fit: dict, designs: dict[str, str]) -> dict:
    """:func:`evidence_counts` of every fit, gathered per model: ``used_by_fit`` maps (model, fit unit) to the
    fit's used rows."""
    counts: dict[str, dict] = {}
    for (model, unit), used in used_by_fit.items():
        counts.setdefault(model, {}).update(evidence_counts(outcomes, used, unit, designs, model=model))
    return counts


def placebo_prior_alternatives(prior_sets: dict, primary: str, model: str = "placebo_adjusted") -> list[str]:
    """The prior sets that differ from ``primary`` in ``model``'s placebo response prior alone (``placebo_mu``):
    comparing them with the primary set shows what the placebo evidence chosen does to the answer."""
    base = prior_sets[primary].get(model, {})
    return [
        name
        for name, block in prior_sets.items()
        if name != primary
        and set(block.get(model, {})) == set(base)
        and block[model].get("placebo_mu") != base.get("placebo_mu")
        and all(block[model][k] == v for k, v in base.items() if k != "placebo_mu")
    ]


def placebo_prior_comparison(
    sensitivity: pd.DataFrame, prior_sets: dict, primary: str, timepoints, prob_label: str
) -> list[str]:
    """One sentence per alternative placebo prior (:func:`placebo_prior_alternatives`) and timepoint: how the
    placebo response and the placebo-adjusted difference move from the primary prior set to it."""
    out = []
    est = sensitivity[sensitivity["model"] == "placebo_adjusted"]

    def value(prior_set, tp, name):
        row = est[(est["prior_set"] == prior_set) & (est["timepoint"] == tp) & (est["estimand"] == name)]
        if row.empty:
            return None
        r = row.iloc[0]
        return f"{pct(r['median'])} ({prob_label} CrI {pct(r['lower'])} to {pct(r['upper'])})"

    def centre(prior_set):
        spec = prior_sets[prior_set]["placebo_adjusted"]["placebo_mu"]
        return pct(1 / (1 + math.exp(-float(spec["mean"]))))

    for alt in placebo_prior_alternatives(prior_sets, primary):
        for tp in timepoints:
            rd = value(primary, tp, "risk_difference"), value(alt, tp, "risk_difference")
            placebo = value(primary, tp, "placebo_response_rate"), value(alt, tp, "placebo_response_rate")
            if None in rd or None in placebo:
                continue
            out.append(
                f"At {WHEN.get(tp, tp)}: with the placebo prior of '{alt}' (centred on {centre(alt)}) "
                f"instead of '{primary}' (centred on {centre(primary)}), the placebo response moves from "
                f"{placebo[0]} to {placebo[1]} and the placebo-adjusted difference from {rd[0]} to {rd[1]}."
            )
    return out


def _interval_text(row, scale=pct) -> str:
    return f"{scale(row['median'])} ({scale(row['lower'])} to {scale(row['upper'])})"


def time_course_findings(
    estimands: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    prior_set: str,
    half_life_prior: dict,
    threshold: float,
    prob_label: str,
) -> dict:
    """What the report says of the time-course model (:mod:`crpsmeta.models.time_course`).

    ``estimands`` holds every prior set's rows (results/sensitivity/estimands.csv) and ``studies`` the primary
    fit's study_estimates.csv (each row's week). Returns ``weeks`` (one row per reported week: risk difference,
    prediction interval, P(above the threshold), ketamine and placebo rates), ``by_prior_set`` (the half-life,
    the week below the threshold and the week-4 difference under each prior set), and ``sentences``: the
    half-life and week below the threshold with how much the data moved the half-life from its prior, how the
    answer compares with the two-timepoint model, and which of the two the summary of findings uses and why.
    """
    est = estimands[estimands["model"] == "time_course"]
    primary = est[est["prior_set"] == prior_set]
    if primary.empty:
        return {}

    def get(frame, tp, name):
        row = frame[(frame["timepoint"] == tp) & (frame["estimand"] == name)]
        return None if row.empty else row.iloc[0]

    week_labels = [t for t in dict.fromkeys(primary["timepoint"]) if str(t).startswith("week_")]
    weeks = []
    for tp in week_labels:
        rd, pred = get(primary, tp, "risk_difference"), get(primary, tp, "predicted_risk_difference")
        prob = get(primary, tp, "prob_risk_difference_gt_threshold")
        ket, plc = get(primary, tp, "ketamine_response_rate"), get(primary, tp, "placebo_response_rate")
        weeks.append(
            {
                "week": tp.split("_", 1)[1],
                "risk_difference": _interval_text(rd, _points),
                "prediction": f"{_points(pred['lower'])} to {_points(pred['upper'])}" if pred is not None else "-",
                "prob_above_threshold": pct(float(prob["mean"])) if prob is not None else "-",
                "ketamine_rate": pct(ket["median"]) if ket is not None else "-",
                "placebo_rate": pct(plc["median"]) if plc is not None else "-",
            }
        )
    by_set = []
    for name, frame in est.groupby("prior_set", sort=False):
        hl, below = get(frame, JOINT, "half_life"), get(frame, JOINT, "weeks_to_threshold")
        rd4 = get(frame, "week_4", "risk_difference")
        by_set.append(
            {
                "prior_set": name,
                "half_life_weeks": _interval_text(hl, lambda v: f"{v:.1f}") if hl is not None else "-",
                "weeks_to_threshold": _interval_text(below, lambda v: f"{v:.1f}") if below is not None else "-",
                "risk_difference_week_4": _interval_text(rd4, _points) if rd4 is not None else "-",
            }
        )
    hl, below = get(primary, JOINT, "half_life"), get(primary, JOINT, "weeks_to_threshold")
    above = get(primary, JOINT, "prob_above_threshold_at_horizon")
    prior_median = math.exp(float(half_life_prior["meanlog"]))
    spread = 1.959964 * float(half_life_prior["sdlog"])
    reported = studies[studies["quantity"] == "log_odds_ratio"] if "quantity" in studies else studies
    stated = reported["weeks_reported"].dropna()
    known = sorted({float(w) for w in stated})
    sentences = []
    if hl is not None:
        contraction = float(hl["contraction"])
        moved = (
            "the data barely moved it from its prior"
            if not contraction > 0.3
            else "the data narrowed it well beyond its prior"
            if contraction > 0.7
            else "the data narrowed it somewhat"
        )
        sentences.append(
            f"The difference over placebo halves every {hl['median']:.1f} weeks ({prob_label} CrI "
            f"{hl['lower']:.1f} to {hl['upper']:.1f}); its prior was {prior_median:.1f} weeks "
            f"({prior_median * math.exp(-spread):.1f} to {prior_median * math.exp(spread):.1f}), and "
            f"{moved} (contraction {contraction:.2f}). {len(stated)} of the {len(reported)} rows are at a stated "
            f"week, at {len(known)} distinct weeks ({', '.join(f'{w:g}' for w in known) or 'none'}); the others' weeks "
            "are parameters within their timepoint's window."
        )
    if below is not None:
        censored = (
            f"; {pct(float(above['mean']))} of the posterior is still above it at the horizon"
            if above is not None
            else ""
        )
        sentences.append(
            f"The difference falls below the clinical threshold ({100 * threshold:.0f} points) after "
            f"{below['median']:.1f} weeks ({prob_label} CrI {below['lower']:.1f} to {below['upper']:.1f}){censored}."
        )
    two = estimands[(estimands["model"] == "placebo_adjusted") & (estimands["prior_set"] == prior_set)]
    pairs = [
        ("immediate", [w for w in week_labels if w == "week_0"]),
        ("followup", [w for w in week_labels if 4 <= float(w.split("_", 1)[1]) <= 13]),
    ]
    for tp, labels in pairs:
        rd = get(two, tp, "risk_difference")
        here = [(w, get(primary, w, "risk_difference")) for w in labels]
        if rd is None or not here:
            continue
        sentences.append(
            f"At {WHEN.get(tp, tp)} the two-timepoint model gives a difference of "
            f"{_interval_text(rd, _points)} points; the time-course model gives "
            + ", ".join(f"{_interval_text(r, _points)} at week {w.split('_', 1)[1]}" for w, r in here)
            + "."
        )
    sentences.append(
        "The summary of findings uses the two-timepoint model (placebo_adjusted): it answers at the two timepoints "
        "the question asks about, with the follow-up effect a free fraction of the immediate one, so it assumes "
        "no shape for the decline, and every outcome enters at its timepoint even where the week is not given. "
        "The time-course model adds how long the relief lasts, but it assumes an exponential decline at one rate "
        "in every study, and with few rows at stated weeks its half-life rests largely on its prior "
        "(Dahan 2011's PK-PD estimate in the primary set). It is shown beside the headline, not instead of it; "
        "the table below gives its answer under every prior set."
    )
    return {"weeks": weeks, "by_prior_set": by_set, "sentences": sentences}
