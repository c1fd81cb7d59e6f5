"""Validation: each rule triggers its own message naming file, line, column, value and rule."""

from __future__ import annotations

import copy

import pytest
from conftest import ROOT, read_rows, write_rows

from crpsmeta.inputs.config import validate_config
from crpsmeta.inputs.issues import InputValidationError
from crpsmeta.inputs.tables import load_tables


def run_tables(data_dir, schemas):
    return load_tables(
        data_dir / "studies.csv",
        data_dir / "outcomes.csv",
        schemas["studies"],
        schemas["outcomes"],
        "data/studies.csv",
        "data/outcomes.csv",
    )


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
    (
        "responders_gt_n",
        "outcomes",
        KETAMINE_CORRELL,
        {"responders": "40", "responders_pct": ""},
        "responders_le_n",
        "responders",
        40,
    ),
    (
        "n_zero",
        "outcomes",
        KETAMINE_CORRELL,
        {"n": "0", "responders": "0", "responders_pct": ""},
        "exclusiveMinimum",
        "n",
        0,
    ),
    ("n_negative", "outcomes", KETAMINE_CORRELL, {"n": "-3"}, "exclusiveMinimum", "n", -3),
    ("responders_not_integer", "outcomes", KETAMINE_CORRELL, {"responders": "25.5"}, "type", "responders", "25.5"),
    (
        "responders_negative",
        "outcomes",
        KETAMINE_CORRELL,
        {"responders": "-1", "responders_pct": ""},
        "minimum",
        "responders",
        -1,
    ),
    ("unknown_arm", "outcomes", KETAMINE_CORRELL, {"arm": "Ketamine"}, "enum", "arm", "Ketamine"),
    ("unknown_timepoint", "outcomes", KETAMINE_CORRELL, {"timepoint": "6 months"}, "enum", "timepoint", "6 months"),
    ("unknown_measure", "outcomes", KETAMINE_CORRELL, {"measure": "relief"}, "enum", "measure", "relief"),
    (
        "unknown_study",
        "outcomes",
        KETAMINE_CORRELL,
        {"study_id": "Nobody2020"},
        "known_study",
        "study_id",
        "Nobody2020",
    ),
    ("derived_without_derivation", "outcomes", KETAMINE_CORRELL, {"derivation": ""}, "required", "derivation", None),
    ("pct_out_of_range", "outcomes", KETAMINE_CORRELL, {"responders_pct": "176"}, "maximum", "responders_pct", 176),
    (
        "pct_inconsistent",
        "outcomes",
        KETAMINE_CORRELL,
        {"responders_pct": "50"},
        "pct_matches_count",
        "responders_pct",
        50,
    ),
    (
        "placebo_in_single_arm",
        "outcomes",
        KETAMINE_CORRELL,
        {"arm": "placebo"},
        "no_placebo_in_single_arm",
        "arm",
        "placebo",
    ),
    (
        "pain_above_scale",
        "outcomes",
        {"study_id": "Sigtermans2009", "arm": "ketamine"},
        {"pain_mean": "12.1"},
        "pain_on_scale",
        "pain_mean",
        12.1,
    ),
    (
        "sd_not_positive",
        "outcomes",
        {"study_id": "Sigtermans2009", "arm": "ketamine"},
        {"pain_se": "0"},
        "exclusiveMinimum",
        "pain_se",
        0,
    ),
    (
        "pain_column_on_responder_row",
        "outcomes",
        KETAMINE_CORRELL,
        {"pain_mean": "3"},
        "column_fits_measure",
        "pain_mean",
        3,
    ),
    ("design_unknown", "studies", {"study_id": "Correll2004"}, {"design": "cohort"}, "enum", "design", "cohort"),
    ("include_not_boolean", "studies", {"study_id": "Correll2004"}, {"include": "yes"}, "type", "include", "yes"),
    (
        "excluded_without_reason",
        "studies",
        {"study_id": "Dahan2011"},
        {"exclusion_reason": ""},
        "required",
        "exclusion_reason",
        None,
    ),
    ("included_without_design", "studies", {"study_id": "Correll2004"}, {"design": ""}, "required", "design", None),
    (
        "bad_study_id",
        "studies",
        {"study_id": "Goebel2015"},
        {"study_id": "goebel 2015"},
        "pattern",
        "study_id",
        "goebel 2015",
    ),
    (
        "dose_range_reversed",
        "studies",
        {"study_id": "Kiefer2008a"},
        {"dose_min_mg_kg_h": "9"},
        "dose_range_ordered",
        "dose_min_mg_kg_h",
        9,
    ),
    (
        "unknown_overlap",
        "studies",
        {"study_id": "Dahan2011"},
        {"overlaps_with": "Nobody2009"},
        "known_study",
        "overlaps_with",
        "Nobody2009",
    ),
    (
        "overlap_self",
        "studies",
        {"study_id": "Dahan2011"},
        {"overlaps_with": "Dahan2011"},
        "overlap_self",
        "overlaps_with",
        "Dahan2011",
    ),
    (
        "quartiles_unordered",
        "outcomes",
        {"study_id": "Mangnus2021", "measure": "pain"},
        {"pain_q1": "7", "pain_q3": "9", "pain_iqr": ""},
        "quartiles_ordered",
        "pain_median",
        6,
    ),
    (
        "iqr_wider_than_scale",
        "outcomes",
        {"study_id": "Mangnus2021", "measure": "pain"},
        {"pain_iqr": "14"},
        "pain_on_scale",
        "pain_iqr",
        14,
    ),
    (
        "pain_row_without_scale",
        "outcomes",
        {"study_id": "Mangnus2021", "measure": "pain"},
        {"pain_scale_max": ""},
        "required",
        "pain_scale_max",
        None,
    ),
    (
        "responder_row_without_class",
        "outcomes",
        KETAMINE_CORRELL,
        {"definition_class": ""},
        "required",
        "definition_class",
        None,
    ),
    ("count_without_n", "outcomes", KETAMINE_CORRELL, {"n": ""}, "required", "n", None),
    (
        "weeks_outside_timepoint",
        "outcomes",
        {"study_id": "Mangnus2021", "timepoint": "immediate", "measure": "responders"},
        {"weeks": "52"},
        "weeks_fit_timepoint",
        "weeks",
        52,
    ),
    (
        "number_with_underscore",
        "outcomes",
        KETAMINE_CORRELL,
        {"responders_pct": "7_6"},
        "type",
        "responders_pct",
        "7_6",
    ),
    ("huge_integer", "outcomes", KETAMINE_CORRELL, {"n": "99999999999999999999"}, "maximum", "n", 99999999999999999999),
    (
        "text_dose",
        "studies",
        {"study_id": "Kiefer2008a"},
        {"dose_min_mg_kg_h": "abc"},
        "type",
        "dose_min_mg_kg_h",
        "abc",
    ),
    ("blank_study_id", "studies", {"study_id": "Goebel2015"}, {"study_id": ""}, "required", "study_id", None),
    (
        "double_counting",
        "studies",
        {"study_id": "Dahan2011"},
        {"include": "true", "exclusion_reason": ""},
        "no_double_counting",
        "overlaps_with",
        "Sigtermans2009",
    ),
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


