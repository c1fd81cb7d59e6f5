"""The validation target (`snakemake validate`): simulation with known truth, coverage, SBC.

Default suite (about 20 s): the package functions on synthetic inputs, with
exact posteriors of a conjugate normal model standing in for MCMC, so that
the checks are shown to pass for a correct posterior and to fail (with the
message naming scenario, parameter, coverage and tolerance) for a posterior
under the wrong prior or too narrow; simulated replicates are what the fit
reads; and dry runs showing the target's DAG, on demand only.

Slow (``-m slow``, about 11 minutes): the target end to end on a copy of
tests/tiny, once correctly specified (passes) and once with truths drawn from
another prior set than the fit's (fails with the message).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from conftest import ROOT, snakemake
from scipy import stats

from crpsmeta.calibration.scoring import (
    ValidationFailed,
    effective_bins,
    failures,
    score_replicate,
    tolerance_region,
    uniformity_test,
    validation_tables,
    verdict,
)
from crpsmeta.calibration.simulate import PARAMETERS, draw_prior, draw_truth, simulate_replicate
from crpsmeta.inputs.config import check_design, validate_config
from crpsmeta.models.build import build_model


@pytest.fixture(scope="module")
def shipped(schemas, shipped_config):
    """The shipped config with defaults filled in (as the workflow sees it)."""
    return validate_config(shipped_config, schemas["config"])


# ---- truths drawn from the prior ------------------------------------------------------


@pytest.mark.parametrize(
    "spec, dist",
    [
        ({"family": "normal", "mean": -0.5, "sd": 0.6}, stats.norm(-0.5, 0.6)),
        ({"family": "half_normal", "scale": 1.3}, stats.halfnorm(scale=1.3)),
        ({"family": "half_cauchy", "scale": 0.5}, stats.halfcauchy(scale=0.5)),
        ({"family": "lognormal", "meanlog": -0.915, "sdlog": 0.76}, stats.lognorm(0.76, scale=np.exp(-0.915))),
        ({"family": "beta", "alpha": 2.0, "beta": 3.0}, stats.beta(2.0, 3.0)),
    ],
)
def test_prior_draws_follow_the_prior(spec, dist):
    draws = draw_prior(spec, np.random.default_rng(1), 4000)
    assert stats.kstest(draws, dist.cdf).pvalue > 0.001


def test_robust_prior_draws_are_the_mixture():
    spec = {"family": "robust_normal", "mean": -0.49, "sd": 0.6, "weight": 0.8, "vague_mean": -0.49, "vague_sd": 2.0}
    draws = draw_prior(spec, np.random.default_rng(2), 4000)

    def cdf(x):
        return 0.8 * stats.norm.cdf(x, -0.49, 0.6) + 0.2 * stats.norm.cdf(x, -0.49, 2.0)

    assert stats.kstest(draws, cdf).pvalue > 0.001
    # and not the informative component alone
    assert stats.kstest(draws, stats.norm(-0.49, 0.6).cdf).pvalue < 1e-6


def test_each_replicates_truth_is_a_fresh_prior_draw(shipped):
    priors = shipped["prior_sets"]["default"]["placebo_adjusted"]
    design = shipped["validation"]["scenarios"]["adjusted_like_evidence"]
    truths = pd.DataFrame([simulate_replicate("placebo_adjusted", design, priors, seed)[1] for seed in range(150)])
    assert stats.kstest(truths["effect_mu"], stats.norm(0.0, 1.5).cdf).pvalue > 0.001
    assert stats.kstest(truths["design_bias"], stats.norm(0.0, 0.5).cdf).pvalue > 0.001
    assert stats.kstest(truths["persistence"], stats.uniform().cdf).pvalue > 0.001
    assert truths["effect_mu"].nunique() == 150


# ---- simulated replicates are what the fit reads ------------------------------------------


@pytest.mark.parametrize(
    "scenario", ["pooled_like_evidence", "pooled_large", "adjusted_like_evidence", "adjusted_large"]
)
def test_simulated_replicate_is_a_used_csv_the_model_reads(shipped, scenario, tmp_path):
    design = shipped["validation"]["scenarios"][scenario]
    model = design["model"]
    priors = shipped["prior_sets"]["default"][model]
    used, truth, raw = simulate_replicate(model, design, priors, seed=11)
    assert set(truth) == set(PARAMETERS[model])
    again, truth_again, _ = simulate_replicate(model, design, priors, seed=11)
    pd.testing.assert_frame_equal(used, again)
    assert truth == truth_again
    assert simulate_replicate(model, design, priors, seed=12)[1] != truth

    used.to_csv(tmp_path / "used.csv", index=False)
    read = pd.read_csv(tmp_path / "used.csv")
    pm_model = build_model(model, read, priors, shipped["placebo_adjusted"])
    studies = design["single_arm"] + design["rct"] + design["rct_contrast"]
    assert len(pm_model.coords["study"]) == studies
    counts = read[read.get("kind", pd.Series("responders", index=read.index)) == "responders"]
    assert ((counts["responders"] >= 0) & (counts["responders"] <= counts["n"])).all()
    if model == "pooled_rate":
        assert counts["n"].between(design["n_min"], design["n_max"]).all()
        return
    rct_arms = counts[counts["nonrandomised"] == 0]
    assert len(rct_arms) == 4 * design["rct"]  # both arms at both timepoints
    assert (rct_arms["n"] == design["rct_arm_n"]).all()
    contrasts = read[read["kind"] == "contrast"]
    assert len(contrasts) == 2 * design["rct_contrast"] and (contrasts["se"] == design["contrast_se"]).all()
    pains = read[read["kind"] == "pain"]
    assert pains["study_id"].nunique() == design["single_arm_pain"]
    assert counts[counts["nonrandomised"] == 1]["n"].between(design["n_min"], design["n_max"]).all()
    # the reference definition plus the configured others, each a parameter of the model
    assert counts["definition_class"].nunique() == design["definitions"] + 1
    assert len(pm_model.coords["definition"]) == design["definitions"]
    assert set(raw["definition_offset"]) == set(pm_model.coords["definition"])


def test_impossible_designs_are_refused():
    base = {
        "single_arm": 3,
        "n_min": 5,
        "n_max": 50,
        "rct": 0,
        "rct_contrast": 0,
        "single_arm_pain": 0,
        "definitions": 0,
    }
    with pytest.raises(ValueError, match="single-arm series only"):
        check_design("pooled_rate", {**base, "rct": 1})
    with pytest.raises(ValueError, match="cannot exceed single_arm"):
        check_design("placebo_adjusted", {**base, "single_arm_pain": 4})
    with pytest.raises(ValueError, match="n_min <= n_max"):
        check_design("placebo_adjusted", {**base, "n_min": 60})
    with pytest.raises(ValueError, match="pooled_rate or placebo_adjusted"):
        draw_truth("placebo_map", {}, np.random.default_rng(0))


# ---- the statistics of the checks ------------------------------------------------------


@pytest.mark.parametrize("reps, alpha", [(20, 0.05), (100, 0.05 / 60), (400, 0.001)])
def test_tolerance_region_holds_the_binomial_tails(reps, alpha):
    lo, hi = tolerance_region(reps, 0.95, alpha)
    binom = stats.binom(reps, 0.95)
    assert binom.cdf(lo - 1) <= alpha / 2 < binom.cdf(lo)  # the lowest count chance gives
    assert binom.sf(hi) <= alpha / 2
    assert hi == reps or binom.sf(hi - 1) > alpha / 2


def test_uniformity_test_keeps_its_level_and_rejects_skewed_ranks():
    rng = np.random.default_rng(5)
    p_uniform = [uniformity_test(rng.integers(0, 100, 100), 99, 10)["p_value"] for _ in range(1000)]
    assert np.mean(np.array(p_uniform) < 0.05) == pytest.approx(0.05, abs=0.025)
    # ranks of truths among draws from a too-narrow posterior pile up at both ends
    truth = rng.normal(size=100)
    narrow = (rng.normal(scale=0.5, size=(100, 99)) < truth[:, None]).sum(axis=1)
    assert uniformity_test(narrow, 99, 10)["p_value"] < 1e-6
    # few replications: Monte Carlo p-value, still rejecting ranks all at one end
    few = uniformity_test([99, 98, 97, 99, 96, 95], 99, effective_bins(6, 99, 10))
    assert few["method"] == "monte-carlo" and few["bins"] == 5 and few["p_value"] < 1e-3
    assert uniformity_test([3, 30, 55, 80, 12, 66], 99, 5)["p_value"] > 0.1


def test_effective_bins_divide_the_ranks_and_do_not_exceed_replications():
    assert effective_bins(100, 99, 10) == 10
    assert effective_bins(8, 99, 10) == 5
    assert effective_bins(3, 99, 10) == 2
    assert effective_bins(100, 49, 10) == 10
    assert effective_bins(100, 59, 8) == 6


def _conjugate_scores(reps: int, seed: int, *, truth_mean=0.0, truth_sd=1.0, width=1.0) -> pd.DataFrame:
    """Scores of exact posteriors of theta ~ N(0, 1), y_1..3 ~ N(theta, 1) (posterior N(sum y / 4, 1 / 4)).

    Truths from N(truth_mean, truth_sd) (the fitted prior when 0, 1); ``width``
    scales the posterior SD (1 = exact).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(reps):
        theta = rng.normal(truth_mean, truth_sd)
        y = rng.normal(theta, 1.0, 3)
        draws = rng.normal(y.sum() / 4, width * 0.5, size=(2, 500))
        posterior = xr.Dataset({"theta": (("chain", "draw"), draws), "theta2": (("chain", "draw"), draws**3)})
        scores = score_replicate(posterior, {"theta": theta, "theta2": theta**3}, prob=0.95, sbc_draws=99)
        rows.append(scores.assign(scenario="conjugate", model="normal", replicate=f"{r:03d}"))
    return pd.concat(rows, ignore_index=True)


