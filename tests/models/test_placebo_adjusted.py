"""The placebo-adjusted model: construction, identification, recovery, shipped data, MAP and LOO."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit, logit

from crpsmeta.calibration.simulate import simulate_placebo_adjusted
from crpsmeta.fitting.diagnostics import diagnostics_table
from crpsmeta.fitting.record import constant_data
from crpsmeta.fitting.sampling import SamplerSettings, sample_model, sample_posterior
from crpsmeta.inputs.selection import model_inputs
from crpsmeta.models.build import build_model
from crpsmeta.models.placebo_adjusted import placebo_adjusted_model
from crpsmeta.models.priors import Beta, HalfNormal, Normal, RobustNormal, hyperparameter_labels
from crpsmeta.registry import priors_block
from crpsmeta.summaries.comparison import compare_loo, pareto_k_threshold
from crpsmeta.summaries.estimands import contraction, estimands_table, moment_ess, nnt_row

# The recovery fit: 4 x 1000 draws, as the default gates (bulk and tail ESS >= 400, R-hat <= 1.01) need on this
# model (4 x 500 leave bulk ESS near 200); nutpie, the default backend, for it costs about 40 % less than PyMC's
# NUTS here (same truths covered, bulk ESS about 650 against 580).
RECOVERY_SAMPLER = SamplerSettings(backend="nutpie", chains=4, draws=1000, tune=1000, target_accept=0.95, cores=2)
# What the placebo_map check needs (a median in (0.15, 0.45), an ESS between 5 and the pooled patients: about 0.32
# and 33 with this and with 4 x 1000 draws alike)
SHORT_SAMPLER = SamplerSettings(chains=2, draws=500, tune=500, target_accept=0.95, cores=1)
TRUTH = {
    "placebo_mu": [-0.4, -0.7],
    "effect_mu": 1.0,
    "persistence": 0.6,
    "tau": 0.3,
    "tau_placebo": 0.3,
    "rho": 0.5,
    "design_bias": 0.4,
    "pain_threshold": 2.0,
}


def split(other):
    """Simulated contrasts and pain rows, as the model takes them."""
    return other[other["kind"] == "contrast"], other[other["kind"] == "pain"]


def priors(**over):
    base = dict(
        placebo_mu=Normal(-0.5, 1.0),
        effect_mu=Normal(0.0, 1.5),
        persistence=Beta(1, 1),
        tau=HalfNormal(0.5),
        tau_placebo=HalfNormal(0.5),
        rho=Beta(2, 2),
        design_bias=Normal(0.0, 0.5),
        pain_threshold=Normal(2.0, 1.0),
    )
    return {**base, **over}


def test_inputs_from_shipped_data(shipped_tables, shipped_config):
    studies, outcomes = shipped_tables
    used, gaps = model_inputs(
        studies, outcomes, model="placebo_adjusted", unit="joint", options=shipped_config["placebo_adjusted"]
    )
    contrast = used[used["kind"] == "contrast"]
    assert list(contrast["study_id"]) == ["Sigtermans2009"]
    # Hedges' g from the abstract's means and SEMs (n = 30 per arm), then Chinn 2000
    sd_k, sd_p = 0.51 * np.sqrt(30), 0.48 * np.sqrt(30)
    pooled = np.sqrt((sd_k**2 + sd_p**2) / 2)
    g = (2.68 - 5.45) / pooled * (1 - 3 / (4 * 60 - 9))
    assert contrast["log_or"].iloc[0] == pytest.approx(-np.pi / np.sqrt(3) * g)
    assert contrast["se"].iloc[0] == pytest.approx(np.pi / np.sqrt(3) * np.sqrt(60 / 900 + g**2 / 120))
    arms = used[used["kind"] == "responders"]
    assert (arms["nonrandomised"] == 1).all()  # every count comes from a single-arm series
    assert set(gaps["study_id"]) >= {"Goldberg2010", "Mangnus2021"}
    # Patil2012's change of -7.2 points (SE 0.51, n 18) enters as a standardised improvement
    pain = used[used["kind"] == "pain"].set_index("study_id")
    sd = 0.51 * np.sqrt(18)
    assert pain.loc["Patil2012", "d"] == pytest.approx(7.2 / sd)
    assert pain.loc["Patil2012", "se"] == pytest.approx(np.sqrt(1 / 18 + (7.2 / sd) ** 2 / 36))
    off, _ = model_inputs(
        studies,
        outcomes,
        model="placebo_adjusted",
        unit="joint",
        options={**shipped_config["placebo_adjusted"], "continuous_contrast": "off"},
    )
    assert (off["kind"] == "contrast").sum() == 0
    no_pain, gaps_off = model_inputs(
        studies,
        outcomes,
        model="placebo_adjusted",
        unit="joint",
        options={**shipped_config["placebo_adjusted"], "single_arm_pain": "off"},
    )
    assert (no_pain["kind"] == "pain").sum() == 0 and "Patil2012" in set(gaps_off["study_id"])


def test_same_patients_never_enter_twice():
    """A contrast is not formed where both arms already report responder counts."""
    from crpsmeta.inputs.selection import placebo_inputs

    studies = pd.DataFrame({"study_id": ["A2000"], "design": ["rct"], "include": [True]})
    base = {
        "study_id": "A2000",
        "timepoint": "immediate",
        "n": 30,
        "responder_definition": "x",
        "definition_class": "ge30pct",
        "notes": None,
        "responders_pct": None,
        "verification": "primary",
    }
    outcomes = pd.DataFrame(
        [
            {**base, "arm": "ketamine", "measure": "responders", "responders": 20},
            {**base, "arm": "placebo", "measure": "responders", "responders": 10},
            {**base, "arm": "ketamine", "measure": "pain", "responders": None, "pain_mean": 3.0, "pain_sd": 2.0},
            {**base, "arm": "placebo", "measure": "pain", "responders": None, "pain_mean": 5.0, "pain_sd": 2.0},
        ]
    ).astype({"n": "Int64", "responders": "Int64"})
    arms, contrasts, _ = placebo_inputs(studies, outcomes)
    assert len(arms) == 2 and len(contrasts) == 0


def test_controlled_medians_and_quartiles_convert_by_wan():
    """An RCT reporting pain medians with quartiles enters through Wan 2014, then Hedges' g and Chinn."""
    from crpsmeta.inputs.conversions import log_or_from_smd, mean_sd_from_median_iqr, smd
    from crpsmeta.inputs.selection import placebo_inputs

    studies = pd.DataFrame({"study_id": ["B2001"], "design": ["rct"], "include": [True]})
    base = {
        "study_id": "B2001",
        "timepoint": "immediate",
        "measure": "pain",
        "n": 40,
        "pain_scale_max": 10,
        "verification": "derived",
        "notes": None,
        "responders": None,
        "responder_definition": None,
        "definition_class": None,
        "responders_pct": None,
    }
    outcomes = pd.DataFrame(
        [
            {**base, "arm": "ketamine", "pain_median": 4.0, "pain_q1": 2.5, "pain_q3": 6.0},
            {**base, "arm": "placebo", "pain_median": 6.0, "pain_q1": 4.5, "pain_q3": 7.5},
        ]
    ).astype({"n": "Int64", "responders": "Int64"})
    _, contrasts, _ = placebo_inputs(studies, outcomes)
    mk, sk = mean_sd_from_median_iqr(4.0, 2.5, 6.0, 40)
    mp, sp = mean_sd_from_median_iqr(6.0, 4.5, 7.5, 40)
    g, var = smd(mk, sk, 40, mp, sp, 40)
    assert contrasts["log_or"].iloc[0] == pytest.approx(log_or_from_smd(-g, var)[0])
    assert "Wan et al. 2014" in contrasts["derivation"].iloc[0]


