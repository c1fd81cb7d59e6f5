"""The report's comparison of placebo evidence: prior sets that differ from the primary set in the placebo
response prior alone, and how the placebo-adjusted difference moves between them (issue 17, point 2)."""

from __future__ import annotations

import copy

import pandas as pd
import yaml
from conftest import ROOT

from crpsmeta.report.findings import placebo_prior_alternatives, placebo_prior_comparison

SHIPPED = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["prior_sets"]


def test_the_shipped_crps_placebo_set_differs_from_the_primary_in_its_placebo_prior_alone():
    assert placebo_prior_alternatives(SHIPPED, "default") == ["crps_placebo"]
    centre = SHIPPED["crps_placebo"]["placebo_adjusted"]["placebo_mu"]["mean"]
    assert round(1 / (1 + 2.718281828 ** (-centre)), 3) == 0.161  # the CRPS trial's 16.1 %


def test_a_set_that_changes_more_than_the_placebo_prior_is_not_a_placebo_comparison():
    sets = copy.deepcopy(SHIPPED)
    sets["crps_placebo"]["placebo_adjusted"]["effect_mu"] = {"family": "normal", "mean": 0.0, "sd": 0.5}
    assert "crps_placebo" not in placebo_prior_alternatives(sets, "default")


def _rows(prior_set, tp, placebo, rd):
    return [
        {
            "model": "placebo_adjusted",
            "prior_set": prior_set,
            "timepoint": tp,
            "estimand": name,
            "median": m,
            "lower": m - 0.1,
            "upper": m + 0.1,
        }
        for name, m in (("placebo_response_rate", placebo), ("risk_difference", rd))
    ]


def test_the_sentence_gives_both_sets_numbers_at_each_timepoint():
    sensitivity = pd.DataFrame(
        _rows("default", "immediate", 0.37, 0.31)
        + _rows("crps_placebo", "immediate", 0.20, 0.45)
        + _rows("default", "followup", 0.37, 0.15)
        + _rows("crps_placebo", "followup", 0.19, 0.30)
    )
    said = placebo_prior_comparison(sensitivity, SHIPPED, "default", ["immediate", "followup"], "95 %")
    assert len(said) == 2
    assert said[0].startswith("At the end of infusion") and said[1].startswith("At 1-3 months")
    assert "'crps_placebo' (centred on 16 %)" in said[0] and "'default' (centred on 38 %)" in said[0]
    assert "from 31 % (95 % CrI 21 % to 41 %) to 45 %" in said[0]
    # no rows for the alternative: nothing said rather than a sentence with holes
    assert (
        placebo_prior_comparison(
            sensitivity[sensitivity["prior_set"] == "default"], SHIPPED, "default", ["immediate"], "95 %"
        )
        == []
    )
