"""The fit plan: from a validated config and validated tables to the fits the workflow runs.

Everything here is plain Python on plain arguments (no Snakemake, no config
files), so the plan can be tested on any table without a dry run. The
workflow's ``common.smk`` calls :func:`make_plan` once, after validation, and
turns the plan into paths.

A plan says:

- ``fits``: every (model, fit unit) with data; a fit unit is a timepoint, or
  ``joint`` for placebo_adjusted (both timepoints in one fit);
- ``skipped``: every (model, fit unit) of config without data, with the reason
  (the report says what cannot be estimated from such data);
- ``loso``: for the influence model's fits, the studies left out one at a time;
- ``regressions``: every meta-regression and small-study regression of config
  (covariate x timepoint), its number of studies and whether it can be fitted.

:func:`fit_batches` then groups every fit of a run (each planned fit under every prior set, the
leave-one-study-out refits, the regressions) into the jobs that sample them: one job per model
structure, so that nutpie compiles each structure once per run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crpsmeta.inputs.selection import model_inputs
from crpsmeta.registry import fit_units, spec
from crpsmeta.vocabulary import DIAGNOSTICS, JOINT


class NothingToFit(ValueError):
    """No model of config has data at any of config's timepoints."""


@dataclass
class Plan:
    fits: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    loso: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    regressions: list[dict] = field(default_factory=list)
    # what config asks for that the plan does not do, said plainly (printed as NOTE lines, shown in the report)
    notes: list[str] = field(default_factory=list)

    @property
    def models(self) -> set[str]:
        """Models with at least one fit."""
        return {model for model, _ in self.fits}


def model_options(config: dict, model: str) -> dict:
    """A model's data choices: its config section (crpsmeta.registry; placebo_map follows placebo_adjusted's),
    or for a regression :func:`regression_options`."""
    section = spec(model).options
    if section == "meta_regression":
        return regression_options(config, model)
    if section == "time_course":  # placebo_adjusted's data choices, and how weeks enter the model
        return {**config["placebo_adjusted"], **{k: config[section][k] for k in TIME_COURSE_MODEL_KEYS}}
    return dict(config[section])


# the keys of config time_course that change the model (the others choose what its summaries report)
TIME_COURSE_MODEL_KEYS = ("unknown_weeks", "placebo_late_week")


def regression_options(config: dict, model: str) -> dict:
    """A regression fit's data choices: pooled_rate's definitions, the covariate's prior and levels."""
    from crpsmeta.inputs.covariates import covariate_of

    covariate, section = covariate_of(model), config["meta_regression"]
    return {
        **config["pooled_rate"],
        "covariate": covariate,
        "coefficient_prior": dict(section["coefficient_priors"][covariate]),
        "levels": section["levels"].get(covariate),
    }


def loso_studies(chosen: str | list[str], contributing: list[str]) -> list[str]:
    """Studies to leave out one at a time: ``chosen`` ("all" or a list) among those that contribute; none if
    only one study contributes (nothing would be left to fit)."""
    if len(contributing) <= 1:
        return []
    return list(contributing) if chosen == "all" else [s for s in contributing if s in chosen]


def _skip_reason(model: str, unit: str) -> str:
    arm = spec(model).arm
    what = (
        f"no included {arm} arm reports a responder count"
        if arm
        else "no included study reports a responder count, a controlled pain contrast or a single-arm pain change"
    )
    when = "at either timepoint" if unit == JOINT else f"at {unit}"
    return f"{what} {when} (with the responder definitions selected in config)"


def regression_plan(config: dict, studies: pd.DataFrame, outcomes: pd.DataFrame) -> list[dict]:
    """Every regression of config meta_regression (covariate x timepoint; "se" = small-study), with the
    number of studies with the covariate and whether it can be fitted (>= 2 studies and some variation)."""
    from crpsmeta.inputs.covariates import estimable
    from crpsmeta.inputs.selection import regression_rows

    section, plan = config["meta_regression"], []
    # every regression at a timepoint starts from pooled_rate's rows there: selected once per timepoint
    base = {
        timepoint: model_inputs(studies, outcomes, model="pooled_rate", unit=timepoint, options=config["pooled_rate"])
        for timepoint in config["timepoints"]
    }
    for covariate in [*section["covariates"], *(["se"] if section["small_study"] else [])]:
        model = f"regression_{covariate}"
        options = regression_options(config, model)
        for timepoint in config["timepoints"]:
            used, _ = regression_rows(base[timepoint], studies, model, options)
            fitted, note = estimable(used, covariate, options["levels"])
            plan.append(
                {
                    "model": model,
                    "covariate": covariate,
                    "timepoint": timepoint,
                    "k": len(used),
                    "fitted": fitted,
                    "note": note,
                }
            )
    return plan


