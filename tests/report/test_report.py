"""The posterior report: summary of findings, evidence tables, the self-contained page in a real browser,
and `snakemake --report`."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, snakemake

from crpsmeta.report.findings import (
    SOF_ROWS,
    comparison_notes,
    evidence_counts,
    gate_status,
    report_caveats,
    summary_of_findings,
)
from crpsmeta.report.page import evidence_tables, external_asset_references


def _estimands(rd_lower=0.08):
    rows = []
    for tp in ("immediate", "followup"):
        for name, med, lo, hi in [
            ("ketamine_response_rate", 0.7, 0.4, 0.9),
            ("placebo_response_rate", 0.35, 0.15, 0.6),
            ("risk_difference", 0.32, rd_lower, 0.52),
            ("nnt", 3.1, 1.9, 13.0),
            ("predicted_ketamine_rate", 0.7, 0.2, 0.95),
            ("predicted_placebo_rate", 0.35, 0.08, 0.78),
            ("predicted_risk_difference", 0.3, -0.03, 0.55),
            ("placebo_share", 0.54, 0.27, 0.9),
        ]:
            rows.append(
                dict(
                    model="placebo_adjusted",
                    prior_set="default",
                    timepoint=tp,
                    estimand=name,
                    mean=med,
                    median=med,
                    lower=lo,
                    upper=hi,
                    note="",
                )
            )
        for name, p in [
            ("prob_risk_difference_gt_0", 0.99),
            ("prob_risk_difference_gt_threshold", 0.96),
            ("prob_predicted_risk_difference_gt_0", 0.97),
        ]:
            rows.append(
                dict(
                    model="placebo_adjusted",
                    prior_set="default",
                    timepoint=tp,
                    estimand=name,
                    mean=p,
                    median=np.nan,
                    lower=np.nan,
                    upper=np.nan,
                    note="",
                )
            )
        rows.append(
            dict(
                model="pooled_rate",
                prior_set="default",
                timepoint=tp,
                estimand="pooled_rate",
                mean=0.56,
                median=0.56,
                lower=0.19,
                upper=0.8,
                note="",
            )
        )
        rows.append(
            dict(
                model="pooled_rate",
                prior_set="default",
                timepoint=tp,
                estimand="predicted_rate",
                mean=0.56,
                median=0.56,
                lower=0.05,
                upper=0.95,
                note="",
            )
        )
        # another prior set must not leak into the table
        rows.append(
            dict(
                model="pooled_rate",
                prior_set="vague",
                timepoint=tp,
                estimand="pooled_rate",
                mean=0.1,
                median=0.1,
                lower=0.0,
                upper=0.2,
                note="",
            )
        )
    return pd.DataFrame(rows)


COUNTS = {
    "placebo_adjusted": {
        "immediate": {"studies": 5, "patients": 163, "study_ids": "A;B"},
        "followup": {"studies": 5, "patients": 177, "study_ids": "A;B"},
    },
    "pooled_rate": {
        "immediate": {"studies": 3, "patients": 85, "study_ids": "A"},
        "followup": {"studies": 5, "patients": 177, "study_ids": "A"},
    },
}


POWER = pd.DataFrame(
    {
        "model": ["placebo_adjusted", "placebo_adjusted", "pooled_rate", "pooled_rate"],
        "prior_set": ["default"] * 4,
        "timepoint": ["joint", "joint", "immediate", "followup"],
        "variable": ["risk_difference", "placebo_response_rate", "pooled_rate", "pooled_rate"],
        "element": ["immediate", "followup", np.nan, np.nan],
        "diagnosis": ["prior-dominated", "fine", "prior-data conflict", "fine"],
    }
)


def _sof(gates=None, estimands=None):
    gates = (
        gates
        if gates is not None
        else {
            ("placebo_adjusted", "joint"): True,
            ("pooled_rate", "immediate"): True,
            ("pooled_rate", "followup"): True,
        }
    )
    return summary_of_findings(
        estimands if estimands is not None else _estimands(),
        prior_set="default",
        counts=COUNTS,
        gates=gates,
        timepoints=["immediate", "followup"],
        threshold=0.1,
        reference_definition="ge30pct",
        prob=0.95,
        power_scaling=POWER,
    )


def test_summary_of_findings_has_a_row_per_timepoint_and_estimand_with_intervals_and_counts():
    sof = _sof()
    fitted = set(_estimands()["model"])  # pooled_rate and placebo_adjusted: every row of theirs, in order
    assert [tuple(r) for r in sof[["timepoint", "estimand"]].values] == [
        (tp, name) for tp in ("immediate", "followup") for name, _, model, _ in SOF_ROWS if model in fitted
    ]
    rd = sof[(sof["timepoint"] == "immediate") & (sof["estimand"] == "risk_difference")].iloc[0]
    assert (rd["estimate"], rd["lower"], rd["upper"], rd["pred_lower"], rd["pred_upper"]) == (
        0.32,
        0.08,
        0.52,
        -0.03,
        0.55,
    )
    assert (rd["studies"], rd["patients"]) == (5, 163)
    raw = sof[(sof["timepoint"] == "followup") & (sof["estimand"] == "pooled_rate")].iloc[0]
    assert raw["estimate"] == 0.56 and (raw["studies"], raw["patients"]) == (5, 177)  # not the 'vague' row
    prob = sof[sof["estimand"] == "prob_risk_difference_gt_0"].iloc[0]
    assert prob["probability"] == 0.99 and prob["predictive_probability"] == 0.97
    assert sof["sentence"].str.len().gt(40).all()
    assert "32 percentage points" in rd["sentence"] and "8 to 52" in rd["sentence"]
    # each row carries the power-scaling diagnosis of its quantity, at its own fit and timepoint
    diag = sof.set_index(["timepoint", "estimand"])["prior_sensitivity"]
    assert diag[("immediate", "risk_difference")] == diag[("immediate", "nnt")] == "prior-dominated"
    assert diag[("followup", "placebo_response_rate")] == "fine" and diag[("followup", "risk_difference")] == "-"
    assert diag[("immediate", "pooled_rate")] == "prior-data conflict" and diag[("followup", "pooled_rate")] == "fine"
    # the follow-up probability's caveat sits with the posterior probability, before the predictive one
    follow = sof[(sof["timepoint"] == "followup") & (sof["estimand"] == "prob_risk_difference_gt_0")].iloc[0]
    text = follow["sentence"]
    assert text.index("is 99 %") < text.index("persistence") < text.index("new randomised study would find")


def test_summary_of_findings_says_when_the_nnt_interval_includes_no_benefit():
    sof = _sof(
        estimands=_estimands(rd_lower=-0.05).assign(
            lower=lambda d: np.where(d["estimand"] == "nnt", 1.9, d["lower"]),
            upper=lambda d: np.where(d["estimand"] == "nnt", -20.0, d["upper"]),
        )
    )
    nnt = sof[sof["estimand"] == "nnt"].iloc[0]
    assert "includes no difference" in nnt["sentence"] and "harm of 20" in nnt["sentence"]
    harm = _sof(
        estimands=_estimands().assign(
            median=lambda d: np.where(d["estimand"] == "nnt", -5.0, d["median"]),
            lower=lambda d: np.where(d["estimand"] == "nnt", -3.0, d["lower"]),
            upper=lambda d: np.where(d["estimand"] == "nnt", -12.0, d["upper"]),
        )
    )
    text = harm[harm["estimand"] == "nnt"].iloc[0]["sentence"]
    assert "worse than placebo" in text and "every 5 treated" in text and "3 to 12" in text and "-" not in text


def test_a_fit_that_failed_its_gate_is_marked_in_every_row_it_feeds():
    sof = _sof(
        gates={
            ("placebo_adjusted", "joint"): False,
            ("pooled_rate", "immediate"): True,
            ("pooled_rate", "followup"): True,
        }
    )
    adjusted = sof[sof["model"] == "placebo_adjusted"]
    assert (~adjusted["gate_passed"]).all() and adjusted["sentence"].str.startswith("NOT CONVERGED").all()
    assert sof[sof["model"] == "pooled_rate"]["gate_passed"].all()
    diagnostics = pd.DataFrame({"model": ["m", "m"], "timepoint": ["joint", "joint"], "passed": [True, False]})
    assert gate_status(diagnostics) == {("m", "joint"): False}


def test_evidence_counts_patients_per_arm_from_the_data_table():
    outcomes = pd.DataFrame(
        {
            "study_id": ["S1", "S1", "S1", "S2", "S2"],
            "arm": ["ketamine", "placebo", "ketamine", "ketamine", "ketamine"],
            "timepoint": ["immediate"] * 3 + ["immediate", "followup"],
            "measure": ["pain", "pain", "responders", "responders", "responders"],
            "n": [30, 30, 28, 10, 9],
        }
    )
    used = pd.DataFrame(
        {
            "study_id": ["S1", "S2", "S2"],
            "arm": ["ketamine_vs_placebo", "ketamine", "ketamine"],
            "timepoint": ["immediate", "immediate", "followup"],
            "n": [np.nan, 10, 9],
        }
    )
    counts = evidence_counts(outcomes, used, "joint", {"S1": "rct", "S2": "case_series"})
    assert counts["immediate"] == {
        "studies": 2,
        "patients": 30 + 30 + 10,
        "study_ids": "S1;S2",
        "controlled_studies": 1,
        "controlled_patients": 60,
        "randomised_studies": 1,
        "randomised_patients": 60,
        "placebo_count_arms": 0,
    }
    assert counts["followup"]["controlled_studies"] == counts["followup"]["randomised_studies"] == 0
    assert counts["followup"]["patients"] == 9
    # a per-timepoint fit's used.csv has neither arm nor timepoint: the arm its model pools, at the fit's unit
    assert (
        evidence_counts(outcomes, pd.DataFrame({"study_id": ["S1"], "n": [28]}), "immediate", model="pooled_rate")[
            "immediate"
        ]["patients"]
        == 30
    )
    # placebo arms with responder counts (a contrast's placebo arm reports pain, so it is not one of them)
    assert (
        evidence_counts(
            outcomes, pd.DataFrame({"study_id": ["S1", "S2"], "n": [30, 10]}), "followup", model="placebo_map"
        )["followup"]["placebo_count_arms"]
        == 2
    )
    both = pd.DataFrame(
        {
            "study_id": ["S1", "S1"],
            "arm": ["placebo", "ketamine_vs_placebo"],
            "timepoint": ["immediate", "followup"],
            "kind": ["responders", "contrast"],
            "n": [30, None],
        }
    )
    counts = evidence_counts(outcomes, both, "joint", model="placebo_adjusted")
    assert (counts["immediate"]["placebo_count_arms"], counts["followup"]["placebo_count_arms"]) == (1, 0)


def _arm_tables():
    """A controlled trial (both arms report responders), a non-randomised controlled study and a case series."""
    studies = pd.DataFrame(
        {
            "study_id": ["S1", "S2", "S3"],
            "design": ["rct", "nonrandomized_controlled", "case_series"],
            "include": [True] * 3,
            "source": ["a", "b", "c"],
            "verification": ["primary"] * 3,
            "notes": [""] * 3,
        }
    )
    outcomes = pd.DataFrame(
        {
            "study_id": ["S1", "S1", "S2", "S2", "S3"],
            "arm": ["ketamine", "placebo", "ketamine", "placebo", "ketamine"],
            "timepoint": ["immediate"] * 5,
            "measure": ["responders"] * 5,
            "n": [30, 29, 20, 21, 10],
            "responders": [18, 9, 11, 6, 7],
            "source": ["a", "a", "b", "b", "c"],
            "verification": ["primary"] * 5,
        }
    )
    return studies, outcomes


def test_a_placebo_map_fit_uses_placebo_arms_in_the_evidence_tables():
    """placebo_map pools placebo arms: its used.csv (no arm column) marks the placebo rows, not the ketamine ones."""
    studies, outcomes = _arm_tables()
    used = {
        "placebo_map/immediate": pd.DataFrame({"study_id": ["S1", "S2"], "n": [29, 21], "responders": [9, 6]}),
        "pooled_rate/immediate": pd.DataFrame(
            {"study_id": ["S1", "S2", "S3"], "n": [30, 20, 10], "responders": [18, 11, 7]}
        ),
    }
    gaps = {fit: pd.DataFrame(columns=["study_id", "reason"]) for fit in used}
    tables = evidence_tables(studies, outcomes, used, gaps)
    used_by = tables["outcomes"].set_index(["study_id", "arm"])["used_by"].to_dict()
    assert used_by == {
        ("S1", "ketamine"): "pooled_rate/immediate",
        ("S1", "placebo"): "placebo_map/immediate",
        ("S2", "ketamine"): "pooled_rate/immediate",
        ("S2", "placebo"): "placebo_map/immediate",
        ("S3", "ketamine"): "pooled_rate/immediate",
    }


def test_used_arms_take_the_arm_each_model_pools():
    from crpsmeta.registry import POOLED_ARM, pooled_arm
    from crpsmeta.report.findings import used_arms

    _, outcomes = _arm_tables()
    per_timepoint = pd.DataFrame({"study_id": ["S1", "S2"], "n": [29, 21], "responders": [9, 6]})
    assert used_arms(per_timepoint, "immediate", model="placebo_map")["arm"].tolist() == ["placebo", "placebo"]
    assert (
        used_arms(per_timepoint, "followup", model="pooled_rate")[["arm", "timepoint"]].values.tolist()
        == [["ketamine", "followup"]] * 2
    )
    assert set(used_arms(per_timepoint, "immediate", model="regression_dose")["arm"]) == {"ketamine"}
    # placebo_adjusted names each row's arm; a contrast counts both arms
    joint = pd.DataFrame(
        {
            "study_id": ["S1", "S3"],
            "arm": ["ketamine_vs_placebo", "ketamine"],
            "timepoint": ["immediate", "immediate"],
            "kind": ["contrast", "responders"],
        }
    )
    assert used_arms(joint, "joint", model="placebo_adjusted")[["study_id", "arm"]].values.tolist() == [
        ["S1", "ketamine"],
        ["S1", "placebo"],
        ["S3", "ketamine"],
    ]
    # a file without arms from a model that pools no single arm is refused, not guessed
    with pytest.raises(ValueError, match="arm"):
        used_arms(per_timepoint, "immediate")
    with pytest.raises(ValueError, match="arm"):
        used_arms(per_timepoint, "joint", model="placebo_adjusted")
    # patients behind the placebo MAP fit are the placebo arms' (29 + 21), not the ketamine arms' (30 + 20)
    counts = evidence_counts(
        outcomes, per_timepoint, "immediate", {"S1": "rct", "S2": "nonrandomized_controlled"}, model="placebo_map"
    )["immediate"]
    assert (counts["patients"], counts["controlled_patients"], counts["randomised_patients"]) == (50, 50, 29)
    # one source for the data step and the report
    from crpsmeta.inputs import selection

    assert (
        selection.POOLED_ARM is POOLED_ARM
        and pooled_arm("placebo_map") == "placebo"
        and pooled_arm("placebo_adjusted") is None
    )


def test_randomised_counts_only_rcts_and_controlled_counts_every_design_with_a_placebo_arm():
    studies, outcomes = _arm_tables()
    designs = dict(zip(studies["study_id"], studies["design"]))
    used = pd.DataFrame(
        {
            "study_id": ["S1", "S1", "S2", "S2", "S3"],
            "arm": ["ketamine", "placebo", "ketamine", "placebo", "ketamine"],
            "timepoint": ["immediate"] * 5,
            "kind": ["responders"] * 5,
        }
    )
    counts = evidence_counts(outcomes, used, "joint", designs)["immediate"]
    assert counts == {
        "studies": 3,
        "patients": 110,
        "study_ids": "S1;S2;S3",
        "controlled_studies": 2,
        "controlled_patients": 100,
        "randomised_studies": 1,
        "randomised_patients": 59,
        "placebo_count_arms": 2,
    }
    sof = summary_of_findings(
        _estimands(),
        prior_set="default",
        counts={"placebo_adjusted": {"immediate": counts}},
        gates={("placebo_adjusted", "joint"): True},
        timepoints=["immediate"],
        threshold=0.1,
        reference_definition="ge30pct",
        prob=0.95,
    )
    row = sof[sof["estimand"] == "ketamine_response_rate"].iloc[0]
    assert (
        row["controlled_studies"],
        row["controlled_patients"],
        row["randomised_studies"],
        row["randomised_patients"],
    ) == (2, 100, 1, 59)
    assert "(model-based: 2 controlled studies at this timepoint, 1 of them randomised)" in row["sentence"]
    assert (
        "rest on 2 controlled studies (100 patients), 1 of them randomised (59 patients); the rest"
        in report_caveats(sof)[0]
    )
    # the page's summary table shows both counts under headers that say what they count (and, as the
    # summary_of_findings rule writes it, each row's drafted certainty)
    from crpsmeta.report.certainty import certainty_table

    drafted = certainty_table(sof, _estimands(), prior_set="default", threshold=0.1, nonreference_shares={})
    sof = sof.merge(drafted[["timepoint", "estimand", "certainty", "downgrades", "overridden"]], how="left")
    page = _render_findings(sof)
    assert "<th>Certainty (GRADE-style)</th>" in page
    assert re.search(r'data-certainty="(high|moderate|low|very low)"', page)
    assert "<th>of which controlled</th><th>of which randomised</th>" in page
    cells = re.findall(r'<td class="num">([^<]*)</td>', page.split('data-estimand="ketamine_response_rate"')[1])
    assert cells[3:5] == ["2 (100)", "1 (59)"]
    # single-arm series only: neither count
    alone = evidence_counts(outcomes, used[used["study_id"] == "S3"], "joint", designs)["immediate"]
    assert (alone["controlled_studies"], alone["randomised_studies"]) == (0, 0)


def _render_findings(sof: pd.DataFrame) -> str:
    """The report page's summary-of-findings section (from index.html.j2), rendered for ``sof``."""
    from jinja2 import Environment, StrictUndefined

    from crpsmeta.formatting import fmt, pct

    source = (ROOT / "workflow" / "report" / "index.html.j2").read_text(encoding="utf-8")
    section = source[source.index('<section id="findings">') : source.index("<h3>Beside the published")]
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=fmt, pct=pct)
    return env.from_string(section).render(
        sof={tp: sof[sof["timepoint"] == tp].to_dict("records") for tp in sof["timepoint"].unique()},
        p={"reference_definition": "ge30pct", "prior_set": "default", "threshold": 0.1},
        prob_label="95 %",
        interval_kind="equal-tailed",
    )


