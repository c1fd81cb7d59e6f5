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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .api import fit_units, model_inputs
from .registry import spec

__all__ = ["Plan", "NothingToFit", "make_plan", "model_options", "regression_options", "loso_studies"]


class NothingToFit(ValueError):
    """No model of config has data at any of config's timepoints."""


@dataclass
class Plan:
    fits: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    loso: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    regressions: list[dict] = field(default_factory=list)

    @property
    def models(self) -> set[str]:
        """Models with at least one fit."""
        return {model for model, _ in self.fits}


def model_options(config: dict, model: str) -> dict:
    """A model's data choices: its config section (crpsmeta.registry; placebo_map follows placebo_adjusted's),
    or for a regression :func:`regression_options`."""
    section = spec(model).options
    return regression_options(config, model) if section == "meta_regression" else dict(config[section])


def regression_options(config: dict, model: str) -> dict:
    """A regression fit's data choices: pooled_rate's definitions, the covariate's prior and levels."""
    from .regression import covariate_of

    covariate, section = covariate_of(model), config["meta_regression"]
    return {**config["pooled_rate"], "covariate": covariate,
            "coefficient_prior": dict(section["coefficient_priors"][covariate]),
            "levels": section["levels"].get(covariate)}


def loso_studies(chosen: str | list[str], contributing: list[str]) -> list[str]:
    """Studies to leave out one at a time: ``chosen`` ("all" or a list) among those that contribute; none if
    only one study contributes (nothing would be left to fit)."""
    if len(contributing) <= 1:
        return []
    return list(contributing) if chosen == "all" else [s for s in contributing if s in chosen]


def _skip_reason(model: str, unit: str) -> str:
    arm = spec(model).arm
    what = (f"no included {arm} arm reports a responder count" if arm else
            "no included study reports a responder count, a controlled pain contrast or a single-arm pain change")
    when = "at either timepoint" if unit == "joint" else f"at {unit}"
    return f"{what} {when} (with the responder definitions selected in config)"


def regression_plan(config: dict, studies: pd.DataFrame, outcomes: pd.DataFrame) -> list[dict]:
    """Every regression of config meta_regression (covariate x timepoint; "se" = small-study), with the
    number of studies with the covariate and whether it can be fitted (>= 2 studies and some variation)."""
    from .regression import estimable

    section, plan = config["meta_regression"], []
    for covariate in [*section["covariates"], *(["se"] if section["small_study"] else [])]:
        model = f"regression_{covariate}"
        options = regression_options(config, model)
        for timepoint in config["timepoints"]:
            used, _ = model_inputs(studies, outcomes, model=model, unit=timepoint, options=options)
            fitted, note = estimable(used, covariate, options["levels"])
            plan.append({"model": model, "covariate": covariate, "timepoint": timepoint, "k": len(used),
                         "fitted": fitted, "note": note})
    return plan


def make_plan(config: dict, studies: pd.DataFrame, outcomes: pd.DataFrame) -> Plan:
    """The fits of a validated ``config`` on validated tables (see :func:`crpsmeta.validation.load_tables`).

    Raises :class:`NothingToFit` when no model of config has data at any of its timepoints.
    """
    plan = Plan()
    influence = config["criticism"]["influence"]
    timepoints = tuple(config["timepoints"])
    for model in config["models"]:
        for unit in fit_units(model, list(timepoints)):
            used, _ = model_inputs(studies, outcomes, model=model, unit=unit, options=model_options(config, model),
                                   timepoints=timepoints)
            if not len(used):
                plan.skipped.append((model, unit, _skip_reason(model, unit)))
                continue
            plan.fits.append((model, unit))
            if model == influence["model"]:
                contributing = list(dict.fromkeys(used["study_id"].astype(str)))
                plan.loso[(model, unit)] = loso_studies(influence["studies"], contributing)
    if not plan.fits:
        reasons = "; ".join(f"{m} at {u}: {why}" for m, u, why in plan.skipped)
        raise NothingToFit(f"no model has data at any timepoint, so there is nothing to fit ({reasons}). "
                           "Add outcome rows to data/outcomes.csv, or choose models and timepoints in "
                           "config/config.yaml that the data report.")
    plan.regressions = regression_plan(config, studies, outcomes)
    return plan
