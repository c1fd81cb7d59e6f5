"""End to end: the Snakemake workflow on the tiny directory tests/tiny.

Runs `snakemake --directory <copy of tests/tiny>` with the repository's
Snakefile, as the catalog convention for test configs does.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import arviz as az
import pandas as pd
import yaml

from conftest import ROOT, SNAKEMAKE, read_rows, snakemake, write_rows
from crpsmeta.estimands import ESTIMAND_COLUMNS

TARGETS = ("results/summaries/estimands.csv", "results/diagnostics/diagnostics.csv")


def test_outputs_for_both_timepoints(tiny):
    results = tiny / "results"
    for tp in ("immediate", "followup"):
        idata = az.from_netcdf(results / "fits" / "pooled_rate" / tp / "idata.nc")
        for group in ("posterior", "log_likelihood", "prior", "prior_predictive", "posterior_predictive",
                      "observed_data", "constant_data", "sample_stats"):
            assert group in idata.groups()
        assert idata.posterior.attrs["timepoint"] == tp and idata.posterior.attrs["prior_set"] == "default"
        assert "data_sha256" in idata.posterior.attrs
        png = (results / "plots" / "pooled_rate" / f"forest_{tp}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    est = pd.read_csv(results / "summaries" / "estimands.csv")
    assert list(est.columns) == ESTIMAND_COLUMNS
    for tp in ("immediate", "followup"):
        got = set(est.loc[(est["timepoint"] == tp) & (est["model"] == "pooled_rate"), "estimand"])
        assert {"pooled_rate", "predicted_rate", "tau"} <= got
        adjusted = set(est.loc[(est["timepoint"] == tp) & (est["model"] == "placebo_adjusted"), "estimand"])
        assert {"placebo_response_rate", "ketamine_response_rate", "risk_difference", "odds_ratio", "nnt",
                "prob_risk_difference_gt_0", "prob_risk_difference_gt_threshold", "tau", "design_bias"} <= adjusted
    assert "persistence" in set(est.loc[est["timepoint"] == "followup", "estimand"])
    assert est.loc[est["estimand"] == "placebo_response_rate", "contraction"].notna().all()
    joint = az.from_netcdf(results / "fits" / "placebo_adjusted" / "joint" / "idata.nc")
    assert list(joint.posterior["timepoint"].values) == ["immediate", "followup"]
    rates = est[est["estimand"].isin(["pooled_rate", "predicted_rate"])]
    assert ((rates["lower"] <= rates["median"]) & (rates["median"] <= rates["upper"])).all()
    assert rates[["lower", "upper"]].stack().between(0, 1).all()
    diag = pd.read_csv(results / "diagnostics" / "diagnostics.csv")
    assert set(diag["diagnostic"]) == {"r_hat", "ess_bulk", "ess_tail", "divergences", "ebfmi"}
    assert diag["passed"].all() and len(diag) == 15  # 5 gates x 3 fits (placebo_map has no data: skipped)
    studies = pd.read_csv(results / "summaries" / "study_estimates.csv")
    used = pd.read_csv(results / "data" / "pooled_rate" / "followup" / "used.csv")
    pooled = studies[(studies["model"] == "pooled_rate") & (studies["timepoint"] == "followup")]
    assert set(pooled["study_id"]) == set(used["study_id"])


def test_every_prior_set_and_model_comparison(tiny):
    results = tiny / "results"
    sens = pd.read_csv(results / "sensitivity" / "estimands.csv")
    assert set(sens["prior_set"]) == {"default", "wider"}
    for prior_set in ("default", "wider"):
        rows = sens[(sens["prior_set"] == prior_set) & (sens["model"] == "placebo_adjusted")]
        assert {"immediate", "followup"} == set(rows["timepoint"])
    assert (results / "sensitivity" / "wider" / "fits" / "placebo_adjusted" / "joint" / "idata.nc").exists()
    assert not (results / "sensitivity" / "default").exists()  # the primary set is not fitted twice
    primary = pd.read_csv(results / "summaries" / "estimands.csv")
    merged = sens[sens["prior_set"] == "default"].merge(primary, on=["model", "timepoint", "estimand"])
    same = (merged["median_x"] == merged["median_y"]) | (merged["median_x"].isna() & merged["median_y"].isna())
    assert same.all() and len(merged) == len(primary)
    loo = pd.read_csv(results / "comparison" / "loo.csv")
    assert set(loo["model"]) == {"pooled_rate", "placebo_adjusted"}
    assert set(loo["timepoint"]) == {"immediate", "followup"}


def test_warm_rerun_does_nothing(tiny):
    run = snakemake(tiny, "--dry-run", "--quiet")
    assert run.returncode == 0
    assert "Nothing to be done" in run.stdout + run.stderr


def test_gate_failure_fails_loudly_then_warn_mode_marks_it(tiny, tmp_path):
    # only the summaries downstream of the gate, so the test does not rerun every check
    workdir = tmp_path / "gate"
    shutil.copytree(tiny, workdir, ignore=shutil.ignore_patterns(".snakemake"))
    cfg_path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["diagnostics"]["ess_bulk"] = {"min": 10_000_000, "on_failure": "error"}
    cfg_path.write_text(yaml.safe_dump(cfg))
    shutil.rmtree(workdir / "results" / "summaries")
    shutil.rmtree(workdir / "results" / "diagnostics")
    run = snakemake(workdir, *TARGETS, "--forcerun", "diagnose")
    assert run.returncode != 0
    assert re.search(r"fit pooled_rate/default/(immediate|followup) FAILED its convergence gate: ess_bulk = ",
                     run.stderr), run.stderr[-3000:]
    assert not (workdir / "results" / "summaries" / "estimands.csv").exists()

    cfg["diagnostics"]["ess_bulk"]["on_failure"] = "warn"
    cfg_path.write_text(yaml.safe_dump(cfg))
    run = snakemake(workdir, *TARGETS, "--forcerun", "diagnose")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "WARNING: fit pooled_rate/default/" in run.stderr
    diag = pd.read_csv(workdir / "results" / "diagnostics" / "diagnostics.csv")
    assert not diag.loc[diag["diagnostic"] == "ess_bulk", "passed"].any()


def test_bad_data_stops_before_any_job_and_writes_nothing(tmp_path):
    shutil.copytree(ROOT / "tests" / "tiny" / "config", tmp_path / "config")
    shutil.copytree(ROOT / "tests" / "tiny" / "data", tmp_path / "data")
    header, rows = read_rows(tmp_path / "data" / "outcomes.csv")
    rows[2]["responders"] = "99"
    write_rows(tmp_path / "data" / "outcomes.csv", header, rows)
    # the report's published comparators are checked in the same pass, and every problem is listed
    published = tmp_path / "data" / "published.csv"
    published.write_text(published.read_text(encoding="utf-8").replace(",69,53,84,", ",690,53,84,"), encoding="utf-8")
    run = snakemake(tmp_path)
    assert run.returncode != 0
    assert ("data/outcomes.csv, line 4 (row 3), column 'responders', value 99: responders exceed n"
            in run.stderr), run.stderr[-3000:]
    assert "[rule: responders_le_n]" in run.stderr
    assert "data/published.csv, line 2 (row 1), column 'estimate_pct', value 690" in run.stderr, run.stderr[-3000:]
    assert not (tmp_path / "results").exists()


def test_lint_is_clean():
    run = subprocess.run([*SNAKEMAKE, "--lint"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_conda_env_mirrors_pinned_dependencies():
    import tomllib

    pins = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    env = yaml.safe_load((ROOT / "workflow" / "envs" / "crpsmeta.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins == {p for p in pip if "==" in p}
