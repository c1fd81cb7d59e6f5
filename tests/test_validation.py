"""Validation: each rule triggers its own message naming file, line, column, value and rule."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import ROOT, read_rows, write_rows
from crpsmeta.validation import InputValidationError, load_tables, validate_config


def run_tables(data_dir, schemas):
    return load_tables(data_dir / "studies.csv", data_dir / "outcomes.csv", schemas["studies"],
                       schemas["outcomes"], "data/studies.csv", "data/outcomes.csv")


def issues_of(data_dir, schemas):
    with pytest.raises(InputValidationError) as info:
        run_tables(data_dir, schemas)
    return info.value.issues


def edit(data_dir, table, match, changes, *, drop=False, append=None):
    """Change the first row whose columns equal ``match``; return its file line."""
    path = data_dir / f"{table}.csv"
    header, rows = read_rows(path)
    for i, row in enumerate(rows):
        if all(row[k] == v for k, v in match.items()):
            if drop:
                rows.pop(i)
            else:
                row.update(changes)
            break
    else:
        raise AssertionError(f"no row matches {match}")
    if append is not None:
        rows.append({**rows[0], **append})
    write_rows(path, header, rows)
    return i + 2


def test_shipped_tables_are_valid(shipped_tables):
    studies, outcomes = shipped_tables
    assert studies["study_id"].is_unique
    assert {"study_id", "arm", "timepoint", "measure", "n", "responders"} <= set(outcomes.columns)
    # integer columns stay integers even with gaps
    assert str(outcomes["responders"].dtype) == "Int64"


KETAMINE_CORRELL = {"study_id": "Correll2004", "timepoint": "immediate", "measure": "responders"}

ROW_CASES = [
    # (id, table, match, changes, expected rule, expected column, expected value)
    ("responders_gt_n", "outcomes", KETAMINE_CORRELL, {"responders": "40", "responders_pct": ""},
     "responders_le_n", "responders", 40),
    ("n_zero", "outcomes", KETAMINE_CORRELL, {"n": "0", "responders": "0", "responders_pct": ""},
     "exclusiveMinimum", "n", 0),
    ("n_negative", "outcomes", KETAMINE_CORRELL, {"n": "-3"}, "exclusiveMinimum", "n", -3),
    ("responders_not_integer", "outcomes", KETAMINE_CORRELL, {"responders": "25.5"}, "type", "responders", "25.5"),
    ("responders_negative", "outcomes", KETAMINE_CORRELL, {"responders": "-1", "responders_pct": ""},
     "minimum", "responders", -1),
    ("unknown_arm", "outcomes", KETAMINE_CORRELL, {"arm": "Ketamine"}, "enum", "arm", "Ketamine"),
    ("unknown_timepoint", "outcomes", KETAMINE_CORRELL, {"timepoint": "6 months"}, "enum", "timepoint", "6 months"),
    ("unknown_measure", "outcomes", KETAMINE_CORRELL, {"measure": "relief"}, "enum", "measure", "relief"),
    ("unknown_study", "outcomes", KETAMINE_CORRELL, {"study_id": "Nobody2020"}, "known_study", "study_id",
     "Nobody2020"),
    ("derived_without_derivation", "outcomes", KETAMINE_CORRELL, {"derivation": ""}, "required", "derivation", None),
    ("pct_out_of_range", "outcomes", KETAMINE_CORRELL, {"responders_pct": "176"}, "maximum", "responders_pct", 176),
    ("pct_inconsistent", "outcomes", KETAMINE_CORRELL, {"responders_pct": "50"}, "pct_matches_count",
     "responders_pct", 50),
    ("placebo_in_single_arm", "outcomes", KETAMINE_CORRELL, {"arm": "placebo"}, "no_placebo_in_single_arm", "arm",
     "placebo"),
    ("pain_above_scale", "outcomes", {"study_id": "Sigtermans2009", "arm": "ketamine"}, {"pain_mean": "12.1"},
     "pain_on_scale", "pain_mean", 12.1),
    ("sd_not_positive", "outcomes", {"study_id": "Sigtermans2009", "arm": "ketamine"}, {"pain_se": "0"},
     "exclusiveMinimum", "pain_se", 0),
    ("pain_column_on_responder_row", "outcomes", KETAMINE_CORRELL, {"pain_mean": "3"}, "column_fits_measure",
     "pain_mean", 3),
    ("design_unknown", "studies", {"study_id": "Correll2004"}, {"design": "cohort"}, "enum", "design", "cohort"),
    ("include_not_boolean", "studies", {"study_id": "Correll2004"}, {"include": "yes"}, "type", "include", "yes"),
    ("excluded_without_reason", "studies", {"study_id": "Dahan2011"}, {"exclusion_reason": ""}, "required",
     "exclusion_reason", None),
    ("included_without_design", "studies", {"study_id": "Correll2004"}, {"design": ""}, "required", "design", None),
    ("bad_study_id", "studies", {"study_id": "Goebel2015"}, {"study_id": "goebel 2015"}, "pattern", "study_id",
     "goebel 2015"),
    ("dose_range_reversed", "studies", {"study_id": "Kiefer2008a"}, {"dose_min_mg_kg_h": "9"}, "dose_range_ordered",
     "dose_min_mg_kg_h", 9),
    ("unknown_overlap", "studies", {"study_id": "Dahan2011"}, {"overlaps_with": "Nobody2009"}, "known_study",
     "overlaps_with", "Nobody2009"),
    ("double_counting", "studies", {"study_id": "Dahan2011"}, {"include": "true", "exclusion_reason": ""},
     "no_double_counting", "overlaps_with", "Sigtermans2009"),
]


@pytest.mark.parametrize("case", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_each_rule_names_file_line_column_value_and_rule(case, data_copy, schemas):
    _, table, match, changes, rule, column, value = case
    line = edit(data_copy, table, match, changes)
    issues = issues_of(data_copy, schemas)
    hits = [i for i in issues if i.rule == rule and i.column == column]
    assert hits, f"expected rule {rule} on {column}, got: {[str(i) for i in issues]}"
    issue = hits[0]
    assert issue.file == f"data/{table}.csv"
    assert issue.line == line and issue.row == line - 1
    if value is not None:
        assert issue.value == value
    text = str(issue)
    assert f"data/{table}.csv" in text and f"line {line}" in text and f"'{column}'" in text
    assert f"[rule: {rule}]" in text


def test_duplicate_outcome_key(data_copy, schemas):
    header, rows = read_rows(data_copy / "outcomes.csv")
    rows.append(dict(rows[2]))
    write_rows(data_copy / "outcomes.csv", header, rows)
    issue = next(i for i in issues_of(data_copy, schemas) if i.rule == "unique_outcome_key")
    assert issue.line == len(rows) + 1 and "first on line 4" in issue.message


def test_duplicate_study_id(data_copy, schemas):
    header, rows = read_rows(data_copy / "studies.csv")
    rows.append(dict(rows[4]))
    write_rows(data_copy / "studies.csv", header, rows)
    issue = next(i for i in issues_of(data_copy, schemas) if i.rule == "unique_study_id")
    assert issue.value == rows[4]["study_id"]


def test_outcome_for_excluded_study(data_copy, schemas):
    edit(data_copy, "studies", {"study_id": "Goebel2015"}, {"include": "false", "exclusion_reason": "test"})
    issue = next(i for i in issues_of(data_copy, schemas) if i.rule == "included_study")
    assert issue.value == "Goebel2015" and issue.file == "data/outcomes.csv"


def test_controlled_design_needs_placebo_arm(data_copy, schemas):
    edit(data_copy, "outcomes", {"study_id": "Sigtermans2009", "arm": "placebo"}, {}, drop=True)
    issue = next(i for i in issues_of(data_copy, schemas) if i.rule == "controlled_has_placebo")
    assert "Sigtermans2009" in issue.message


@pytest.mark.parametrize("content, rule", [
    (b"", "empty_table"),
    (b"study_id,arm,timepoint,measure,source,verification\n", "empty_table"),
    (b"study_id,arm,timepoint,measure,source,verification\nCorrell2004,ketamine\n", "field_count"),
    (b"study_id,arm,timepoint,measure,source\nCorrell2004,ketamine,immediate,responders,x\n", "missing_column"),
    (b"study_id,arm,timepoint,measure,source,verification,colour\n", "unknown_column"),
    (b"study_id,arm,timepoint,measure,source,verification\nCorrell2004,ketamine,imm\xe9diate,pain,x,primary\n",
     "utf8"),
    (b'study_id,arm,timepoint,measure,source,verification\n"Correll2004,ketamine,immediate\n', "csv_syntax"),
])
def test_structural_problems(content, rule, data_copy, schemas):
    (data_copy / "outcomes.csv").write_bytes(content)
    issues = issues_of(data_copy, schemas)
    assert any(i.rule == rule and i.file == "data/outcomes.csv" for i in issues), [str(i) for i in issues]


def test_all_errors_reported_together(data_copy, schemas):
    edit(data_copy, "outcomes", KETAMINE_CORRELL, {"responders": "40", "responders_pct": ""})
    edit(data_copy, "outcomes", {"study_id": "Goebel2015"}, {"arm": "plaecbo"})
    edit(data_copy, "studies", {"study_id": "Correll2004"}, {"design": "cohort"})
    rules = {i.rule for i in issues_of(data_copy, schemas)}
    assert {"responders_le_n", "enum"} <= rules
    assert sum(1 for r in rules if r in {"responders_le_n", "enum"}) == 2


def test_missing_outcomes_are_allowed(data_copy, schemas):
    """A row with a denominator and no count, or a percentage and no n, is a documented gap, not an error."""
    studies, outcomes = run_tables(data_copy, schemas)
    gap = outcomes[(outcomes["study_id"] == "Goldberg2010") & (outcomes["timepoint"] == "followup")]
    assert gap["n"].isna().all() and gap["responders"].isna().all() and (gap["responders_pct"] == 60).all()


# ---------------------------------------------------------------- config

@pytest.fixture
def cfg(shipped_config):
    return copy.deepcopy(shipped_config)


def config_issues(cfg, schemas):
    text = (ROOT / "config" / "config.yaml").read_text()
    with pytest.raises(InputValidationError) as info:
        validate_config(cfg, schemas["config"], "config/config.yaml", text)
    return info.value.issues


def test_shipped_config_is_valid_and_defaults_fill_in(cfg, schemas):
    del cfg["interval"]
    del cfg["sampler"]["prior_draws"]
    out = validate_config(cfg, schemas["config"])
    assert out["interval"] == {"prob": 0.95, "type": "equal_tailed"}
    assert out["sampler"]["prior_draws"] == 1000
    assert out["diagnostics"]["r_hat"] == {"max": 1.01, "on_failure": "error"}


@pytest.mark.parametrize("mutate, key, rule", [
    (lambda c: c["prior_sets"]["default"]["pooled_rate"]["tau"].update(scale=-1.0),
     "prior_sets.default.pooled_rate.tau.scale", "exclusiveMinimum"),
    (lambda c: c.update(prior_set="optimistic"), "prior_set", "known_prior_set"),
    (lambda c: c.update(models=["pooled_rate", "network"]), "models.1", "enum"),
    (lambda c: c["interval"].update(prob=1.5), "interval.prob", "exclusiveMaximum"),
    (lambda c: c["interval"].update(prob=0), "interval.prob", "exclusiveMinimum"),
    (lambda c: c["sampler"].update(chians=4), "sampler.chians", "unknown_key"),
    (lambda c: c.update(seed=-1), "seed", "minimum"),
    (lambda c: c["diagnostics"]["r_hat"].update(on_failure="ignore"), "diagnostics.r_hat.on_failure", "enum"),
])
def test_config_rules(cfg, schemas, mutate, key, rule):
    mutate(cfg)
    issues = config_issues(cfg, schemas)
    hit = [i for i in issues if i.column == key and i.rule == rule]
    assert hit, [str(i) for i in issues]
    assert str(hit[0]).startswith("config/config.yaml")


def test_config_issue_points_at_the_yaml_line(cfg, schemas):
    cfg["interval"]["prob"] = 2
    text = (ROOT / "config" / "config.yaml").read_text()
    issue = config_issues(cfg, schemas)[0]
    assert text.splitlines()[issue.line - 1].strip().startswith("prob:")


def test_every_config_property_is_described(schemas):
    def walk(node, path):
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                assert "description" in sub or "$ref" in sub, f"{path}.{name} lacks a description"
                walk(sub, f"{path}.{name}")
            for key in ("additionalProperties", "items"):
                if isinstance(node.get(key), dict):
                    walk(node[key], path)
    walk(schemas["config"], "config")
