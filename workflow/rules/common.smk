# Helper and input functions for the rules. No rules here.

import functools
import sys
from pathlib import Path

import yaml

# Only the planning layers are imported here (vocabulary, registry, inputs, plan): none loads PyMC or
# matplotlib (tests/test_layers.py), so a run that refuses its inputs stops within seconds.
from crpsmeta.registry import LOO_PIT_MODELS, POOLED_ARM, fit_units, priors_block
from crpsmeta.vocabulary import JOINT, TIMEPOINTS
from crpsmeta.fitting.record import git_state
from crpsmeta.plan import NothingToFit, Plan, influence_thresholds, make_plan, simulation_seed
from crpsmeta.plan import fit_batches as plan_fit_batches
from crpsmeta.plan import prior_families as plan_prior_families
from crpsmeta.plan import sampler_settings as plan_sampler_settings
from crpsmeta.plan import sensitivity_sets as plan_sensitivity_sets
from crpsmeta.plan import validation_thresholds as plan_validation_thresholds
from crpsmeta.plan import check_seed as plan_check_seed
from crpsmeta.plan import labelled_seed as plan_labelled_seed
from crpsmeta.plan import model_options as plan_model_options
from crpsmeta.inputs.issues import InputValidationError
from crpsmeta.inputs.config import config_file_issues, validate_config
from crpsmeta.inputs.tables import load_published, load_tables

SCHEMA_DIR = Path(workflow.basedir) / "workflow" / "schemas"
STUDIES_CSV = "data/studies.csv"
OUTCOMES_CSV = "data/outcomes.csv"
PUBLISHED_CSV = "data/published.csv"  # optional: published pooled figures, shown beside ours in the report
SCHEMAS = {
    "config": str(SCHEMA_DIR / "config.schema.yaml"),
    "studies": str(SCHEMA_DIR / "studies.schema.yaml"),
    "outcomes": str(SCHEMA_DIR / "outcomes.schema.yaml"),
    "published": str(SCHEMA_DIR / "published.schema.yaml"),
}
# The fit plan (crpsmeta.plan), filled by validate_inputs(): PLAN.fits are the (model, fit unit) pairs with
# data (a fit unit is a timepoint, or "joint" for placebo_adjusted), PLAN.loso the studies left out one at a
# time of each (criticism.influence).
PLAN = Plan()


wildcard_constraints:
    model="[a-z_]+",
    timepoint="|".join([*TIMEPOINTS, JOINT]),
    prior_set="[A-Za-z0-9_]+",
    study="[A-Za-z0-9_]+",


