"""The estimands of the current workflow against a frozen run of the design before it (issue 16).

Every estimand of the shipped analysis at b18028c (tests/reference/baseline_b18028c/) must agree with
today's, run on the same config/ and data/, within Monte Carlo error: the difference of posterior means
in units of its MCSE (benchmarks/agreement.py) at most 4.5 for every one of about 480 estimands (two
correct samplers of one posterior give |N(0, 1)|-like values, whose largest over 480 is about 3.5), and
above 2 for fewer than 12 % of them (5 % expected).
"""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, snakemake

sys.path.insert(0, str(ROOT / "benchmarks"))
from agreement import agreement, collect

BASELINE = ROOT / "tests" / "reference" / "baseline_b18028c"


def _table(mean, sd=0.1, ess=1000.0, note=""):
    return pd.DataFrame(
        {
            "kind": "primary",
            "fit": "m/u",
            "model": "m",
            "prior_set": "default",
            "timepoint": "u",
            "estimand": ["a", "b"],
            "mean": mean,
            "sd": sd,
            "ess_bulk": ess,
            "note": note,
        }
    )


def test_agreement_is_in_units_of_monte_carlo_error():
    same = agreement(_table([0.5, 1.0]), _table([0.5 + 0.1 / np.sqrt(1000) * np.sqrt(2), 1.0]))
    np.testing.assert_allclose(same["z"], [1.0, 0.0])
    far = agreement(_table([0.5, 1.0]), _table([0.6, 1.0]))
    assert far["z"].max() > 20  # a shift of 0.1 is 22 MCSE at sd 0.1 and ESS 1,000
    # a probability's row gives its MCSE as sd: not divided by ESS again
    note = "posterior probability (sd = Monte Carlo standard error)"
    prob = agreement(_table([0.9, 0.8], sd=0.01, note=note), _table([0.91, 0.8], sd=0.01, note=note))
    np.testing.assert_allclose(prob["z"], [0.01 / np.sqrt(2 * 0.01**2), 0.0])


@pytest.mark.slow
def test_every_estimand_of_the_shipped_analysis_agrees_with_the_design_before(tmp_path):
    shutil.copytree(BASELINE / "config", tmp_path / "config")
    shutil.copytree(BASELINE / "data", tmp_path / "data")
    run = snakemake(
        tmp_path,
        "results/summaries/estimands.csv",
        "results/sensitivity/estimands.csv",
        "results/influence/placebo_adjusted/joint/leave_one_out.csv",
        timeout=3600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    baseline = collect(BASELINE)
    both = agreement(baseline, collect(tmp_path / "results"))
    assert len(both) >= 0.95 * len(baseline.dropna(subset=["sd", "ess_bulk"])), "estimands missing from today's run"
    worst = both.loc[both["z"].idxmax()]
    assert worst["z"] <= 4.5, worst[["fit", "estimand", "mean_old", "mean_new", "z"]].to_dict()
    assert (both["z"] > 2).mean() < 0.12, both.sort_values("z").tail(10)[["fit", "estimand", "z"]]
