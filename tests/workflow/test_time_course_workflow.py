"""End to end: the time-course model through the workflow on the tiny directory, to the report (``-m slow``:
about 2 minutes on 2 cores; the shipped analysis runs it too, and its pieces are tested one by one in
tests/models/test_time_course.py)."""

from __future__ import annotations

import re
import shutil
import zipfile

import pandas as pd
import pytest
import yaml
from conftest import ROOT, snakemake


@pytest.mark.slow
def test_time_course_estimands_figure_and_report_section(tmp_path):
    work = tmp_path / "tiny"
    shutil.copytree(ROOT / "tests" / "tiny", work)
    path = work / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["models"] = ["placebo_adjusted", "time_course"]
    config["criticism"]["influence"]["model"] = "none"
    path.write_text(yaml.safe_dump(config))
    run = snakemake(work, "-n")
    # every prior set it is fitted under needs a half-life prior: refused, naming the key, before any job
    assert run.returncode != 0
    assert "prior_sets.default.placebo_adjusted.half_life" in run.stderr and "required_for_time_course" in run.stderr
    for block in config["prior_sets"].values():
        block["placebo_adjusted"]["half_life"] = {"family": "lognormal", "meanlog": 0.443, "sdlog": 0.345}
    path.write_text(yaml.safe_dump(config))
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-4000:]

    estimands = pd.read_csv(work / "results" / "summaries" / "estimands.csv")
    tc = estimands[estimands["model"] == "time_course"]
    assert set(tc["timepoint"]) == {"week_0", "week_4", "week_8", "week_12", "joint"}
    assert {"half_life", "weeks_to_threshold", "risk_difference"} <= set(tc["estimand"])
    sensitivity = pd.read_csv(work / "results" / "sensitivity" / "estimands.csv")
    assert set(sensitivity.loc[sensitivity["model"] == "time_course", "prior_set"]) == {"default", "wider"}
    curve = pd.read_csv(work / "results" / "time_course" / "curve.csv")
    assert curve["weeks"].min() == 0 and curve["weeks"].max() == 16  # the schema's default figure_weeks
    assert (work / "results" / "time_course" / "difference_by_week.png").stat().st_size > 10_000
    page = (work / "results" / "report" / "index.html").read_text()
    assert 'id="time-course"' in page and "The summary of findings uses the two-timepoint model" in page
    assert page.count('<tr data-week="') == 4
    # Snakemake's own report renders the figure's caption with the run's settings
    out = tmp_path / "report.zip"
    assert snakemake(work, "--report", str(out)).returncode == 0
    with zipfile.ZipFile(out) as z:
        text = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith((".html", ".js")))
    assert "ketamine-minus-placebo responder rate (left) and log odds ratio" in re.sub(r"(\\n|\s)+", " ", text)
