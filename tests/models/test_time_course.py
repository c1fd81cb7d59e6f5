"""The time-course model: its arithmetic, its rows, recovery of a simulated half-life from studies reporting at
scattered weeks, and no identification of the decay when every row is at one week."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit

from crpsmeta.fitting.sampling import SamplerSettings, sample_model
from crpsmeta.inputs.selection import model_inputs
from crpsmeta.models.priors import HalfNormal, LogNormal, Normal
from crpsmeta.models.time_course import (
    curves,
    decay,
    placebo_logit,
    row_draws,
    time_course_model,
    weeks_to_threshold,
)
from crpsmeta.summaries.estimands import estimands_table, time_course_studies_table

WINDOWS = {"immediate": (0.0, 1.0), "followup": (4.0, 13.0)}
# nutpie, 2 chains: what the recovery needs (bulk ESS of the half-life several hundred) at a few seconds a fit
SAMPLER = SamplerSettings(backend="nutpie", chains=2, draws=600, tune=600, target_accept=0.95, prior_draws=2000)
# the fitting prior of the simulations: a half-life anywhere from about a day to 20 weeks
HALF_LIFE_PRIOR = LogNormal(float(np.log(3.0)), 0.8)


def priors(**over):
    base = dict(
        placebo_mu=Normal(-0.5, 0.5),
        effect_mu=Normal(1.0, 1.0),
        half_life=HALF_LIFE_PRIOR,
        tau=HalfNormal(0.3),
        tau_placebo=HalfNormal(0.3),
        design_bias=Normal(0.0, 0.5),
        pain_threshold=Normal(2.0, 1.0),
    )
    return {**base, **over}


def group(**arrays) -> xr.Dataset:
    """A posterior-like group from (chain, draw) arrays; placebo_mu is (chain, draw, timepoint)."""
    data = {}
    for name, values in arrays.items():
        values = np.asarray(values, dtype=float)
        dims = ("chain", "draw", "timepoint") if values.ndim == 3 else ("chain", "draw")
        data[name] = (dims, values)
    return xr.Dataset(data, coords={"timepoint": ["immediate", "followup"]})


# ---- arithmetic ------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    d=st.floats(-3, 3),
    h=st.floats(0.2, 30),
    early=st.floats(-3, 3),
    late=st.floats(-3, 3),
    late_week=st.floats(0.5, 20),
)
def test_the_curves_halve_every_half_life_and_the_placebo_moves_from_early_to_late(d, h, early, late, late_week):
    g = group(
        effect_mu=[[d]],
        half_life=[[h]],
        placebo_mu=[[[early, late]]],
        tau=[[0.1]],
        tau_placebo=[[0.1]],
    )
    weeks = np.array([0.0, h, 2 * h, late_week, late_week + 5])
    c = curves(g, weeks, late_week=late_week)
    lor = c["log_odds_ratio"][0, 0]
    assert lor[0] == pytest.approx(d)
    assert lor[1] == pytest.approx(d / 2)
    assert lor[2] == pytest.approx(d / 4)
    placebo = c["placebo_response_rate"][0, 0]
    assert placebo[0] == pytest.approx(expit(early))
    assert placebo[3] == pytest.approx(expit(late)) and placebo[4] == pytest.approx(expit(late))
    rd = c["risk_difference"][0, 0]
    assert np.allclose(rd, c["ketamine_response_rate"][0, 0] - placebo)
    moved = np.abs(lor) > 1e-6  # the difference has the effect's sign wherever the effect is not ~0
    assert np.all(np.sign(rd[moved]) == np.sign(d))


def test_weeks_to_threshold_finds_the_crossing_and_censors_at_the_horizon():
    # constant placebo at 0; the difference expit(d 2^(-w/h)) - 1/2 crosses 0.1 where d 2^(-w/h) = logit(0.6)
    d, h = np.array([[2.0, 2.0, 0.1]]), np.array([[3.0, 300.0, 3.0]])
    g = group(effect_mu=d, half_life=h, placebo_mu=np.zeros((1, 3, 2)), tau=d * 0, tau_placebo=d * 0)
    first, censored = weeks_to_threshold(g, 0.1, late_week=4.0, horizon=26.0, step=0.05)
    exact = 3.0 * np.log2(2.0 / np.log(0.6 / 0.4))
    assert first[0, 0] == pytest.approx(exact, abs=0.05)
    assert first[0, 1] == 26.0 and censored[0, 1]  # a 300-week half-life: still above at the horizon
    assert first[0, 2] == 0.0 and not censored[0, 2]  # a small effect starts below the threshold
    assert decay(3.0, 3.0) == pytest.approx(0.5)
    assert placebo_logit(2.0, -1.0, 1.0, 4.0) == pytest.approx(0.0)


# ---- rows ------------------------------------------------------------------------------------------------------


def test_each_shipped_row_carries_the_week_its_source_gives(shipped_tables, shipped_config):
    studies, outcomes = shipped_tables
    options = {**shipped_config["placebo_adjusted"], **shipped_config["time_course"]}
    used, _ = model_inputs(studies, outcomes, model="time_course", unit="joint", options=options)
    base, _ = model_inputs(studies, outcomes, model="placebo_adjusted", unit="joint", options=options)
    assert len(used) == len(base) and "weeks" in used
    for r in used.itertuples():
        measure = "responders" if r.kind == "responders" else "pain"
        source = outcomes[
            (outcomes["study_id"] == r.study_id)
            & (outcomes["timepoint"] == r.timepoint)
            & (outcomes["measure"] == measure)
        ]
        if r.kind != "contrast":
            source = source[source["arm"] == r.arm]
        given_weeks = source["weeks"].dropna()
        if len(given_weeks):
            assert r.weeks == given_weeks.iloc[0]
        else:
            assert np.isnan(r.weeks)


def rct_rows(weeks_by_study: list[list[float]], n: int = 60) -> pd.DataFrame:
    """Two-arm responder rows (responders filled in later) of RCTs reporting at the given weeks."""
    rows = []
    for s, weeks in enumerate(weeks_by_study):
        for w in weeks:
            for arm in ("ketamine", "placebo"):
                rows.append(
                    {
                        "study_id": f"S{s}",
                        "arm": arm,
                        "timepoint": "immediate" if w < 2 else "followup",
                        "n": n,
                        "responders": 0,
                        "definition_class": "ge30pct",
                        "nonrandomised": 0,
                        "weeks": float(w),
                        "kind": "responders",
                    }
                )
    return pd.DataFrame(rows)


def test_a_row_without_a_week_gets_a_week_parameter_shared_by_its_study_and_timepoint():
    used = rct_rows([[0.0, 8.0], [0.0, 8.0]])
    used.loc[used["study_id"] == "S1", "weeks"] = np.nan  # both arms, both timepoints: two occasions
    model = time_course_model(
        used, priors=priors(), definition_offset_sd=0.5, unknown_weeks=WINDOWS, placebo_late_week=4.0
    )
    assert list(model.coords["occasion"]) == ["S1/immediate", "S1/followup"]
    assert "unknown_weeks" in model.named_vars
    known = time_course_model(
        rct_rows([[0.0, 8.0]]),
        priors=priors(),
        definition_offset_sd=0.5,
        unknown_weeks=WINDOWS,
        placebo_late_week=4.0,
    )
    assert "unknown_weeks" not in known.named_vars


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda u: u.assign(weeks=-1.0), "weeks since the end of infusion must be >= 0"),
        (lambda u: u.drop(columns="weeks"), "needs a weeks column"),
    ],
)
def test_bad_rows_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        time_course_model(
            change(rct_rows([[0.0, 8.0]])),
            priors=priors(),
            definition_offset_sd=0.5,
            unknown_weeks=WINDOWS,
            placebo_late_week=4.0,
        )


def test_a_window_that_is_not_a_range_is_refused():
    used = rct_rows([[0.0]]).assign(weeks=np.nan)
    with pytest.raises(ValueError, match="unknown_weeks of immediate"):
        time_course_model(
            used,
            priors=priors(),
            definition_offset_sd=0.5,
            unknown_weeks={"immediate": (1.0, 1.0)},
            placebo_late_week=4.0,
        )


# ---- simulation: recovery and identification ------------------------------------------------------------------

# 8 RCTs of 60 per arm, each reporting at two weeks scattered over 0-13 (the same design in every replicate, so
# every fit shares one compiled model)
DESIGN = [[0.0, 4.0], [0.5, 8.0], [0.0, 13.0], [1.0, 6.0], [0.0, 2.5], [0.5, 10.0], [0.0, 3.0], [1.0, 12.0]]


def simulate(seed: int, weeks: list[list[float]] = DESIGN) -> tuple[pd.DataFrame, dict]:
    """Responder counts from the model with a known half-life (drawn from the fitting prior), effect 1.5 at week
    0, placebo -0.4 early and -1.0 late, small between-study SDs."""
    rng = np.random.default_rng(seed)
    truth = {
        "half_life": float(np.exp(rng.normal(HALF_LIFE_PRIOR.meanlog, HALF_LIFE_PRIOR.sdlog))),
        "effect_mu": 1.5,
        "early": -0.4,
        "late": -1.0,
        "tau": 0.2,
        "tau_placebo": 0.2,
    }
    used = rct_rows(weeks)
    u = dict(zip(used["study_id"].unique(), rng.normal(0, truth["tau"], used["study_id"].nunique())))
    v = dict(zip(used["study_id"].unique(), rng.normal(0, truth["tau_placebo"], used["study_id"].nunique())))
    eta = (
        placebo_logit(used["weeks"], truth["early"], truth["late"], 4.0)
        + used["study_id"].map(v)
        + (used["arm"] == "ketamine")
        * (truth["effect_mu"] + used["study_id"].map(u))
        * decay(used["weeks"], truth["half_life"])
    )
    used["responders"] = rng.binomial(used["n"], expit(eta))
    return used, truth


def fit(used: pd.DataFrame, seed: int, **prior_over):
    model = time_course_model(
        used, priors=priors(**prior_over), definition_offset_sd=0.5, unknown_weeks=WINDOWS, placebo_late_week=4.0
    )
    return sample_model(model, SAMPLER, seed, attrs={"model": "time_course", "seed": seed})


def half_life_interval(idata, prob=0.95):
    x = idata.posterior["half_life"].values.ravel()
    return np.quantile(x, [(1 - prob) / 2, 1 - (1 - prob) / 2])


@pytest.fixture(scope="module")
def recovered():
    """One simulated data set at scattered weeks, its truth and its fit."""
    used, truth = simulate(11)
    return used, truth, fit(used, 11)


@pytest.mark.xdist_group("time_course_fits")
def test_a_simulated_half_life_is_recovered(recovered):
    used, truth, idata = recovered
    lo, hi = half_life_interval(idata)
    assert lo < truth["half_life"] < hi
    post = idata.posterior["half_life"].values.ravel()
    prior = idata.prior["half_life"].values.ravel()
    assert np.var(np.log(post)) < 0.5 * np.var(np.log(prior))  # the scattered weeks inform the decay
    assert int(idata.sample_stats["diverging"].sum()) == 0


@pytest.mark.xdist_group("time_course_fits")
def test_the_answers_by_week_fade_and_reach_the_table_figure_and_report(recovered, tmp_path):
    from crpsmeta.figures.decay import curve_table, difference_by_week_figure
    from crpsmeta.figures.style import save_figure
    from crpsmeta.report.findings import time_course_findings

    used, truth, idata = recovered
    table = estimands_table(
        idata,
        model="time_course",
        prior_set="sim",
        timepoint="joint",
        threshold=0.1,
        time_course={"weeks": [0, 4, 8, 12], "horizon": 26},
    )
    assert set(table["timepoint"]) == {"week_0", "week_4", "week_8", "week_12", "joint"}
    rd = table[table["estimand"] == "risk_difference"].set_index("timepoint")["median"]
    assert rd["week_0"] > rd["week_4"] > rd["week_8"] > rd["week_12"] > -0.05  # the difference fades
    below = table[table["estimand"] == "weeks_to_threshold"].iloc[0]
    true_rd = curves(
        group(
            effect_mu=[[truth["effect_mu"]]],
            half_life=[[truth["half_life"]]],
            placebo_mu=[[[truth["early"], truth["late"]]]],
            tau=[[0.0]],
            tau_placebo=[[0.0]],
        ),
        np.arange(0, 26.05, 0.1),
        late_week=4.0,
    )["risk_difference"][0, 0]
    true_week = 0.1 * int(np.argmax(true_rd <= 0.1)) if (true_rd <= 0.1).any() else 26.0
    assert below["lower"] <= true_week <= below["upper"]
    studies = time_course_studies_table(idata, used, prior_set="sim")
    assert len(studies) == 2 * len(used)
    draws = row_draws(idata.posterior, used, late_week=4.0)
    assert np.allclose(draws["weeks"][0, 0], used["weeks"].to_numpy())

    curve = curve_table(idata, figure_weeks=16, prob=0.95)
    post = curve[(curve["group"] == "posterior") & (curve["quantity"] == "risk_difference")]
    assert post["weeks"].min() == 0 and post["weeks"].max() == 16
    assert np.all(post["lower"] <= post["median"]) and np.all(post["median"] <= post["upper"])
    at4 = post[post["weeks"] == 4].iloc[0]
    assert at4["median"] == pytest.approx(rd["week_4"], abs=1e-9)  # the figure and the table agree
    fig = difference_by_week_figure(
        curve, studies, threshold=0.1, prob=0.95, half_life=table[table["estimand"] == "half_life"].iloc[0]
    )
    save_figure(fig, tmp_path / "decay.png")
    assert (tmp_path / "decay.png").stat().st_size > 10_000

    found = time_course_findings(
        pd.concat([table, table.assign(prior_set="other")]),
        studies,
        prior_set="sim",
        half_life_prior={"family": "lognormal", "meanlog": HALF_LIFE_PRIOR.meanlog, "sdlog": HALF_LIFE_PRIOR.sdlog},
        threshold=0.1,
        prob_label="95 %",
    )
    assert [r["week"] for r in found["weeks"]] == ["0", "4", "8", "12"]
    assert [r["prior_set"] for r in found["by_prior_set"]] == ["sim", "other"]
    text = " ".join(found["sentences"])
    assert "halves every" in text and "two-timepoint model" in text
    assert f"{len(set(used['weeks']))} distinct weeks" in text


@pytest.mark.xdist_group("time_course_fits")
def test_with_every_row_at_one_week_the_half_life_stays_its_prior():
    # all rows at week 0: the likelihood does not depend on the half-life at all, so its posterior is its prior
    weeks = [[0.0, 0.0] for _ in DESIGN]
    used, _ = simulate(12, weeks)
    idata = fit(used, 12)
    post = np.log(idata.posterior["half_life"].values[:, ::4].ravel())  # thinned: near-independent draws
    ks = stats.kstest(post, stats.norm(HALF_LIFE_PRIOR.meanlog, HALF_LIFE_PRIOR.sdlog).cdf)
    assert ks.pvalue > 0.001, ks
    # one later week for every row: the data give the log odds ratio at that week, d 2^(-8 / h), and no more, so
    # which half-life they imply is the week-0 effect prior's choice: two effect priors, the same answer at week 8,
    # different half-lives
    used, _ = simulate(13, [[8.0, 8.0] for _ in DESIGN])
    fits = [fit(used, 13, effect_mu=Normal(mean, 0.5)) for mean in (1.0, 3.0)]
    at_8 = [np.median(curves(f.posterior, [8.0], late_week=4.0)["log_odds_ratio"]) for f in fits]
    half = [np.median(f.posterior["half_life"].values) for f in fits]
    assert abs(at_8[0] - at_8[1]) < 0.15, at_8
    assert half[0] / half[1] > 1.3, half  # a larger week-0 effect must fade faster to give the same week 8


@pytest.mark.slow
def test_half_life_coverage_over_seeds():
    """Coverage of the 95 % interval of the half-life over 20 simulated data sets (truths from the fitting prior,
    so a correct model and sampler cover about 19 of 20): at least 16 (P(<= 15 | 0.95) = 0.003)."""
    covered = []
    for seed in range(100, 120):
        used, truth = simulate(seed)
        lo, hi = half_life_interval(fit(used, seed))
        covered.append(lo < truth["half_life"] < hi)
    print(f"half-life covered in {sum(covered)} of {len(covered)} simulated data sets")
    assert sum(covered) >= 16