def test_checks_pass_for_exact_posteriors():
    coverage, uniformity, bias = validation_tables(_conjugate_scores(100, 1), prob=0.95, level=0.05, bins=10)
    assert coverage["within_tolerance"].all() and not uniformity["rejected"].any()
    assert coverage["checks"].eq(4).all() and coverage["check_level"].eq(0.05 / 4).all()
    theta = bias.set_index("parameter").loc["theta"]
    assert abs(theta["mean_bias"]) < 4 * theta["bias_mcse"]
    assert theta["mean_posterior_sd"] == pytest.approx(0.5, rel=0.05)
    assert verdict(coverage, uniformity).startswith("validation PASSED all 4 checks")


def test_checks_fail_for_truths_from_another_prior():
    scores = _conjugate_scores(100, 2, truth_mean=4.0, truth_sd=0.5)
    coverage, uniformity, bias = validation_tables(scores, prob=0.95, level=0.05, bins=10)
    assert not coverage["within_tolerance"].any() and uniformity["rejected"].all()
    theta = bias.set_index("parameter").loc["theta"]
    assert theta["mean_bias"] < -10 * theta["bias_mcse"]  # shrunk towards the fitted prior's 0
    with pytest.raises(ValidationFailed) as err:
        verdict(coverage, uniformity)
    message = str(err.value)
    lo, hi = coverage.set_index("parameter").loc["theta", ["tolerance_lower", "tolerance_upper"]]
    covered = coverage.set_index("parameter").loc["theta", "covered"]
    assert f"scenario conjugate, parameter theta: 95% interval coverage {covered}/100" in message
    assert f"outside the binomial tolerance [{lo}, {hi}] of 100 replications" in message
    assert "scenario conjugate, parameter theta: SBC ranks not uniform" in message
    assert "validation FAILED 4 of 4 checks" in message


