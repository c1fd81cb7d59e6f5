"""Published conversions, checked against their papers and against simulations with known truth.

- Chinn 2000 (Stat Med 19:3127, abstract): "a ln(odds ratio) can be converted
  to effect size by dividing by 1.81" -- our factor must round to it; and the
  conversion is exact on a dichotomised logistic latent variable (simulated).
- Wan et al. 2014 (BMC Med Res Methodol 14:135): the paper's table of the
  IQR-scenario factor was not available here, so the median/quartile
  conversion is checked on normal samples (unbiased mean and SD) and at its
  large-n limit IQR / 1.349.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from crpsmeta.inputs.conversions import CHINN_FACTOR, log_or_from_smd, mean_sd_from_median_iqr, sd_from_se, smd


def test_sd_from_se():
    assert sd_from_se(0.51, 30) == pytest.approx(0.51 * math.sqrt(30))
    with pytest.raises(ValueError):
        sd_from_se(0, 30)


def test_smd_by_hand():
    d, var = smd(2.68, 2.79, 30, 5.45, 2.63, 30)
    pooled = math.sqrt((29 * 2.79**2 + 29 * 2.63**2) / 58)
    raw = (2.68 - 5.45) / pooled
    j = 1 - 3 / (4 * 60 - 9)
    assert d == pytest.approx(raw * j)
    assert var == pytest.approx(60 / 900 + d**2 / 120)
    d_uncorrected, _ = smd(2.68, 2.79, 30, 5.45, 2.63, 30, hedges=False)
    assert d_uncorrected == pytest.approx(raw)


def test_chinn_is_exact_for_a_dichotomised_logistic_latent_variable():
    """Two logistic latent responses with equal scale: log OR at any cut-off = pi/sqrt(3) x SMD."""
    rng = np.random.default_rng(2000)
    shift, scale, n = 0.8, 1.3, 400_000
    a = stats.logistic.rvs(loc=shift, scale=scale, size=n, random_state=rng)
    b = stats.logistic.rvs(loc=0.0, scale=scale, size=n, random_state=rng)
    d = (a.mean() - b.mean()) / math.sqrt((a.var() + b.var()) / 2)
    for cut in (-1.0, 0.5, 2.0):
        pa, pb = (a > cut).mean(), (b > cut).mean()
        log_or = math.log(pa / (1 - pa)) - math.log(pb / (1 - pb))
        assert log_or_from_smd(d, 0.0)[0] == pytest.approx(log_or, abs=0.02)
    assert round(CHINN_FACTOR, 2) == 1.81  # the factor printed in Chinn 2000's abstract
    assert log_or_from_smd(1.0, 0.04)[1] == pytest.approx(CHINN_FACTOR**2 * 0.04)


@pytest.mark.parametrize("n", [25, 100, 400])
def test_wan_median_quartiles_recover_normal_mean_and_sd(n):
    rng = np.random.default_rng(n)
    means, sds = [], []
    for _ in range(400):
        x = rng.normal(5.0, 2.0, size=n)
        q1, m, q3 = np.quantile(x, [0.25, 0.5, 0.75])
        mean, sd = mean_sd_from_median_iqr(m, q1, q3, n)
        means.append(mean)
        sds.append(sd)
    assert np.mean(means) == pytest.approx(5.0, abs=0.05)
    assert np.mean(sds) == pytest.approx(2.0, rel=0.05)


def test_wan_large_n_is_iqr_over_1_35():
    _, sd = mean_sd_from_median_iqr(6.0, 4.0, 8.0, 100_000)
    assert sd == pytest.approx(4.0 / (2 * stats.norm.ppf(0.75)), rel=1e-3)
    with pytest.raises(ValueError):
        mean_sd_from_median_iqr(9.0, 4.0, 8.0, 10)