def test_transitive_overlap_is_double_counting(data_copy, schemas):
    """A -> B (excluded) <- C with A and C included: the same patients twice."""
    edit(
        data_copy,
        "studies",
        {"study_id": "Schilder2013"},
        {"include": "true", "exclusion_reason": "", "design": "rct", "overlaps_with": "Dahan2011"},
    )
    edit(data_copy, "studies", {"study_id": "Dahan2011"}, {"overlaps_with": ""})
    edit(data_copy, "studies", {"study_id": "Sigtermans2009"}, {"overlaps_with": "Dahan2011"})
    issue = next(i for i in issues_of(data_copy, schemas) if i.rule == "no_double_counting")
    assert "Sigtermans2009" in issue.message or "Schilder2013" in issue.message


def test_row_numbers_survive_a_malformed_row(data_copy, schemas):
    edit(data_copy, "outcomes", KETAMINE_CORRELL, {"responders": "40", "responders_pct": ""})  # line 4
    path = data_copy / "outcomes.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(2, "Correll2004,ketamine\n")  # a short row on line 3 pushes Correll to line 5
    path.write_text("".join(lines))
    issues = issues_of(data_copy, schemas)
    short = next(i for i in issues if i.rule == "field_count")
    assert (short.line, short.row) == (3, 2)
    over = next(i for i in issues if i.rule == "responders_le_n")
    assert (over.line, over.row) == (5, 4)


def test_missing_file_is_reported(tmp_path, schemas):
    (tmp_path / "studies.csv").write_text("study_id\n")
    with pytest.raises(InputValidationError) as info:
        load_tables(tmp_path / "studies.csv", tmp_path / "nope.csv", schemas["studies"], schemas["outcomes"])
    assert any(i.rule == "readable" and i.file.endswith("nope.csv") for i in info.value.issues)


def test_duplicate_column(data_copy, schemas):
    path = data_copy / "studies.csv"
    text = path.read_text().splitlines()
    text[0] = text[0].replace("notes", "citation")
    path.write_text("\n".join(text) + "\n")
    assert any(i.rule == "duplicate_column" and i.column == "citation" for i in issues_of(data_copy, schemas))