def make_plan(config: dict, studies: pd.DataFrame, outcomes: pd.DataFrame) -> Plan:
    """The fits of a validated ``config`` on validated tables (see :func:`crpsmeta.inputs.tables.load_tables`).

    Raises :class:`NothingToFit` when no model of config has data at any of its timepoints.
    """
    plan = Plan()
    influence = config["criticism"]["influence"]
    influence_studies: set[str] = set()  # the studies contributing to a fit of the influence model
    timepoints = tuple(config["timepoints"])
    for model in config["models"]:
        for unit in fit_units(model, list(timepoints)):
            used, _ = model_inputs(
                studies, outcomes, model=model, unit=unit, options=model_options(config, model), timepoints=timepoints
            )
            if not len(used):
                plan.skipped.append((model, unit, _skip_reason(model, unit)))
                continue
            plan.fits.append((model, unit))
            if model == influence["model"]:
                contributing = list(dict.fromkeys(used["study_id"].astype(str)))
                influence_studies.update(contributing)
                plan.loso[(model, unit)] = loso_studies(influence["studies"], contributing)
    if influence["model"] != "none" and influence["model"] not in config["models"]:
        plan.notes.append(
            f"no leave-one-study-out refits: criticism.influence.model is {influence['model']}, which is not "
            f"among the models fitted ({', '.join(config['models'])})"
        )
    if isinstance(influence["studies"], list) and influence_studies:
        unknown = [s for s in influence["studies"] if s not in influence_studies]
        if unknown:
            plan.notes.append(
                f"criticism.influence.studies names {', '.join(unknown)}, which contribute to no "
                f"{influence['model']} fit: not refitted"
            )
    if not plan.fits:
        reasons = "; ".join(f"{m} at {u}: {why}" for m, u, why in plan.skipped)
        raise NothingToFit(
            f"no model has data at any timepoint, so there is nothing to fit ({reasons}). "
            "Add outcome rows to data/outcomes.csv, or choose models and timepoints in "
            "config/config.yaml that the data report."
        )
    plan.regressions = regression_plan(config, studies, outcomes)
    return plan


# ---- seeds: every job's seed is a stable function of config's seed and the job's labels ------------------------


def fit_seed(base_seed: int, *labels: str) -> int:
    """A fit's own seed: a stable function of the base seed and the fit's labels."""
    digest = hashlib.sha256("\x1f".join(str(label) for label in labels).encode()).digest()
    return int(np.random.SeedSequence([int(base_seed), int.from_bytes(digest, "little")]).generate_state(1)[0])


