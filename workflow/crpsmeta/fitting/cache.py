"""A content-addressed cache of fit records: a fit whose inputs did not change is not sampled again.

The key is the SHA-256 of exactly what determines a fit's draws: the model, the rows it uses (as CSV, row
order kept), its prior block, its options, the sampler settings, the seed, and the version of the code and
libraries that build and sample it (:func:`code_version`). Same key, same draws: sampling is deterministic
given the seed, so a record taken from the cache is the record a new fit would write (the tests check it
byte for byte in the summaries).

What does not change the draws is not in the key: the prior set's name, the data files' hashes, the fit's
path. The job stamps those onto the cached record as onto a new one (:func:`crpsmeta.fitting.record.stamp`),
with ``fit_cache`` saying ``hit`` or ``miss`` and the key.

Records are stored as ``<directory>/<key[:2]>/<key>.nc``, written to a temporary name and renamed, so
concurrent jobs (a cluster) never see half a record; two jobs with one key write identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path

import pandas as pd

from crpsmeta.fitting.record import read_record, stamp, write_record

PACKAGE = Path(__file__).resolve().parents[1]
# the code a fit's draws depend on: the models, how they are built and sampled, and the names they use
CODE = ("models", "fitting/sampling.py", "inputs/selection.py", "registry.py", "vocabulary.py", "plan.py")
LIBRARIES = ("pymc", "pytensor", "nutpie", "numba", "numpy", "scipy", "arviz")


@cache
def code_version() -> str:
    """SHA-256 of the package code that builds and samples models, and of the libraries' versions."""
    import importlib.metadata

    digest = hashlib.sha256()
    files = sorted(
        p
        for entry in CODE
        for p in ((PACKAGE / entry).rglob("*.py") if (PACKAGE / entry).is_dir() else [PACKAGE / entry])
    )
    for path in files:
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}=={version}\0".encode())
    return digest.hexdigest()


def fit_key(
    model: str,
    used: pd.DataFrame,
    priors: dict,
    options: dict | None,
    sampler: dict,
    seed: int,
    code: str | None = None,
) -> str:
    """The cache key of a fit (see the module docstring)."""
    payload = {
        "model": model,
        "rows": used.to_csv(index=False, lineterminator="\n"),
        "priors": priors,
        "options": options or {},
        "sampler": sampler,
        "seed": int(seed),
        "code": code or code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class FitCache:
    """Fit records by key under ``directory``; ``None`` as directory disables the cache."""

    def __init__(self, directory: str | Path | None):
        self.directory = Path(directory) if directory is not None else None

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.nc"

    def load(self, key: str):
        """The cached record of ``key``, or None."""
        if self.directory is None or not self.path(key).is_file():
            return None
        return read_record(self.path(key))

    def store(self, key: str, idata) -> None:
        """Keep ``idata`` under ``key`` (atomically: a temporary file renamed into place)."""
        if self.directory is None:
            return
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{key[:12]}.", suffix=".nc.partial")
        os.close(fd)
        try:
            write_record(idata, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def fit_cached(
    fit_function,
    cache: FitCache,
    *,
    model: str,
    used: pd.DataFrame,
    priors: dict,
    options: dict | None,
    sampler: dict,
    seed: int,
    attrs: dict,
    **fit_kwargs,
):
    """``fit_function(model, used, priors, sampler, seed=seed, options=options, attrs=attrs, **fit_kwargs)``,
    or the cached record of the same key with the job's ``attrs`` stamped on. Returns (record, hit)."""
    key = fit_key(model, used, priors, options, sampler, seed)
    idata = cache.load(key)
    hit = idata is not None
    if not hit:
        idata = fit_function(model, used, priors, sampler, seed=seed, options=options, attrs=attrs, **fit_kwargs)
        cache.store(key, idata)
    stamp(idata, {**attrs, "fit_cache": "hit" if hit else "miss", "fit_cache_key": key})
    return idata, hit
