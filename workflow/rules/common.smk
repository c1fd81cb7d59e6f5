# Helper and input functions for the rules. No rules here.

import sys
from pathlib import Path

import yaml

from crpsmeta.api import fit_units, model_inputs
from crpsmeta.sampling import fit_seed
from crpsmeta.validation import InputValidationError, load_tables, validate_config

SCHEMA_DIR = Path(workflow.basedir) / "workflow" / "schemas"
STUDIES_CSV = "data/studies.csv"
OUTCOMES_CSV = "data/outcomes.csv"
SCHEMAS = {
    "config": str(SCHEMA_DIR / "config.schema.yaml"),
    "studies": str(SCHEMA_DIR / "studies.schema.yaml"),
    "outcomes": str(SCHEMA_DIR / "outcomes.schema.yaml"),
}
# (model, fit unit) pairs with data, filled by validate_inputs(); a fit unit is
# a timepoint, or "joint" for placebo_adjusted (both timepoints in one fit)
FITS = []


wildcard_constraints:
    model="[a-z_]+",
    timepoint="immediate|followup|joint",
    prior_set="[A-Za-z0-9_]+",


def _schema(name):
    with open(SCHEMAS[name], encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _config_text():
    files = [Path(f) for f in getattr(workflow, "configfiles", [])] or [Path("config/config.yaml")]
    try:
        return files[-1].read_text(encoding="utf-8"), str(files[-1])
    except OSError:
        return None, "config/config.yaml"


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
    if issues:
        sys.stderr.write(str(InputValidationError(issues)) + "\n")
        raise WorkflowError("input validation failed; see the list above. Nothing was run.")
    FITS.clear()
    for model in config["models"]:
        for unit in fit_units(model, config["timepoints"]):
            used, _ = model_inputs(studies, outcomes, model=model, unit=unit, options=model_options(model),
                                   timepoints=tuple(config["timepoints"]))
            if len(used):
                FITS.append((model, unit))
            else:
                print(f"NOTE: no study reports data for {model} at {unit}; that fit is skipped.",
                      file=sys.stderr)
    if not FITS:
        raise WorkflowError("no model has data at any timepoint: nothing to fit.")


def model_options(model):
    """A model's data choices (placebo_map follows placebo_adjusted's)."""
    return dict(config["placebo_adjusted" if model == "placebo_map" else model])


def fit_paths(pattern, models=None):
    """Expand a path pattern over the fits that have data (optionally only some models)."""
    return [pattern.format(model=m, timepoint=t) for m, t in FITS if models is None or m in models]


def sensitivity_sets():
    names = config["sensitivity_prior_sets"]
    return list(config["prior_sets"]) if names == "all" else list(names)


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
    from crpsmeta.api import priors_block

    return priors_block(config["prior_sets"][prior_set_of(wildcards)], wildcards.model)


def options_for(wildcards):
    return model_options(wildcards.model)


def seed_for(wildcards):
    """Each fit's own seed, a stable function of the base seed and the fit's name.

    The name is model, prior set and timepoint, plus any other wildcard of the
    job as ``name=value`` in sorted order (e.g. the study left out, or a
    validation scenario and replicate), so every job of a rule family differs.
    """
    extra = [f"{k}={wildcards[k]}" for k in sorted(wildcards.keys())
             if k not in ("model", "prior_set", "timepoint")]
    return fit_seed(config["seed"], wildcards.model, prior_set_of(wildcards), wildcards.timepoint, *extra)


def prior_text_for(wildcards):
    """One line naming the prior set and its priors, for figure footers."""
    from crpsmeta.priors import prior_from_dict

    parts = ", ".join(f"{name} ~ {prior_from_dict(spec)}" for name, spec in priors_for(wildcards).items())
    return f"Prior set '{prior_set_of(wildcards)}': {parts}."


def summary_options():
    return {**config["interval"], "threshold": config["placebo_adjusted"]["risk_difference_threshold"],
            "timepoints": list(config["timepoints"])}


def comparison_inputs(wildcards):
    """Primary fits compared by PSIS-LOO: pooled_rate per timepoint and placebo_adjusted."""
    return {"pooled": fit_paths("results/fits/{model}/{timepoint}/idata.nc", models=["pooled_rate"]),
            "adjusted": fit_paths("results/fits/{model}/{timepoint}/idata.nc", models=["placebo_adjusted"])}


# ---- model criticism (issue 4) -------------------------------------------------
# Each section below belongs to one rules file; its *_outputs() feeds rule all.


# -- criticism.smk: power scaling, sensitivity figure, leave-one-study-out --------
def criticism_outputs():
    return []


# -- checks.smk: predictive checks ---------------------------------------------
def checks_outputs():
    return []


# -- regression.smk: small-study effects and meta-regression --------------------
def regression_outputs():
    return []


# -- validation.smk: the on-demand validation target (not part of rule all) -----


# ---- rule all ------------------------------------------------------------------
def all_outputs():
    models = {m for m, _ in FITS}
    outputs = [
        "results/summaries/estimands.csv",
        "results/summaries/study_estimates.csv",
        "results/diagnostics/diagnostics.csv",
        "results/sensitivity/estimands.csv",
        "results/sensitivity/diagnostics.csv",
        *fit_paths("results/plots/{model}/forest_{timepoint}.png", models=["pooled_rate", "placebo_map"]),
    ]
    if {"pooled_rate", "placebo_adjusted"} <= models:
        outputs.append("results/comparison/loo.csv")
    return outputs + criticism_outputs() + checks_outputs() + regression_outputs()