def child_seeds(seed: int, k: int) -> list[int]:
    """k independent seeds derived from one."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(k)]


def labelled_seed(base_seed: int, model: str, prior_set: str, timepoint: str, others: dict | None = None) -> int:
    """A fit job's seed: model, prior set and timepoint, plus any other label of the job as ``name=value``
    in sorted order (e.g. the study left out, or a validation scenario and replicate), so every job of a rule
    family differs."""
    others = others or {}
    return fit_seed(base_seed, model, prior_set, timepoint, *[f"{k}={others[k]}" for k in sorted(others)])


def check_seed(base_seed: int, model: str, prior_set: str, timepoint: str) -> int:
    """Seed of a check's random numbers (randomised PIT, Monte Carlo p-value): the fit's name plus 'checks'."""
    return fit_seed(base_seed, "checks", model, prior_set, timepoint)


def simulation_seed(base_seed: int, scenario: str, rep: str) -> int:
    """Seed of one simulated data set of the validation target."""
    return fit_seed(base_seed, "validation-simulation", scenario, rep)


# ---- settings derived from config for the jobs ---------------------------------------------------------------


# Keys of config's sampler block that say how a fit job runs, not how one sampling runs: not part of a fit's
# sampler settings (nor of its cache key).
SAMPLER_JOB_KEYS = ("threads", "max_draws", "ess_margin")


def sampler_settings(config: dict) -> dict:
    """The sampler settings of one sampling (config's sampler block without :data:`SAMPLER_JOB_KEYS`)."""
    return {key: value for key, value in config["sampler"].items() if key not in SAMPLER_JOB_KEYS}


def sensitivity_sets(config: dict) -> list[str]:
    """The prior sets every fit is repeated under (config ``sensitivity_prior_sets``; ``all`` = every set)."""
    names = config["sensitivity_prior_sets"]
    return list(config["prior_sets"]) if names == "all" else list(names)


def influence_thresholds(config: dict) -> dict:
    """The convergence gates of the leave-one-study-out refits: config ``diagnostics``, with every failure
    demoted to a warning when ``criticism.influence.on_gate_failure`` is ``warn``."""
    mode = config["criticism"]["influence"]["on_gate_failure"]
    return {
        name: {**spec, "on_failure": "warn" if mode == "warn" else spec["on_failure"]}
        for name, spec in config["diagnostics"].items()
    }


def validation_thresholds(config: dict) -> dict:
    """The validation fits' convergence thresholds (config ``validation.diagnostics``), every one a warning:
    the validation target counts failed fits instead of stopping."""
    return {
        name: {DIAGNOSTICS[name]: value, "on_failure": "warn"}
        for name, value in config["validation"]["diagnostics"].items()
    }


# ---- fit jobs: the run's fits, grouped by model structure ------------------------------------------------------


@dataclass(frozen=True)
class FitSpec:
    """One fit of a run: a model at a fit unit under a prior set, possibly without one study.

    ``role`` is ``primary`` (the primary prior set), ``sensitivity`` (another prior set), ``influence``
    (a leave-one-study-out refit under the primary set) or ``regression`` (a meta-regression or
    small-study fit, primary set only).
    """

    model: str
    unit: str
    prior_set: str
    role: str
    leave_out: str | None = None

    def seed(self, base_seed: int) -> int:
        """The fit's seed (:func:`labelled_seed`; a refit's left-out study is its ``study`` label)."""
        others = {"study": self.leave_out} if self.leave_out is not None else None
        return labelled_seed(base_seed, self.model, self.prior_set, self.unit, others)


def prior_families(config: dict, model: str) -> dict[str, list[str]]:
    """Each prior slot of ``model`` that takes more than one family across the prior sets fitted
    (:func:`sensitivity_sets`), with those families: the model is built so that every one of them shares
    one compiled structure (:func:`crpsmeta.models.priors.shared_slot`)."""
    from crpsmeta.registry import priors_block

    families: dict[str, set[str]] = {}
    for name in sensitivity_sets(config):
        for slot, prior in priors_block(config["prior_sets"][name], model).items():
            if isinstance(prior, dict):
                families.setdefault(slot, set()).add(prior["family"])
    return {slot: sorted(found) for slot, found in families.items() if len(found) > 1}


def fit_batches(config: dict, plan: Plan) -> dict[str, list[FitSpec]]:
    """Every fit of the run, grouped into jobs by model structure (name -> fits, in fitting order).

    A planned fit (model x fit unit) under every prior set and every leave-one-study-out refit of it is
    one structure: prior families and hyperparameters are data (:func:`prior_families`) and a refit masks
    its study's rows (:func:`crpsmeta.models.build.build_model`), so a job holding several of them
    compiles it once. The jobs are:

    - ``<model>_<unit>``: the primary fit and its leave-one-study-out refits;
    - ``<model>_<unit>_sensitivity``: the same fit under every other prior set, so that an edit in a
      sensitivity set re-runs this job only, and the primary fit's downstream jobs not at all;
    - ``regressions``: every meta-regression and small-study fit (one structure each, fitted once), in one
      job to spare a process start per fit.
    """
    primary = config["prior_set"]
    others = [name for name in sensitivity_sets(config) if name != primary]
    batches: dict[str, list[FitSpec]] = {}
    for model, unit in plan.fits:
        batches[f"{model}_{unit}"] = [FitSpec(model, unit, primary, "primary")] + [
            FitSpec(model, unit, primary, "influence", study) for study in plan.loso.get((model, unit), [])
        ]
        if others:
            batches[f"{model}_{unit}_sensitivity"] = [FitSpec(model, unit, name, "sensitivity") for name in others]
    regressions = [FitSpec(p["model"], p["timepoint"], primary, "regression") for p in plan.regressions if p["fitted"]]
    if regressions:
        batches["regressions"] = regressions
    return batches
