# Helper and input functions for the rules. No rules here.

import sys
from pathlib import Path

import yaml

from crpsmeta.api import model_inputs
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
# model x timepoint pairs with data, filled by validate_inputs()
FITS = []


wildcard_constraints:
    model="[a-z_]+",
    timepoint="immediate|followup",


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
        for timepoint in config["timepoints"]:
            used, _ = model_inputs(studies, outcomes, model=model, timepoint=timepoint,
                                   definitions=config[model]["responder_definitions"])
            if len(used):
                FITS.append((model, timepoint))
            else:
                print(f"NOTE: no study reports data for {model} at {timepoint}; that fit is skipped.",
                      file=sys.stderr)
    if not FITS:
        raise WorkflowError("no model has data at any timepoint: nothing to fit.")


def fit_paths(pattern):
    """Expand a path pattern over the fits that have data."""
    return [pattern.format(model=m, timepoint=t) for m, t in FITS]


def prior_set_name():
    return config["prior_set"]


def priors_for(wildcards):
    """The primary prior set's priors for this fit's model."""
    return config["prior_sets"][config["prior_set"]][wildcards.model]


def seed_for(wildcards):
    """Each fit's own seed, a stable function of the base seed and the fit's name."""
    return fit_seed(config["seed"], wildcards.model, config["prior_set"], wildcards.timepoint)


def prior_text_for(wildcards):
    """One line naming the prior set and its priors, for figure footers."""
    from crpsmeta.priors import prior_from_dict

    priors = priors_for(wildcards)
    parts = ", ".join(f"{name} ~ {prior_from_dict(spec)}" for name, spec in priors.items())
    return f"Prior set '{config['prior_set']}': {parts}."


def definitions_for(wildcards):
    return config[wildcards.model]["responder_definitions"]


def all_outputs():
    return [
        "results/summaries/estimands.csv",
        "results/summaries/study_estimates.csv",
        "results/diagnostics/diagnostics.csv",
        *fit_paths("results/plots/{model}/forest_{timepoint}.png"),
    ]