def test_structure_and_priors_as_data():
    arms, other = simulate_placebo_adjusted(
        TRUTH, np.random.default_rng(1), n_rct=2, n_single=3, n_contrast=1, n_pain=1, missing=0.0
    )
    contrasts, pains = split(other)
    arms.loc[0, "definition_class"] = "pain_free"
    model = placebo_adjusted_model(arms, contrasts, pains=pains, priors=priors(), definition_offset_sd=0.5)
    assert {
        "placebo_mu",
        "effect_mu",
        "persistence",
        "tau",
        "tau_placebo",
        "rho",
        "design_bias",
        "pain_threshold",
        "definition_offset_z",
        "u_raw",
        "v_raw",
    } == {v.name for v in model.free_RVs}
    assert [v.name for v in model.observed_RVs] == ["y", "contrast", "pain"]
    assert len(model.coords["pain_obs"]) == 2 and len(model.coords["contrast_obs"]) == 2
    assert model.coords["definition"] == ("pain_free",)  # the reference class has no offset
    assert {"effect_mu_prior_mean", "placebo_mu_prior_sd", "definition_offset_prior_sd"} <= hyperparameter_labels(model)
    # the rows in three matrices and the hyperparameters in one vector: nutpie compiles a helper per data node
    assert {v.name for v in model.data_vars} == {"arm_data", "contrast_data", "pain_data", "prior_hyperparameters"}


