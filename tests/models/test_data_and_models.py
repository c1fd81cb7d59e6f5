"""Data preparation and model construction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crpsmeta.inputs.selection import model_inputs, responder_arms
from crpsmeta.models.build import build_model
from crpsmeta.models.pooled_rate import pooled_rate_model, typical_within_variance
from crpsmeta.models.priors import (
    HalfCauchy,
    HalfNormal,
    LogNormal,
    Normal,
    hyperparameter_labels,
    prior_from_dict,
    set_hyperparameters,
)


def test_responder_arms_use_counts_and_list_gaps(shipped_tables):
    studies, outcomes = shipped_tables
    used, gaps = responder_arms(studies, outcomes, arm="ketamine", timepoint="followup")
    rows = outcomes[
        (outcomes["arm"] == "ketamine") & (outcomes["timepoint"] == "followup") & (outcomes["measure"] == "responders")
    ]
    with_counts = rows[rows["n"].notna() & rows["responders"].notna()]
    assert list(used["study_id"]) == list(with_counts["study_id"])
    assert (used["responders"] <= used["n"]).all()
    assert set(gaps["study_id"]) == set(rows["study_id"]) - set(used["study_id"])
    assert gaps["reason"].str.contains("no responder count").all()


def test_definition_filter(shipped_tables):
    studies, outcomes = shipped_tables
    used, gaps = responder_arms(studies, outcomes, arm="ketamine", timepoint="followup", definitions=["ge30pct"])
    assert set(used["definition_class"]) == {"ge30pct"}
    assert (gaps["reason"] == "responder definition not selected in config").any()


def test_excluded_studies_never_enter(shipped_tables):
    studies, outcomes = shipped_tables
    excluded = set(studies.loc[~studies["include"].astype(bool), "study_id"])
    for tp in ("immediate", "followup"):
        used, _ = model_inputs(studies, outcomes, model="pooled_rate", unit=tp)
        assert not excluded & set(used["study_id"])
        assert used["source"].notna().all()


def test_typical_within_variance_matches_hand_computation():
    x, n = np.array([3, 10, 0]), np.array([10, 20, 8])
    add = np.array([0, 0, 0.5])
    v = 1 / (x + add) + 1 / (n - x + add)
    w = 1 / v
    expected = (len(x) - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())
    assert typical_within_variance(x, n) == pytest.approx(expected)
    assert np.isnan(typical_within_variance([3], [10]))


def test_prior_value_objects():
    assert prior_from_dict({"family": "normal", "mean": 0, "sd": 1.5}) == Normal(0.0, 1.5)
    assert prior_from_dict({"family": "half_cauchy", "scale": 2}) == HalfCauchy(2.0)
    assert str(HalfNormal(0.5)) == "HalfNormal(scale=0.5)"
    with pytest.raises(ValueError, match="unknown prior family"):
        prior_from_dict({"family": "gamma", "alpha": 1})


def test_pooled_rate_structure():
    model = pooled_rate_model(
        [5, 7, 0], [10, 12, 4], ["A", "B", "C"], mu_prior=Normal(0, 1.5), tau_prior=HalfNormal(1.0)
    )
    assert {v.name for v in model.free_RVs} == {"mu", "tau", "z", "z_new"}
    assert [v.name for v in model.observed_RVs] == ["y"]
    assert model.coords["study"] == ("A", "B", "C")
    assert {"pooled_rate", "predicted_rate", "study_rate", "theta", "i2"} <= {d.name for d in model.deterministics}


@pytest.mark.parametrize("tau_prior", [HalfNormal(1.0), HalfCauchy(0.5), LogNormal(-0.915, 0.76)])
def test_priors_enter_as_data_and_edits_do_not_rebuild(tau_prior):
    """Changing a prior hyperparameter changes the compiled logp exactly as the density says."""
    model = pooled_rate_model([5, 7], [10, 12], ["A", "B"], mu_prior=Normal(0, 1.5), tau_prior=tau_prior)
    names = hyperparameter_labels(model)
    assert {"mu_prior_mean", "mu_prior_sd"} <= names
    assert set(tau_prior.data_names("tau").values()) <= names
    # every hyperparameter in one data vector, the counts in one matrix: one nutpie extraction helper each
    assert {v.name for v in model.data_vars} == {"study_data", "typical_within_variance", "prior_hyperparameters"}
    logp = model.compile_logp()  # compiled once
    point = model.initial_point()
    before = logp(point)
    set_hyperparameters(model, {"mu_prior_sd": 3.0})
    after = logp(point)
    mu = point["mu"]
    expected = stats.norm(0, 3.0).logpdf(mu) - stats.norm(0, 1.5).logpdf(mu)
    assert after - before == pytest.approx(expected, rel=1e-9)


def test_model_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pooled_rate_model([11], [10], ["A"], mu_prior=Normal(0, 1), tau_prior=HalfNormal(1))
    with pytest.raises(ValueError, match="at least one study"):
        pooled_rate_model([], [], [], mu_prior=Normal(0, 1), tau_prior=HalfNormal(1))


def test_build_model_from_config_mapping(shipped_tables, shipped_config):
    studies, outcomes = shipped_tables
    used, _ = model_inputs(studies, outcomes, model="pooled_rate", unit="immediate")
    model = build_model("pooled_rate", used, shipped_config["prior_sets"]["default"]["pooled_rate"])
    assert list(model.coords["study"]) == list(used["study_id"])
    counts = model["study_data"].get_value()
    np.testing.assert_array_equal(counts[:, list(model.coords["study_field"]).index("n")], used["n"].to_numpy())
    np.testing.assert_array_equal(
        counts[:, list(model.coords["study_field"]).index("responders")], used["responders"].to_numpy()
    )
