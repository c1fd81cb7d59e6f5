"""Shared fixtures: paths, schemas, shipped tables, fast sampler settings."""

from __future__ import annotations

import csv
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
    from crpsmeta.validation import load_tables

    return load_tables(ROOT / "data" / "studies.csv", ROOT / "data" / "outcomes.csv",
                       schemas["studies"], schemas["outcomes"])


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


FAST_SAMPLER = {"backend": "pymc", "chains": 2, "draws": 500, "tune": 500, "target_accept": 0.95,
                "prior_draws": 200}


SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]


def snakemake(workdir: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run the repository's workflow on ``workdir``'s own config/ and data/ (``--directory``)."""
    return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "--cores", "2", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The whole workflow (rule all) run once on a copy of tests/tiny, shared by every test module."""
    workdir = tmp_path_factory.mktemp("tiny")
    shutil.copytree(ROOT / "tests" / "tiny" / "config", workdir / "config")
    shutil.copytree(ROOT / "tests" / "tiny" / "data", workdir / "data")
    run = snakemake(workdir)
    (workdir / "snakemake.stderr").write_text(run.stderr)  # read by test_clean_stderr.py
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir
