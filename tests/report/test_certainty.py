"""GRADE-style certainty per summary-of-findings row (crpsmeta.report.certainty): each rule triggered by
numbers built to trigger it, and left alone by numbers built not to."""

from __future__ import annotations

import pandas as pd
import pytest

from crpsmeta.report.certainty import DOMAINS, certainty_table, level, nonreference_share, nonreference_shares

THRESHOLD = 0.10


def _sof(**changes):
    """One risk-difference row and its probability row at one timepoint, safe by default (no concern)."""
    rd = {
        "timepoint": "immediate",
        "estimand": "risk_difference",
        "model": "placebo_adjusted",
        "estimate": 0.30,
        "lower": 0.20,
        "upper": 0.40,
        "pred_lower": 0.15,
        "pred_upper": 0.45,
        "patients": 1000,
        "randomised_patients": 900,
    }
    rd.update(changes)
    prob = {**rd, "estimand": "prob_risk_difference_gt_0", "lower": float("nan"), "upper": float("nan")}
    return pd.DataFrame([rd, prob])


def _estimands(tau=0.2, design_bias=0.0):
    return pd.DataFrame(
        [
            {"model": "placebo_adjusted", "prior_set": "default", "timepoint": "immediate", "estimand": n, "median": v}
            for n, v in (("tau", tau), ("design_bias", design_bias))
        ]
    )


def _table(sof=None, estimands=None, small=None, shares=None, **settings):
    return certainty_table(
        _sof() if sof is None else sof,
        _estimands() if estimands is None else estimands,
        prior_set="default",
        threshold=THRESHOLD,
        nonreference_shares=shares or {},
        small_study=small,
        settings={"indirect_placebo": False, **settings},
    ).set_index("estimand")


def test_levels_count_down_from_high_and_stop_at_very_low():
    assert [level(k) for k in range(6)] == ["high", "moderate", "low", "very low", "very low", "very low"]


def test_nothing_to_worry_about_is_high():
    t = _table()
    assert (t[list(DOMAINS)] == 0).all().all() and set(t["certainty"]) == {"high"}
    assert t.loc["risk_difference", "downgrades"] == "none"


@pytest.mark.parametrize(
    ("changes", "estimands", "expected"),
    [
        ({"randomised_patients": 0}, None, 2),  # no randomised evidence: starts as observational
        ({"randomised_patients": 400}, None, 1),  # 60 % in non-randomised designs
        ({}, _estimands(design_bias=0.7), 1),  # single-arm series differ from trials
        ({"randomised_patients": 400}, _estimands(design_bias=-0.7), 2),
    ],
)
def test_risk_of_bias(changes, estimands, expected):
    assert _table(_sof(**changes), estimands).loc["risk_difference", "risk_of_bias"] == expected


def test_inconsistency_from_tau_and_a_prediction_interval_across_the_threshold():
    assert _table(estimands=_estimands(tau=0.8)).loc["risk_difference", "inconsistency"] == 1
    assert _table(_sof(pred_lower=-0.05)).loc["risk_difference", "inconsistency"] == 1
    both = _table(_sof(pred_lower=-0.05), _estimands(tau=0.8)).loc["risk_difference"]
    assert both["inconsistency"] == 2 and "crosses the threshold" in both["inconsistency_reason"]


def test_indirectness_from_the_placebo_evidence_and_the_definitions():
    assert _table(indirect_placebo=True).loc["risk_difference", "indirectness"] == 1
    shares = {("placebo_adjusted", "immediate"): 0.8}
    t = _table(shares=shares, indirect_placebo=True).loc["risk_difference"]
    assert t["indirectness"] == 2 and "80 %" in t["indirectness_reason"]


def test_imprecision_from_the_interval_and_the_information_size():
    assert _table(_sof(lower=-0.05)).loc["risk_difference", "imprecision"] == 1  # includes no difference
    assert _table(_sof(lower=0.05)).loc["risk_difference", "imprecision"] == 1  # crosses the threshold
    assert _table(_sof(lower=0.15)).loc["risk_difference", "imprecision"] == 0
    assert _table(_sof(patients=163, randomised_patients=150)).loc["risk_difference", "imprecision"] == 1
    # the probability row is judged by the difference it is read off
    t = _table(_sof(lower=-0.05))
    assert t.loc["prob_risk_difference_gt_0", "imprecision"] == 1


def test_publication_bias_only_when_the_small_study_test_can_be_run():
    def small(k, lower, upper):
        return pd.DataFrame(
            [{"timepoint": "immediate", "k": k, "median": (lower + upper) / 2, "lower": lower, "upper": upper}]
        )

    few = _table(small=small(5, 0.5, 2.0)).loc["risk_difference"]
    assert few["publication_bias"] == 0 and "not assessable" in few["publication_bias_reason"]
    assert _table(small=small(12, 0.5, 2.0)).loc["risk_difference", "publication_bias"] == 1
    assert _table(small=small(12, -0.5, 2.0)).loc["risk_difference", "publication_bias"] == 0
    assert "not assessable" in _table().loc["risk_difference", "publication_bias_reason"]


def test_a_reviewer_override_replaces_the_draft_and_is_marked():
    override = {
        "timepoint": "immediate",
        "estimand": "risk_difference",
        "domain": "risk_of_bias",
        "downgrade": 0,
        "reason": "the series were judged at low risk of bias on full texts",
    }
    t = _table(_sof(randomised_patients=0), overrides=[override])
    rd, prob = t.loc["risk_difference"], t.loc["prob_risk_difference_gt_0"]
    assert rd["risk_of_bias"] == 0 and rd["overridden"] == "risk_of_bias" and rd["certainty"] == "high"
    assert rd["risk_of_bias_reason"].startswith("OVERRIDDEN by a reviewer") and "drafted 2" in rd["risk_of_bias_reason"]
    assert prob["risk_of_bias"] == 2 and prob["overridden"] == ""  # only the row named


def test_the_share_of_counts_at_another_definition():
    used = pd.DataFrame(
        {
            "kind": ["responders", "responders", "responders", "contrast"],
            "timepoint": ["immediate", "immediate", "followup", "immediate"],
            "definition_class": ["ge30pct", "complete_relief", "pain_free", None],
        }
    )
    assert nonreference_share(used, "immediate", "ge30pct") == 0.5
    assert nonreference_share(used, "followup", "ge30pct") == 1.0
    assert nonreference_share(used.drop(columns="definition_class"), "immediate", "ge30pct") == 0.0


def test_a_per_timepoint_fit_counts_at_its_own_timepoint_only():
    immediate = pd.DataFrame({"definition_class": ["complete_relief", "any_relief"]})  # no timepoint column
    followup = pd.DataFrame({"definition_class": ["ge30pct", "pain_free"]})
    joint = pd.DataFrame(
        {"kind": "responders", "timepoint": ["immediate", "followup"], "definition_class": ["ge30pct", "pain_free"]}
    )
    shares = nonreference_shares(
        {
            ("pooled_rate", "immediate"): immediate,
            ("pooled_rate", "followup"): followup,
            ("placebo_adjusted", "joint"): joint,
        },
        ["immediate", "followup"],
        "ge30pct",
    )
    assert shares == {
        ("pooled_rate", "immediate"): 1.0,
        ("pooled_rate", "followup"): 0.5,
        ("placebo_adjusted", "immediate"): 0.0,
        ("placebo_adjusted", "followup"): 1.0,
    }