def test_checks_fail_for_too_narrow_posteriors():
    coverage, uniformity, _ = validation_tables(_conjugate_scores(100, 3, width=0.5), prob=0.95, level=0.05, bins=10)
    assert not coverage["within_tolerance"].any()
    assert (coverage["coverage"] < 0.8).all() and uniformity["rejected"].all()
    assert len(failures(coverage, uniformity)) == 4


# ---- the rules ------------------------------------------------------------------------


def _workdir(root: Path, validation: dict, extra_sets: dict | None = None) -> Path:
    """A copy of tests/tiny with a validation section (and extra prior sets)."""
    shutil.copytree(ROOT / "tests" / "tiny" / "config", root / "config")
    shutil.copytree(ROOT / "tests" / "tiny" / "data", root / "data")
    path = root / "config" / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["prior_sets"].update(extra_sets or {})
    cfg["validation"] = validation
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return root


TEST_SAMPLER = {"backend": "pymc", "chains": 2, "draws": 300, "tune": 300, "target_accept": 0.95, "prior_draws": 100}
TEST_SCENARIOS = {
    "pooled_small": {"model": "pooled_rate", "single_arm": 4, "n_min": 5, "n_max": 50},
    "adjusted_small": {
        "model": "placebo_adjusted",
        "rct": 1,
        "rct_contrast": 1,
        "single_arm": 3,
        "single_arm_pain": 1,
        "n_min": 5,
        "n_max": 50,
        "definitions": 1,
    },
}


