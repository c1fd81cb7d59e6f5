"""Small-study effects (Egger-type regression, funnel plot) and meta-regression.

Each check is shown to fail: the Egger-type regression flags a simulated
small-study effect and does not flag data without one; a simulated dose
effect is recovered; studies without a covariate are left out and counted.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
from conftest import FAST_SAMPLER
from scipy.special import expit

from crpsmeta.calibration.simulate import simulate_regression
from crpsmeta.figures.funnel import funnel_plot
from crpsmeta.fitting.sampling import SamplerSettings, sample_posterior
from crpsmeta.inputs.covariates import (
    COVARIATES,
    DEFAULT_LEVELS,
    LEFT_OUT,
    add_covariate,
    covariate_values,
    design,
    dose_mg_kg_h,
    estimable,
    logit_rate,
    logit_se,
)
from crpsmeta.inputs.selection import model_inputs
from crpsmeta.models.build import build_model
from crpsmeta.registry import priors_block
from crpsmeta.summaries.regression import meta_regression_table, small_study_table, underpowered_label

POOLED_PRIORS = {"mu": {"family": "normal", "mean": 0.0, "sd": 1.5}, "tau": {"family": "half_normal", "scale": 1.0}}
TIMEPOINTS = ("immediate", "followup")


def _sample(model, seed):
    return sample_posterior(model, SamplerSettings.from_dict(FAST_SAMPLER, cores=2), seed)


def _studies(**columns) -> pd.DataFrame:
    """A minimal studies table: study_id plus the given columns."""
    return pd.DataFrame(columns)


# ---- covariate extraction, study counts, missing values ---------------------------------------


def test_dose_is_the_midpoint_in_mg_kg_h_and_missing_units_are_left_out(shipped_tables):
    studies, outcomes = shipped_tables
    dose = dose_mg_kg_h(studies)
    for _, row in studies.iterrows():
        lo, hi = row["dose_min_mg_kg_h"], row["dose_max_mg_kg_h"]
        if pd.notna(lo) and pd.notna(hi):
            assert dose[row["study_id"]] == pytest.approx((lo + hi) / 2)
        elif pd.isna(lo) and pd.isna(hi):
            assert np.isnan(dose[row["study_id"]])  # e.g. only "10-50 mg/h": no body weight to convert
    one_sided = _studies(
        study_id=["A", "B", "C"], dose_min_mg_kg_h=[0.2, np.nan, np.nan], dose_max_mg_kg_h=[np.nan, 0.6, np.nan]
    )
    assert dose_mg_kg_h(one_sided).tolist()[:2] == [0.2, 0.6] and np.isnan(dose_mg_kg_h(one_sided)["C"])


@pytest.mark.parametrize("timepoint", TIMEPOINTS)
@pytest.mark.parametrize("covariate", ["dose", "days", "setting", "definition", "se"])
def test_each_study_is_either_used_or_left_out_with_its_reason(shipped_tables, covariate, timepoint):
    studies, outcomes = shipped_tables
    pooled, _ = model_inputs(studies, outcomes, model="pooled_rate", unit=timepoint)
    used, gaps = model_inputs(studies, outcomes, model=f"regression_{covariate}", unit=timepoint)
    left_out = gaps[gaps["reason"].astype(str).str.endswith(LEFT_OUT)]
    assert sorted([*used["study_id"], *left_out["study_id"]]) == sorted(pooled["study_id"])
    assert used["level"].notna().all()
    by_id = studies.set_index("study_id")
    for sid in left_out["study_id"]:  # left out only when the table really lacks the covariate
        if covariate == "days":
            assert pd.isna(by_id.loc[sid, "days"])
        if covariate == "setting":
            assert pd.isna(by_id.loc[sid, "setting"])
        if covariate == "dose":
            assert pd.isna(by_id.loc[sid, ["dose_min_mg_kg_h", "dose_max_mg_kg_h"]]).all()
    if covariate == "se":  # every count has a standard error
        assert left_out.empty
        assert np.allclose(used["value"], logit_se(used["responders"], used["n"]))


def test_missing_values_drop_studies_and_counts_follow():
    used = pd.DataFrame(
        {
            "study_id": ["A", "B", "C", "D", "E"],
            "n": [10, 20, 30, 40, 50],
            "responders": [5, 6, 7, 8, 9],
            "definition_class": ["ge30pct"] * 5,
        }
    )
    studies = _studies(
        study_id=list("ABCDE"),
        days=[4.0, np.nan, 5.0, 10.0, np.nan],
        setting=["inpatient", "outpatient", "icu", None, "outpatient"],
        dose_min_mg_kg_h=[np.nan] * 5,
        dose_max_mg_kg_h=[np.nan] * 5,
    )
    kept, dropped = add_covariate(used, studies, "days")
    assert list(kept["study_id"]) == ["A", "C", "D"] and list(dropped["study_id"]) == ["B", "E"]
    assert all(r.endswith(LEFT_OUT) for r in dropped["reason"])
    d = design(kept, "days")
    assert d.counts == {"days": 3} and abs(d.X.mean()) < 1e-12  # centred
    assert d.centre[0] == pytest.approx(np.mean([4.0, 5.0, 10.0]))

    kept, dropped = add_covariate(used, studies, "setting", DEFAULT_LEVELS["setting"])
    assert list(dropped["study_id"]) == ["D"]
    assert kept.set_index("study_id").loc["C", "level"] == "inpatient"  # ICU counts as inpatient by default
    d = design(kept, "setting", DEFAULT_LEVELS["setting"])
    assert d.reference == "inpatient" and d.terms == ["setting[outpatient]"]
    assert d.counts == {"inpatient": 2, "outpatient": 2} and sum(d.counts.values()) == len(kept)
    assert np.allclose(d.X.mean(axis=0), 0)

    # a value in no configured level is left out, with the level named in the reason
    only_in = {"inpatient": ["inpatient"], "outpatient": ["outpatient"]}
    kept, dropped = add_covariate(used, studies, "setting", only_in)
    assert "C" in set(dropped["study_id"]) and any("'icu' is in no level" in r for r in dropped["reason"])
    with pytest.raises(ValueError, match="in both"):
        covariate_values(studies, used, "setting", {"a": ["icu"], "b": ["icu", "inpatient"]})


def test_not_estimable_without_two_studies_or_variation():
    base = pd.DataFrame({"study_id": ["A", "B"], "n": [10, 20], "responders": [5, 6]})
    ok, why = estimable(base.iloc[:1].assign(level=[3.0]), "dose")
    assert not ok and "needs >= 2" in why
    ok, why = estimable(base.assign(level=[5.0, 5.0]), "days")
    assert not ok and "same value" in why
    ok, why = estimable(base.assign(level=["inpatient", "inpatient"]), "setting")
    assert not ok and "one level" in why
    assert estimable(base.assign(level=["inpatient", "outpatient"]), "setting") == (True, "")


def test_logit_rate_and_se_add_a_half_only_to_zero_cells():
    x, n = np.array([0, 3, 10]), np.array([4, 10, 10])
    assert logit_se(x, n) == pytest.approx(
        [np.sqrt(1 / 0.5 + 1 / 4.5), np.sqrt(1 / 3 + 1 / 7), np.sqrt(1 / 10.5 + 1 / 0.5)]
    )
    assert logit_rate(x, n) == pytest.approx([np.log(0.5 / 4.5), np.log(3 / 7), np.log(10.5 / 0.5)])


@pytest.mark.parametrize(
    "k, expected", [(3, "underpowered (k < 10)"), (9, "underpowered (k < 10)"), (10, ""), (25, "")]
)
def test_underpowered_label(k, expected):
    assert underpowered_label(k, 10) == expected
    assert underpowered_label(k, 4) == ("underpowered (k < 4)" if k < 4 else "")


# ---- the checks can fail: simulated truth ---------------------------------------------------


def _small_study_data(beta, seed, k=20, mu=0.4, tau=0.2):
    """k studies of 10-150 patients whose logit rate rises by ``beta`` per unit of expected SE."""
    rng = np.random.default_rng(seed)
    n = np.round(np.exp(rng.uniform(np.log(10), np.log(150), k))).astype(int)
    p = expit(mu)
    sim = simulate_regression(1 / np.sqrt(n * p * (1 - p)), n, mu=mu, tau=tau, beta=beta, rng=rng)
    used, _ = add_covariate(sim, _studies(study_id=sim["study_id"]), "se")
    return used


def _egger_row(used, seed, min_studies=10):
    options = {"coefficient_prior": {"family": "normal", "mean": 0.0, "sd": 2.0}}
    idata = _sample(build_model("regression_se", used, POOLED_PRIORS, options), seed)
    return small_study_table([{"timepoint": "sim", "used": used, "idata": idata}], min_studies=min_studies).iloc[0]


def test_egger_type_regression_flags_a_simulated_small_study_effect():
    row = _egger_row(_small_study_data(beta=3.0, seed=11), seed=1)
    assert row["flagged"] and row["lower"] > 0 and row["prob_gt_0"] > 0.975
    assert row["conclusion"].startswith("small-study effect") and row["label"] == ""


def test_egger_type_regression_does_not_flag_data_without_one():
    used = _small_study_data(beta=0.0, seed=11)
    row = _egger_row(used, seed=1)
    assert not row["flagged"] and row["lower"] < 0 < row["upper"]
    assert row["conclusion"].startswith("no small-study effect")
    # the same kind of data with few studies is labelled underpowered
    few = small_study_table([{"timepoint": "sim", "used": used.iloc[:6], "idata": None}]).iloc[0]
    assert few["label"] == "underpowered (k < 10)" and not few["flagged"]


def _dose_data(beta, seed, k=15, mu=0.3, tau=0.3):
    """k studies with infusion rates 0.1-3 mg/kg/h given as min-max ranges (some without a dose)."""
    rng = np.random.default_rng(seed)
    lo = rng.uniform(0.05, 2.5, k)
    hi = lo + rng.uniform(0.1, 1.0, k)
    n = rng.integers(20, 81, k)
    sim = simulate_regression((lo + hi) / 2, n, mu=mu, tau=tau, beta=beta, rng=rng)
    lo[:2], hi[:2] = np.nan, np.nan  # two studies report mg/h only
    studies = _studies(study_id=sim["study_id"], dose_min_mg_kg_h=lo, dose_max_mg_kg_h=hi)
    used, dropped = add_covariate(sim, studies, "dose")
    return used, dropped


def test_meta_regression_recovers_a_simulated_dose_effect():
    truth = 0.8
    used, dropped = _dose_data(truth, seed=5)
    assert len(dropped) == 2 and len(used) == 13
    options = {"coefficient_prior": {"family": "normal", "mean": 0.0, "sd": 1.0}}
    idata = _sample(build_model("regression_dose", used, POOLED_PRIORS, options), seed=2)
    fit = {"covariate": "dose", "timepoint": "sim", "used": used, "left_out": dropped, "idata": idata}
    row = meta_regression_table([fit], min_studies=10).iloc[0]
    assert row["lower"] < truth < row["upper"]  # covers the truth
    assert row["lower"] > 0  # and a large effect is distinguished from none
    assert (row["k"], row["k_missing"], row["label"]) == (13, 2, "")
    # centring: mu is the logit rate at the mean dose, so the centre is the studies' mean dose
    assert row["centre"] == pytest.approx(used["value"].mean())


@pytest.mark.slow
def test_egger_type_false_flags_and_power_over_replications():
    """20 data sets without and 20 with a small-study effect: false flags stay near the nominal 5 %
    (at most 3 of 20; P(>= 4 | 5 %) = 0.016) and the effect is flagged in at least 15 of 20."""
    null = sum(bool(_egger_row(_small_study_data(0.0, seed=100 + r), seed=r)["flagged"]) for r in range(20))
    power = sum(bool(_egger_row(_small_study_data(3.0, seed=200 + r), seed=r)["flagged"]) for r in range(20))
    print(f"false flags {null}/20, flagged effects {power}/20")
    assert null <= 3 and power >= 15


@pytest.mark.slow
def test_dose_coverage_over_replications():
    """95 % intervals of a simulated dose effect cover the truth in at least 16 of 20 data sets
    (P(<= 15 | 95 %) = 0.003)."""
    truth, covered = 0.8, 0
    options = {"coefficient_prior": {"family": "normal", "mean": 0.0, "sd": 1.0}}
    for r in range(20):
        used, _ = _dose_data(truth, seed=300 + r)
        idata = _sample(build_model("regression_dose", used, POOLED_PRIORS, options), seed=r)
        lo, hi = np.quantile(idata.posterior["beta"].values, [0.025, 0.975])
        covered += bool(lo < truth < hi)
    print(f"dose interval covered the truth in {covered}/20")
    assert covered >= 16


# ---- tables and the funnel plot without MCMC ----------------------------------------------------


def test_tables_report_unfitted_regressions_with_why():
    used = pd.DataFrame(
        {
            "study_id": ["A", "B"],
            "n": [10, 20],
            "responders": [5, 6],
            "value": ["x", "y"],
            "level": ["inpatient", "inpatient"],
        }
    )
    left = pd.DataFrame({"study_id": ["C"]})
    table = meta_regression_table(
        [{"covariate": "setting", "timepoint": "followup", "used": used, "left_out": left, "idata": None}],
        levels=DEFAULT_LEVELS,
    )
    row = table.iloc[0]
    assert row["note"].startswith("not fitted") and np.isnan(row["median"])
    assert (row["k"], row["k_missing"], row["k_by_level"]) == (2, 1, "inpatient: 2")
    assert row["label"] == "underpowered (k < 10)"


def test_funnel_plot_says_how_to_read_it_and_labels_underpowered():
    used = pd.DataFrame({"study_id": ["A", "B", "C"], "n": [33, 4, 48], "responders": [25, 0, 30]})
    mu = np.random.default_rng(0).normal(0.8, 0.3, 1000)
    fig = funnel_plot(
        used, timepoint_text="at the end of infusion", pooled_mu=mu, label=underpowered_label(len(used), 10)
    )
    texts = " ".join(t.get_text() for t in fig.texts)
    ax = fig.axes[0]
    assert "How to read:" in texts
    assert "underpowered (k < 10)" in ax.get_title()
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # standard error axis inverted, as metafor's funnel()
    points = ax.collections[-1].get_offsets()
    assert np.allclose(points[:, 0], logit_rate(used["responders"], used["n"]))


def test_every_covariate_has_a_prior_in_the_shipped_config(shipped_config):
    priors = shipped_config["meta_regression"]["coefficient_priors"]
    assert set(priors) == set(COVARIATES)
    assert (
        priors_block(shipped_config["prior_sets"]["default"], "regression_dose")
        == shipped_config["prior_sets"]["default"]["pooled_rate"]
    )


# ---- end to end on tests/tiny -------------------------------------------------------------------


def _tiny_plan(tiny):
    import yaml

    cfg = yaml.safe_load((tiny / "config" / "config.yaml").read_text())
    return cfg.get("meta_regression", {}).get("covariates", list(COVARIATES)[:4])


def test_tiny_meta_regression_table_counts_studies(tiny):
    res = tiny / "results"
    table = pd.read_csv(res / "regression" / "meta_regression.csv")
    covariates = _tiny_plan(tiny)
    assert set(table["covariate"]) == set(covariates) and set(table["timepoint"]) == set(TIMEPOINTS)
    for _, row in table.iterrows():
        model = f"regression_{row['covariate']}"
        used = pd.read_csv(res / "data" / model / row["timepoint"] / "used.csv")
        pooled = pd.read_csv(res / "data" / "pooled_rate" / row["timepoint"] / "used.csv")
        assert row["k"] == len(used) and row["k"] + row["k_missing"] == len(pooled)
        if COVARIATES[row["covariate"]].kind == "categorical" and row["k"]:
            assert sum(int(part.split(": ")[1]) for part in row["k_by_level"].split("; ")) == row["k"]
        assert row["label"] == underpowered_label(row["k"], 10)
        fit = res / "fits" / model / row["timepoint"] / "idata.nc"
        if str(row["note"]).startswith("not fitted"):
            assert not fit.exists() and np.isnan(row["median"])
            continue
        assert row["lower"] <= row["median"] <= row["upper"]
        idata = az.from_netcdf(fit)
        assert {
            "posterior",
            "sample_stats",
            "log_likelihood",
            "prior",
            "prior_predictive",
            "posterior_predictive",
            "observed_data",
            "constant_data",
        } <= set(idata.groups())
        assert float(idata.constant_data["X"].mean()) == pytest.approx(0.0, abs=1e-9)  # centred
        diag = pd.read_csv(res / "diagnostics" / model / row["timepoint"] / "diagnostics.csv")
        assert diag["passed"].all()


def test_tiny_small_study_table_and_funnel_plots(tiny):
    res = tiny / "results"
    table = pd.read_csv(res / "regression" / "small_study.csv")
    assert list(table["timepoint"]) == list(TIMEPOINTS)
    for _, row in table.iterrows():
        used = pd.read_csv(res / "data" / "regression_se" / row["timepoint"] / "used.csv")
        assert row["k"] == len(used) < 10 and row["label"] == "underpowered (k < 10)"
        assert row["flagged"] == (row["lower"] > 0 or row["upper"] < 0)
        assert "underpowered" in row["conclusion"]
        png = res / "regression" / f"funnel_{row['timepoint']}.png"
        assert png.stat().st_size > 20_000
    # regression fits stay out of the estimand table and the prior-set grid
    estimands = pd.read_csv(res / "summaries" / "estimands.csv")
    assert not estimands["model"].str.startswith("regression_").any()
    assert not list((res / "sensitivity").glob("*/fits/regression_*"))


def test_funnel_footer_comes_from_the_records():
    """The footer names the pooled fit's prior set and priors and the Egger-type fit's coefficient prior, as the
    records say (not as config says now)."""
    import arviz as az

    from crpsmeta.figures.funnel import funnel_prior_text
    from crpsmeta.fitting.record import stamp

    priors = {"mu": {"family": "normal", "mean": 0, "sd": 1.5}, "tau": {"family": "half_normal", "scale": 0.5}}
    pooled = az.from_dict(posterior={"mu": np.zeros((1, 2))})
    stamp(pooled, {"prior_set": "mine", "priors": priors})
    egger = az.from_dict(posterior={"mu": np.zeros((1, 2))})
    stamp(
        egger,
        {
            "prior_set": "mine",
            "priors": priors,
            "options": {"coefficient_prior": {"family": "normal", "mean": 0, "sd": 2}},
        },
    )
    assert funnel_prior_text(pooled) == "Prior set 'mine': mu ~ Normal(mean=0, sd=1.5), tau ~ HalfNormal(scale=0.5)."
    assert funnel_prior_text(pooled, egger).endswith(" Egger-type coefficient ~ Normal(mean=0, sd=2).")
