"""Any valid evidence table, under any legal config, plans and builds its models, or says clearly why not.

Tables and configs are drawn by ``tests/strategies.py`` (hypothesis), not
listed: a property test runs each drawn pair through everything that happens
before sampling, as the workflow does it: validation, the fit plan (fits,
skipped fits, leave-one-study-out studies, regressions), every planned fit's
inputs written and read back as ``used.csv``, every model built and its log
density evaluated at the initial point, every leave-one-out subset, and every
estimable regression. The only legal outcomes are a plan whose models build,
or :class:`crpsmeta.plan.NothingToFit` when no model has data.

Examples: ``TABLE_EXAMPLES`` (default 20, derandomised on CI); set it higher
for a longer search. ``test_the_generator_covers_every_shape`` counts the
distinct shapes the generator reaches.
"""

from __future__ import annotations

import math
import os
from collections import Counter

import pandas as pd
import pymc  # noqa: F401 (PyMC raises the recursion limit on import: before any example, so hypothesis does not warn)
import pytest
import yaml
from conftest import ROOT, load_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytensor.compile.mode import Mode
from strategies import CONTROLLED, DEFINITION_CLASSES, DESIGNS, configs, evidence_tables

EXAMPLES = int(os.environ.get("TABLE_EXAMPLES", "20"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
SHIPPED = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
# the log density at the initial point, evaluated by PyTensor's Python linker without graph rewrites: no C
# compile per drawn shape (seconds each), and the same numbers up to rounding
PY_MODE = Mode(linker="py", optimizer=None)
SCHEMAS = {name: load_schema(name) for name in ("config", "studies", "outcomes")}


def _validated_config(cfg: dict) -> dict:
    from crpsmeta.inputs.config import validate_config

    return validate_config(cfg, SCHEMAS["config"])


def _load(tables, folder):
    from crpsmeta.inputs.tables import load_tables

    studies_csv, outcomes_csv = tables.write(folder)
    return load_tables(studies_csv, outcomes_csv, SCHEMAS["studies"], SCHEMAS["outcomes"])


def _build_and_evaluate(model, used, cfg):
    """Build ``model`` on ``used`` as rule fit does, and check its log density at the initial point."""
    from crpsmeta.models.build import build_model
    from crpsmeta.plan import model_options
    from crpsmeta.registry import priors_block

    priors = priors_block(cfg["prior_sets"][cfg["prior_set"]], model)
    pm_model = build_model(model, used, priors, model_options(cfg, model))
    logps = pm_model.point_logps(mode=PY_MODE)
    bad = {name: value for name, value in logps.items() if not math.isfinite(value)}
    assert not bad, f"{model}: log density not finite at the initial point: {bad}"
    return pm_model


def _through_csv(frame: pd.DataFrame, path) -> pd.DataFrame:
    """``used`` as rule fit reads it: written by rule model_inputs, read back with pandas."""
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


def check_everything_before_sampling(tables, cfg, folder, build=True):
    """Validation, plan, inputs, models: the property every (table, config) pair must have."""
    from crpsmeta.criticism.influence import leave_out
    from crpsmeta.inputs.selection import model_inputs
    from crpsmeta.plan import NothingToFit, make_plan, model_options

    studies, outcomes = _load(tables, folder)  # a drawn table is valid: no InputValidationError
    try:
        plan = make_plan(cfg, studies, outcomes)
    except NothingToFit as exc:
        assert "nothing to fit" in str(exc) and "config/config.yaml" in str(exc)
        for model in cfg["models"]:  # really: no model has a row at any of config's timepoints
            for unit in ["joint"] if model == "placebo_adjusted" else cfg["timepoints"]:
                used, _ = model_inputs(
                    studies,
                    outcomes,
                    model=model,
                    unit=unit,
                    options=model_options(cfg, model),
                    timepoints=tuple(cfg["timepoints"]),
                )
                assert used.empty
        return None
    assert plan.fits and set(plan.models) <= set(cfg["models"])
    planned = {(m, u) for m, u in plan.fits} | {(m, u) for m, u, _ in plan.skipped}
    assert len(planned) == len(plan.fits) + len(plan.skipped)  # every fit is planned or skipped, never both
    for model, unit in plan.fits:
        used, gaps = model_inputs(
            studies,
            outcomes,
            model=model,
            unit=unit,
            options=model_options(cfg, model),
            timepoints=tuple(cfg["timepoints"]),
        )
        assert len(used) and set(used["study_id"]) <= set(studies["study_id"])
        read_back = _through_csv(used, folder / f"{model}_{unit}_used.csv")
        _through_csv(gaps, folder / f"{model}_{unit}_gaps.csv")
        if build:
            _build_and_evaluate(model, read_back, cfg)
        left_out = plan.loso.get((model, unit), [])
        contributing = set(read_back["study_id"].astype(str))
        assert set(left_out) <= contributing
        if len(contributing) == 1:
            assert not left_out
        for study in left_out:
            rest = leave_out(read_back, study)
            assert len(rest) and study not in set(rest["study_id"].astype(str))
        if build and left_out:  # one leave-one-out model per fit (each is the same structure, fewer rows)
            _build_and_evaluate(model, leave_out(read_back, left_out[-1]), cfg)
    for regression in plan.regressions:
        assert regression["timepoint"] in cfg["timepoints"] and regression["note"] is not None
        if regression["fitted"] and build:
            used, _ = model_inputs(
                studies,
                outcomes,
                model=regression["model"],
                unit=regression["timepoint"],
                options=model_options(cfg, regression["model"]),
            )
            assert regression["k"] == len(used) >= 2
            _build_and_evaluate(regression["model"], _through_csv(used, folder / "regression_used.csv"), cfg)
    return plan


@SETTINGS
@given(tables=evidence_tables(), data=st.data())
def test_any_valid_table_under_any_legal_config_plans_and_builds(tables, data, tmp_path_factory):
    cfg = _validated_config(data.draw(configs(SHIPPED)))
    check_everything_before_sampling(tables, cfg, tmp_path_factory.mktemp("table"))


@SETTINGS
@given(tables=evidence_tables())
def test_any_valid_table_under_the_shipped_config_plans_and_builds(tables, tmp_path_factory):
    check_everything_before_sampling(tables, _validated_config(SHIPPED), tmp_path_factory.mktemp("table"))


def test_a_table_without_pain_rows_plans_every_model(tmp_path):
    """The defect that started this: responder counts only stopped the plan with a pandas KeyError."""
    from crpsmeta.inputs.tables import load_tables
    from crpsmeta.plan import make_plan

    outcomes = pd.read_csv(ROOT / "data" / "outcomes.csv", dtype=str, keep_default_na=False)
    outcomes[outcomes["measure"] == "responders"].to_csv(tmp_path / "outcomes.csv", index=False)
    studies, table = load_tables(
        ROOT / "data" / "studies.csv", tmp_path / "outcomes.csv", SCHEMAS["studies"], SCHEMAS["outcomes"]
    )
    plan = make_plan(_validated_config(SHIPPED), studies, table)
    assert plan.models == {"pooled_rate", "placebo_adjusted", "time_course"}
    # the shipped data has no placebo responder count, so placebo_map is skipped at both timepoints, with why
    assert [(m, u) for m, u, _ in plan.skipped] == [("placebo_map", "immediate"), ("placebo_map", "followup")]
    assert all("no included placebo arm reports a responder count" in why for _, _, why in plan.skipped)


def test_a_table_with_nothing_to_fit_says_so(tmp_path):
    """Only pain levels (no counts, no changes, no controlled contrast): every model is skipped, with reasons."""
    from crpsmeta.inputs.tables import load_tables
    from crpsmeta.plan import NothingToFit, make_plan

    (tmp_path / "studies.csv").write_text(
        "study_id,citation,design,include,source,verification\nLone2020,Lone 2020,case_series,true,seen,primary\n"
    )
    (tmp_path / "outcomes.csv").write_text(
        "study_id,arm,timepoint,measure,pain_scale_max,pain_median,source,verification\n"
        "Lone2020,ketamine,immediate,pain,10,4,seen,primary\n"
    )
    studies, outcomes = load_tables(
        tmp_path / "studies.csv", tmp_path / "outcomes.csv", SCHEMAS["studies"], SCHEMAS["outcomes"]
    )
    with pytest.raises(NothingToFit, match="nothing to fit") as caught:
        make_plan(_validated_config(SHIPPED), studies, outcomes)
    for model in ("pooled_rate at immediate", "placebo_map at followup", "placebo_adjusted at joint"):
        assert model in str(caught.value)


# ---- how much the generator covers --------------------------------------------------------------------------


def _features(tables) -> set[str]:
    included = [r for r in tables.studies if r["include"] == "true"]
    measures = {r["measure"] for r in tables.outcomes}
    arms = {r["arm"] for r in tables.outcomes}
    timepoints = {r["timepoint"] for r in tables.outcomes}
    features = {f"design:{r['design']}" for r in included}
    features |= {f"definition:{r['definition_class']}" for r in tables.outcomes if r.get("definition_class")}
    features |= {f"form:{f}" for f in tables.forms}
    features.add(f"controlled studies:{min(sum(r['design'] in CONTROLLED for r in included), 2)}")
    features.add("one study" if len(tables.studies) == 1 else "several studies")
    features |= {"no pain rows"} if "pain" not in measures else set()
    features |= {"no responder rows"} if "responders" not in measures else set()
    features |= {"single-arm only"} if arms == {"ketamine"} else set()
    features |= {"placebo arms"} if "placebo" in arms else set()
    features |= {"one timepoint"} if len(timepoints) == 1 else set()
    features |= {"an excluded study"} if len(included) < len(tables.studies) else set()
    features |= {"an overlap"} if any(r.get("overlaps_with") for r in tables.studies) else set()
    features |= (
        {"optional columns absent"} if (len(tables.studies_header) < 20 and len(tables.outcomes_header) < 28) else set()
    )
    return features


def test_the_generator_covers_every_shape():
    """The strategy is not vacuous: in 400 drawn tables every design, definition class, reporting form and
    shape the issue names occurs, and the tables come in many distinct shapes."""
    features, shapes = Counter(), set()

    @settings(
        max_examples=400,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(evidence_tables())
    def collect(tables):
        features.update(_features(tables))
        shapes.add(tables.shape())

    collect()
    from strategies import PAIN_FORMS, RESPONDER_FORMS

    wanted = (
        {f"design:{d}" for d in DESIGNS}
        | {f"definition:{c}" for c in DEFINITION_CLASSES}
        | {f"form:pain:{f}" for f in PAIN_FORMS}
        | {f"form:responders:{f}" for f in RESPONDER_FORMS}
        | {
            "controlled studies:0",
            "controlled studies:1",
            "controlled studies:2",
            "one study",
            "several studies",
            "no pain rows",
            "no responder rows",
            "single-arm only",
            "placebo arms",
            "one timepoint",
            "an excluded study",
            "an overlap",
            "optional columns absent",
        }
    )
    assert wanted <= set(features), f"never drawn: {sorted(wanted - set(features))}"
    print(f"\n400 tables, {len(shapes)} distinct shapes; features: {dict(sorted(features.items()))}")
    assert len(shapes) >= 60, len(shapes)


# ---- what the property tests found (kept as plain regression tests) ------------------------------------------


def _tables(tmp_path, studies: str, outcomes: str):
    from crpsmeta.inputs.tables import load_tables

    (tmp_path / "studies.csv").write_text(studies)
    (tmp_path / "outcomes.csv").write_text(outcomes)
    return load_tables(tmp_path / "studies.csv", tmp_path / "outcomes.csv", SCHEMAS["studies"], SCHEMAS["outcomes"])


def test_a_controlled_pain_contrast_without_an_arm_s_n_is_a_gap_not_a_crash(tmp_path):
    """Found by the generator: a placebo arm's mean and SD without its n crashed placebo_inputs (int(<NA>))."""
    from crpsmeta.inputs.selection import placebo_inputs

    studies, outcomes = _tables(
        tmp_path,
        "study_id,citation,design,include,source,verification\nTrial2020,Trial,rct,true,seen,primary\n",
        "study_id,arm,timepoint,measure,n,pain_scale_max,pain_mean,pain_sd,source,verification\n"
        "Trial2020,ketamine,immediate,pain,30,10,3.0,2.0,seen,primary\n"
        "Trial2020,placebo,immediate,pain,,10,5.0,2.0,seen,primary\n",
    )
    arms, contrasts, gaps = placebo_inputs(studies, outcomes)
    assert arms.empty and contrasts.empty
    reasons = dict(zip(gaps["arm"], gaps["reason"]))
    assert reasons == {
        "ketamine": "controlled pain contrast incomplete: the other arm cannot be summarised",
        "placebo": "controlled pain contrast incomplete: this arm has no n",
    }


def test_placebo_adjusted_builds_on_single_arm_pain_changes_alone(tmp_path):
    """Found by the generator: a fit whose only rows are single-arm pain changes was planned, then refused by the
    model ('needs at least one responder count or contrast'); the model takes them through the latent link."""
    from crpsmeta.inputs.selection import model_inputs
    from crpsmeta.models.build import build_model
    from crpsmeta.registry import priors_block

    studies, outcomes = _tables(
        tmp_path,
        "study_id,citation,design,include,source,verification\nSeries2020,S,case_series,true,seen,primary\n",
        "study_id,arm,timepoint,measure,n,pain_scale_max,pain_change_mean,pain_change_se,source,verification\n"
        "Series2020,ketamine,followup,pain,25,10,-2.5,0.5,seen,primary\n",
    )
    cfg = _validated_config(SHIPPED)
    used, _ = model_inputs(studies, outcomes, model="placebo_adjusted", unit="joint", options=cfg["placebo_adjusted"])
    assert list(used["kind"]) == ["pain"]
    model = build_model(
        "placebo_adjusted",
        used,
        priors_block(cfg["prior_sets"]["default"], "placebo_adjusted"),
        cfg["placebo_adjusted"],
    )
    assert model.named_vars["pain_data"].get_value().shape == (1, len(model.coords["pain_field"]))
    assert model.named_vars["arm_data"].get_value().shape[0] == 0  # no responder count
    assert all(math.isfinite(v) for v in model.point_logps(mode=PY_MODE).values())


# ---- the workflow's own plan: a dry run of Snakemake on drawn tables and configs -------------------------------

DRY_RUNS = int(os.environ.get("DRY_RUN_EXAMPLES", "5"))


@settings(
    max_examples=DRY_RUNS,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(tables=evidence_tables(max_studies=4), data=st.data())
def test_snakemake_plans_every_drawn_table_and_config(tables, data, tmp_path_factory):
    """`snakemake -n` on a drawn table and legal config: the DAG builds (every input function, rule all, the
    report's inputs) and lists a report, or the run stops before any job with 'nothing to fit'."""
    from conftest import snakemake

    workdir = tmp_path_factory.mktemp("dry")
    tables.write(workdir / "data")
    cfg = data.draw(configs(SHIPPED))
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    run = snakemake(workdir, "-n", "--quiet", "rules", timeout=300)
    output = run.stdout + run.stderr
    if run.returncode:
        assert "nothing to fit" in output and "Traceback" not in output, output[-3000:]
        assert not (workdir / "results").exists()
        return
    assert "report_page" in output, output[-3000:]
