"""Posterior summaries: intervals, exact binomial CIs, table shape."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from crpsmeta.estimands import ESTIMAND_COLUMNS, clopper_pearson, summarize_draws


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
    required = ["model", "prior_set", "timepoint", "estimand", "mean", "sd", "median", "lower", "upper",
                "interval_prob", "r_hat", "ess_bulk", "ess_tail"]
    assert [c for c in ESTIMAND_COLUMNS if c in required] == required