def test_evidence_tables_list_exclusions_usage_and_gaps_including_silent_studies():
    studies = pd.DataFrame(
        {
            "study_id": ["S1", "S2", "S3"],
            "design": ["rct", "case_series", "rct"],
            "include": [True, True, False],
            "exclusion_reason": [None, None, "overlap"],
            "source": ["a", "b", "c"],
            "verification": ["primary"] * 3,
            "notes": ["", "no numeric outcome", ""],
        }
    )
    outcomes = pd.DataFrame(
        {
            "study_id": ["S1"],
            "arm": ["ketamine"],
            "timepoint": ["immediate"],
            "measure": ["responders"],
            "n": [10],
            "responders": [5],
            "source": ["a"],
            "verification": ["primary"],
        }
    )
    tables = evidence_tables(
        studies,
        outcomes,
        {"pooled_rate/immediate": pd.DataFrame({"study_id": ["S1"]})},
        {"pooled_rate/immediate": pd.DataFrame(columns=["study_id", "reason"])},
    )
    assert tables["outcomes"]["used_by"].tolist() == ["pooled_rate/immediate"]
    assert tables["excluded"]["study_id"].tolist() == ["S3"]
    assert tables["included"].set_index("study_id")["contributes"].to_dict() == {"S1": "yes", "S2": "no"}
    assert tables["gaps"]["study_id"].tolist() == ["S2"]


