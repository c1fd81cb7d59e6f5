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


def _studies(used: pd.DataFrame) -> list[str]:
    """The studies of ``used`` in the model's order (responder counts, contrasts, pain changes)."""
    return list(dict.fromkeys(s for frame in _split(used) if len(frame) for s in frame["study_id"]))


def _definitions(used: pd.DataFrame, reference: str) -> list[str]:
    """The non-reference definition classes of ``used``'s responder counts, as the model orders them."""
    arms = _split(used)[0]
    return sorted(set(arms.get("definition_class", [])) - {reference})


def prior_slots(options: dict):
    """A function making a prior slot's Prior from its config mapping, in the form shared by every family
    the slot takes across the run's prior sets (``options["prior_families"]``, slot -> families;
    :func:`crpsmeta.models.priors.shared_slot`), so all prior sets of a model are one compiled structure."""
    from crpsmeta.models.priors import prior_from_dict, shared_slot

    families = options.get("prior_families") or {}
    return lambda name, spec: shared_slot(prior_from_dict(spec), families.get(name))


def build_model(model: str, used: pd.DataFrame, priors: dict, options: dict | None = None):
    """The PyMC model of ``model`` for the rows in ``used``.

    ``priors`` is the model's block of a prior set (config ``prior_sets.<set>.<model>``;
    placebo_map uses the pooled_rate block); ``options`` the model's config section.

    ``options["prior_families"]`` (slot -> the families it takes across the run's prior sets) makes every
    prior set one structure (:func:`crpsmeta.models.priors.shared_slot`).

    ``options["leave_out"]`` names a study whose rows are masked out of the likelihood (a
    leave-one-study-out refit, :mod:`crpsmeta.criticism.influence`). In ``placebo_adjusted`` the study
    keeps its parameters (drawn from their prior, as no row informs them) and every definition class of
    ``used`` keeps its offset, so the refit has the full fit's structure and shares its compiled model;
    the posterior of every other parameter is that of a fit without the study's rows. The other models
    simply drop the rows.
    """
    from crpsmeta.models.placebo_adjusted import PRIOR_NAMES, placebo_adjusted_model
    from crpsmeta.models.pooled_rate import pooled_rate_model

    options = options or {}
    slot = prior_slots(options)
    leave_out = options.get("leave_out")
    full = used
    if leave_out is not None:
        from crpsmeta.inputs.selection import leave_out as without

        used = without(used, leave_out)
    if model in POOLED_ARM:
        return pooled_rate_model(
            used["responders"].to_numpy(),
            used["n"].to_numpy(),
            list(used["study_id"]),
            mu_prior=slot("mu", priors["mu"]),
            tau_prior=slot("tau", priors["tau"]),
        )
    if model == "placebo_adjusted":
        arms, contrasts, pains = _split(used)
        reference = options.get("reference_definition", REFERENCE_DEFINITION)
        return placebo_adjusted_model(
            arms,
            contrasts,
            pains=pains,
            priors={k: slot(k, priors[k]) for k in PRIOR_NAMES},
            definition_offset_sd=float(priors["definition_offset_sd"]),
            reference_definition=reference,
            studies=_studies(full) if leave_out is not None else None,
            definitions=_definitions(full, reference) if leave_out is not None else None,
        )
    if model == "time_course":
        from crpsmeta.models.time_course import PRIOR_NAMES as TIME_COURSE_PRIORS
        from crpsmeta.models.time_course import time_course_model

        return time_course_model(
            used,
            priors={k: slot(k, priors[k]) for k in TIME_COURSE_PRIORS},
            definition_offset_sd=float(priors["definition_offset_sd"]),
            unknown_weeks={t: tuple(w) for t, w in options["unknown_weeks"].items()},
            placebo_late_week=float(options["placebo_late_week"]),
            reference_definition=options.get("reference_definition", REFERENCE_DEFINITION),
        )
    if model in REGRESSION_MODELS:
        from crpsmeta.models.pooled_rate import build_regression

        return build_regression(model, used, priors, options)
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def prior_variables(pm_model) -> list[str]:
    """The model's top-level prior variables, i.e. those a prior set sets (power-scaled by ``psens``).

    Every free variable created by :meth:`crpsmeta.models.priors.Prior.register` has
    hyperparameters named ``<name>_prior_<hyper>`` (data nodes of their own, or entries of the model's
    :class:`crpsmeta.models.priors.HyperparameterData` vector); the definition
    offsets (prior SD from config) count too. Standardised study effects do not.
    """
    from crpsmeta.models.priors import hyperparameter_labels

    labels = hyperparameter_labels(pm_model)
    names = [rv.name for rv in pm_model.free_RVs if any(d.startswith(f"{rv.name}_prior_") for d in labels)]
    if "definition_offset_z" in pm_model.named_vars and pm_model.named_vars["definition_offset_z"].size.eval() > 0:
        names.append("definition_offset_z")
    return names
