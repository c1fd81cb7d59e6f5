"""GRADE-style certainty of each summary-of-findings row, drafted from the analysis itself.

GRADE rates the certainty of a body of evidence in four levels (high, moderate, low, very low), starting
high and coming down one level for each serious concern, two for each very serious one, in five domains
(Guyatt et al. 2011, J Clin Epidemiol 64:383-394; the GRADE handbook). Here each domain is judged by a
rule on the analysis's own numbers, with the reason written out, so a reviewer sees why and can disagree:

risk of bias
    the share of the row's patients in non-randomised designs (serious above ``nonrandomised_share``,
    very serious when no patient was randomised: a body of observational evidence starts two levels
    down in GRADE) and, for the placebo-adjusted rows, the design-bias term (serious when its posterior
    median is at least ``design_bias`` logit units from 0 in either direction);
inconsistency
    the between-study SD (serious when its posterior median exceeds ``tau``) and, for a difference, a
    prediction interval that crosses the clinical threshold (a new study could find a benefit above it
    or not);
indirectness
    placebo evidence from another population (the primary prior set's placebo response, when config
    says it is indirect), and responder definitions other than the reference for more than
    ``nonreference_share`` of the row's counts;
imprecision
    a credible interval that crosses 0 or the threshold (a difference), or wider than twice the threshold
    (a rate), and fewer patients than the optimal information size;
publication bias
    the small-study regression of the row's timepoint when it has at least ``small_study_min_k`` studies
    (serious when its coefficient's interval excludes 0); with fewer, "not assessable", no downgrade.

Each domain's downgrade is 0, 1 or 2 (at most 2 per domain). A reviewer overrides any domain of any row in
config (``certainty.overrides``, with a reason); the table marks the domains overridden.
"""

from __future__ import annotations

import pandas as pd

from crpsmeta.formatting import pct
from crpsmeta.vocabulary import JOINT

DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
DOMAIN_LABELS = {
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "publication_bias": "publication bias",
}
LEVELS = ("high", "moderate", "low", "very low")
# rows whose evidence is the placebo-adjusted difference (the probabilities and the NNT are read off it)
DIFFERENCE_ROWS = ("risk_difference", "nnt", "prob_risk_difference_gt_0", "prob_risk_difference_gt_threshold")
PLACEBO_PRIOR_MODELS = ("placebo_adjusted",)

DEFAULTS = {
    "nonrandomised_share": 0.5,
    "design_bias": 0.5,
    "tau": 0.5,
    "indirect_placebo": True,
    "placebo_population": "peripheral neuropathic pain trials (Duarte et al. 2022)",
    "nonreference_share": 0.5,
    "optimal_information_size": 400,
    "small_study_min_k": 10,
    "overrides": [],
}


def level(downgrades: int) -> str:
    """The certainty level after ``downgrades`` levels down from high (at most very low)."""
    return LEVELS[min(max(int(downgrades), 0), len(LEVELS) - 1)]


def _median(estimands: pd.DataFrame, model: str, timepoint: str, name: str) -> float | None:
    row = estimands[
        (estimands["model"] == model) & (estimands["timepoint"] == timepoint) & (estimands["estimand"] == name)
    ]
    return None if row.empty else float(row["median"].iloc[0])


def _judge(reasons: list[tuple[int, str]]) -> tuple[int, str]:
    """A domain's downgrade (the sum of its concerns, at most 2) and its reasons."""
    found = [(d, why) for d, why in reasons if d > 0]
    return min(2, sum(d for d, _ in found)), "; ".join(why for _, why in found)