def test_comparison_with_published_figures_quotes_both_numbers():
    published = pd.DataFrame(
        {
            "synthesis_id": ["Zhao2018"],
            "timepoint": ["immediate"],
            "estimate_pct": [69.0],
            "lower_pct": [53.0],
            "upper_pct": [84.0],
            "studies": [9],
        }
    )
    notes = comparison_notes(_sof(), published, "ge30pct")
    assert "69 % [53, 84] (9 studies)" in notes[0] and "56 %" in notes[0] and "3 studies (85 patients)" in notes[0]
    assert any("placebo" in n for n in notes[1:])


def test_external_reference_detection():
    assert external_asset_references('<img src="data:image/png;base64,AA"><a href="#x">') == []
    assert external_asset_references('<script src="https://cdn.example/x.js"></script><img src="a.png">') == [
        "https://cdn.example/x.js",
        "a.png",
    ]


# ---- the report the workflow writes (tests/tiny) -------------------------------
def test_workflow_writes_a_self_contained_report(tiny):
    page = (tiny / "results" / "report" / "index.html").read_text(encoding="utf-8")
    assert external_asset_references(page) == []
    for section in ("findings", "figures", "diagnostics", "sensitivity", "evidence", "reproducibility"):
        assert f'id="{section}"' in page
    sof = pd.read_csv(tiny / "results" / "report" / "summary_of_findings.csv")
    assert set(sof["timepoint"]) == {"immediate", "followup"}
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert commit and commit in page
    config_text = (tiny / "config" / "config.yaml").read_text(encoding="utf-8")
    assert "Tiny test configuration" in config_text and "Tiny test configuration" in page
    from crpsmeta.fitting.record import file_sha256

    assert file_sha256(tiny / "data" / "outcomes.csv") in page
    assert "Zhao2018" in page and "Why ours differ" in page


