"""The bad-input corpus (tests/bad_inputs/cases.yaml), each case a real `snakemake` run.

Every case starts from a copy of tests/tiny's config/ and data/, applies its
edits and runs the workflow. The run must exit non-zero, print the problem
located exactly as the case expects (file, line and row, column or key, value,
rule), say that nothing was run, and leave no file under results/.

The runs are started together (two at a time; one at a time on a pytest-xdist
worker, the other worker keeping the second core busy) by one fixture; each case
is then its own test. A refused run takes about 1.5 s: the Snakefile validates its
inputs before it imports PyMC.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, snakemake

CORPUS = yaml.safe_load((ROOT / "tests" / "bad_inputs" / "cases.yaml").read_text(encoding="utf-8"))["cases"]
IDS = [case["id"] for case in CORPUS]

# One printed problem: "  - FILE[, line L[ (row R)]][, column|key 'C'][, value V]: MESSAGE [rule: RULE]"
PROBLEM = re.compile(
    r"^  - (?P<file>[^,\n]+?)"
    r"(?:, line (?P<line>\d+)(?: \(row (?P<row>\d+)\))?)?"
    r"(?:, (?:column|key) '(?P<column>[^']*)')?"
    r"(?:, value (?P<value>.*?))?"
    r": (?P<message>.*) \[rule: (?P<rule>[^\]]+)\]$",
    re.MULTILINE,
)


# ---------------------------------------------------------------- applying edits


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def _cells(line: str) -> list[str]:
    return next(csv.reader([line]))


def apply_edit(root: Path, edit: dict) -> None:
    """Apply one edit of the corpus (see the header of cases.yaml) under ``root``."""
    ((kind, spec),) = edit.items()
    path = root / spec["file"]
    if kind == "write":
        path.write_text(spec["text"], encoding="utf-8")
        return
    lines = _lines(path)
    header = _cells(lines[0])
    if kind == "set":
        cells = _cells(lines[spec["line"] - 1])
        for column, text in spec["cells"].items():
            cells[header.index(column)] = text
        lines[spec["line"] - 1] = _csv_line(cells)
    elif kind == "append":
        assert lines[-1].endswith("\n"), "the file must end with a newline"
        cells = _cells(lines[spec["copy"] - 1])
        for column, text in spec.get("cells", {}).items():
            cells[header.index(column)] = text
        lines.append(_csv_line(cells))
    elif kind == "drop":
        del lines[spec["line"] - 1]
    elif kind == "drop_column":
        index = header.index(spec["column"])
        lines = [_csv_line([c for i, c in enumerate(_cells(line)) if i != index]) for line in lines]
    elif kind == "truncate":
        lines[spec["line"] - 1] = _csv_line(_cells(lines[spec["line"] - 1])[: spec["fields"]])
    elif kind == "keep_lines":
        lines = lines[: spec["lines"]]
    elif kind == "replace":
        scope = lines[spec["line"] - 1] if "line" in spec else "".join(lines)
        assert scope.count(spec["old"]) == 1, f"{spec['old']!r} must occur once in the edited text"
        encoding = spec.get("encoding", "utf-8")
        if "line" in spec:
            before, after = scope.split(spec["old"])
            data = [line.encode("utf-8") for line in lines]
            data[spec["line"] - 1] = before.encode() + spec["new"].encode(encoding) + after.encode()
            path.write_bytes(b"".join(data))
            return
        before, after = scope.split(spec["old"])
        path.write_bytes(before.encode() + spec["new"].encode(encoding) + after.encode())
        return
    else:
        raise AssertionError(f"unknown edit kind {kind!r}")
    path.write_text("".join(lines), encoding="utf-8")


def prepare(case: dict, workdir: Path) -> Path:
    shutil.copytree(ROOT / "tests" / "tiny" / "config", workdir / "config")
    shutil.copytree(ROOT / "tests" / "tiny" / "data", workdir / "data")
    for edit in case["edits"]:
        apply_edit(workdir, edit)
    return workdir


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Run every case of the corpus (two at a time, one under xdist); return id -> (exit code, stderr, files under
    results/)."""
    base = tmp_path_factory.mktemp("bad_inputs")

    def run(case):
        workdir = prepare(case, base / case["id"])
        done = snakemake(workdir, timeout=300)
        return case["id"], (done.returncode, done.stderr, files_under(workdir / "results"))

    # under pytest-xdist another worker keeps the other core busy: one run at a time
    workers = 1 if os.environ.get("PYTEST_XDIST_WORKER") else max(2, min(4, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(run, CORPUS))


# ---------------------------------------------------------------- tests


def test_corpus_spans_data_and_config():
    files = {case["expect"]["file"] for case in CORPUS}
    assert len(CORPUS) >= 40 and len(set(IDS)) == len(IDS)
    assert {"data/outcomes.csv", "data/studies.csv", "data/published.csv", "config/config.yaml"} <= files


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
def test_refused_with_located_message_and_nothing_written(case, refusals):
    code, stderr, written = refusals[case["id"]]
    assert code != 0, f"the workflow accepted {case['id']}"
    assert "Nothing was run." in stderr, stderr[-2000:]
    assert written == [], f"files left under results/: {written}"
    expect = case["expect"]
    problems = [m.groupdict() for m in PROBLEM.finditer(stderr)]
    assert problems, f"no problem listed:\n{stderr[-2000:]}"
    wanted = {
        "file": expect["file"],
        "line": str(expect["line"]) if "line" in expect else None,
        "row": str(expect["row"]) if "row" in expect else None,
        "column": expect.get("column"),
        "value": repr(expect["value"]) if "value" in expect else None,
        "rule": expect["rule"],
    }
    found = [p for p in problems if all(p[k] == v for k, v in wanted.items())]
    assert found, f"expected {wanted}; listed:\n" + "\n".join(str({k: p[k] for k in wanted}) for p in problems)
    # a located problem says what is wrong, not only where
    assert len(found[0]["message"]) > 10


def test_every_row_problem_names_row_column_and_value():
    """Problems of a data cell name all three; only whole-file or whole-line problems may omit them."""
    whole = {"field_count", "csv_syntax", "empty_table", "missing_column", "unknown_column", "duplicate_column"}
    for case in CORPUS:
        expect = case["expect"]
        if expect["file"].endswith(".csv") and expect["rule"] not in whole:
            assert {"line", "row", "column", "value"} <= set(expect), case["id"]
        if expect["file"].endswith(".yaml") and expect["rule"] not in (
            "unknown_key",
            "duplicate_key",
            "yaml_syntax",
            "utf8",
            "required_for_time_course",  # a missing key: no value to name
        ):
            assert {"line", "column", "value"} <= set(expect), case["id"]
