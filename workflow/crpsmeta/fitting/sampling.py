"""MCMC into one InferenceData record per fit.

The record holds the posterior, sample statistics, log-likelihood, prior,
prior predictive, posterior predictive, observed and constant data, and
attributes saying how it was made (seed, sampler, versions).

:func:`fit` is the one call a fit job makes: build the model (:mod:`crpsmeta.models.build`), sample it,
annotate the record (:mod:`crpsmeta.fitting.record`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import re
import time
from dataclasses import asdict, dataclass

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm

from crpsmeta.fitting.record import stamp
from crpsmeta.models.build import build_model, prior_variables
from crpsmeta.plan import SAMPLER_JOB_KEYS, child_seeds


def fit(
    model: str,
    used: pd.DataFrame,
    priors: dict,
    sampler: dict,
    *,
    seed: int,
    cores: int = 1,
    options: dict | None = None,
    attrs: dict | None = None,
):
    """Build, sample and annotate one fit; returns its InferenceData record."""

    pm_model = build_model(model, used, priors, options)
    settings = SamplerSettings.from_dict(sampler, cores=cores)
    meta = {"model": model, "priors": priors, "options": options or {}, **(attrs or {})}
    return sample_model(pm_model, settings, seed, attrs=meta, log_prior_vars=prior_variables(pm_model))


# nutpie models compiled in this process, by structure (see structure_key). A
# fit whose model has the same structure as an earlier one in the same process
# (another prior set of the same families, or other data for the same parameters) reuses
# the compiled logp and gradient with its own data swapped in (nutpie's
# ``with_data``) instead of compiling again: the numba compile is most of a
# small fit's cost, and nutpie's own wrappers cannot be cached on disk.
_COMPILED: dict[str, object] = {}


_CACHE_STATS = {"compiled": 0, "reused": 0}


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
    def from_dict(cls, spec: dict, cores: int = 1) -> SamplerSettings:
        """From config's sampler block; its ``threads`` (cores a job asks for) arrives as ``cores``, and its other
        job keys (:data:`crpsmeta.plan.SAMPLER_JOB_KEYS`) are not settings of one sampling."""
        return cls(**{**{k: v for k, v in spec.items() if k not in SAMPLER_JOB_KEYS}, "cores": cores})


def versions() -> dict[str, str]:
    import pandas
    import pytensor
    import scipy
    import xarray

    out = {
        "python": platform.python_version(),
        "pymc": pm.__version__,
        "pytensor": pytensor.__version__,
        "arviz": az.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "xarray": xarray.__version__,
    }
    try:
        import nutpie

        out["nutpie"] = nutpie.__version__
    except ImportError:  # pragma: no cover
        pass
    from crpsmeta import __version__

    out["crpsmeta"] = __version__
    return out


def structure_key(model: pm.Model) -> str:
    """A digest of everything about ``model`` that nutpie's compiled model depends on, except data values.

    Two models with the same key have the same log density and derived
    quantities up to the values held in their ``pm.Data`` nodes: the same
    graph (operations, variable names and types, transforms), the same
    constants (by value), the same data names, dtypes and ranks, and the same
    shapes of the sampled parameters and the derived quantities. Data lengths
    may differ (say, another number of observed arms for the same studies):
    the compiled graph takes data of any length, and only the parameter vector
    and the stored quantities have a fixed size.
    """
    import pytensor
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import graph_inputs

    outputs = [model.logp(), *model.deterministics]
    text = pytensor.printing.debugprint(outputs, file="str", print_type=True, print_destroy_map=False)
    # random generators print with their address; they only seed prior draws, not the log density
    digest = hashlib.sha256(re.sub(r" at 0x[0-9A-Fa-f]+", "", text).encode())
    for var in graph_inputs(outputs):
        if isinstance(var, Constant) and isinstance(var.data, (np.ndarray, np.number, int, float)):
            value = np.asarray(var.data)
            digest.update(f"{value.dtype}{value.shape}".encode() + value.tobytes())
    for var in model.data_vars:
        value = np.asarray(var.get_value())
        digest.update(f"{var.name}:{value.dtype}{value.ndim};".encode())
    sized = [*model.free_RVs, *model.deterministics]
    shapes = pytensor.function([], [var.shape for var in sized], mode="FAST_COMPILE")()
    for var, shape in zip(sized, shapes):
        digest.update(f"{var.name}{tuple(int(n) for n in shape)};".encode())
    digest.update(";".join(v.name for v in model.value_vars).encode())
    digest.update(
        json.dumps({name: list(dims) for name, dims in model.named_vars_to_dims.items()}, sort_keys=True).encode()
    )
    digest.update(f"check_bounds={model.check_bounds}".encode())
    return digest.hexdigest()


def compiled_cache_info() -> dict[str, int]:
    """How many nutpie models this process compiled, and how many fits reused one."""
    return dict(_CACHE_STATS, cached=len(_COMPILED))


def clear_compiled_cache() -> None:
    _COMPILED.clear()
    _CACHE_STATS.update(compiled=0, reused=0)


def _nutpie_compiled(model: pm.Model, reuse: bool):
    """nutpie's compiled model for ``model``: a reused one with this model's data, or a new compile."""
    import nutpie

    key = structure_key(model) if reuse else None
    cached = _COMPILED.get(key) if key else None
    if cached is None:
        compiled = nutpie.compile_pymc_model(model)
        _CACHE_STATS["compiled"] += 1
        if key:
            _COMPILED[key] = compiled
        return compiled
    _CACHE_STATS["reused"] += 1
    values = {var.name: var.get_value() for var in model.data_vars if var.name in cached.shared_data}
    stale = set(cached.shared_data) - set(values)
    if stale:  # a shared value that is not pm.Data would silently keep the first model's value
        raise ValueError(f"cannot reuse the compiled model: shared variables {sorted(stale)} are not pm.Data")
    # The initial points depend on the data too (a prior's support point is its
    # mean, say): build them from this model, in nutpie's order (free RVs).
    return dataclasses.replace(cached.with_data(**values), initial_point_func=_initial_point_fn(model))


def _initial_point_fn(model: pm.Model):
    """As nutpie's own: support points with a U(-1, 1) jitter, transformed, flattened in free-RV order."""
    import threading

    from pymc.initial_point import make_initial_point_fn

    point_fn = make_initial_point_fn(
        model=model, default_strategy="support_point", jitter_rvs=set(model.free_RVs), return_transformed=True
    )
    names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
    lock = threading.Lock()

    def flat(seed=None):
        with lock:
            point = point_fn(seed)
        return np.concatenate([np.asarray(point[name], dtype="float64").ravel() for name in names])

    return flat