def test_report_opens_in_headless_chromium_with_every_image_and_row(tiny):
    from browser import inspect_report, missing_browser

    reason = missing_browser()
    if reason:
        pytest.fail(f"the browser test needs Chromium: {reason}")
    shot = tiny / "results" / "report" / "screenshot.png"
    result = inspect_report(tiny / "results" / "report" / "index.html", shot)
    assert result["console"] == []
    assert result["external"] == []
    assert len(result["images"]) >= 10
    assert all(i["naturalWidth"] > 0 and i["complete"] for i in result["images"]), result["images"]
    sof = pd.read_csv(tiny / "results" / "report" / "summary_of_findings.csv")
    assert sorted(result["sof_rows"]) == sorted(map(tuple, sof[["timepoint", "estimand"]].values))
    fitted = set(pd.read_csv(tiny / "results" / "summaries" / "estimands.csv")["model"])
    assert fitted == {"pooled_rate", "placebo_adjusted"}  # tests/tiny has no placebo responder count: no placebo_map
    expected = {(tp, name) for tp in ("immediate", "followup") for name, _, model, _ in SOF_ROWS if model in fitted}
    assert set(result["sof_rows"]) == expected
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # kept for review beside the repository's own results (git-ignored)
    review = ROOT / "results" / "report" / "browser_test_screenshot.png"
    review.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, review)


