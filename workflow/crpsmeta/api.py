"""The steps the workflow runs, as plain functions (one per rule script)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from .data import responder_arms
from .priors import prior_from_dict

__all__ = ["model_inputs", "build_model", "fit", "file_sha256", "USED_COLUMNS"]

USED_COLUMNS = ["study_id", "n", "responders", "definition_class", "responder_definition", "design",
                "verification"]


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_inputs(studies: pd.DataFrame, outcomes: pd.DataFrame, *, model: str, timepoint: str,
                 definitions: str | list[str] = "all") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows a model uses at one timepoint, and the reported-but-unusable rows (gaps)."""
    if model == "pooled_rate":
        used, gaps = responder_arms(studies, outcomes, arm="ketamine", timepoint=timepoint, definitions=definitions)
        sources = outcomes[(outcomes["arm"] == "ketamine") & (outcomes["timepoint"] == timepoint)
                           & (outcomes["measure"] == "responders")][["study_id", "source", "derivation"]]
        used = used.merge(sources, on="study_id", how="left")
        return used, gaps
    raise ValueError(f"unknown model {model!r}")


def build_model(model: str, used: pd.DataFrame, priors: dict):
    """The PyMC model of ``model`` for the rows in ``used`` under the prior mapping ``priors``."""
    from .models import pooled_rate_model

    if model == "pooled_rate":
        return pooled_rate_model(used["responders"].to_numpy(), used["n"].to_numpy(), list(used["study_id"]),
                                 mu_prior=prior_from_dict(priors["mu"]), tau_prior=prior_from_dict(priors["tau"]))
    raise ValueError(f"unknown model {model!r}")


def fit(model: str, used: pd.DataFrame, priors: dict, sampler: dict, *, seed: int, cores: int = 1,
        attrs: dict | None = None):
    """Build, sample and annotate one fit; returns its InferenceData record."""
    from .sampling import SamplerSettings, sample_model

    pm_model = build_model(model, used, priors)
    settings = SamplerSettings.from_dict(sampler, cores=cores)
    meta = {"model": model, "priors": priors, **(attrs or {})}
    return sample_model(pm_model, settings, seed, attrs=meta)