def draft_domains(
    row: dict,
    *,
    estimands: pd.DataFrame,
    difference: dict | None,
    threshold: float,
    nonreference_share: float,
    small_study: pd.DataFrame | None,
    settings: dict,
) -> dict[str, tuple[int, str]]:
    """Each domain's (downgrade, reason) for one summary-of-findings row (see the module docstring).

    ``difference`` is the same timepoint's risk-difference row, whose interval the probabilities and the
    NNT are judged by; ``nonreference_share`` the share of the row's responder counts at a definition
    other than the reference.
    """
    s = {**DEFAULTS, **settings}
    model, tp = row["model"], row["timepoint"]
    is_difference = row["estimand"] in DIFFERENCE_ROWS
    judged = difference if (is_difference and difference is not None) else row
    out = {}

    patients, randomised = int(row.get("patients") or 0), int(row.get("randomised_patients") or 0)
    share = 1 - randomised / patients if patients else 1.0
    concerns = []
    if patients and randomised == 0:
        concerns.append((2, f"no randomised evidence: all {patients} patients in non-randomised designs"))
    elif share > s["nonrandomised_share"]:
        concerns.append((1, f"{pct(share)} of {patients} patients in non-randomised designs"))
    bias = _median(estimands, model, tp, "design_bias") if model in PLACEBO_PRIOR_MODELS else None
    if bias is not None and abs(bias) >= s["design_bias"]:
        concerns.append((1, f"design-bias term {bias:+.2f} logit (non-randomised series differ from trials)"))
    out["risk_of_bias"] = _judge(concerns)

    concerns = []
    tau = _median(estimands, model, tp, "tau")
    if tau is not None and tau > s["tau"]:
        concerns.append((1, f"between-study SD {tau:.2f} logit (above {s['tau']:g})"))
    lo, hi = judged.get("pred_lower"), judged.get("pred_upper")
    if is_difference and pd.notna(lo) and pd.notna(hi) and lo < threshold < hi:
        concerns.append((1, f"prediction interval {pct(lo)} to {pct(hi)} crosses the threshold {pct(threshold)}"))
    out["inconsistency"] = _judge(concerns)

    concerns = []
    if model in PLACEBO_PRIOR_MODELS and s["indirect_placebo"]:
        concerns.append((1, f"placebo response from {s['placebo_population']}, not CRPS"))
    if nonreference_share > s["nonreference_share"]:
        concerns.append(
            (1, f"{pct(nonreference_share)} of the responder counts use another definition than the reference")
        )
    out["indirectness"] = _judge(concerns)

    concerns = []
    lo, hi = judged.get("lower"), judged.get("upper")
    if is_difference and pd.notna(lo) and pd.notna(hi):
        if lo < 0 < hi:
            concerns.append((1, f"credible interval {pct(lo)} to {pct(hi)} includes no difference"))
        elif lo < threshold < hi:
            concerns.append((1, f"credible interval {pct(lo)} to {pct(hi)} crosses the threshold {pct(threshold)}"))
    elif pd.notna(lo) and pd.notna(hi) and hi - lo > 2 * threshold:
        concerns.append((1, f"credible interval {pct(lo)} to {pct(hi)} wider than {pct(2 * threshold)}"))
    if patients < s["optimal_information_size"]:
        concerns.append(
            (1, f"{patients} patients, fewer than the optimal information size of {s['optimal_information_size']}")
        )
    out["imprecision"] = _judge(concerns)

    test = None
    if small_study is not None and len(small_study):
        match = small_study[small_study["timepoint"] == tp]
        test = None if match.empty else match.iloc[0]
    if test is None or int(test["k"]) < s["small_study_min_k"]:
        k = "no" if test is None else int(test["k"])
        out["publication_bias"] = (
            0,
            f"not assessable ({k} studies; the small-study test needs {s['small_study_min_k']})",
        )
    elif test["lower"] > 0 or test["upper"] < 0:
        out["publication_bias"] = (
            1,
            f"small-study effect: coefficient {test['median']:+.2f} ({test['lower']:+.2f} to {test['upper']:+.2f})",
        )
    else:
        out["publication_bias"] = (0, "")
    return out


def certainty_table(
    sof: pd.DataFrame,
    estimands: pd.DataFrame,
    *,
    prior_set: str,
    threshold: float,
    nonreference_shares: dict[tuple[str, str], float],
    small_study: pd.DataFrame | None = None,
    settings: dict | None = None,
) -> pd.DataFrame:
    """One row per summary-of-findings row: each domain's downgrade and reason, overrides applied and marked,
    and the certainty level. ``nonreference_shares`` maps (model, timepoint) to the share of that fit's
    responder counts at a non-reference definition."""
    s = {**DEFAULTS, **(settings or {})}
    est = estimands[estimands["prior_set"] == prior_set]
    overrides = {(o["timepoint"], o["estimand"], o["domain"]): o for o in s["overrides"]}
    rows = []
    for r in sof.to_dict("records"):
        same = sof[(sof["timepoint"] == r["timepoint"]) & (sof["estimand"] == "risk_difference")]
        domains = draft_domains(
            r,
            estimands=est,
            difference=same.iloc[0].to_dict() if len(same) else None,
            threshold=threshold,
            nonreference_share=nonreference_shares.get((r["model"], r["timepoint"]), 0.0),
            small_study=small_study,
            settings=s,
        )
        out = {"timepoint": r["timepoint"], "estimand": r["estimand"]}
        overridden = []
        for domain in DOMAINS:
            downgrade, reason = domains[domain]
            o = overrides.get((r["timepoint"], r["estimand"], domain))
            if o is not None:
                overridden.append(domain)
                drafted = f"drafted {downgrade}: {reason}" if reason else f"drafted {downgrade}"
                downgrade, reason = int(o["downgrade"]), f"OVERRIDDEN by a reviewer: {o['reason']} ({drafted})"
            out[domain] = downgrade
            out[f"{domain}_reason"] = reason
        total = sum(out[d] for d in DOMAINS)
        out["certainty"] = level(total)
        out["downgrades"] = (
            "; ".join(f"{DOMAIN_LABELS[d]} -{out[d]}: {out[f'{d}_reason']}" for d in DOMAINS if out[d] > 0) or "none"
        )
        out["overridden"] = ";".join(overridden)
        rows.append(out)
    columns = [
        "timepoint",
        "estimand",
        *(c for d in DOMAINS for c in (d, f"{d}_reason")),
        "certainty",
        "downgrades",
        "overridden",
    ]
    return pd.DataFrame(rows, columns=columns)


def nonreference_shares(used_by_fit: dict, timepoints, reference: str) -> dict[tuple[str, str], float]:
    """(model, timepoint) -> :func:`nonreference_share`, for each fit (model, fit unit) -> its rows: a joint fit
    at each timepoint, a per-timepoint fit at its own."""
    return {
        (model, tp): nonreference_share(rows, tp, reference)
        for (model, unit), rows in used_by_fit.items()
        for tp in (timepoints if unit == JOINT else [unit])
    }


def nonreference_share(used: pd.DataFrame, timepoint: str, reference: str) -> float:
    """The share of a fit's responder counts at ``timepoint`` whose definition is not ``reference``."""
    if "definition_class" not in used:
        return 0.0
    rows = used
    if "kind" in rows:
        rows = rows[rows["kind"] == "responders"]
    if "timepoint" in rows:
        rows = rows[rows["timepoint"] == timepoint]
    classes = rows["definition_class"].dropna()
    return float((classes != reference).mean()) if len(classes) else 0.0