def test_the_browser_check_catches_broken_images_and_script_errors(tmp_path):
    from browser import inspect_report, missing_browser

    reason = missing_browser()
    if reason:
        pytest.fail(f"the browser test needs Chromium: {reason}")
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!doctype html><html><body><img src="data:image/png;base64,AAAA" alt="broken">'
        '<script>throw new Error("boom")</script></body></html>',
        encoding="utf-8",
    )
    result = inspect_report(bad)
    assert any("boom" in e["message"] for e in result["console"])
    assert result["images"][0]["naturalWidth"] == 0


# captions of outputs the tiny run does not make (the time-course model, which the tiny config does not fit; its
# caption is checked by tests/workflow/test_time_course_workflow.py under -m slow)
NOT_IN_TINY = {"decay.rst"}


def test_snakemake_report_renders_every_caption_with_the_settings_used(tiny, tmp_path):
    out = tmp_path / "snakemake_report.zip"
    run = snakemake(tiny, "--report", str(out))
    assert run.returncode == 0, run.stderr[-3000:]
    with zipfile.ZipFile(out) as z:
        text = "\n".join(
            z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith((".html", ".js", ".json"))
        )
    text = re.sub(r"(\\n|\s)+", " ", text)  # caption line breaks are kept as \n inside the page's data
    # captions are rendered (no Jinja left) and carry the run's own settings
    assert "{{ snakemake" not in text and "snakemake.params" not in text and "snakemake.config" not in text
    # every caption file is used by a registered output of the tiny run, and rendered
    for caption in sorted((ROOT / "workflow" / "report" / "captions").glob("*.rst")):
        if caption.name in NOT_IN_TINY:
            continue
        opening = " ".join(caption.read_text(encoding="utf-8").split("{{")[0].split()[:5])
        assert opening in text, f"caption {caption.name} is not rendered in the report"
    assert "Prior set 'default'" in text  # prior_text of the forest and prior-posterior captions
    assert "pymc, 2 chains x 800 draws" in text  # rank plot caption from the tiny config's sampler