def _schema(name):
    with open(SCHEMAS[name], encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.cache
def _config_text():
    """The config file's text (for the line of every key) and its name, read once per run."""
    files = [Path(f) for f in getattr(workflow, "configfiles", [])] or [Path("config/config.yaml")]
    try:
        return files[-1].read_text(encoding="utf-8"), str(files[-1])
    except OSError:
        return None, "config/config.yaml"


def _refuse(issues):
    """Stop the run, listing every problem, if there are any."""
    if issues:
        sys.stderr.write(str(InputValidationError(issues)) + "\n")
        raise WorkflowError("input validation failed; see the list above. Nothing was run.")


def check_config_file(path):
    """Stop with a located message if the config file cannot be read as YAML (before Snakemake loads it)."""
    _refuse(config_file_issues(path, path) if Path(path).exists() else [])


def validate_inputs():
    """Validate config and data before any job runs; stop with every problem listed."""
    text, config_name = _config_text()
    issues = []
    try:
        config.update(validate_config(config, _schema("config"), config_name, text))
    except InputValidationError as exc:
        issues += exc.issues
    try:
        studies, outcomes = load_tables(STUDIES_CSV, OUTCOMES_CSV, _schema("studies"), _schema("outcomes"))
    except InputValidationError as exc:
        issues += exc.issues
    if Path(PUBLISHED_CSV).exists():
        try:
            load_published(PUBLISHED_CSV, _schema("published"))
        except InputValidationError as exc:
            issues += exc.issues
    _refuse(issues)
    global PLAN
    try:
        PLAN = make_plan(config, studies, outcomes)
    except NothingToFit as exc:
        raise WorkflowError(str(exc)) from None
    for model, unit, reason in PLAN.skipped:
        print(f"NOTE: {model} at {unit} is skipped: {reason}.", file=sys.stderr)
    for note in PLAN.notes:
        print(f"NOTE: {note}.", file=sys.stderr)


def model_options(model):
    """A model's data choices (crpsmeta.plan.model_options on this run's config)."""
    return plan_model_options(config, model)


def fit_cache_dir():
    """Where fit records are kept by their content key (crpsmeta.fitting.cache), or None when config's
    fit_cache is false."""
    return "results/cache/fits" if config["fit_cache"] else None


def sampler_settings():
    """The sampler settings a fit records (crpsmeta.plan.sampler_settings: without sampler.threads, the cores a
    job asks for, and max_draws and ess_margin, how far and why a fit job raises the draws)."""
    return plan_sampler_settings(config)


def fit_paths(pattern, models=None):
    """Expand a path pattern over the fits that have data (optionally only some models)."""
    return [pattern.format(model=m, timepoint=t) for m, t in PLAN.fits if models is None or m in models]


# -- data.smk: the rows of every planned fit ---------------------------------------
def data_units():
    """Every (model, fit unit) whose rows the run selects: the planned fits and every planned regression (its
    gaps are reported even when it cannot be fitted), with each model's data choices."""
    units = [*PLAN.fits, *((p["model"], p["timepoint"]) for p in PLAN.regressions)]
    return [{"model": m, "unit": u, "options": model_options(m)} for m, u in dict.fromkeys(units)]


def data_paths(filename):
    return [f"results/data/{d['model']}/{d['unit']}/{filename}" for d in data_units()]


# -- fit.smk: one job per model structure ----------------------------------------
def fit_batches():
    """The run's fits grouped into jobs (crpsmeta.plan.fit_batches on this run's config and plan)."""
    return plan_fit_batches(config, PLAN)


def fit_spec_paths(spec):
    """Where one fit's record, gate table and summaries go (and a refit's kept rows); a regression has no
    summaries."""
    m, u = spec.model, spec.unit
    if spec.leave_out is not None:
        base = ["results", "influence", "{step}", m, u, f"without_{spec.leave_out}"]
    elif spec.prior_set != config["prior_set"]:
        base = ["results", "sensitivity", spec.prior_set, "{step}", m, u]
    else:
        base = ["results", "{step}", m, u]

    def where(step, name):
        return str(Path(*base, name)).replace("{step}", step)

    paths = {"idata": where("fits", "idata.nc"), "diagnostics": where("diagnostics", "diagnostics.csv")}
    if spec.role != "regression":  # a regression's tables come from its record (regression.smk)
        paths["estimands"] = where("summaries", "estimands.csv")
        paths["studies"] = where("summaries", "study_estimates.csv")
    if spec.leave_out is not None:
        paths["used"] = where("data", "used.csv")
    return paths


def batch_inputs(fits):
    """The rows a fit job reads: each fit's unit's used.csv (written by rule model_inputs)."""
    return sorted({f"results/data/{s.model}/{s.unit}/used.csv" for s in fits})


def batch_outputs(fits, *kinds):
    """The paths of ``kinds`` (idata, diagnostics, estimands, studies, used) of every fit of a job."""
    return [path for s in fits for kind, path in fit_spec_paths(s).items() if kind in kinds]


def batch_runtime(fits):
    """Minutes a cluster may give a fit job: 10 to start and compile, and 10 per fit (a shipped placebo_adjusted
    fit samples in well under a minute on one core)."""
    return 10 + 10 * len(fits)


def batch_fits(fits):
    """Everything a fit job needs to know of each of its fits (the rule's params)."""
    return [
        {
            "model": s.model,
            "unit": s.unit,
            "prior_set": s.prior_set,
            "leave_out": s.leave_out,
            "seed": s.seed(config["seed"]),
            "priors": priors_block(config["prior_sets"][s.prior_set], s.model),
            "options": model_options(s.model),
            "prior_families": plan_prior_families(config, s.model) if s.role != "regression" else {},
            "thresholds": loso_thresholds() if s.role == "influence" else config["diagnostics"],
            "used": f"results/data/{s.model}/{s.unit}/used.csv",
            "paths": fit_spec_paths(s),
        }
        for s in fits
    ]


def sensitivity_sets():
    return plan_sensitivity_sets(config)


def per_set_paths(step, filename):
    """One path per prior set x fit: the primary set's from results/<step>/, others from results/sensitivity/."""
    paths = []
    for prior_set in sensitivity_sets():
        if prior_set == config["prior_set"]:
            paths += fit_paths(f"results/{step}/{{model}}/{{timepoint}}/{filename}")
        else:
            paths += fit_paths(f"results/sensitivity/{prior_set}/{step}/{{model}}/{{timepoint}}/{filename}")
    return paths


def prior_set_of(wildcards):
    """The prior set of a job: from the path in the sensitivity grid, else the primary one."""
    return getattr(wildcards, "prior_set", config["prior_set"])


def priors_for(wildcards):
    return priors_block(config["prior_sets"][prior_set_of(wildcards)], wildcards.model)


def options_for(wildcards):
    return model_options(wildcards.model)


def seed_for(wildcards):
    """Each fit's own seed, a stable function of the base seed and the fit's name.

    The name is model, prior set and timepoint, plus any other wildcard of the
    job as ``name=value`` in sorted order (e.g. the study left out, or a
    validation scenario and replicate), so every job of a rule family differs.
    """
    others = {k: wildcards[k] for k in wildcards.keys() if k not in ("model", "prior_set", "timepoint")}
    return labelled_seed(wildcards.model, prior_set_of(wildcards), wildcards.timepoint, others)


def labelled_seed(model, prior_set, timepoint, others):
    """seed_for's seed from plain labels (crpsmeta.plan.labelled_seed)."""
    return plan_labelled_seed(config["seed"], model, prior_set, timepoint, others)


def prior_text_for(wildcards):
    """One line naming the prior set and its priors, for figure footers."""
    from crpsmeta.models.priors import describe_priors

    return describe_priors(prior_set_of(wildcards), priors_for(wildcards))


def summary_options():
    return {
        **config["interval"],
        "threshold": config["placebo_adjusted"]["risk_difference_threshold"],
        "timepoints": list(config["timepoints"]),
        # the time_course rows: at which weeks, and how far the week below the threshold is searched
        "time_course": {k: config["time_course"][k] for k in ("weeks", "horizon")},
    }


def comparison_inputs(wildcards):
    """Primary fits compared by PSIS-LOO: pooled_rate per timepoint and placebo_adjusted."""
    return {
        "pooled": fit_paths("results/fits/{model}/{timepoint}/idata.nc", models=["pooled_rate"]),
        "adjusted": fit_paths("results/fits/{model}/{timepoint}/idata.nc", models=["placebo_adjusted"]),
    }


# ---- model criticism (issue 4) -------------------------------------------------
# Each section below belongs to one rules file; its *_outputs() feeds rule all.


# -- criticism.smk: power scaling, sensitivity figure, leave-one-study-out --------
def loso_paths(pattern, wildcards):
    """``pattern`` for every study left out of the fit named by ``wildcards``."""
    studies = PLAN.loso.get((wildcards.model, wildcards.timepoint), [])
    return [pattern.format(model=wildcards.model, timepoint=wildcards.timepoint, study=s) for s in studies]


def loso_inputs(wildcards):
    return {
        "full": f"results/summaries/{wildcards.model}/{wildcards.timepoint}/estimands.csv",
        "refits": loso_paths(
            "results/influence/summaries/{model}/{timepoint}/without_{study}/estimands.csv", wildcards
        ),
        "diagnostics": loso_paths(
            "results/influence/diagnostics/{model}/{timepoint}/without_{study}/diagnostics.csv", wildcards
        ),
    }


def loso_thresholds():
    """crpsmeta.plan.influence_thresholds on this run's config."""
    return influence_thresholds(config)


def criticism_outputs():
    outputs = [
        *fit_paths("results/sensitivity/power_scaling/{model}/{timepoint}/power_scaling.csv"),
        "results/sensitivity/power_scaling.csv",
        "results/sensitivity/estimands.png",
    ]
    for (model, unit), studies in PLAN.loso.items():
        if studies:
            outputs += [
                f"results/influence/{model}/{unit}/{name}"
                for name in ("leave_one_out.csv", "most_influential.csv", "leave_one_out.png")
            ]
    return outputs


# -- checks.smk: predictive checks ---------------------------------------------
# LOO-PIT is run for crpsmeta.registry.LOO_PIT_MODELS only (their fits in PLAN.fits).


def loo_pit_paths(filename):
    return fit_paths(f"results/checks/{{model}}/{{timepoint}}/{filename}", models=list(LOO_PIT_MODELS))


def check_seed(wildcards):
    """Seed of a check's random numbers (randomised PIT, Monte Carlo p-value): the fit's name plus 'checks'."""
    return plan_check_seed(config["seed"], wildcards.model, prior_set_of(wildcards), wildcards.timepoint)


def checks_outputs():
    outputs = ["results/checks/predictive_checks.csv"]
    for name in (
        "prior_predictive.csv",
        "prior_rates.csv",
        "prior_predictive.png",
        "posterior_predictive.csv",
        "posterior_predictive.png",
    ):
        outputs += fit_paths(f"results/checks/{{model}}/{{timepoint}}/{name}")
    for name in ("loo_pit.csv", "loo_pit_uniformity.csv", "loo_pit.png"):
        outputs += loo_pit_paths(name)
    return outputs


# -- regression.smk: small-study effects and meta-regression --------------------
def regression_plan():
    """Every planned regression (crpsmeta.plan.regression_plan), made by validate_inputs()."""
    return PLAN.regressions


def regression_inputs(small_study):
    """Inputs of the meta-regression (small_study False) or small-study (True) table: every planned
    regression's rows and gaps, and the record and gate of each fitted one."""
    plan = regression_plan_of(small_study)
    fitted = [p for p in plan if p["fitted"]]
    return {
        "used": [f"results/data/{p['model']}/{p['timepoint']}/used.csv" for p in plan],
        "gaps": [f"results/data/{p['model']}/{p['timepoint']}/gaps.csv" for p in plan],
        "idata": [f"results/fits/{p['model']}/{p['timepoint']}/idata.nc" for p in fitted],
        "diagnostics": [f"results/diagnostics/{p['model']}/{p['timepoint']}/diagnostics.csv" for p in fitted],
    }


def meta_regression_inputs(wildcards):
    return regression_inputs(small_study=False)


def small_study_inputs(wildcards):
    return regression_inputs(small_study=True)


def regression_plan_of(small_study):
    """The planned regressions a table reports (without or with the small-study "se" fits)."""
    return [dict(p) for p in regression_plan() if (p["covariate"] == "se") == small_study]


def regression_timepoints():
    """Timepoints with at least one ketamine responder count (those a funnel plot is drawn for)."""
    return [p["timepoint"] for p in regression_plan() if p["covariate"] == "se" and p["k"] > 0]


def funnel_inputs(wildcards):
    """A funnel plot's studies, the pooled_rate fit (pooled line), and the Egger-type fit when there is one."""
    tp = wildcards.timepoint
    inputs = {"used": f"results/data/regression_se/{tp}/used.csv"}
    if ("pooled_rate", tp) in PLAN.fits:  # config may leave pooled_rate out: then no pooled line
        inputs["pooled"] = f"results/fits/pooled_rate/{tp}/idata.nc"
        inputs["pooled_diagnostics"] = f"results/diagnostics/pooled_rate/{tp}/diagnostics.csv"
    if any(p["covariate"] == "se" and p["timepoint"] == tp and p["fitted"] for p in regression_plan()):
        inputs["egger"] = f"results/fits/regression_se/{tp}/idata.nc"
        inputs["egger_diagnostics"] = f"results/diagnostics/regression_se/{tp}/diagnostics.csv"
    return inputs


def regression_outputs():
    section, outputs = config["meta_regression"], []
    if section["covariates"]:
        outputs.append("results/regression/meta_regression.csv")
    if section["small_study"]:
        outputs.append("results/regression/small_study.csv")
        outputs += [f"results/regression/funnel_{tp}.png" for tp in regression_timepoints()]
    return outputs


# -- validation.smk: the on-demand validation target (not part of rule all) -----
wildcard_constraints:
    scenario="[A-Za-z0-9_]+",


def validation_prior_set(key):
    """The prior set named by ``validation.<key>`` (null = the primary ``prior_set``; checked by validate_config)."""
    return config["validation"][key] or config["prior_set"]


def validation_scenario(name):
    """A validation scenario's design (config ``validation.scenarios.<name>``)."""
    try:
        design = config["validation"]["scenarios"][name]
    except KeyError:
        raise WorkflowError(
            f"no validation scenario {name!r}; defined: " f"{', '.join(config['validation']['scenarios'])}"
        ) from None
    return design  # validate_config has checked that it can be simulated


def validation_replicates():
    return [f"{r:03d}" for r in range(1, config["validation"]["replications"] + 1)]


def validation_path(step, scenario, rep, filename):
    """A replicate's fit or diagnostics path; its wildcards (model, fit unit, prior set) feed fit_validation's
    params.

    pooled_rate is the same model at both timepoints, so its replicates are fitted as ``immediate``.
    """
    model = validation_scenario(scenario)["model"]
    unit = fit_units(model, ["immediate"])[0]
    return (
        f"results/validation/{step}/{scenario}/{model}/{unit}/{validation_prior_set('fit_prior_set')}/"
        f"{rep}/{filename}"
    )


def validation_replicate_inputs(wildcards):
    """Every replicate's simulated rows, in replicate order (one fit job per scenario)."""
    return [f"results/validation/sims/{wildcards.scenario}/{rep}/used.csv" for rep in validation_replicates()]


def validation_fit_plan(wildcards):
    """Replicate label and seed of each fit of a scenario's job, in output order.

    The seed is the one a job per replicate would have had (seed_for with the
    replicate as a wildcard), so batching the replicates does not change them.
    """
    return [
        {
            "rep": rep,
            "seed": labelled_seed(
                wildcards.model,
                prior_set_of(wildcards),
                wildcards.timepoint,
                {"rep": rep, "scenario": wildcards.scenario},
            ),
        }
        for rep in validation_replicates()
    ]


def validation_simulation(wildcards):
    """Everything a scenario's simulations need: model, design, the truth's priors, and each replicate's label
    and seed (the seed a job per replicate had: crpsmeta.plan.simulation_seed)."""
    design = validation_scenario(wildcards.scenario)
    prior_set = validation_prior_set("simulate_prior_set")
    return {
        "model": design["model"],
        "design": dict(design),
        "prior_set": prior_set,
        "priors": priors_block(config["prior_sets"][prior_set], design["model"]),
        "reference_definition": config["placebo_adjusted"]["reference_definition"],
        "replicates": [
            {"rep": rep, "seed": simulation_seed(config["seed"], wildcards.scenario, rep)}
            for rep in validation_replicates()
        ],
    }


def validation_score_inputs(wildcards):
    reps = validation_replicates()
    return {
        "truths": [f"results/validation/sims/{wildcards.scenario}/{r}/truth.json" for r in reps],
        "idatas": [validation_path("fits", wildcards.scenario, r, "idata.nc") for r in reps],
        "diagnostics": [validation_path("diagnostics", wildcards.scenario, r, "diagnostics.csv") for r in reps],
    }


def validation_thresholds():
    """crpsmeta.plan.validation_thresholds on this run's config."""
    return plan_validation_thresholds(config)


def validation_outputs():
    """What the report rule writes and `snakemake validate` checks (not part of rule all)."""
    names = (
        "coverage.csv",
        "bias.csv",
        "sbc_ranks.csv",
        "sbc_uniformity.csv",
        "fit_failures.csv",
        "coverage.png",
        "sbc.png",
        "report.md",
    )
    return {name.replace(".", "_"): f"results/validation/{name}" for name in names}


# ---- rule all ------------------------------------------------------------------
def all_outputs():
    models = PLAN.models
    outputs = [
        "results/summaries/estimands.csv",
        "results/summaries/study_estimates.csv",
        "results/diagnostics/diagnostics.csv",
        "results/sensitivity/estimands.csv",
        "results/sensitivity/diagnostics.csv",
        *fit_paths("results/plots/{model}/forest_{timepoint}.png", models=list(POOLED_ARM)),
    ]
    if {"pooled_rate", "placebo_adjusted"} <= models:
        outputs.append("results/comparison/loo.csv")
    return (
        outputs
        + criticism_outputs()
        + checks_outputs()
        + regression_outputs()
        + time_course_outputs()
        + report_outputs()
    )


# -- plots.smk: the time-course figure --------------------------------------------
def time_course_outputs():
    """The difference-over-weeks figure and its curves, when the time-course model is fitted."""
    if ("time_course", JOINT) not in PLAN.fits:
        return []
    return ["results/time_course/difference_by_week.png", "results/time_course/curve.csv"]


# -- report.smk: the posterior report (issue 5) ---------------------------------


def sof_inputs(wildcards):
    """The summary of findings' inputs: collected estimands and gates, each primary fit's data, published figures."""
    return {
        "estimands": "results/summaries/estimands.csv",
        "diagnostics": "results/diagnostics/diagnostics.csv",
        "studies": STUDIES_CSV,
        "outcomes": OUTCOMES_CSV,
        "used": fit_paths("results/data/{model}/{timepoint}/used.csv"),
        "power_scaling": "results/sensitivity/power_scaling.csv",
        "study_effects": fit_paths(
            "results/summaries/{model}/{timepoint}/study_estimates.csv", models=["placebo_adjusted"]
        ),
        "published": [PUBLISHED_CSV] if Path(PUBLISHED_CSV).exists() else [],
        # the small-study regressions, for the certainty of publication bias
        "small_study": ["results/regression/small_study.csv"] if config["meta_regression"]["small_study"] else [],
    }


def report_inputs(wildcards):
    """Everything the report page shows, by section (every path is an output of rule all or a data file)."""
    models = PLAN.models
    text, config_name = _config_text()
    inputs = {
        "sof": "results/report/summary_of_findings.csv",
        "certainty": "results/report/certainty.csv",
        "time_course": "results/report/time_course.png",
        "placebo_explained": "results/report/placebo_explained.png",
        "effect_forest": "results/report/forest_placebo_adjusted.png",
        "forest": fit_paths("results/plots/{model}/forest_{timepoint}.png", models=list(POOLED_ARM)),
        "prior_posterior": fit_paths("results/report/fits/{model}/{timepoint}/prior_posterior.png"),
        "rank": fit_paths("results/report/fits/{model}/{timepoint}/rank.png"),
        "diagnostics": "results/sensitivity/diagnostics.csv",
        "predictive_checks": "results/checks/predictive_checks.csv",
        "predictive_figures": [p for p in checks_outputs() if p.endswith(".png")],
        "sensitivity": "results/sensitivity/estimands.csv",
        "sensitivity_figure": "results/sensitivity/estimands.png",
        "power_scaling": "results/sensitivity/power_scaling.csv",
        "influence": [p for p in criticism_outputs() if p.startswith("results/influence/")],
        "regression": regression_outputs(),
        "records": per_set_paths("fits", "idata.nc"),
        "used": fit_paths("results/data/{model}/{timepoint}/used.csv"),
        "gaps": fit_paths("results/data/{model}/{timepoint}/gaps.csv"),
        "studies": STUDIES_CSV,
        "outcomes": OUTCOMES_CSV,
        "published": [PUBLISHED_CSV] if Path(PUBLISHED_CSV).exists() else [],
        "config": config_name,
    }
    if {"pooled_rate", "placebo_adjusted"} <= models:
        inputs["loo"] = ["results/comparison/loo.csv", "results/comparison/pareto_k.csv"]
    inputs["decay"] = time_course_outputs()[:1]
    inputs["time_course_studies"] = fit_paths(
        "results/summaries/{model}/{timepoint}/study_estimates.csv", models=["time_course"]
    )
    return inputs


def report_params(wildcards):
    """What the page says about the run that is not in a file: settings, fits, git state."""
    return {
        "fits": [list(f) for f in PLAN.fits],
        "skipped": [list(s) for s in PLAN.skipped],
        "notes": list(PLAN.notes),
        "prior_set": config["prior_set"],
        "timepoints": config["timepoints"],
        "interval": config["interval"],
        "sampler": config["sampler"],
        "seed": config["seed"],
        "threshold": config["placebo_adjusted"]["risk_difference_threshold"],
        "reference_definition": config["placebo_adjusted"]["reference_definition"],
        "sensitivity_sets": sensitivity_sets(),
        "prior_sets": {name: dict(config["prior_sets"][name]) for name in sensitivity_sets()},
        "effective_config": yaml.safe_dump(dict(config), sort_keys=False),
        "config_text": _config_text()[0] or "",
        "git": git_state(workflow.basedir),
        "published_schema": SCHEMAS["published"],
    }


def report_outputs():
    return ["results/report/index.html", "results/report/summary_of_findings.csv"]