def test_any_subset_of_arms_may_be_missing(data_copy, schemas):
    """An RCT reporting a ketamine count at a timepoint without its placebo arm is a gap, not an error."""
    header, rows = read_rows(data_copy / "outcomes.csv")
    rows.append(
        {
            **{k: "" for k in header},
            "study_id": "Sigtermans2009",
            "arm": "ketamine",
            "timepoint": "followup",
            "measure": "responders",
            "n": "30",
            "responders": "12",
            "responder_definition": "test",
            "definition_class": "ge30pct",
            "source": "test",
            "verification": "primary",
        }
    )
    write_rows(data_copy / "outcomes.csv", header, rows)
    run_tables(data_copy, schemas)


def test_controlled_design_needs_placebo_arm(data_copy, schemas):
    edit(data_copy, "outcomes", {"study_id": "Sigtermans2009", "arm": "placebo"}, {}, drop=True)
    issue = next(i for i in issues_of(data_copy, schemas) if i.rule == "controlled_has_placebo")
    assert "Sigtermans2009" in issue.message


@pytest.mark.parametrize(
    "content, rule",
    [
        (b"", "empty_table"),
        (b"study_id,arm,timepoint,measure,source,verification\n", "empty_table"),
        (b"study_id,arm,timepoint,measure,source,verification\nCorrell2004,ketamine\n", "field_count"),
        (b"study_id,arm,timepoint,measure,source\nCorrell2004,ketamine,immediate,responders,x\n", "missing_column"),
        (b"study_id,arm,timepoint,measure,source,verification,colour\n", "unknown_column"),
        (
            b"study_id,arm,timepoint,measure,source,verification\nCorrell2004,ketamine,imm\xe9diate,pain,x,primary\n",
            "utf8",
        ),
        (b'study_id,arm,timepoint,measure,source,verification\n"Correll2004,ketamine,immediate\n', "csv_syntax"),
    ],
)
def test_structural_problems(content, rule, data_copy, schemas):
    (data_copy / "outcomes.csv").write_bytes(content)
    issues = issues_of(data_copy, schemas)
    assert any(i.rule == rule and i.file == "data/outcomes.csv" for i in issues), [str(i) for i in issues]


def test_all_errors_reported_together(data_copy, schemas):
    edit(data_copy, "outcomes", KETAMINE_CORRELL, {"responders": "40", "responders_pct": ""})
    edit(data_copy, "outcomes", {"study_id": "Goebel2015"}, {"arm": "plaecbo"})
    edit(data_copy, "studies", {"study_id": "Correll2004"}, {"design": "cohort"})
    found = {(i.file, i.rule, i.column) for i in issues_of(data_copy, schemas)}
    assert {
        ("data/outcomes.csv", "responders_le_n", "responders"),
        ("data/outcomes.csv", "enum", "arm"),
        ("data/studies.csv", "enum", "design"),
    } <= found


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


@pytest.mark.parametrize(
    "mutate, key, rule",
    [
        (
            lambda c: c["prior_sets"]["default"]["pooled_rate"]["tau"].update(scale=-1.0),
            "prior_sets.default.pooled_rate.tau.scale",
            "exclusiveMinimum",
        ),
        (lambda c: c.update(prior_set="pessimistic"), "prior_set", "known_prior_set"),
        (
            lambda c: c.update(sensitivity_prior_sets=["default", "pessimistic"]),
            "sensitivity_prior_sets.1",
            "known_prior_set",
        ),
        (
            lambda c: c["placebo_adjusted"].update(continuous_contrast="smd"),
            "placebo_adjusted.continuous_contrast",
            "enum",
        ),
        (
            lambda c: c["prior_sets"]["default"]["placebo_adjusted"]["placebo_mu"].update(weight=1.0),
            "prior_sets.default.placebo_adjusted.placebo_mu.weight",
            "exclusiveMaximum",
        ),
        (lambda c: c["prior_sets"]["vague"].pop("placebo_adjusted"), "prior_sets.vague.placebo_adjusted", "required"),
        (lambda c: c.update(models=["pooled_rate", "network"]), "models.1", "enum"),
        (lambda c: c["interval"].update(prob=1.5), "interval.prob", "exclusiveMaximum"),
        (lambda c: c["interval"].update(prob=0), "interval.prob", "exclusiveMinimum"),
        (lambda c: c["sampler"].update(chians=4), "sampler.chians", "unknown_key"),
        (lambda c: c.update(seed=-1), "seed", "minimum"),
        (lambda c: c["diagnostics"]["r_hat"].update(on_failure="ignore"), "diagnostics.r_hat.on_failure", "enum"),
        (
            lambda c: c["prior_sets"]["vague"]["placebo_adjusted"].pop("half_life"),
            "prior_sets.vague.placebo_adjusted.half_life",
            "required_for_time_course",
        ),
        (
            lambda c: c["time_course"]["unknown_weeks"].update(followup=[4, 40]),
            "time_course.unknown_weeks.followup",
            "window_within_timepoint",
        ),
        (
            lambda c: c["prior_sets"]["default"]["placebo_adjusted"]["half_life"].update(sdlog=0),
            "prior_sets.default.placebo_adjusted.half_life.sdlog",
            "exclusiveMinimum",
        ),
        (lambda c: c["time_course"].update(placebo_late_week=0), "time_course.placebo_late_week", "exclusiveMinimum"),
    ],
)
def test_config_rules(cfg, schemas, mutate, key, rule):
    mutate(cfg)
    issues = config_issues(cfg, schemas)
    hit = [i for i in issues if i.column == key and i.rule == rule]
    assert hit, [str(i) for i in issues]
    assert str(hit[0]).startswith("config/config.yaml")


