"""Power-scaling prior sensitivity, the prior-set figure and leave-one-study-out influence.

Each check is shown to flag what it should: a prior that contradicts the data
is a prior-data conflict, a prior facing almost no data is prior-dominated, a
weak prior facing plenty of data is fine; and the study planted as an outlier
is the one the leave-one-study-out refits name as most influential.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_SAMPLER

from crpsmeta.criticism.influence import influence_table, leave_out, most_influential
from crpsmeta.criticism.power_scaling import DIAGNOSES, diagnose, power_scaling_table
from crpsmeta.fitting.sampling import fit
from crpsmeta.models.build import build_model, prior_variables

TAU = {"family": "half_normal", "scale": 0.5}
SAMPLER = {**FAST_SAMPLER, "draws": 1000}


def _pooled(rates, n, seed=0):
    rng = np.random.default_rng(seed)
    k = len(rates)
    return pd.DataFrame({"study_id": [f"s{i}" for i in range(k)], "n": n, "responders": rng.binomial(n, rates)})


def _psens(used, mu, seed):
    idata = fit("pooled_rate", used, {"mu": mu, "tau": TAU}, SAMPLER, seed=seed)
    table = power_scaling_table(idata, model="pooled_rate")
    return table.set_index("variable")


def test_diagnosis_follows_priorsense_rule():
    assert diagnose(0.1, 0.1) == "prior-data conflict"
    assert diagnose(0.1, 0.01) == "prior-dominated"
    assert diagnose(0.01, 0.1) == "fine"
    assert diagnose(0.01, 0.01) == "fine"
    assert diagnose(0.04, 0.2, threshold=0.03) == "prior-data conflict"


def test_record_stores_log_prior_of_top_level_priors_only():
    used = _pooled([0.5] * 4, [20] * 4)
    model = build_model("pooled_rate", used, {"mu": {"family": "normal", "mean": 0, "sd": 1.5}, "tau": TAU})
    assert prior_variables(model) == ["mu", "tau"]  # not the standardised study effects z, nor z_new


@pytest.mark.parametrize("case", ["conflict", "dominated", "fine"])
def test_power_scaling_flags_conflict_and_prior_dominance(case):
    if case == "conflict":  # data say ~70 %, the prior insists on ~27 % (logit -1 +/- 0.4)
        # (a far more extreme prior reads as prior-dominated instead: the hierarchy absorbs the
        # conflict into a large tau, leaving mu where the prior put it)
        used, mu = _pooled([0.7] * 8, [100] * 8, seed=1), {"family": "normal", "mean": -1.0, "sd": 0.4}
    elif case == "dominated":  # one patient's worth of data against a tight prior
        used, mu = _pooled([0.5], [2], seed=2), {"family": "normal", "mean": 0.0, "sd": 0.3}
    else:  # plenty of data, weak prior
        used, mu = _pooled([0.6] * 8, [100] * 8, seed=3), {"family": "normal", "mean": 0.0, "sd": 5.0}
    table = _psens(used, mu, seed=11)
    assert set(table["diagnosis"]) <= set(DIAGNOSES)
    expected = {"conflict": "prior-data conflict", "dominated": "prior-dominated", "fine": "fine"}[case]
    assert table.loc["mu", "diagnosis"] == expected, table
    assert table.loc["pooled_rate", "diagnosis"] == expected, table


def test_leave_out_drops_every_row_of_the_study_and_refuses_nonsense():
    used = pd.DataFrame(
        {"study_id": ["a", "a", "b", "c"], "timepoint": ["immediate", "followup", "immediate", "followup"]}
    )
    kept = leave_out(used, "a")
    assert list(kept["study_id"]) == ["b", "c"]
    with pytest.raises(ValueError, match="contributes no row"):
        leave_out(used, "zz")
    with pytest.raises(ValueError, match="only study"):
        leave_out(used[used["study_id"] == "b"], "b")


def test_leave_one_out_names_the_planted_outlier():
    from crpsmeta.summaries.estimands import estimands_table

    rates = [0.3, 0.35, 0.3, 0.32, 0.97]
    used = _pooled(rates, [40, 40, 40, 40, 60], seed=4)
    priors = {"mu": {"family": "normal", "mean": 0.0, "sd": 1.5}, "tau": {"family": "half_normal", "scale": 1.0}}

    def summary(rows, seed):
        idata = fit("pooled_rate", rows, priors, FAST_SAMPLER, seed=seed)
        return estimands_table(idata, model="pooled_rate", prior_set="default", timepoint="immediate")

    full = summary(used, 1)
    refits = {sid: summary(leave_out(used, sid), 2 + i) for i, sid in enumerate(used["study_id"])}
    table = influence_table(full, refits, key_estimands=["pooled_rate"])
    assert len(table) == len(used) and set(table["left_out"]) == set(used["study_id"])
    top = most_influential(table)
    assert list(top["left_out"]) == ["s4"], table
    assert top["change"].iloc[0] < 0  # dropping the 97 % study lowers the pooled rate
    assert np.allclose(table["change"], table["loo_median"] - table["full_median"])


# ---- end to end, on the shared tiny workflow run -------------------------------------------------


def test_workflow_writes_power_scaling_for_every_primary_fit(tiny):
    table = pd.read_csv(tiny / "results" / "sensitivity" / "power_scaling.csv")
    assert set(table["diagnosis"]) <= set(DIAGNOSES)
    fits = set(zip(table["model"], table["timepoint"]))
    assert {("pooled_rate", "immediate"), ("pooled_rate", "followup"), ("placebo_adjusted", "joint")} <= fits
    adjusted = table[table["model"] == "placebo_adjusted"]
    assert {"effect_mu", "placebo_mu", "tau", "risk_difference"} <= set(adjusted["variable"])
    assert (table[["prior_sensitivity", "likelihood_sensitivity"]] >= 0).all().all()
    png = (tiny / "results" / "sensitivity" / "estimands.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_workflow_leave_one_out_refits(tiny):
    results = tiny / "results" / "influence"
    table = pd.read_csv(results / "placebo_adjusted" / "joint" / "leave_one_out.csv")
    left_out = ["Mangnus2021", "Kiefer2008a"]  # tests/tiny config: criticism.influence.studies
    assert sorted(set(table["left_out"])) == sorted(left_out)
    assert set(table["timepoint"]) == {"immediate", "followup"}
    assert {"placebo_response_rate", "ketamine_response_rate", "risk_difference"} == set(table["estimand"])
    assert len(table) == 2 * 2 * 3
    for study in left_out:
        used = pd.read_csv(results / "data" / "placebo_adjusted" / "joint" / f"without_{study}" / "used.csv")
        assert study not in set(used["study_id"]) and len(used)
    top = pd.read_csv(results / "placebo_adjusted" / "joint" / "most_influential.csv")
    assert len(top) == 6 and set(top["left_out"]) <= set(left_out)
    import arviz as az

    seeds = {
        az.from_netcdf(results / "fits" / "placebo_adjusted" / "joint" / f"without_{s}" / "idata.nc").posterior.attrs[
            "seed"
        ]
        for s in left_out
    }
    assert len(seeds) == 2
    assert (results / "placebo_adjusted" / "joint" / "leave_one_out.png").stat().st_size > 10_000
