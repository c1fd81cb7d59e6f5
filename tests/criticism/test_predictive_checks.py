"""Predictive checks: each passes a correct model and flags a real failure.

- prior predictive: a prior that conflicts with the data (mu ~ Normal(-4, 0.2)
  against observed rates near 0.6) is flagged, a sensible prior is not;
- posterior predictive and LOO-PIT: heterogeneous counts fitted with tau pinned
  near 0 (misspecified) are flagged, the same data with a sensible tau prior
  are not;
- randomised PIT: uniform for a calibrated model of counts (the plain PIT is
  not), and an overdispersed truth is flagged;
- end to end on the tiny workflow: every output exists, one row per observation
  of the fit's used.csv, flags follow the stated rule.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
import yaml
from conftest import FAST_SAMPLER

from crpsmeta.criticism import loo_pit as loo_pit_module
from crpsmeta.criticism import observations, predictive
from crpsmeta.figures import checks as check_figures
from crpsmeta.fitting.sampling import SamplerSettings, sample_model
from crpsmeta.models.pooled_rate import pooled_rate_model
from crpsmeta.models.priors import HalfNormal, Normal, set_hyperparameters

PROB = 0.95
PNG = b"\x89PNG\r\n\x1a\n"


def _how_to_read(fig) -> bool:
    return any("How to read:" in t.get_text() for t in fig.texts)


# ---- tail probabilities --------------------------------------------------------------------------------------
def test_mid_p_counts_ties_as_half_and_flags_both_tails():
    draws = np.array([[3, 3, 3, 3], [4, 5, 6, 7], [0, 1, 1, 2], [2, 3, 4, 5]], dtype=float)
    p = observations.tail_probability(draws, np.array([3, 3, 3, 3]))
    np.testing.assert_allclose(p, [0.5, 1.0, 0.0, 0.5 * 0.25 + 0.5])
    np.testing.assert_array_equal(observations.flag(p, PROB), [False, True, True, False])
    # weights move the tail probability: all weight on the draw above the observation
    weighted = observations.tail_probability(draws[3:], np.array([3]), weights=np.array([[0, 0, 1.0, 0]]))
    np.testing.assert_allclose(weighted, [1.0])


def _fake_record(observed, replicates, n):
    """An InferenceData with equal-weight LOO (tiny log-likelihood noise) and given replicates."""
    rng = np.random.default_rng(0)
    chains, draws = 2, replicates.shape[1] // 2
    k = len(observed)
    studies = [f"S{i}" for i in range(k)]
    rep = replicates.T.reshape(chains, draws, k)
    return az.from_dict(
        posterior={"mu": rng.normal(size=(chains, draws))},
        posterior_predictive={"y": rep},
        log_likelihood={"y": rng.normal(0, 1e-3, size=(chains, draws, k))},
        observed_data={"y": np.asarray(observed)},
        constant_data={"n": np.asarray(n)},
        coords={"study": studies},
        dims={"y": ["study"], "n": ["study"]},
    )


def test_randomised_pit_is_uniform_for_calibrated_counts_and_flags_overdispersion():
    rng = np.random.default_rng(11)
    k, n, s = 150, 3, 1000
    p = rng.uniform(0.2, 0.8, size=k)
    replicates = rng.binomial(n, p[:, None], size=(k, s))
    calibrated = _fake_record(rng.binomial(n, p), replicates, np.full(k, n))
    pit = loo_pit_module.loo_pit(calibrated, model="pooled_rate", unit="immediate", seed=1)
    assert pit["randomised"].all() and len(pit) == k
    assert not loo_pit_module.pit_uniformity(pit["loo_pit"], prob=PROB, seed=2)["flagged"]
    # the plain PIT P(rep <= y) of the same calibrated counts is not uniform
    plain = loo_pit_module.loo_pit(calibrated, model="pooled_rate", unit="immediate", seed=1, randomise=False)
    assert loo_pit_module.pit_uniformity(plain["loo_pit"], prob=PROB, seed=2)["flagged"]
    # truth overdispersed relative to the predictive (beta-binomial with the same means): flagged
    wide = rng.binomial(n, rng.beta(p * 0.3, (1 - p) * 0.3))
    over = loo_pit_module.loo_pit(
        _fake_record(wide, replicates, np.full(k, n)), model="pooled_rate", unit="immediate", seed=1
    )
    result = loo_pit_module.pit_uniformity(over["loo_pit"], prob=PROB, seed=2)
    assert result["flagged"] and result["p_value"] < 1 - PROB


# ---- prior predictive: prior-data conflict -------------------------------------------------------------------
def _prior_record(mu_prior):
    n = np.full(6, 50)
    y = np.array([28, 31, 29, 33, 30, 32])  # rates near 0.6
    model = pooled_rate_model(y, n, [f"S{i}" for i in range(6)], mu_prior=mu_prior, tau_prior=HalfNormal(1.0))
    with model:
        return pm.sample_prior_predictive(draws=400, random_seed=5)


def test_prior_predictive_flags_a_conflicting_prior_and_passes_a_sensible_one():
    conflicting = _prior_record(Normal(-4.0, 0.2))
    table = predictive.predictive_check(
        conflicting, "prior_predictive", model="pooled_rate", unit="immediate", prob=PROB
    )
    assert len(table) == 6 and table["flagged"].all()
    assert (table["direction"] == "observed higher than predicted").all()
    assert (table["observed"] > table["rep_upper"]).all()
    rates = predictive.prior_rates(conflicting, unit="immediate", prob=PROB).set_index("quantity")
    assert rates.loc["pooled_rate", "upper"] < 0.05 and rates.loc["pooled_rate", "p_below_0.05"] > 0.95

    sensible = _prior_record(Normal(0.0, 1.5))
    table = predictive.predictive_check(sensible, "prior_predictive", model="pooled_rate", unit="immediate", prob=PROB)
    assert not table["flagged"].any()
    assert ((table["rep_lower"] < table["observed"]) & (table["observed"] < table["rep_upper"])).all()
    rates = predictive.prior_rates(sensible, unit="immediate", prob=PROB).set_index("quantity")
    assert {"pooled_rate", "predicted_rate"} == set(rates.index)
    assert rates.loc["pooled_rate", "lower"] < 0.6 < rates.loc["pooled_rate", "upper"]


# ---- posterior predictive and LOO-PIT: a misspecified model --------------------------------------------------
@pytest.fixture(scope="module")
def heterogeneous_fits():
    """Twelve studies, logit rates spread evenly from -2 to 2 (n = 80 each), fitted with tau pinned near 0
    (HalfNormal(0.01)) and with tau ~ HalfNormal(1)."""
    k = 12
    n = np.full(k, 80)
    y = np.round(n / (1 + np.exp(-np.linspace(-2, 2, k)))).astype(int)
    model = pooled_rate_model(
        y, n, [f"S{i:02d}" for i in range(k)], mu_prior=Normal(0.0, 1.5), tau_prior=HalfNormal(1.0)
    )
    fits = {}
    for name, scale in (("pinned", 0.01), ("sensible", 1.0)):
        set_hyperparameters(model, {"tau_prior_scale": scale})  # priors are data: same graph, no rebuild
        fits[name] = sample_model(model, SamplerSettings.from_dict(FAST_SAMPLER), seed=3)
    return fits


def test_posterior_predictive_flags_tau_pinned_near_zero(heterogeneous_fits):
    tables = {
        name: predictive.predictive_check(
            idata, "posterior_predictive", model="pooled_rate", unit="followup", prob=PROB
        )
        for name, idata in heterogeneous_fits.items()
    }
    pinned, sensible = tables["pinned"], tables["sensible"]
    assert pinned["flagged"].sum() >= 6 and not sensible["flagged"].any()
    # the flagged studies are the extreme ones, each on its own side
    flagged = pinned[pinned["flagged"]]
    low = flagged["observed"] < flagged["rep_median"]
    assert (flagged.loc[low, "direction"] == "observed lower than predicted").all()
    assert low.any() and (~low).any()
    assert set(pinned["observation"]) == {f"S{i:02d}/ketamine/followup" for i in range(12)}
    fig = check_figures.predictive_check_plot(pinned, title="t", prob=PROB, how_to_read="x")
    assert _how_to_read(fig)


def test_loo_pit_flags_tau_pinned_near_zero(heterogeneous_fits):
    results = {}
    for name, idata in heterogeneous_fits.items():
        table = loo_pit_module.loo_pit(idata, model="pooled_rate", unit="followup", seed=4)
        results[name] = (table, loo_pit_module.pit_uniformity(table["loo_pit"], prob=PROB, seed=5))
    (pinned, u_pinned), (sensible, u_sensible) = results["pinned"], results["sensible"]
    assert u_pinned["flagged"] and u_pinned["p_value"] < 1 - PROB
    assert not u_sensible["flagged"] and u_sensible["p_value"] > 1 - PROB
    n_extreme = lambda t: int(observations.flag(t["loo_pit"], PROB).sum())  # noqa: E731
    assert n_extreme(pinned) >= 6 and n_extreme(sensible) == 0
    assert pinned["loo_pit"].between(0, 1).all() and (pinned["pareto_k_threshold"] <= 0.7).all()
    summary = predictive.summary_rows(
        pinned, model="pooled_rate", unit="followup", prior_set="pinned", prob=PROB, uniformity=u_pinned
    )
    assert list(summary.columns) == predictive.SUMMARY_COLUMNS and len(summary) == 13
    assert bool(summary.iloc[-1]["flagged"]) and summary.iloc[-1]["check"] == "loo_pit_uniformity"
    np.testing.assert_allclose(summary["p_value"].iloc[:-1], 1 - pinned["loo_pit"])
    fig = check_figures.loo_pit_plot(pinned, u_pinned, title="t")
    assert _how_to_read(fig)


# ---- end to end on the tiny workflow -------------------------------------------------------------------------
def _keys(frame: pd.DataFrame) -> list[tuple]:
    return sorted(zip(frame["study_id"], frame["arm"], frame["timepoint"], frame["kind"]))


def _used_keys(used: pd.DataFrame, model: str, unit: str) -> list[tuple]:
    if "kind" not in used:  # pooled_rate / placebo_map: one ketamine (placebo) count per study
        arm = "placebo" if model == "placebo_map" else "ketamine"
        used = used.assign(arm=arm, timepoint=unit, kind="responders")
    return _keys(used)


def test_workflow_writes_every_check_with_one_row_per_observation(tiny):
    results = tiny / "results"
    models = yaml.safe_load((tiny / "config" / "config.yaml").read_text())["models"]  # the fits in the plan (PLAN.fits)
    fits = sorted((p.parts[-3], p.parts[-2]) for p in (results / "fits").glob("*/*/idata.nc") if p.parts[-3] in models)
    assert ("placebo_adjusted", "joint") in fits and len(fits) >= 3
    summary = pd.read_csv(results / "checks" / "predictive_checks.csv")
    assert list(summary.columns) == predictive.SUMMARY_COLUMNS
    n_rows = 0
    for model, unit in fits:
        out = results / "checks" / model / unit
        used = _used_keys(pd.read_csv(results / "data" / model / unit / "used.csv"), model, unit)
        for name in ("prior_predictive", "posterior_predictive"):
            table = pd.read_csv(out / f"{name}.csv")
            assert _keys(table) == used, (model, unit, name)
            assert table["p_value"].between(0, 1).all()
            assert (table["flagged"] == observations.flag(table["p_value"], PROB)).all()
            assert (table["rep_lower"] <= table["rep_upper"]).all()
            png = (out / f"{name}.png").read_bytes()
            assert png[:8] == PNG and len(png) > 10_000
            n_rows += len(table)
        rates = pd.read_csv(out / "prior_rates.csv")
        expected = (
            {"placebo_response_rate", "ketamine_response_rate", "risk_difference"}
            if model == "placebo_adjusted"
            else {"pooled_rate", "predicted_rate"}
        )
        assert set(rates["quantity"]) == expected
        assert (rates["lower"] <= rates["median"]).all() and (rates["median"] <= rates["upper"]).all()
        assert (tiny / "results" / "logs" / "checks" / "criticise_fit" / model / f"{unit}.log").exists()
    out = results / "checks" / "placebo_adjusted" / "joint"
    pit = pd.read_csv(out / "loo_pit.csv")
    assert _keys(pit) == _used_keys(
        pd.read_csv(results / "data" / "placebo_adjusted" / "joint" / "used.csv"), "placebo_adjusted", "joint"
    )
    assert pit["loo_pit"].between(0, 1).all() and pit["pareto_k"].notna().all()
    assert (pit["randomised"] == (pit["kind"] == "responders")).all()
    unif = pd.read_csv(out / "loo_pit_uniformity.csv")
    assert len(unif) == 1 and unif.loc[0, "n"] == len(pit) and 0 < unif.loc[0, "p_value"] <= 1
    png = (out / "loo_pit.png").read_bytes()
    assert png[:8] == PNG and len(png) > 10_000
    n_rows += len(pit) + 1
    assert len(summary) == n_rows
    assert set(summary["check"]) == {
        "prior_predictive_check",
        "posterior_predictive_check",
        "loo_pit",
        "loo_pit_uniformity",
    }
    assert summary["p_value"].between(0, 1).all() and summary["flagged"].dtype == bool
    assert not (results / "checks" / "pooled_rate" / "immediate" / "loo_pit.csv").exists()  # primary model only