def _relabel(idata: az.InferenceData, model: pm.Model) -> az.InferenceData:
    """Give every group ``model``'s coordinate labels (a reused compiled model carries its first model's)."""
    for group in idata.groups():
        ds = idata[group]
        labels = {
            dim: list(values)
            for dim, values in model.coords.items()
            if values is not None and dim in ds.dims and ds.sizes[dim] == len(values)
        }
        if labels:
            setattr(idata, group, ds.assign_coords(labels))
    return idata


def sample_posterior(model: pm.Model, settings: SamplerSettings, seed: int, reuse: bool = True) -> az.InferenceData:
    """Posterior draws and sample statistics (with log-likelihood) only.

    With ``reuse`` (nutpie only), a model of the same structure as one already
    compiled in this process is not compiled again (see :func:`structure_key`).
    """
    if settings.backend == "pymc":
        with model:
            return pm.sample(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=min(settings.cores, settings.chains),
                target_accept=settings.target_accept,
                random_seed=seed,
                progressbar=False,
                compute_convergence_checks=False,
                idata_kwargs={"log_likelihood": True},
            )
    if settings.backend == "nutpie":
        import nutpie
        import pytensor

        # Same seed, same draws: with numba's fastmath on, a function compiled
        # in this process and the same function loaded from numba's disk cache
        # differ in the last bits (about 1e-9 on the first run against a re-run
        # of pooled_rate), so a first run and a re-run of one seed would differ.
        # Without fastmath both are the same IEEE arithmetic, at no measured cost
        # in speed (tests/fitting/test_sampling.py checks both).
        with pytensor.config.change_flags(numba__fastmath=False):
            compiled = _nutpie_compiled(model, reuse)
            idata = nutpie.sample(
                compiled,
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=max(1, min(settings.cores, settings.chains)),
                seed=seed,
                target_accept=settings.target_accept,
                progress_bar=False,
                save_warmup=False,
            )
        idata = _relabel(idata, model)
        pm.compute_log_likelihood(idata, model=model, extend_inferencedata=True, progressbar=False)
        return idata
    raise ValueError(f"unknown sampler backend {settings.backend!r}; use 'pymc' or 'nutpie'")


def sample_model(
    model: pm.Model,
    settings: SamplerSettings,
    seed: int,
    attrs: dict | None = None,
    log_prior_vars: list[str] | None = None,
) -> az.InferenceData:
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
        for power-scaling sensitivity (:mod:`crpsmeta.criticism.power_scaling`). Pass the
        top-level priors only: power-scaling the standard-normal study effects
        of a non-centred hierarchy is not a prior perturbation anyone would make.
    """
    prior_seed, post_seed, ppc_seed = child_seeds(seed, 3)
    with model:
        prior = pm.sample_prior_predictive(draws=settings.prior_draws, random_seed=prior_seed)
    reused_before = _CACHE_STATS["reused"]
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
        pm.sample_posterior_predictive(
            idata,
            # the model's own order: the prior predictive group's order comes from a set of names, which varies
            # between processes (string hashing), and with it which random stream each variable would draw
            var_names=[rv.name for rv in model.observed_RVs],
            random_seed=ppc_seed,
            extend_inferencedata=True,
            progressbar=False,
        )
        if log_prior_vars:
            pm.compute_log_prior(idata, var_names=list(log_prior_vars), extend_inferencedata=True, progressbar=False)
    idata.extend(prior, join="right")
    t2 = time.perf_counter()

    meta = {
        "seed": int(seed),
        "sampler": json.dumps(asdict(settings)),
        "versions": json.dumps(versions()),
        "sampling_seconds": round(t1 - t0, 3),
        "predictive_seconds": round(t2 - t1, 3),
        "compiled_model": "reused" if _CACHE_STATS["reused"] > reused_before else "new",
    }
    stamp(idata, {**meta, **(attrs or {})})
    return idata