def test_the_packed_data_give_each_row_its_likelihood():
    """The likelihood of the model's data matrices, at a random point, is the sum over the input rows of each
    row's density written out by hand: each field reaches the term it belongs to."""
    arms, other = simulate_placebo_adjusted(
        TRUTH, np.random.default_rng(3), n_rct=3, n_single=3, n_contrast=1, n_pain=1, missing=0.0
    )
    contrasts, pains = split(other)
    arms = arms.reset_index(drop=True)
    arms.loc[[0, 3], "definition_class"] = ["pain_free", "ge50pct"]
    model = placebo_adjusted_model(arms, contrasts, pains=pains, priors=priors(), definition_offset_sd=0.5)
    rng = np.random.default_rng(4)
    point = {k: v + rng.normal(0, 0.5, size=np.shape(v)) for k, v in model.initial_point().items()}
    likelihood = model.compile_fn(model.logp(vars=model.observed_RVs, sum=True), inputs=model.value_vars)(point)
    get = model.compile_fn(
        model.replace_rvs_by_values(
            [model[v] for v in ("study_placebo", "study_effect", "design_bias", "definition_offset", "pain_threshold")]
        ),
        inputs=model.value_vars,
        on_unused_input="ignore",
    )
    alpha, delta, bias, offset, kappa = get(point)
    study = {s: i for i, s in enumerate(model.coords["study"])}
    time = {"immediate": 0, "followup": 1}
    offsets = dict(zip(model.coords["definition"], offset))
    expected = 0.0
    for r in arms.itertuples():
        s, t, k = study[r.study_id], time[r.timepoint], float(r.arm == "ketamine")
        eta = alpha[s, t] + k * delta[s, t] + r.nonrandomised * bias + offsets.get(r.definition_class, 0.0)
        expected += stats.binom(r.n, expit(eta)).logpmf(r.responders)
    for r in contrasts.itertuples():
        expected += stats.norm(delta[study[r.study_id], time[r.timepoint]], r.se).logpdf(r.log_or)
    for r in pains.itertuples():
        s, t, k = study[r.study_id], time[r.timepoint], float(r.arm == "ketamine")
        eta = alpha[s, t] + k * delta[s, t] + r.nonrandomised * bias
        expected += stats.norm(np.sqrt(3) / np.pi * (eta + kappa), r.se).logpdf(r.d)
    assert len(offsets) == 2 and len(pains) == 2 and len(contrasts) == 2
    assert likelihood == pytest.approx(expected, rel=1e-10)


def test_robust_prior_density_is_the_mixture():
    prior = RobustNormal(-0.49, 0.6, 0.8, -0.49, 2.0)
    arms, other = simulate_placebo_adjusted(TRUTH, np.random.default_rng(2), n_rct=1, n_single=1)
    model = placebo_adjusted_model(arms, split(other)[0], priors=priors(placebo_mu=prior), definition_offset_sd=0.5)
    x = np.array([0.3, -1.2])
    logp = model.compile_fn(
        model.logp(vars=[model["placebo_mu"]], sum=True), inputs=[model.rvs_to_values[model["placebo_mu"]]]
    )
    point = {"placebo_mu": x}
    expected = np.log(0.8 * stats.norm(-0.49, 0.6).pdf(x) + 0.2 * stats.norm(-0.49, 2.0).pdf(x)).sum()
    assert logp(point) == pytest.approx(expected, rel=1e-9)


@pytest.fixture(scope="module")
def recovery_fit():
    arms, other = simulate_placebo_adjusted(
        TRUTH,
        np.random.default_rng(2024),
        n_rct=14,
        n_single=20,
        n_contrast=4,
        n_pain=8,
        missing=0.2,
        n_low=40,
        n_high=120,
    )
    contrasts, pains = split(other)
    model = placebo_adjusted_model(arms, contrasts, pains=pains, priors=priors(), definition_offset_sd=0.5)
    return sample_model(model, RECOVERY_SAMPLER, seed=5)


