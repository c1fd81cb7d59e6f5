"""End to end: the Snakemake workflow on the tiny directory tests/tiny.

Runs `snakemake --directory <copy of tests/tiny>` with the repository's
Snakefile, as the catalog convention for test configs does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

import arviz as az
import numpy as np
import pandas as pd
import yaml
from conftest import ROOT, SNAKEMAKE, read_rows, snakemake, write_rows

from crpsmeta.summaries.estimands import ESTIMAND_COLUMNS

TARGETS = ("results/summaries/estimands.csv", "results/diagnostics/diagnostics.csv")


def test_outputs_for_both_timepoints(tiny):
    results = tiny / "results"
    for tp in ("immediate", "followup"):
        idata = az.from_netcdf(results / "fits" / "pooled_rate" / tp / "idata.nc")
        for group in (
            "posterior",
            "log_likelihood",
            "prior",
            "prior_predictive",
            "posterior_predictive",
            "observed_data",
            "constant_data",
            "sample_stats",
        ):
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
        assert {
            "placebo_response_rate",
            "ketamine_response_rate",
            "risk_difference",
            "odds_ratio",
            "nnt",
            "prob_risk_difference_gt_0",
            "prob_risk_difference_gt_threshold",
            "tau",
            "design_bias",
        } <= adjusted
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


def test_unconverged_fit_is_stopped_by_its_gate_then_warn_mode_marks_it(tiny, tiny_copy):
    """A fit that has not converged stops the run at its gate, naming the fit and the failing diagnostic; in
    warn mode the run finishes and the report's summary of findings marks every number of that fit.

    The fit is made to fail honestly, not by an impossible threshold: 100 tuning steps, 100 draws a chain and
    target_accept 0.55 (the smallest the schema allows) leave pooled_rate's chains unmixed (R-hat about 1.13,
    bulk ESS about 13, divergences)."""
    workdir = tiny_copy
    cfg_path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["sampler"].update(tune=100, draws=100, target_accept=0.55)
    cfg_path.write_text(yaml.safe_dump(cfg))
    sof = "results/report/summary_of_findings.csv"
    run = snakemake(workdir, *TARGETS, "--forcerun", "results/fits/pooled_rate/immediate/idata.nc")
    assert run.returncode != 0
    gate = re.search(
        r"fit pooled_rate/default/immediate FAILED its convergence gate: "
        r"(r_hat|ess_bulk|ess_tail|divergences|ebfmi) = ",
        run.stderr,
    )
    assert gate, run.stderr[-3000:]
    assert not (workdir / "results" / "diagnostics" / "pooled_rate" / "immediate" / "diagnostics.csv").exists()
    assert (workdir / TARGETS[0]).read_bytes() == (tiny / TARGETS[0]).read_bytes()  # the old table, untouched

    for spec in cfg["diagnostics"].values():
        spec["on_failure"] = "warn"
    cfg_path.write_text(yaml.safe_dump(cfg))
    page = "results/report/index.html"
    run = snakemake(workdir, *TARGETS, sof, page)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"WARNING: fit pooled_rate/default/immediate failed diagnostic {gate.group(1)} = " in run.stderr
    diag = pd.read_csv(workdir / "results" / "diagnostics" / "diagnostics.csv")
    failed = diag[~diag["passed"]]
    assert set(zip(failed["model"], failed["timepoint"])) == {("pooled_rate", "immediate")}
    rows = pd.read_csv(workdir / sof)
    marked = rows[(rows["model"] == "pooled_rate") & (rows["timepoint"] == "immediate")]
    others = rows[~rows.index.isin(marked.index)]
    assert len(marked) and not marked["gate_passed"].any()
    assert marked["sentence"].str.startswith("NOT CONVERGED - do not use.").all()
    assert others["gate_passed"].all() and not others["sentence"].str.contains("NOT CONVERGED").any()
    html = (workdir / page).read_text(encoding="utf-8")
    assert 'id="gate-failures"' in html and "CONVERGENCE FAILURE: 1 fit(s) failed a diagnostic gate" in html
    failed_rows = re.findall(
        r'<tr data-estimand="([a-z_]+)" class="failed">\s*<td>[^<]*<b>\(fit failed its gate\)</b>', html
    )
    assert failed_rows == list(marked["estimand"])  # those rows, and no other, carry the mark


FIT = "results/fits/pooled_rate/immediate/idata.nc"


def test_killed_run_leaves_nothing_complete_and_a_rerun_gives_identical_numbers(tiny, tiny_copy, tmp_path):
    """kill -9 while a fit runs: Snakemake must not take the fit's output for finished, the same command run
    again (after `snakemake --unlock`) must finish, and the same seed must give a byte-identical estimands.csv."""
    workdir = tiny_copy
    marker = workdir / ".snakemake" / "incomplete" / base64.urlsafe_b64encode(FIT.encode()).decode()
    with open(tmp_path / "killed.log", "w") as log:
        run = subprocess.Popen(
            [*SNAKEMAKE, "--directory", str(workdir), "--cores", "2", TARGETS[0], "--forcerun", FIT],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 300
        while not marker.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), (tmp_path / "killed.log").read_text()[-3000:]
        time.sleep(1.0)  # the fit's process is importing or sampling (it takes over 5 s)
        os.killpg(run.pid, signal.SIGKILL)  # Snakemake and its jobs, with no chance to clean up
        run.wait(timeout=60)
    assert marker.exists(), "the fit finished before it was killed; the test did not interrupt anything"
    # Killed before it wrote, the fit has no output, which plainly needs making. Killed while writing, it leaves
    # a partial file: put one there, so that the harder case is the one tested.
    if not (workdir / FIT).exists():
        (workdir / FIT).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)

    # Snakemake's own view, without this workflow's default profile: the file is incomplete, not finished
    bare = snakemake(workdir, "--workflow-profile", "none", "--dry-run", TARGETS[0])
    said = bare.stdout + bare.stderr
    assert bare.returncode != 0 and "IncompleteFilesException" in said and FIT in said, said[-3000:]
    # with it (profiles/default: rerun-incomplete), the plan remakes the fit
    plan = snakemake(workdir, "--dry-run", TARGETS[0])
    shown = plan.stdout + plan.stderr
    fit_job = rf"rule fit_\w+:\n(?:\s+\w+: .*\n)*?\s+output: [^\n]*{re.escape(FIT)}"
    assert plan.returncode == 0 and re.search(fit_job, shown), shown

    # the killed run's lock is still there, and Snakemake cannot tell it from a running one: it refuses, and
    # says how to remove it (the README's recovery steps are this: unlock, then the same command)
    locked = snakemake(workdir, TARGETS[0])
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    assert snakemake(workdir, "--unlock").returncode == 0
    rerun = snakemake(workdir, TARGETS[0])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert not marker.exists()
    assert (workdir / TARGETS[0]).read_bytes() == (tiny / TARGETS[0]).read_bytes()


def test_another_seed_agrees_within_monte_carlo_error(tiny, tiny_copy):
    """Seed 7 against seed 8 for one fit: other draws, the same posterior summaries within 4 Monte Carlo
    standard errors (MCSE of a mean = sd / sqrt(bulk ESS))."""
    workdir = tiny_copy
    cfg_path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["seed"] += 1
    cfg_path.write_text(yaml.safe_dump(cfg))
    summary = "results/summaries/pooled_rate/immediate/estimands.csv"
    run = snakemake(workdir, summary, "--forcerun", FIT)
    assert run.returncode == 0, run.stderr[-3000:]
    seeds = [az.from_netcdf(d / FIT).posterior.attrs["seed"] for d in (tiny, workdir)]
    assert seeds[0] != seeds[1]
    a, b = (pd.read_csv(d / summary).set_index("estimand") for d in (tiny, workdir))
    assert list(a.index) == list(b.index) and not a["mean"].equals(b["mean"])
    rows = a.index[a["sd"].notna() & a["ess_bulk"].notna() & (a["sd"] > 0)]
    assert len(rows) >= 5
    mcse = np.sqrt(a.loc[rows, "sd"] ** 2 / a.loc[rows, "ess_bulk"] + b.loc[rows, "sd"] ** 2 / b.loc[rows, "ess_bulk"])
    z = (a.loc[rows, "mean"] - b.loc[rows, "mean"]).abs() / mcse
    assert (z < 4).all(), z.to_string()


def test_every_record_carries_its_seed_data_hashes_and_versions(tiny):
    digests = {
        name: hashlib.sha256((tiny / "data" / name).read_bytes()).hexdigest()
        for name in ("studies.csv", "outcomes.csv")
    }
    records = sorted((tiny / "results").rglob("idata.nc"))
    assert len(records) >= 9
    seeds = set()
    for path in records:
        attrs = az.from_netcdf(path).posterior.attrs
        seeds.add(int(attrs["seed"]))
        assert json.loads(attrs["data_sha256"]) == digests, path
        versions = json.loads(attrs["versions"])
        assert {"crpsmeta", "pymc", "pytensor", "arviz", "numpy", "python"} <= set(versions), path
    assert len(seeds) == len(records)  # every fit its own seed


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
    assert "data/outcomes.csv, line 4 (row 3), column 'responders', value 99: responders exceed n" in run.stderr, (
        run.stderr[-3000:]
    )
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


def test_adding_a_study_resamples_only_the_fits_whose_rows_it_changes(tiny, tiny_copy):
    """A new single-arm series reporting only at follow-up: every fit job of pooled_rate runs again (its data
    file is rewritten), but the immediate fit's rows, priors, sampler and seed are unchanged, so it reuses its
    cached record (the same draws); the follow-up fit, whose rows gained the study, is sampled anew."""
    jobs = ("fit_pooled_rate_immediate", "fit_pooled_rate_followup")
    workdir = tiny_copy
    with open(workdir / "data" / "studies.csv", "a", encoding="utf-8") as fh:
        fh.write("NewSeries2026,A new series (test),,,case_series,true,,,racemic,,,,,,,,test row,primary,,\n")
    outcomes = (workdir / "data" / "outcomes.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    row = dict.fromkeys(outcomes, "")
    row.update(
        study_id="NewSeries2026",
        arm="ketamine",
        timepoint="followup",
        measure="responders",
        n="20",
        responders="12",
        responder_definition=">= 30 % pain relief",
        definition_class="ge30pct",
        source="test row",
        verification="primary",
    )
    with open(workdir / "data" / "outcomes.csv", "a", encoding="utf-8") as fh:
        fh.write(",".join(row[c] for c in outcomes) + "\n")
    fits = {tp: f"results/fits/pooled_rate/{tp}/idata.nc" for tp in ("immediate", "followup")}
    run = snakemake(workdir, *fits.values())
    assert run.returncode == 0, run.stderr[-3000:]
    assert all(run.stderr.count(f"rule {job}:") == 1 for job in jobs), "both fit jobs should run again"
    after = {tp: az.from_netcdf(workdir / path) for tp, path in fits.items()}
    assert after["immediate"].posterior.attrs["fit_cache"] == "hit"
    assert after["followup"].posterior.attrs["fit_cache"] == "miss"
    before = az.from_netcdf(tiny / fits["immediate"])
    for var in ("mu", "tau", "pooled_rate"):
        np.testing.assert_array_equal(after["immediate"].posterior[var].values, before.posterior[var].values)
    assert "NewSeries2026" in after["followup"].posterior["study"].values