def test_published_figures_are_validated_with_file_row_column_value_and_rule(tmp_path, schemas):
    import yaml

    from crpsmeta.inputs.issues import InputValidationError
    from crpsmeta.inputs.tables import load_published

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "published.schema.yaml").read_text())
    table = load_published(ROOT / "data" / "published.csv", schema)
    assert table["estimate_pct"].tolist() == [69, 58] and table["timepoint"].tolist() == ["immediate", "followup"]
    bad = tmp_path / "published.csv"
    lines = (ROOT / "data" / "published.csv").read_text(encoding="utf-8").splitlines()
    bad.write_text(
        "\n".join([lines[0], lines[1].replace(",69,53,84,", ",69,73,84,"), lines[1]]) + "\n", encoding="utf-8"
    )
    with pytest.raises(InputValidationError) as err:
        load_published(bad, schema, "data/published.csv")
    text = str(err.value)
    assert "data/published.csv, line 2 (row 1), column 'lower_pct', value 73" in text
    assert "[rule: interval_contains_estimate]" in text and "[rule: duplicate_key]" in text


def test_a_published_figure_that_is_not_a_number_is_refused_not_crashed_on(tmp_path):
    """The interval check compares numbers only; text in estimate_pct is the schema's to refuse (the fuzzer
    found the TypeError this used to raise)."""
    import yaml

    from crpsmeta.inputs.issues import InputValidationError
    from crpsmeta.inputs.tables import load_published

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "published.schema.yaml").read_text())
    lines = (ROOT / "data" / "published.csv").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "published.csv"
    bad.write_text("\n".join([lines[0], lines[1].replace(",69,53,84,", ",abc,50,84,")]) + "\n", encoding="utf-8")
    with pytest.raises(InputValidationError) as err:
        load_published(bad, schema, "data/published.csv")
    assert [(i.column, i.value, i.rule) for i in err.value.issues] == [("estimate_pct", "abc", "type")]