def test_recovers_placebo_response_and_ketamine_effect(recovery_fit):
    """Mixed designs and reporting (RCT counts, RCT contrasts, single-arm counts, single-arm pain changes),
    both timepoints, missing outcomes."""
    post = recovery_fit.posterior
    truth = {
        "placebo_mu": np.array(TRUTH["placebo_mu"]),
        "effect_mu": TRUTH["effect_mu"],
        "persistence": TRUTH["persistence"],
        "design_bias": TRUTH["design_bias"],
        "placebo_response_rate": expit(np.array(TRUTH["placebo_mu"])),
        "effect": np.array([1.0, 0.6]) * TRUTH["effect_mu"],
        "pain_threshold": TRUTH["pain_threshold"],
    }
    for name, value in truth.items():
        draws = post[name].values.reshape(-1, *np.shape(value))
        lo, hi = np.quantile(draws, [0.005, 0.995], axis=0)
        assert np.all((lo <= value) & (value <= hi)), f"{name}: truth {value} outside 99 % [{lo}, {hi}]"
    assert diagnostics_table(recovery_fit, {})["passed"].all()


def test_estimand_rows_and_contraction(recovery_fit):
    table = estimands_table(recovery_fit, model="placebo_adjusted", prior_set="test", timepoint="joint", threshold=0.10)
    names = {
        "placebo_response_rate",
        "ketamine_response_rate",
        "risk_difference",
        "odds_ratio",
        "nnt",
        "prob_risk_difference_gt_0",
        "prob_risk_difference_gt_threshold",
        "tau",
        "design_bias",
    }
    for tp in ("immediate", "followup"):
        assert names <= set(table.loc[table["timepoint"] == tp, "estimand"])
    assert (table.loc[table["estimand"] == "persistence", "timepoint"] == "followup").all()
    rows = table.set_index(["timepoint", "estimand"])
    # with 14 RCTs the placebo response and the effect are well informed
    assert rows.loc[("immediate", "placebo_response_rate"), "contraction"] > 0.8
    assert rows.loc[("immediate", "log_odds_ratio"), "contraction"] > 0.8
    rd = rows.loc[("immediate", "risk_difference")]
    nnt = rows.loc[("immediate", "nnt")]
    assert nnt["median"] == pytest.approx(1 / rd["median"], rel=1e-9)
    p = rows.loc[("immediate", "prob_risk_difference_gt_0"), "mean"]
    assert p == pytest.approx((recovery_fit.posterior["risk_difference"].sel(timepoint="immediate") > 0).mean())


@pytest.mark.slow  # 40-100 s on CI
def test_without_controlled_evidence_the_effect_stays_near_its_prior():
    """Single-arm series inform placebo + effect + bias together: nothing separates them.

    Prior variances 4 (placebo), 1 (effect), 0.25 (bias); even a perfectly
    known sum would leave Var(effect) = 1 - 1/5.25, a contraction of 0.19.
    """
    arms, other = simulate_placebo_adjusted(TRUTH, np.random.default_rng(9), n_rct=0, n_single=25, n_low=60, n_high=150)
    pri = priors(placebo_mu=Normal(0.0, 2.0), effect_mu=Normal(0.0, 1.0))
    model = placebo_adjusted_model(arms, split(other)[0], priors=pri, definition_offset_sd=0.5)
    # nutpie: the non-identified ridge makes PyMC's NUTS slow here (about 2 minutes)
    idata = sample_model(
        model, SamplerSettings(backend="nutpie", chains=4, draws=1000, tune=1000, target_accept=0.95, cores=2), seed=6
    )
    c = contraction(idata.posterior["effect_mu"].values, idata.prior["effect_mu"].values)
    assert c < 0.3, f"contraction {c:.2f}: the model invented identification"
    post = idata.posterior["effect_mu"].values.ravel()
    assert abs(post.mean()) < 0.6 and post.std() > 0.8
    # what single-arm data do pin down is the sum
    total = (
        idata.posterior["placebo_mu"].sel(timepoint="immediate")
        + idata.posterior["effect_mu"]
        + idata.posterior["design_bias"]
    ).values
    assert total.std() < 0.3


