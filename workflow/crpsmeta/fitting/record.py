"""The fit record: one ArviZ InferenceData NetCDF per fit, written and read here only.

The record is the analysis's source of truth: summaries, checks, figures and
the report are derived from it. What a fit was made from (model, prior set and
priors, options, seed, sampler settings, package versions, the SHA-256 of the
data files) is stored as attributes of its ``posterior`` group; scalars as they
are, anything else JSON-encoded (:func:`stamp`), and decoded by
:func:`record_attrs`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from crpsmeta.models.priors import describe_priors


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (the record's ``data_sha256`` entries)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stamp(idata, attrs: dict) -> None:
    """Store ``attrs`` on the record's posterior group: scalars as they are, anything else as sorted JSON."""
    idata.posterior.attrs.update(
        {
            key: value if isinstance(value, (int, float, str)) else json.dumps(value, sort_keys=True)
            for key, value in attrs.items()
        }
    )


def _decode(value):
    return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value


def record_attrs(idata) -> dict:
    """The record's attributes with JSON values decoded (the inverse of :func:`stamp`)."""
    return {key: _decode(value) for key, value in idata.posterior.attrs.items()}


def write_record(idata, path: str | Path) -> None:
    """Write a fit's record (NetCDF, one group per InferenceData group)."""
    idata.to_netcdf(str(path))


def read_record(path: str | Path):
    """Read a fit's record into memory."""
    import arviz as az

    return az.from_netcdf(str(path))


def constant_data(idata, name: str):
    """The record's constant data ``name``: a variable of its ``constant_data`` group, or a column of one of its
    data matrices (a model packs several columns into one ``pm.Data`` node, their names the coordinates of its
    ``*_field`` dimension; :mod:`crpsmeta.models.placebo_adjusted`), or an entry of its prior hyperparameter
    vector (:class:`crpsmeta.models.priors.HyperparameterData`). Returns a numpy array."""
    import numpy as np

    from crpsmeta.models.priors import HYPERPARAMETER_DIM

    group = idata.constant_data
    if name in group:
        return np.asarray(group[name].values)
    for da in group.data_vars.values():
        for dim in da.dims:
            packed = dim.endswith("_field") or dim == HYPERPARAMETER_DIM
            if packed and name in [str(v) for v in da[dim].values]:
                return np.asarray(da.sel({dim: name}).values)
    raise KeyError(f"the record has no constant data {name!r}")


def record_seed(idata) -> int:
    """The sampler seed a fit record stores (on the posterior group, where the fit writes its attributes)."""
    for attrs in (idata.posterior.attrs, idata.attrs):
        if "seed" in attrs:
            return int(attrs["seed"])
    raise ValueError("the record stores no seed (posterior attribute 'seed'); derived draws need one")


def record_prior_text(idata) -> str:
    """The figure footer naming the prior set and priors the record was fitted with."""
    attrs = record_attrs(idata)
    return describe_priors(attrs.get("prior_set", "?"), attrs.get("priors") or {})


def record_provenance(path: str | Path) -> dict:
    """What a fit's record says about how it was made (seed, sampler, versions, data hashes), read without
    loading its draws."""
    import xarray as xr

    with xr.open_dataset(path, group="posterior") as ds:
        attrs = dict(ds.attrs)
    sampler = _decode(attrs.get("sampler")) or {}
    return {
        "record": str(path),
        "model": attrs.get("model"),
        "prior_set": attrs.get("prior_set"),
        "fit": attrs.get("timepoint"),
        "seed": int(attrs["seed"]) if "seed" in attrs else None,
        "sampler": sampler.get("backend"),
        "chains_x_draws": f"{sampler.get('chains')} x {sampler.get('draws')} (tune {sampler.get('tune')})",
        "sampling_seconds": float(attrs.get("sampling_seconds", float("nan"))),
        "created_at": attrs.get("created_at"),
        "versions": _decode(attrs.get("versions")) or {},
        "data_sha256": _decode(attrs.get("data_sha256")) or {},
    }


def git_state(directory: str | Path) -> dict:
    """The workflow's git commit and whether its tracked files differ from it (None outside a git checkout):
    what the report prints beside the records' own provenance."""
    import subprocess

    def git(*args):
        return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=30)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode:
            return {"commit": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no")
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
