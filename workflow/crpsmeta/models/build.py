"""Build the PyMC model of any model in :mod:`crpsmeta.registry` from the rows it uses and a prior block.

Fit units: ``pooled_rate`` and ``placebo_map`` are fitted once per timepoint;
``placebo_adjusted`` once for both timepoints together (fit unit ``joint``).
"""

from __future__ import annotations

import pandas as pd

from crpsmeta.registry import MODELS, POOLED_ARM, REGRESSION_MODELS
from crpsmeta.vocabulary import REFERENCE_DEFINITION


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
    from crpsmeta.models.placebo_adjusted import PRIOR_NAMES, placebo_adjusted_model
    from crpsmeta.models.pooled_rate import pooled_rate_model
    from crpsmeta.models.priors import prior_from_dict

    options = options or {}
    if model in POOLED_ARM:
        return pooled_rate_model(
            used["responders"].to_numpy(),
            used["n"].to_numpy(),
            list(used["study_id"]),
            mu_prior=prior_from_dict(priors["mu"]),
            tau_prior=prior_from_dict(priors["tau"]),
        )
    if model == "placebo_adjusted":
        arms, contrasts, pains = _split(used)
        return placebo_adjusted_model(
            arms,
            contrasts,
            pains=pains,
            priors={k: prior_from_dict(priors[k]) for k in PRIOR_NAMES},
            definition_offset_sd=float(priors["definition_offset_sd"]),
            reference_definition=options.get("reference_definition", REFERENCE_DEFINITION),
        )
    if model in REGRESSION_MODELS:
        from crpsmeta.models.pooled_rate import build_regression

        return build_regression(model, used, priors, options)
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def prior_variables(pm_model) -> list[str]:
    """The model's top-level prior variables, i.e. those a prior set sets (power-scaled by ``psens``).

    Every free variable created by :meth:`crpsmeta.models.priors.Prior.register` has
    hyperparameter data nodes named ``<name>_prior_<hyper>``; the definition
    offsets (prior SD from config) count too. Standardised study effects do not.
    """
    data_names = set(pm_model.named_vars)
    names = [rv.name for rv in pm_model.free_RVs if any(d.startswith(f"{rv.name}_prior_") for d in data_names)]
    if "definition_offset_z" in pm_model.named_vars and pm_model.named_vars["definition_offset_z"].size.eval() > 0:
        names.append("definition_offset_z")
    return names
