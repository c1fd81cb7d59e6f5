"""Shared fixtures: paths, schemas, shipped tables, fast sampler settings."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "workflow" / "schemas"


def load_schema(name: str) -> dict:
    return yaml.safe_load((SCHEMA_DIR / f"{name}.schema.yaml").read_text())


@pytest.fixture(scope="session")
def schemas() -> dict:
    return {name: load_schema(name) for name in ("config", "studies", "outcomes")}


@pytest.fixture(scope="session")
def shipped_config() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


@pytest.fixture(scope="session")
def shipped_tables(schemas):
    from crpsmeta.inputs.tables import load_tables

    return load_tables(
        ROOT / "data" / "studies.csv", ROOT / "data" / "outcomes.csv", schemas["studies"], schemas["outcomes"]
    )


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the shipped data/ directory."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    return tmp_path / "data"


def read_rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


FAST_SAMPLER = {"backend": "pymc", "chains": 2, "draws": 500, "tune": 500, "target_accept": 0.95, "prior_draws": 200}


@pytest.fixture
def mock_pymc_sample(monkeypatch):
    """``pm.sample`` replaced by ``pymc.testing.mock_sample``: prior draws stand in for the posterior, no MCMC.

    For tests of the code around a model (records, tables, figures), never of a posterior's numbers. Like
    ``pm.sample`` it adds the pointwise log-likelihood when asked (``idata_kwargs={"log_likelihood": True}``,
    as crpsmeta.fitting.sampling does) and the sample statistics the convergence diagnostics read (no divergence)."""
    import numpy as np
    import pymc as pm
    from pymc.testing import mock_sample

    stats = {
        "diverging": lambda size: np.zeros(size, dtype=bool),
        "energy": lambda size: np.random.default_rng(0).normal(size=size),
        "tree_depth": lambda size: np.full(size, 3),
        "n_steps": lambda size: np.full(size, 7.0),
    }

    def sample(draws=1000, *, model=None, idata_kwargs=None, **kwargs):
        model = pm.modelcontext(model)
        idata = mock_sample(draws=draws, model=model, sample_stats=stats, **kwargs)
        if (idata_kwargs or {}).get("log_likelihood"):
            pm.compute_log_likelihood(idata, model=model, extend_inferencedata=True, progressbar=False)
        return idata

    monkeypatch.setattr(pm, "sample", sample)
    return sample


SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]


def snakemake(workdir: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run the repository's workflow on ``workdir``'s own config/ and data/ (``--directory``)."""
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), "--cores", "2", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The whole workflow (rule all) run once on a copy of tests/tiny, shared by every test module.

    Once per session, also under pytest-xdist: the tests that use it are one xdist group (see
    pytest_collection_modifyitems below), and should they land on several workers all the same
    (another --dist mode), the first worker runs the workflow and the others wait for it and share it."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's base directory, above every worker's own
    workdir, returncode = shared / "tiny", shared / "tiny.returncode"
    with FileLock(str(shared / "tiny.lock")):
        if not returncode.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            shutil.copytree(ROOT / "tests" / "tiny" / "config", workdir / "config")
            shutil.copytree(ROOT / "tests" / "tiny" / "data", workdir / "data")
            run = snakemake(workdir)
            (workdir / "snakemake.stderr").write_text(run.stderr)  # read by workflow/test_clean_stderr.py
            returncode.write_text(str(run.returncode))
    assert returncode.read_text() == "0", (workdir / "snakemake.stderr").read_text()[-4000:]
    return workdir


@pytest.fixture
def tiny_copy(tiny, tmp_path):
    """A copy of the finished tiny run for a test that runs the workflow again: results kept, Snakemake's metadata
    (.snakemake/) not, so jobs rerun only if forced or if their inputs change.

    Such a test is not in the ``tiny`` xdist group: it may run on the other worker, which waits for the tiny run
    (the fixture's lock) should it still be running."""
    return shutil.copytree(tiny, tmp_path / "tiny", ignore=shutil.ignore_patterns(".snakemake"))


# ---- pytest-xdist: tests that share an expensive fixture run on one worker -----------------------------------

# Session fixtures cheap enough for every worker to make its own copy.
PER_WORKER = {"schemas", "shipped_config", "shipped_tables"}


def _shared_fixtures(item) -> list[str]:
    """The expensive fixtures ``item`` shares with other tests: every module-, class- or session-scoped fixture
    defined in tests/ (not pytest's or a plugin's, not PER_WORKER), one per parameter of a parametrized one; not
    ``tiny`` for a test that only reruns a copy of it (``tiny_copy``)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    params = getattr(getattr(item, "callspec", None), "indices", {})
    keys = []
    for name in info.names_closure:
        if name == "tiny" and "tiny_copy" in info.names_closure:
            continue  # works on its own copy (see tiny_copy)
        for fixturedef in info.name2fixturedefs.get(name, ())[-1:]:
            module = sys.modules.get(getattr(fixturedef.func, "__module__", ""))
            path = Path(getattr(module, "__file__", None) or "/").resolve()
            if fixturedef.scope == "function" or name in PER_WORKER or (ROOT / "tests") not in path.parents:
                continue
            key = name if path.name == "conftest.py" else f"{path.stem}::{name}"
            keys.append(f"{key}-{params[name]}" if name in params else key)  # no "@" or "]" (xdist's separators)
    return keys


def _carry_group_in_node_id(item, group: str) -> None:
    """What pytest-xdist 3.8 does for ``--dist loadgroup`` (the scheduler reads the group from a ``@group`` suffix of
    the node id), done where pytest 9.2 keeps the node id: xdist still writes the old ``item._nodeid``, which pytest
    9.2 no longer reads, so without this the groups are silently ignored (pytest-dev/pytest-xdist#1386)."""
    from _pytest.nodeid import NodeId

    if not item.nodeid.endswith(f"@{group}"):
        item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which would add the suffix if it still could
def pytest_collection_modifyitems(config, items):
    """Put every test that uses an expensive shared fixture (above all ``tiny``, the session's workflow run, and
    the module-scoped fits and runs of single modules) in one ``xdist_group`` per fixture, so that under
    ``-n 2 --dist loadgroup`` each is made once, on one worker, while other tests run on the other. Tests that
    share two such fixtures join their groups into one (named ``tiny`` if it is one of them)."""
    parent: dict[str, str] = {}

    def find(key):
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    shared = {item: _shared_fixtures(item) for item in items}
    for keys in shared.values():
        for key in keys[1:]:
            a, b = find(keys[0]), find(key)
            if a != b:
                root, child = (b, a) if b == "tiny" else (a, b)
                parent[child] = root
    for item, keys in shared.items():
        if keys and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(find(keys[0])))
    if getattr(config.option, "loadgroup", False):  # an xdist worker under --dist loadgroup
        for item in items:
            names = sorted(
                {
                    str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")
                }
            )
            if names:
                _carry_group_in_node_id(item, "_".join(names))
