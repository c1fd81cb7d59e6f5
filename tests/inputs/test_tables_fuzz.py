"""Property-based tests (hypothesis): the validator never crashes, whatever it is given.

For any bytes in a data file, any CSV built from the tables' own columns and
plausible or hostile cells, and any value at any key of the configuration, the
validator either accepts the input or raises its own InputValidationError,
whose every problem names a file and a rule and prints. Any other exception
(a traceback) fails the test.

On CI (``CI`` set) the examples are derandomised, so a run is repeatable.
Each property tries 150 examples; set FUZZ_EXAMPLES (e.g. 2000) for a longer search.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, load_schema, read_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crpsmeta.inputs.config import validate_config
from crpsmeta.inputs.issues import InputValidationError
from crpsmeta.inputs.tables import load_published, load_tables

SCHEMAS = {name: load_schema(name) for name in ("config", "studies", "outcomes", "published")}
TINY = ROOT / "tests" / "tiny" / "data"
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_own_errors_only(call):
    """Run ``call``; it may return or raise InputValidationError (with well-formed problems), nothing else."""
    try:
        return call()
    except InputValidationError as exc:
        assert exc.issues, "an InputValidationError must list at least one problem"
        for issue in exc.issues:
            assert isinstance(issue.file, str) and issue.file and isinstance(issue.rule, str) and issue.rule
            assert issue.line is None or issue.line >= 1
            assert f"[rule: {issue.rule}]" in str(issue)
            # load_tables turns an exception inside the cross-table rules into this problem: still a crash
            assert issue.rule != "cross_table_checks", str(issue)
        str(exc)
        return None


def tables(outcomes: bytes | None = None, studies: bytes | None = None):
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, content in (("studies", studies), ("outcomes", outcomes)):
            paths[name] = Path(tmp) / f"{name}.csv"
            paths[name].write_bytes(content if content is not None else (TINY / f"{name}.csv").read_bytes())
        return assert_own_errors_only(
            lambda: load_tables(
                paths["studies"],
                paths["outcomes"],
                SCHEMAS["studies"],
                SCHEMAS["outcomes"],
                "data/studies.csv",
                "data/outcomes.csv",
            )
        )


# ---------------------------------------------------------------- cells and tables


def _enum_values(schema):
    return sorted({str(v) for prop in schema["properties"].values() for v in prop.get("enum", [])})


HOSTILE = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e999",
    "-0",
    "0x10",
    "1_000",
    "true",
    "True",
    "FALSE",
    "null",
    "None",
    '"',
    '""',
    ",",
    "\n",
    "\r\n",
    "\ufeff",
    "\u00e9",
    "\u2013",
    "\x00",
    "1,5",
    "3.",
    ".5",
    "+7",
    "1e-300",
    "99999999999999999999999",
    "Sigtermans2009",
    "Dahan2011",
    "Nobody2020",
]
CELL = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(_enum_values(SCHEMAS["outcomes"]) + _enum_values(SCHEMAS["studies"])),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)


@st.composite
def csv_table(draw, schema: str, base: str):
    """A CSV: the real table's header (sometimes with columns dropped, shuffled or invented) and rows of
    its real cells with some replaced by plausible or hostile text, or wholly fuzzed rows."""
    header, rows = read_rows(TINY / f"{base}.csv")
    columns = list(header)
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    if draw(st.integers(0, 4)) == 0:
        columns = draw(
            st.lists(
                st.sampled_from(list(SCHEMAS[schema]["properties"]) + ["colour", ""]),
                min_size=1,
                max_size=len(header) + 2,
            )
        )
    out_rows = []
    for row in draw(st.lists(st.sampled_from(rows), max_size=8)):
        cells = [row.get(c, "") for c in columns]
        for _ in range(draw(st.integers(0, 3))):
            cells[draw(st.integers(0, len(cells) - 1))] = draw(CELL)
        if draw(st.integers(0, 9)) == 0:
            cells = cells[: draw(st.integers(0, len(cells)))]
        out_rows.append(cells)
    for _ in range(draw(st.integers(0, 2))):
        out_rows.append(draw(st.lists(CELL, max_size=len(columns) + 2)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(columns)
    writer.writerows(out_rows)
    return buffer.getvalue().encode("utf-8")


@FUZZ
@given(outcomes=csv_table("outcomes", "outcomes"), studies=st.one_of(st.none(), csv_table("studies", "studies")))
def test_tables_built_from_real_columns_never_crash(outcomes, studies):
    tables(outcomes, studies)


@FUZZ
@given(content=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(content):
    tables(outcomes=content)
    tables(studies=content)


@FUZZ
@given(content=csv_table("published", "published"))
def test_published_table_never_crashes(content, tmp_path_factory):
    path = tmp_path_factory.mktemp("published") / "published.csv"
    path.write_bytes(content)
    assert_own_errors_only(lambda: load_published(path, SCHEMAS["published"], "data/published.csv"))


def test_fuzzed_cells_do_get_refused():
    """The property is not vacuous: a hostile cell in a required column is refused, not accepted."""
    header, rows = read_rows(TINY / "outcomes.csv")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows([rows[0], {**rows[2], "n": "1e999"}])
    with pytest.raises(InputValidationError):
        load_tables(TINY / "studies.csv", _write_tmp(buffer.getvalue()), SCHEMAS["studies"], SCHEMAS["outcomes"])


def _write_tmp(text: str) -> Path:
    fh = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8")
    with fh:
        fh.write(text)
    return Path(fh.name)


# ---------------------------------------------------------------- config

CONFIG_TEXT = (ROOT / "tests" / "tiny" / "config" / "config.yaml").read_text(encoding="utf-8")
CONFIG = yaml.safe_load(CONFIG_TEXT)
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


CONFIG_PATHS = [p for p in _paths(CONFIG) if p]


@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from(CONFIG_PATHS), JSONISH, st.booleans()), min_size=1, max_size=4))
def test_any_value_at_any_config_key_never_crashes(changes):
    cfg = copy.deepcopy(CONFIG)
    for path, value, delete in changes:
        parent = cfg
        try:
            for key in path[:-1]:
                parent = parent[key]
            if delete and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced this key's parent
    assert_own_errors_only(lambda: validate_config(cfg, SCHEMAS["config"], "config/config.yaml", CONFIG_TEXT))


@FUZZ
@given(document=st.dictionaries(st.sampled_from(list(CONFIG) + ["colour"]), JSONISH, max_size=6))
def test_any_top_level_document_never_crashes(document):
    assert_own_errors_only(lambda: validate_config(document, SCHEMAS["config"], "config/config.yaml", None))


def test_unchanged_config_is_accepted():
    out = validate_config(copy.deepcopy(CONFIG), SCHEMAS["config"])
    assert out["seed"] == CONFIG["seed"] and not any(isinstance(v, float) and math.isnan(v) for v in out.values())
