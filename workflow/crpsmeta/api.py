"""The steps the workflow runs, as plain functions (one per rule script).

Fit units: ``pooled_rate`` and ``placebo_map`` are fitted once per timepoint;
``placebo_adjusted`` once for both timepoints together (fit unit ``joint``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from .registry import MODELS as _SPECS
from .registry import POOLED_ARM, REGRESSION_MODELS, spec
from .vocabulary import JOINT, TIMEPOINTS
from .data import placebo_inputs, responder_arms

# PyMC (through .priors, .models, .sampling) is imported inside the functions that
# build or fit a model, so that steps which only select data (model_inputs) start
# without it (about 2 s a process).

__all__ = ["MODELS", "JOINT", "fit_units", "model_inputs", "build_model", "priors_block", "prior_variables", "fit",
           "file_sha256"]

MODELS = tuple(_SPECS)
# which arm each single-arm-style model pools (crpsmeta.registry)
_ARM = POOLED_ARM


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fit_units(model: str, timepoints: list[str]) -> list[str]:
    """The fits a model needs: one per timepoint, or one joint fit (crpsmeta.registry)."""
    return spec(model).fit_units(timepoints)


def model_inputs(studies: pd.DataFrame, outcomes: pd.DataFrame, *, model: str, unit: str,
                 options: dict | None = None, timepoints: tuple[str, ...] = TIMEPOINTS
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows a fit uses and the reported rows it cannot use (gaps), with sources.

    ``options`` is the model's config section (``responder_definitions`` and,
    for placebo_adjusted, ``continuous_contrast``).
    """
    options = options or {}
    definitions = options.get("responder_definitions", "all")
    source_cols = ["study_id", "arm", "timepoint", "measure", "source", "derivation"]
    if model in _ARM:
        used, gaps = responder_arms(studies, outcomes, arm=_ARM[model], timepoint=unit, definitions=definitions)
        sources = outcomes[(outcomes["arm"] == _ARM[model]) & (outcomes["timepoint"] == unit)
                           & (outcomes["measure"] == "responders")][["study_id", "source", "derivation"]]
        return used.merge(sources, on="study_id", how="left"), gaps
    if model == "placebo_adjusted":
        arms, contrasts, gaps = placebo_inputs(studies, outcomes, definitions=definitions,
                                               continuous_contrast=options.get("continuous_contrast", "chinn"),
                                               single_arm_pain_mode=options.get("single_arm_pain", "latent"))
        arms = arms[arms["timepoint"].isin(timepoints)]
        contrasts = contrasts[contrasts["timepoint"].isin(timepoints)]
        sources = outcomes[source_cols]
        arms = arms.merge(sources[sources["measure"] == "responders"].drop(columns="measure"),
                          on=["study_id", "arm", "timepoint"], how="left").assign(kind="responders")
        pain_src = (sources[sources["measure"] == "pain"].drop(columns=["measure", "derivation"])
                    .drop_duplicates(["study_id", "timepoint"]))
        contrasts = contrasts.merge(pain_src.drop(columns="arm"), on=["study_id", "timepoint"], how="left")
        contrasts["arm"] = [("ketamine_vs_placebo" if k == "contrast" else a)
                            for k, a in zip(contrasts["kind"], contrasts["arm"].astype(object))]
        used = pd.concat([arms, contrasts], ignore_index=True)
        return used, gaps
    if model in REGRESSION_MODELS:  # pooled_rate's rows with one covariate; rows without it become gaps
        from .regression import add_covariate, covariate_of

        base, gaps = model_inputs(studies, outcomes, model="pooled_rate", unit=unit, options=options)
        used, left_out = add_covariate(base, studies, covariate_of(model), options.get("levels"))
        return used, pd.concat([gaps, left_out], ignore_index=True)
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def _split(used: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    kind = used["kind"] if "kind" in used else pd.Series("responders", index=used.index)
    arms = used[kind == "responders"].reset_index(drop=True)
    contrasts = used[kind == "contrast"].reset_index(drop=True)
    pains = used[kind == "pain"].reset_index(drop=True)
    if len(arms):
        arms = arms.astype({"n": int, "responders": int, "nonrandomised": int})
    return arms, contrasts, pains


def build_model(model: str, used: pd.DataFrame, priors: dict, options: dict | None = None):
    """The PyMC model of ``model`` for the rows in ``used``.

    ``priors`` is the model's block of a prior set (config ``prior_sets.<set>.<model>``;
    placebo_map uses the pooled_rate block); ``options`` the model's config section.
    """
    from .models import pooled_rate_model
    from .placebo_adjusted import PRIOR_NAMES, placebo_adjusted_model
    from .priors import prior_from_dict

    options = options or {}
    if model in _ARM:
        return pooled_rate_model(used["responders"].to_numpy(), used["n"].to_numpy(), list(used["study_id"]),
                                 mu_prior=prior_from_dict(priors["mu"]), tau_prior=prior_from_dict(priors["tau"]))
    if model == "placebo_adjusted":
        arms, contrasts, pains = _split(used)
        return placebo_adjusted_model(arms, contrasts, pains=pains,
                                      priors={k: prior_from_dict(priors[k]) for k in PRIOR_NAMES},
                                      definition_offset_sd=float(priors["definition_offset_sd"]),
                                      reference_definition=options.get("reference_definition", "ge30pct"))
    if model in REGRESSION_MODELS:
        from .regression import build_regression

        return build_regression(model, used, priors, options)
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def prior_variables(pm_model) -> list[str]:
    """The model's top-level prior variables, i.e. those a prior set sets (power-scaled by ``psens``).

    Every free variable created by :meth:`crpsmeta.priors.Prior.register` has
    hyperparameter data nodes named ``<name>_prior_<hyper>``; the definition
    offsets (prior SD from config) count too. Standardised study effects do not.
    """
    data_names = set(pm_model.named_vars)
    names = [rv.name for rv in pm_model.free_RVs
             if any(d.startswith(f"{rv.name}_prior_") for d in data_names)]
    if "definition_offset_z" in pm_model.named_vars and pm_model.named_vars["definition_offset_z"].size.eval() > 0:
        names.append("definition_offset_z")
    return names


def priors_block(prior_set: dict, model: str) -> dict:
    """The block of a prior set a model uses (crpsmeta.registry; placebo_map and the regressions borrow
    pooled_rate's)."""
    return prior_set[spec(model).prior_block]


def fit(model: str, used: pd.DataFrame, priors: dict, sampler: dict, *, seed: int, cores: int = 1,
        options: dict | None = None, attrs: dict | None = None):
    """Build, sample and annotate one fit; returns its InferenceData record."""
    from .sampling import SamplerSettings, sample_model

    pm_model = build_model(model, used, priors, options)
    settings = SamplerSettings.from_dict(sampler, cores=cores)
    meta = {"model": model, "priors": priors, "options": options or {}, **(attrs or {})}
    return sample_model(pm_model, settings, seed, attrs=meta, log_prior_vars=prior_variables(pm_model))
