"""MCMC into one InferenceData record per fit.

The record holds the posterior, sample statistics, log-likelihood, prior,
prior predictive, posterior predictive, observed and constant data, and
attributes saying how it was made (seed, sampler, versions).
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass

import arviz as az
import numpy as np
import pymc as pm

__all__ = ["SamplerSettings", "sample_model", "sample_posterior", "child_seeds", "fit_seed", "versions"]


@dataclass(frozen=True)
class SamplerSettings:
    backend: str = "pymc"
    chains: int = 4
    draws: int = 2000
    tune: int = 1000
    target_accept: float = 0.99
    prior_draws: int = 1000
    cores: int = 1

    @classmethod
    def from_dict(cls, spec: dict, cores: int = 1) -> "SamplerSettings":
        return cls(**{**spec, "cores": cores})


def fit_seed(base_seed: int, *labels: str) -> int:
    """A fit's own seed: a stable function of the base seed and the fit's labels."""
    digest = hashlib.sha256("\x1f".join(str(label) for label in labels).encode()).digest()
    return int(np.random.SeedSequence([int(base_seed), int.from_bytes(digest, "little")]).generate_state(1)[0])


def child_seeds(seed: int, k: int) -> list[int]:
    """k independent seeds derived from one."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(k)]


def versions() -> dict[str, str]:
    import pandas
    import pytensor
    import scipy
    import xarray

    out = {"python": platform.python_version(), "pymc": pm.__version__, "pytensor": pytensor.__version__,
           "arviz": az.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
           "pandas": pandas.__version__, "xarray": xarray.__version__}
    try:
        import nutpie

        out["nutpie"] = nutpie.__version__
    except ImportError:  # pragma: no cover
        pass
    from . import __version__

    out["crpsmeta"] = __version__
    return out


def sample_posterior(model: pm.Model, settings: SamplerSettings, seed: int) -> az.InferenceData:
    """Posterior draws and sample statistics (with log-likelihood) only."""
    if settings.backend == "pymc":
        with model:
            return pm.sample(draws=settings.draws, tune=settings.tune, chains=settings.chains,
                             cores=min(settings.cores, settings.chains), target_accept=settings.target_accept,
                             random_seed=seed, progressbar=False, compute_convergence_checks=False,
                             idata_kwargs={"log_likelihood": True})
    if settings.backend == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model)
        idata = nutpie.sample(compiled, draws=settings.draws, tune=settings.tune, chains=settings.chains,
                              cores=max(1, min(settings.cores, settings.chains)), seed=seed,
                              target_accept=settings.target_accept, progress_bar=False, save_warmup=False)
        pm.compute_log_likelihood(idata, model=model, extend_inferencedata=True, progressbar=False)
        return idata
    raise ValueError(f"unknown sampler backend {settings.backend!r}; use 'pymc' or 'nutpie'")


def sample_model(model: pm.Model, settings: SamplerSettings, seed: int, attrs: dict | None = None,
                 log_prior_vars: list[str] | None = None) -> az.InferenceData:
    """Sample prior, posterior and both predictives of ``model``.

    Parameters
    ----------
    model : pm.Model
    settings : SamplerSettings
    seed : int
        Seeds the prior draws, the chains and the posterior predictive
        (three independent child seeds).
    attrs : dict, optional
        Extra attributes stored on the record (JSON-encoded when not scalar).
    log_prior_vars : list of str, optional
        Free variables whose prior log density (constrained scale, no Jacobian,
        as priorsense's ``lprior``) is stored per draw in a ``log_prior`` group,
        for power-scaling sensitivity (:mod:`crpsmeta.sensitivity`). Pass the
        top-level priors only: power-scaling the standard-normal study effects
        of a non-centred hierarchy is not a prior perturbation anyone would make.
    """
    prior_seed, post_seed, ppc_seed = child_seeds(seed, 3)
    with model:
        prior = pm.sample_prior_predictive(draws=settings.prior_draws, random_seed=prior_seed)
    t0 = time.perf_counter()
    idata = sample_posterior(model, settings, post_seed)
    t1 = time.perf_counter()
    # The data groups must be on the record before the posterior predictive:
    # PyMC re-draws from the prior any variable whose data inputs it cannot
    # find unchanged in constant_data (nutpie's record has none).
    for group in ("observed_data", "constant_data"):
        if group not in idata.groups():
            idata.add_groups({group: prior[group]})
    with model:
        pm.sample_posterior_predictive(idata, var_names=list(prior.prior_predictive.data_vars),
                                       random_seed=ppc_seed, extend_inferencedata=True, progressbar=False)
        if log_prior_vars:
            pm.compute_log_prior(idata, var_names=list(log_prior_vars), extend_inferencedata=True,
                                 progressbar=False)
    idata.extend(prior, join="right")
    t2 = time.perf_counter()

    meta = {"seed": int(seed), "sampler": json.dumps(asdict(settings)),
            "versions": json.dumps(versions()), "sampling_seconds": round(t1 - t0, 3),
            "predictive_seconds": round(t2 - t1, 3)}
    for key, value in (attrs or {}).items():
        meta[key] = value if isinstance(value, (int, float, str)) else json.dumps(value, sort_keys=True)
    idata.posterior.attrs.update(meta)
    return idata