@pytest.mark.slow  # 60-85 s on CI; `bash run.sh analysis` gates the same fit
def test_shipped_data_default_priors_no_divergences(shipped_tables, shipped_config):
    studies, outcomes = shipped_tables
    options = shipped_config["placebo_adjusted"]
    used, _ = model_inputs(studies, outcomes, model="placebo_adjusted", unit="joint", options=options)
    block = priors_block(shipped_config["prior_sets"]["default"], "placebo_adjusted")
    model = build_model("placebo_adjusted", used, block, options)
    settings = SamplerSettings.from_dict(shipped_config["sampler"], cores=2)
    idata = sample_posterior(model, settings, seed=20261121)
    assert int(idata.sample_stats["diverging"].sum()) == 0
    assert diagnostics_table(idata, shipped_config["diagnostics"])["passed"].all()


def test_nnt_when_the_difference_crosses_zero():
    rd = np.random.default_rng(0).normal(0.05, 0.1, size=(4, 2000))
    row = nnt_row(rd, 0.95, "equal_tailed", estimand="nnt")
    assert row["lower"] > 0 > row["upper"]
    assert "through infinity" in row["note"]
    benefit = nnt_row(np.full((2, 100), 0.2) + np.linspace(0, 0.1, 100), 0.95, "equal_tailed")
    assert 0 < benefit["lower"] < benefit["median"] < benefit["upper"]


def test_placebo_map_gives_a_predictive_prior_with_its_ess():
    """placebo_map = the pooled_rate model on placebo arms; its prior ESS by moment matching."""
    rng = np.random.default_rng(4)
    n = rng.integers(30, 80, size=8)
    y = rng.binomial(n, expit(logit(0.3) + 0.3 * rng.standard_normal(8)))
    used = pd.DataFrame({"study_id": [f"P{i}" for i in range(8)], "n": n, "responders": y})
    model = build_model(
        "placebo_map",
        used,
        {"mu": {"family": "normal", "mean": 0, "sd": 2}, "tau": {"family": "half_normal", "scale": 1}},
    )
    idata = sample_model(model, SHORT_SAMPLER, seed=8)
    table = estimands_table(idata, model="placebo_map", prior_set="test", timepoint="immediate").set_index("estimand")
    pred = table.loc["predicted_placebo_rate"]
    assert 0.15 < pred["median"] < 0.45
    ess = table.loc["predicted_placebo_rate_ess", "mean"]
    draws = idata.posterior["predicted_rate"].values
    assert ess == pytest.approx(moment_ess(draws))
    # a Beta(a, b) has moment ESS a + b
    assert moment_ess(np.random.default_rng(1).beta(6, 14, size=200_000)) == pytest.approx(20, rel=0.03)
    assert 5 < ess < n.sum()  # informative, but worth fewer patients than were pooled


def test_loo_comparison_on_common_observations(recovery_fit, mock_pymc_sample):
    """The comparison table's code, on the recovery fit and a pooled_rate record whose "posterior" is prior draws
    (pymc.testing.mock_sample, with the log-likelihood PyMC's sampler would add): what is compared, on which
    observations, with which Pareto-k bound, not which model wins."""
    from crpsmeta.models.pooled_rate import pooled_rate_model

    y = recovery_fit.observed_data["y"]
    labels = [str(x) for x in y["arm_obs"].values]
    idx = [i for i, lab in enumerate(labels) if lab.endswith("/ketamine/immediate")]
    studies = [labels[i].split("/")[0] for i in idx]
    n = constant_data(recovery_fit, "n")
    pooled = pooled_rate_model(y.values[idx], n[idx], studies, mu_prior=Normal(0, 1.5), tau_prior=HalfNormal(1))
    pooled_idata = sample_posterior(pooled, SHORT_SAMPLER, seed=3)
    table, pareto = compare_loo({"immediate": pooled_idata}, recovery_fit)
    assert set(table["model"]) == {"pooled_rate", "placebo_adjusted"}
    assert (table["n_obs"] == len(studies)).all()
    assert set(pareto["study_id"]) == set(studies)
    draws = {"pooled_rate": pooled_idata, "placebo_adjusted": recovery_fit}
    for _, row in table.iterrows():  # each model's bound from its own number of draws (1000 and 4000)
        posterior = draws[row["model"]].posterior
        assert row["pareto_k_threshold"] == pytest.approx(
            pareto_k_threshold(posterior.sizes["chain"] * posterior.sizes["draw"])
        )
    assert np.isfinite(table["elpd_loo"]).all() and (table["elpd_diff"] >= 0).all()