def _jobs(stdout: str) -> dict[str, int]:
    """The job-count table of a dry run."""
    counts, table = {}, False
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            table = True
        elif table and len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
        elif table and counts and len(parts) != 2:
            break
    return counts


def test_validate_dry_run_shows_the_dag(tmp_path):
    work = _workdir(tmp_path, {"replications": 3, "sampler": TEST_SAMPLER, "scenarios": TEST_SCENARIOS})
    run = snakemake(work, "validate", "-n")
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = _jobs(run.stdout)
    # one fit job per scenario: its replicates share a process and one compiled model, and are gated there
    assert jobs == {
        "validation_simulate": 2,
        "fit_validation": 2,
        "validation_scores": 2,
        "validation_report": 1,
        "validate": 1,
        "total": 8,
    }
    # replicates fitted by the fit rule under the primary prior set, pooled_rate as one timepoint
    assert "results/validation/fits/adjusted_small/placebo_adjusted/joint/default/003/idata.nc" in run.stdout
    assert "results/validation/fits/pooled_small/pooled_rate/immediate/default/001/idata.nc" in run.stdout


def test_validation_is_not_part_of_the_analysis(tiny):
    """The whole workflow (rule all, run once per session) builds nothing under results/validation/."""
    assert (tiny / "results" / "fits").is_dir()
    assert not (tiny / "results" / "validation").exists()


def test_unknown_validation_prior_set_is_refused(tmp_path):
    work = _workdir(tmp_path, {"replications": 2, "simulate_prior_set": "nope", "scenarios": TEST_SCENARIOS})
    run = snakemake(work, "validate", "-n")
    assert run.returncode != 0
    assert (
        "key 'validation.simulate_prior_set', value 'nope': no prior set of that name; defined: default, wider "
        "[rule: known_prior_set]" in run.stdout + run.stderr
    )
    assert "Nothing was run." in run.stdout + run.stderr  # refused with the other input problems, before any job


@pytest.mark.slow
def test_validate_passes_when_specified_and_fails_when_misspecified(tmp_path):
    validation = {"replications": 8, "sampler": TEST_SAMPLER, "scenarios": TEST_SCENARIOS}
    good = _workdir(tmp_path / "good", validation)
    run = snakemake(good, "validate", timeout=3600)
    assert run.returncode == 0, run.stderr[-4000:]
    out = good / "results" / "validation"
    assert "validation PASSED" in (out / "PASSED").read_text()
    coverage = pd.read_csv(out / "coverage.csv")
    assert len(coverage) == len(PARAMETERS["pooled_rate"]) + len(PARAMETERS["placebo_adjusted"])
    assert coverage["replications"].eq(8).all() and coverage["within_tolerance"].all()
    for name in (
        "bias.csv",
        "sbc_ranks.csv",
        "sbc_uniformity.csv",
        "fit_failures.csv",
        "sbc.png",
        "coverage.png",
        "report.md",
    ):
        assert (out / name).stat().st_size > 0
    assert pd.read_csv(out / "fit_failures.csv")["fits"].eq(8).all()
    truth = json.loads((out / "sims" / "adjusted_small" / "001" / "truth.json").read_text())
    assert set(truth["parameters"]) == set(PARAMETERS["placebo_adjusted"]) and truth["prior_set"] == "default"

    cfg = yaml.safe_load((ROOT / "tests" / "tiny" / "config" / "config.yaml").read_text())
    shifted = cfg["prior_sets"]["default"]
    shifted["placebo_adjusted"]["design_bias"] = {"family": "normal", "mean": 2.0, "sd": 0.2}
    shifted["placebo_adjusted"]["pain_threshold"] = {"family": "normal", "mean": 5.0, "sd": 0.2}
    shifted["pooled_rate"]["tau"] = {"family": "half_normal", "scale": 3.0}
    bad = _workdir(tmp_path / "bad", {**validation, "simulate_prior_set": "shifted"}, {"shifted": shifted})
    run = snakemake(bad, "validate", timeout=3600)
    assert run.returncode != 0
    message = run.stdout + run.stderr
    assert "validation FAILED" in message
    assert "scenario adjusted_small, parameter design_bias: 95% interval coverage" in message
    assert "outside the binomial tolerance" in message and "SBC ranks not uniform" in message
    out = bad / "results" / "validation"
    assert not (out / "PASSED").exists()
    assert "misspecified on purpose" in (out / "report.md").read_text()
    coverage = pd.read_csv(out / "coverage.csv").set_index(["scenario", "parameter"])
    assert not coverage.loc[("adjusted_small", "design_bias"), "within_tolerance"]
