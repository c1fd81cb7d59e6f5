"""Posterior summaries: intervals, exact binomial CIs, table shape."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from crpsmeta.summaries.estimands import ESTIMAND_COLUMNS, clopper_pearson, summarize_draws


def draws(x):
    return xr.DataArray(np.asarray(x).reshape(4, -1), dims=("chain", "draw"))


def test_equal_tailed_interval_is_central_quantiles():
    x = np.random.default_rng(0).normal(size=4000)
    s = summarize_draws(draws(x), prob=0.9)
    assert (s["lower"], s["upper"]) == pytest.approx(tuple(np.quantile(x, [0.05, 0.95])))
    assert s["median"] == pytest.approx(np.median(x)) and s["interval_prob"] == 0.9


def test_hdi_is_shorter_than_equal_tailed_for_skewed_draws():
    x = np.random.default_rng(1).exponential(size=4000)
    et = summarize_draws(draws(x), 0.95, "equal_tailed")
    hdi = summarize_draws(draws(x), 0.95, "hdi")
    assert hdi["upper"] - hdi["lower"] < et["upper"] - et["lower"]
    assert hdi["lower"] < et["lower"]


def test_convergence_columns_flag_disagreeing_chains():
    rng = np.random.default_rng(2)
    good = summarize_draws(draws(rng.normal(size=4000)))
    bad = summarize_draws(draws(np.concatenate([rng.normal(size=2000), rng.normal(3, 1, size=2000)])))
    assert good["r_hat"] < 1.01 < bad["r_hat"]
    assert good["ess_bulk"] > 1000 > bad["ess_bulk"]


@pytest.mark.parametrize("x, n", [(0, 4), (4, 4), (25, 33), (1, 5)])
def test_clopper_pearson_matches_scipy_exact(x, n):
    lo, hi = clopper_pearson([x], [n], 0.95)
    ci = stats.binomtest(x, n).proportion_ci(0.95, method="exact")
    assert (lo[0], hi[0]) == pytest.approx((ci.low, ci.high), abs=1e-10)


def test_public_columns_are_the_issue_s_in_order():
    required = [
        "model",
        "prior_set",
        "timepoint",
        "estimand",
        "mean",
        "sd",
        "median",
        "lower",
        "upper",
        "interval_prob",
        "r_hat",
        "ess_bulk",
        "ess_tail",
    ]
    assert [c for c in ESTIMAND_COLUMNS if c in required] == required


# ---- placebo_adjusted: new-study predictions and the placebo decomposition ----
def _posterior(tau, tau_placebo, rho=0.0, design_bias=0.5, draws_per_chain=20000, seed=3):
    """A fake placebo_adjusted posterior with known population values (chain, draw[, timepoint])."""
    rng = np.random.default_rng(seed)
    shape = (2, draws_per_chain)
    tp = ["immediate", "followup"]
    placebo_mu = np.broadcast_to(np.array([-0.5, -0.4]), (*shape, 2)) + 0.1 * rng.normal(size=(*shape, 2))
    effect = np.broadcast_to(np.array([1.2, 0.6]), (*shape, 2)) + 0.1 * rng.normal(size=(*shape, 2))
    scalar = lambda v: xr.DataArray(np.full(shape, float(v)), dims=("chain", "draw"))  # noqa: E731
    return xr.Dataset(
        {
            "placebo_mu": xr.DataArray(placebo_mu, dims=("chain", "draw", "timepoint"), coords={"timepoint": tp}),
            "effect": xr.DataArray(effect, dims=("chain", "draw", "timepoint"), coords={"timepoint": tp}),
            "tau": scalar(tau),
            "tau_placebo": scalar(tau_placebo),
            "rho": scalar(rho),
            "design_bias": scalar(design_bias),
        }
    )


def _expit(x):
    return 1 / (1 + np.exp(-x))


def test_new_study_prediction_equals_the_pooled_rate_without_heterogeneity():
    from crpsmeta.summaries.estimands import placebo_adjusted_derived

    post = _posterior(tau=0.0, tau_placebo=0.0)
    d = placebo_adjusted_derived(post, seed=1)
    pm, eff = post["placebo_mu"].values, post["effect"].values
    np.testing.assert_allclose(d["predicted_placebo_rate"], _expit(pm))
    np.testing.assert_allclose(d["predicted_risk_difference"], _expit(pm + eff) - _expit(pm))


def test_new_study_prediction_is_wider_than_the_credible_interval_and_has_the_right_spread():
    from crpsmeta.summaries.estimands import placebo_adjusted_derived

    post = _posterior(tau=0.8, tau_placebo=0.5, rho=0.7)
    d = placebo_adjusted_derived(post, seed=1)
    pm, eff = post["placebo_mu"].values, post["effect"].values
    pred_rd, rd = d["predicted_risk_difference"], _expit(pm + eff) - _expit(pm)
    for i in range(2):
        wp = np.subtract(*np.quantile(pred_rd[..., i], [0.975, 0.025]))
        wc = np.subtract(*np.quantile(rd[..., i], [0.975, 0.025]))
        assert wp > 1.5 * wc
    # on the logit scale the new study's placebo arm has SD sqrt(0.1^2 + 0.5^2)
    logit = np.log(d["predicted_placebo_rate"] / (1 - d["predicted_placebo_rate"]))
    assert logit[..., 0].std() == pytest.approx(np.hypot(0.1, 0.5), rel=0.03)
    # the new study's effects at the two timepoints are correlated by rho (0.7 x tau^2 / total variance)
    delta = np.log(d["predicted_ketamine_rate"] / (1 - d["predicted_ketamine_rate"])) - logit
    r = np.corrcoef(delta[..., 0].ravel(), delta[..., 1].ravel())[0, 1]
    assert r == pytest.approx(0.7 * 0.64 / (0.64 + 0.01), abs=0.03)


def test_placebo_share_decomposes_the_single_arm_rate_and_is_reproducible():
    from crpsmeta.summaries.estimands import placebo_adjusted_derived

    post = _posterior(tau=0.3, tau_placebo=0.3, design_bias=0.5)
    d = placebo_adjusted_derived(post, seed=7)
    pm, eff = post["placebo_mu"].values, post["effect"].values
    np.testing.assert_allclose(d["single_arm_rate"], _expit(pm + eff + 0.5))
    np.testing.assert_allclose(d["placebo_share"] * d["single_arm_rate"], _expit(pm))
    again = placebo_adjusted_derived(post, seed=7)
    other = placebo_adjusted_derived(post, seed=8)
    np.testing.assert_array_equal(again["predicted_risk_difference"], d["predicted_risk_difference"])
    assert not np.array_equal(other["predicted_risk_difference"], d["predicted_risk_difference"])


def test_estimands_table_draws_new_studies_with_the_record_s_own_seed():
    import arviz as az

    from crpsmeta.fitting.record import record_seed
    from crpsmeta.summaries.estimands import estimands_table

    def record(seed):
        post = _posterior(tau=0.5, tau_placebo=0.5, draws_per_chain=500)
        post["placebo_response_rate"] = 1 / (1 + np.exp(-post.placebo_mu))
        post["ketamine_response_rate"] = 1 / (1 + np.exp(-(post.placebo_mu + post.effect)))
        post["risk_difference"] = post.ketamine_response_rate - post.placebo_response_rate
        post["odds_ratio"] = np.exp(post.effect)
        post["persistence"] = post.tau * 0 + 0.5
        if seed is not None:
            post.attrs["seed"] = seed  # where the fit rule stores it
        return az.InferenceData(posterior=post)

    def predicted(idata):
        t = estimands_table(idata, model="placebo_adjusted", prior_set="default", timepoint="joint")
        return t.set_index(["timepoint", "estimand"]).loc[("immediate", "predicted_risk_difference"), "lower"]

    assert record_seed(record(11)) == 11
    assert predicted(record(11)) == predicted(record(11))
    assert predicted(record(11)) != predicted(record(12))
    with pytest.raises(ValueError, match="no seed"):
        estimands_table(record(None), model="placebo_adjusted", prior_set="default", timepoint="joint")
