"""One entry per model (crpsmeta.registry), and everything that names a model reads it."""

from __future__ import annotations

import pytest
from conftest import load_schema


def test_every_model_config_can_name_has_an_entry_whose_blocks_exist(shipped_config):
    from crpsmeta.registry import MODELS, REGRESSION_MODELS

    config_models = load_schema("config")["properties"]["models"]["items"]["enum"]
    covariates = load_schema("config")["properties"]["meta_regression"]["properties"]["covariates"]["items"]["enum"]
    assert set(MODELS) == set(config_models) | {f"regression_{c}" for c in [*covariates, "se"]}
    for name, spec in MODELS.items():
        assert spec.name == name
        for prior_set in shipped_config["prior_sets"].values():
            assert spec.prior_block in prior_set  # every prior set has the block the model reads
        assert spec.options in shipped_config
        assert spec.arm in (None, "ketamine", "placebo")
    assert {m for m, s in MODELS.items() if s.arm is None} == {"placebo_adjusted", "time_course"}
    assert set(REGRESSION_MODELS) == {m for m in MODELS if m.startswith("regression_")}


def test_the_data_step_plan_and_report_read_the_registry(shipped_config):
    from crpsmeta import plan, registry
    from crpsmeta.registry import pooled_arm, priors_block, spec
    from crpsmeta.report import findings

    assert registry.fit_units("placebo_adjusted", ["immediate", "followup"]) == ["joint"]
    assert registry.fit_units("placebo_map", ["followup"]) == ["followup"]
    default = shipped_config["prior_sets"]["default"]
    assert priors_block(default, "placebo_map") == default["pooled_rate"]
    # each model reads its keys of the block: an edit of the half-life does not refit placebo_adjusted, nor an
    # edit of persistence the time-course model
    assert "half_life" not in priors_block(default, "placebo_adjusted")
    assert "persistence" not in priors_block(default, "time_course")
    assert priors_block(default, "time_course")["half_life"] == default["placebo_adjusted"]["half_life"]
    options = plan.model_options(shipped_config, "time_course")
    assert options["placebo_late_week"] == shipped_config["time_course"]["placebo_late_week"]
    assert "weeks" not in options  # which weeks are reported is the summaries' choice, not the fit's
    assert plan.model_options(shipped_config, "placebo_map") == shipped_config["placebo_adjusted"]
    assert plan.model_options(shipped_config, "regression_days")["covariate"] == "days"
    assert findings.MODEL_QUESTIONS["placebo_map"] == spec("placebo_map").question
    assert pooled_arm("regression_se") == "ketamine" and pooled_arm("nonsense") is None
    with pytest.raises(ValueError, match="unknown model 'nonsense'; known: pooled_rate"):
        spec("nonsense")


def test_each_model_s_estimands_are_those_its_summary_reports(tiny):
    """The registry names every estimand a fit's summary writes, and the summary code names no other."""
    import pandas as pd

    from crpsmeta.registry import MODELS, REGRESSION_MODELS
    from crpsmeta.summaries.estimands import ESTIMANDS, PLACEBO_ADJUSTED_BY_TIMEPOINT, PLACEBO_ADJUSTED_SCALARS

    for model, names in ESTIMANDS.items():
        assert set(names) <= set(MODELS[model].estimands), model
    assert set(PLACEBO_ADJUSTED_BY_TIMEPOINT) | set(PLACEBO_ADJUSTED_SCALARS) <= set(
        MODELS["placebo_adjusted"].estimands
    )
    written = pd.read_csv(tiny / "results" / "summaries" / "estimands.csv")
    for model, rows in written.groupby("model"):
        assert set(rows["estimand"]) <= set(MODELS[model].estimands), model
    assert set(written["model"]) >= {"pooled_rate", "placebo_adjusted"}
    assert all(MODELS[m].estimands == ("beta",) for m in REGRESSION_MODELS)