def test_unknown_prior_set_reported_with_other_errors(cfg, schemas):
    cfg["prior_set"] = "nope"
    cfg["interval"]["prob"] = 7
    rules = {i.rule for i in config_issues(cfg, schemas)}
    assert {"known_prior_set", "exclusiveMaximum"} <= rules


def test_one_of_reports_the_branch_meant_for_the_value(cfg, schemas):
    cfg["pooled_rate"]["responder_definitions"] = []
    issue = config_issues(cfg, schemas)[0]
    assert issue.rule == "minItems"
    cfg["pooled_rate"]["responder_definitions"] = ["ge30pct", "ge40pct"]
    issue = config_issues(cfg, schemas)[0]
    assert issue.rule == "enum" and issue.column == "pooled_rate.responder_definitions.1"


def test_config_issues_are_not_repeated(cfg, schemas):
    cfg["prior_sets"]["default"]["pooled_rate"]["tau"] = {"family": "lognormal", "scale": 1}
    issues = config_issues(cfg, schemas)
    assert len(issues) == len(set(issues))


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


def test_a_non_utf8_byte_is_located_by_row_and_column_even_in_a_multiline_cell(data_copy, schemas):
    header, rows = read_rows(data_copy / "outcomes.csv")
    rows[2]["notes"] = "two\nlines"  # row 3 spans file lines 4-5
    write_rows(data_copy / "outcomes.csv", header, rows)
    raw = (data_copy / "outcomes.csv").read_bytes()
    cut = raw.index(b"Correll2004", raw.index(b"lines")) + 2  # row 4, in its study_id
    (data_copy / "outcomes.csv").write_bytes(raw[:cut] + b"\xe9" + raw[cut:])
    issue = next(i for i in issues_of(data_copy, schemas) if i.rule == "utf8")
    assert (issue.line, issue.row, issue.column, issue.value) == (6, 4, "study_id", "e9")


def test_the_validation_target_s_rules_across_keys_are_config_rules_with_their_lines(shipped_config, schemas):
    """Prior sets that exist, SBC draws that fit in the chains, scenarios that can be simulated: refused by
    validate_config with file, line, key and rule (they were WorkflowErrors raised while planning)."""
    import copy

    from crpsmeta.inputs.config import validate_config
    from crpsmeta.inputs.issues import InputValidationError

    text = (ROOT / "config" / "config.yaml").read_text()
    cfg = copy.deepcopy(shipped_config)
    cfg["validation"]["fit_prior_set"] = "nope"
    cfg["validation"]["sbc_draws"] = 9000
    cfg["validation"]["scenarios"]["pooled_like_evidence"]["rct"] = 2
    with pytest.raises(InputValidationError) as caught:
        validate_config(cfg, schemas["config"], "config/config.yaml", text)
    found = {(i.column, i.rule): i for i in caught.value.issues}
    assert set(found) == {
        ("validation.fit_prior_set", "known_prior_set"),
        ("validation.sbc_draws", "sbc_draws_fit_chains"),
        ("validation.scenarios.pooled_like_evidence", "scenario_can_be_simulated"),
    }
    lines = text.splitlines()
    assert lines[found[("validation.fit_prior_set", "known_prior_set")].line - 1].startswith("  fit_prior_set:")
    assert lines[found[("validation.sbc_draws", "sbc_draws_fit_chains")].line - 1].startswith("  sbc_draws:")
    assert "remove rct" in found[("validation.scenarios.pooled_like_evidence", "scenario_can_be_simulated")].message
    validate_config(shipped_config, schemas["config"], "config/config.yaml", text)  # the shipped one passes
