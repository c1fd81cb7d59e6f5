"""End to end on data shaped unlike the shipped tables: through `snakemake` to the report.

Two data sets the shipped and tiny tables never are:

- **responder counts only, single-arm series only** (the shipped single-arm
  studies' responder rows): no pain row, no placebo arm, no controlled study;
- **placebo arms only** (four synthetic RCT placebo arms) with
  ``models: [placebo_map]``, the meta-analytic-predictive prior on its own.

Each runs to ``results/report/index.html``, and the report must say plainly
what such data cannot estimate. All four runs are under ``-m shapes`` (the
default suite keeps the property tests and dry runs of test_any_valid_table.py,
and the unit tests below, for suite time): two with short
chains and a lean config (one prior set, no influence refits, no
regressions; warn gates, as a plumbing check), each with other legal config
choices (hdi intervals, one timepoint, another interval probability). Under
``-m shapes`` the same two data sets run with the shipped config itself (only
``models`` changed for the placebo set): every prior set, influence refits,
meta-regressions, nutpie with 4 x 2000 draws and error gates (the
responder-counts run refits 9 studies one at a time and takes about 40
minutes on 2 cores; the placebo run a few minutes).
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, read_rows, snakemake, write_rows

SHIPPED = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
LEAN_SAMPLER = {
    "backend": "pymc",
    "chains": 2,
    "draws": 300,
    "max_draws": 300,  # no second attempt: these runs check shapes, not ESS
    "tune": 300,
    "target_accept": 0.95,
    "prior_draws": 100,
    "threads": 1,
}


def lean(cfg: dict, **changes) -> dict:
    """A config that plans few jobs: short chains, one prior set, no refits or regressions, warn gates."""
    cfg = copy.deepcopy(cfg)
    cfg["sampler"] = dict(LEAN_SAMPLER)
    cfg["diagnostics"] = {name: {**spec, "on_failure": "warn"} for name, spec in cfg["diagnostics"].items()}
    cfg["sensitivity_prior_sets"] = [cfg["prior_set"]]
    cfg["criticism"]["influence"]["model"] = "none"
    cfg["meta_regression"]["covariates"] = []
    cfg["meta_regression"]["small_study"] = False
    for key, value in changes.items():
        cfg[key] = value
    return cfg


def responders_only(workdir: Path, cfg: dict) -> Path:
    """The shipped single-arm studies with their responder rows only."""
    header, studies = read_rows(ROOT / "data" / "studies.csv")
    single = {
        s["study_id"]
        for s in studies
        if s["include"] == "true" and s["design"] not in ("rct", "nonrandomized_controlled")
    }
    (workdir / "data").mkdir(parents=True)
    write_rows(workdir / "data" / "studies.csv", header, [s for s in studies if s["study_id"] in single])
    header, outcomes = read_rows(ROOT / "data" / "outcomes.csv")
    write_rows(
        workdir / "data" / "outcomes.csv",
        header,
        [o for o in outcomes if o["study_id"] in single and o["measure"] == "responders"],
    )
    return _config(workdir, cfg)


def placebo_only(workdir: Path, cfg: dict) -> Path:
    """Four synthetic randomised placebo arms, both timepoints, responder counts only."""
    (workdir / "data").mkdir(parents=True)
    provenance = {"source": "synthetic test data", "verification": "derived", "derivation": "made up for a test"}
    studies = [
        {
            "study_id": f"Placebo{2001 + i}",
            "citation": f"Synthetic placebo arm {i + 1}",
            "design": "rct",
            "include": "true",
            **provenance,
        }
        for i in range(4)
    ]
    write_rows(workdir / "data" / "studies.csv", list(studies[0]), studies)
    outcomes = [
        {
            "study_id": s["study_id"],
            "arm": "placebo",
            "timepoint": tp,
            "measure": "responders",
            "n": n + 5 * i,
            "responders": r + i,
            "responder_definition": ">=30 % relief",
            "definition_class": "ge30pct",
            **provenance,
        }
        for i, s in enumerate(studies)
        for tp, n, r in (("immediate", 20, 5), ("followup", 18, 3))
    ]
    write_rows(workdir / "data" / "outcomes.csv", list(outcomes[0]), outcomes)
    return _config(workdir, cfg)


def _config(workdir: Path, cfg: dict) -> Path:
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return workdir


def run_to_report(workdir: Path, timeout: int = 1800) -> str:
    run = snakemake(workdir, timeout=timeout)
    assert run.returncode == 0, run.stderr[-5000:]
    assert "Traceback" not in run.stderr
    page = workdir / "results" / "report" / "index.html"
    assert page.exists()
    return html.unescape(re.sub(r"\s+", " ", page.read_text()))


def not_estimable_box(page: str) -> str:
    match = re.search(r'id="not-estimable"><b>What these data cannot estimate:</b>(.*?)</div>', page)
    assert match, "the report does not say what these data cannot estimate"
    return match.group(1)


def check_responders_only(workdir: Path, cfg: dict, timeout: int = 1800) -> None:
    page = run_to_report(workdir, timeout)
    box = not_estimable_box(page)
    for tp in cfg["timepoints"]:  # no placebo arm: no MAP prior; no controlled study: no measured difference
        when = {"immediate": "the end of infusion", "followup": "1-3 months"}[tp]
        assert f"The placebo response on its own, as a prior for a new trial (placebo_map) at {when}" in box
        assert f"How much of the relief is more than placebo at {when}: no controlled study reports it" in box
    sof = pd.read_csv(workdir / "results" / "report" / "summary_of_findings.csv")
    assert set(sof["timepoint"]) == set(cfg["timepoints"])
    assert set(sof["model"]) == {"pooled_rate", "placebo_adjusted"}
    assert (sof["controlled_studies"] == 0).all() and (sof["randomised_studies"] == 0).all()
    diagnostics = pd.read_csv(workdir / "results" / "diagnostics" / "diagnostics.csv")
    assert set(zip(diagnostics["model"], diagnostics["timepoint"])) == {
        ("pooled_rate", tp) for tp in cfg["timepoints"]
    } | {("placebo_adjusted", "joint")}


def check_placebo_only(workdir: Path, cfg: dict, timeout: int = 1800) -> None:
    page = run_to_report(workdir, timeout)
    assert 'id="not-estimable"' not in page  # placebo_map is all config asks for, and it is estimated
    sof = pd.read_csv(workdir / "results" / "report" / "summary_of_findings.csv")
    assert set(sof["model"]) == {"placebo_map"} and set(sof["timepoint"]) == set(cfg["timepoints"])
    assert set(sof["estimand"]) == {"pooled_placebo_rate"} and sof["pred_lower"].notna().all()
    assert (sof["studies"] == 4).all() and (sof["randomised_studies"] == 4).all()
    assert sof["sentence"].str.contains("respond on placebo").all()
    # every placebo outcome row is labelled as used by placebo_map (the arm it pools), none as a ketamine arm
    for tp in cfg["timepoints"]:
        rows = re.findall(
            rf"<td>(Placebo200\d)</td> <td>(\w+)</td> <td>{tp}</td> .*?<td>([\w/]+|-)</td> <td>synthetic", page
        )
        assert len(rows) == 4 and all(arm == "placebo" and used == f"placebo_map/{tp}" for _, arm, used in rows)
    estimands = pd.read_csv(workdir / "results" / "summaries" / "estimands.csv")
    assert set(estimands["model"]) == {"placebo_map"} and set(estimands["timepoint"]) == set(cfg["timepoints"])
    for tp in cfg["timepoints"]:
        assert (workdir / "results" / "plots" / "placebo_map" / f"forest_{tp}.png").exists()


@pytest.mark.shapes
def test_responder_counts_only_single_arm_series_run_to_the_report(tmp_path):
    cfg = lean(SHIPPED, interval={"prob": 0.9, "type": "hdi"})
    check_responders_only(responders_only(tmp_path / "work", cfg), cfg)


@pytest.mark.shapes
def test_placebo_arms_only_with_placebo_map_run_to_the_report(tmp_path):
    cfg = lean(SHIPPED, models=["placebo_map"], timepoints=["followup"])
    check_placebo_only(placebo_only(tmp_path / "work", cfg), cfg)


@pytest.mark.shapes
def test_responder_counts_only_with_the_shipped_config(tmp_path):
    check_responders_only(responders_only(tmp_path / "work", SHIPPED), SHIPPED, timeout=7200)


@pytest.mark.shapes
def test_placebo_arms_only_with_the_shipped_config(tmp_path):
    cfg = {**copy.deepcopy(SHIPPED), "models": ["placebo_map"]}
    check_placebo_only(placebo_only(tmp_path / "work", cfg), cfg, timeout=7200)


# ---- what these runs found (kept as plain unit tests) ---------------------------------------------------------


def test_the_sensitivity_figure_says_so_when_no_key_estimand_is_fitted():
    """Found by the placebo-arms-only run: placebo_map estimates none of the old key estimands, and the figure
    step stopped the run ('no key estimand found'); now it draws a figure that says so."""
    from crpsmeta.figures.sensitivity import sensitivity_figure

    estimands = pd.DataFrame(
        {
            "model": ["placebo_map"],
            "prior_set": ["default"],
            "timepoint": ["followup"],
            "estimand": ["pooled_placebo_rate"],
            "median": [0.2],
            "lower": [0.1],
            "upper": [0.3],
        }
    )
    fig = sensitivity_figure(estimands, key_estimands=["risk_difference"], primary="default", prob=0.95)
    assert "None of the key estimands (risk_difference" in fig.axes[0].texts[0].get_text()
    fig = sensitivity_figure(estimands, key_estimands=["pooled_placebo_rate"], primary="default", prob=0.95)
    assert [ax.get_title() for ax in fig.axes] == ["placebo_map, followup"]
    assert "pooled_placebo_rate" in SHIPPED["criticism"]["key_estimands"]