def test_not_estimable_names_each_skipped_fit_and_each_uncontrolled_difference():
    """The report says plainly what the data cannot answer: skipped fits with their reason, a placebo-adjusted
    difference with no controlled study behind it, and a timepoint nothing was fitted at."""
    from crpsmeta.report.findings import not_estimable

    skipped = [("placebo_map", "immediate", "no included placebo arm reports a responder count at immediate")]
    sof = pd.DataFrame(
        {
            "timepoint": ["immediate", "immediate"],
            "model": ["placebo_adjusted", "pooled_rate"],
            "estimand": ["risk_difference", "pooled_rate"],
            "controlled_studies": [0, 0],
        }
    )
    lines = not_estimable(skipped, [("pooled_rate", "immediate")], ["immediate", "followup"], sof)
    assert lines[0] == (
        "The placebo response on its own, as a prior for a new trial (placebo_map) at the end of "
        "infusion: not estimated, because no included placebo arm reports a responder count at "
        "immediate."
    )
    assert lines[1].startswith("How much of the relief is more than placebo at the end of infusion: no controlled")
    assert lines[2] == "Nothing is estimated at 1-3 months: no fitted model has data there."
    assert len(lines) == 3
    sof.loc[0, "controlled_studies"] = 1  # one controlled study: the difference is measured, nothing to say
    assert not_estimable([], [("placebo_adjusted", "joint")], ["immediate", "followup"], sof) == []
