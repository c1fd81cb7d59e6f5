"""The workflow under a cluster-style executor: every job a separate process started by a submit script.

snakemake-executor-plugin-cluster-generic submits each job's jobscript through
profiles/local-cluster/local-submit.sh (a detached background
process, as sbatch would start it on a node). A job that read an undeclared
input, wrote an undeclared output or relied on state in the main Snakemake
process would fail or leave the run incomplete here.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml
from conftest import ROOT, snakemake

pytestmark = pytest.mark.cluster

PROFILE = ROOT / "profiles" / "local-cluster"


def _small_config(workdir):
    """tests/tiny, trimmed so every kind of rule runs once or twice: both models, one left-out study,
    the small-study regression, the report."""
    cfg = yaml.safe_load((ROOT / "tests" / "tiny" / "config" / "config.yaml").read_text())
    cfg["models"] = ["pooled_rate", "placebo_adjusted"]
    cfg["sensitivity_prior_sets"] = ["default"]
    cfg["criticism"]["influence"]["studies"] = ["Kiefer2008a"]
    cfg["meta_regression"]["covariates"] = []
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    shutil.copytree(ROOT / "tests" / "tiny" / "data", workdir / "data")


def test_every_job_runs_as_its_own_cluster_job(tmp_path):
    _small_config(tmp_path)
    run = snakemake(
        tmp_path,
        "--profile",
        str(PROFILE),
        "--cluster-generic-submit-cmd",
        f"bash {PROFILE / 'local-submit.sh'}",
        timeout=3000,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    submitted = run.stderr.count("Submitted job")
    assert submitted >= 20, run.stderr[-2000:]
    # the same outputs a local run writes, complete
    for path in (
        "results/report/index.html",
        "results/summaries/estimands.csv",
        "results/comparison/loo.csv",
        "results/influence/placebo_adjusted/joint/leave_one_out.csv",
        "results/regression/small_study.csv",
    ):
        assert (tmp_path / path).stat().st_size > 0, path
    estimands = pd.read_csv(tmp_path / "results" / "summaries" / "estimands.csv")
    assert {"pooled_rate", "placebo_adjusted"} <= set(estimands["model"])
    # and Snakemake sees nothing left to do
    again = snakemake(tmp_path, "--dry-run", "--quiet")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
