"""Validation of the data tables (studies.csv, outcomes.csv, published.csv) before any model runs.

Every problem is reported as a :class:`~crpsmeta.inputs.issues.Issue` naming the file, the line and
data row, the column, the offending value and the rule it breaks. All problems are collected and raised
together as one :class:`~crpsmeta.inputs.issues.InputValidationError`, so a reviewer fixes a table in one
pass (the config's own checks are in :mod:`crpsmeta.inputs.config`).

The checks come in two layers:

* per row: a JSON Schema (draft 2020-12, validated
  with the ``jsonschema`` library) in ``workflow/schemas/``;
* across rows and tables: the rules in :func:`cross_table_issues`, which a
  row-wise schema cannot express (duplicate keys, unknown studies, responders
  above n, a placebo arm in a single-arm design, ...).

The module takes plain arguments (schemas as dicts, file contents as bytes or
paths) and never reads the configuration itself.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from crpsmeta.inputs.issues import InputValidationError, Issue, _describe, _leaf_errors
from crpsmeta.vocabulary import CONTROLLED_DESIGNS, PLACEBO, SINGLE_ARM_DESIGNS, WEEKS_BY_TIMEPOINT

OUTCOME_KEY = ("study_id", "arm", "timepoint", "measure")


RESPONDER_COLUMNS = ("responders", "responders_pct", "responder_definition", "definition_class")


PAIN_COLUMNS = (
    "pain_scale_max",
    "pain_mean",
    "pain_sd",
    "pain_se",
    "pain_median",
    "pain_q1",
    "pain_q3",
    "pain_iqr",
    "baseline_pain_mean",
    "baseline_pain_median",
    "baseline_pain_iqr",
    "pain_change_mean",
    "pain_change_se",
)


# Pain levels that must lie on the scale [0, pain_scale_max].
PAIN_LEVEL_COLUMNS = (
    "pain_mean",
    "pain_median",
    "pain_q1",
    "pain_q3",
    "baseline_pain_mean",
    "baseline_pain_median",
)


# Pain widths and changes whose size cannot exceed the scale.
PAIN_WIDTH_COLUMNS = ("pain_iqr", "baseline_pain_iqr", "pain_change_mean")


# Designs and the weeks since the end of infusion that each timepoint admits come from
# .vocabulary (WEEKS_BY_TIMEPOINT: immediate = end of the course; followup = 1-3
# months, with room for "first follow-up" visits and ">= 3 months").
# A count entered from a printed percentage must be the nearest whole number to
# pct x n / 100 (the percentage itself may have been rounded from another n).
COUNT_ROUNDING_TOLERANCE = 0.5 + 1e-9


# --------------------------------------------------------------------------
# CSV tables
# --------------------------------------------------------------------------

_INT_RE = re.compile(r"^[+-]?\d+$")


_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


_TRUE = {"true"}


_FALSE = {"false"}


def _column_types(schema: dict) -> dict[str, str]:
    types = {}
    for name, prop in schema.get("properties", {}).items():
        t = prop.get("type")
        types[name] = t if isinstance(t, str) else "string"
    return types


def _convert(text: str, kind: str) -> Any:
    """Convert a CSV cell to its schema type; leave it as text if it does not convert."""
    value = text.strip()
    if kind == "integer":
        return int(value) if _INT_RE.match(value) else value
    if kind == "number":
        if not _NUM_RE.match(value):
            return value
        number = float(value)
        if not math.isfinite(number):
            return value
        return int(number) if _INT_RE.match(value) else number
    if kind == "boolean":
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        return value
    return value


def _decode_utf8(raw: bytes, name: str, locate_cell: bool) -> tuple[str | None, Issue | None]:
    """The file's text, or the problem of its first byte that is not UTF-8 (with its CSV row and column if
    ``locate_cell``)."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        row, column = _undecodable_cell(raw) if locate_cell and line > 1 else (None, None)
        return None, Issue(
            name,
            line,
            row,
            column,
            raw[exc.start : exc.end].hex(" "),
            "utf8",
            f"file is not valid UTF-8 (byte {exc.start}); save it as UTF-8",
        )


def _undecodable_cell(raw: bytes) -> tuple[int | None, str | None]:
    """Data row and header name of the first CSV cell holding bytes that are not UTF-8 (None where unknown).

    The bytes are decoded with surrogate escapes and parsed as CSV, so a quoted
    cell spanning lines is still one cell of one row.
    """
    text = raw.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        for row_no, fields in enumerate(reader, start=1):
            for index, cell in enumerate(fields):
                if any("\udc80" <= ch <= "\udcff" for ch in cell):
                    return row_no, header[index].strip() if index < len(header) else None
    except (csv.Error, StopIteration):
        pass
    return None, None


def read_table(
    path: str | Path, schema: dict, display_name: str | None = None
) -> tuple[list[dict], list[int], list[Issue]]:
    """Read a CSV file strictly and validate each row against a JSON Schema.

    Returns
    -------
    records : list of dict
        One dict per data row, with empty cells left out and cells converted
        to their schema types.
    lines : list of int
        The file line of each record (the header is line 1).
    issues : list of Issue
        Every problem found (encoding, structure, header, cell values).
    """
    name = display_name or str(path)
    issues: list[Issue] = []
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return [], [], [Issue(name, None, None, None, None, "readable", f"cannot read file: {exc.strerror}")]
    text, issue = _decode_utf8(raw, name, locate_cell=True)
    if issue:
        return [], [], [issue]
    if not text.strip():
        return [], [], [Issue(name, None, None, None, None, "empty_table", "the table is empty (no header, no rows)")]

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            rows.append((reader.line_num, fields))
    except csv.Error as exc:
        return [], [], [Issue(name, reader.line_num, None, None, None, "csv_syntax", f"malformed CSV: {exc}")]

    header_line, header = rows[0]
    header = [h.strip() for h in header]
    properties = schema.get("properties", {})
    seen = set()
    for col in header:
        if col in seen:
            issues.append(
                Issue(name, header_line, None, col, None, "duplicate_column", "column appears twice in the header")
            )
        seen.add(col)
        if col not in properties:
            issues.append(
                Issue(
                    name,
                    header_line,
                    None,
                    col,
                    None,
                    "unknown_column",
                    f"unknown column; known columns: {', '.join(properties)}",
                )
            )
    for col in schema.get("required", []):
        if col not in header:
            issues.append(
                Issue(name, header_line, None, col, None, "missing_column", "required column missing from the header")
            )
    if issues:
        return [], [], issues

    data_rows = [(ln, f) for ln, f in rows[1:] if any(cell.strip() for cell in f)]
    if not data_rows:
        return [], [], [Issue(name, None, None, None, None, "empty_table", "the table has a header but no data rows")]

    types = _column_types(schema)
    validator = jsonschema.Draft202012Validator(schema)
    records, lines = [], []
    for row_no, (line, fields) in enumerate(data_rows, start=1):
        if len(fields) != len(header):
            issues.append(
                Issue(
                    name,
                    line,
                    row_no,
                    None,
                    None,
                    "field_count",
                    f"row has {len(fields)} fields but the header has {len(header)}",
                )
            )
            continue
        record = {
            col: _convert(cell, types.get(col, "string")) for col, cell in zip(header, fields) if cell.strip() != ""
        }
        for error in _leaf_errors(validator.iter_errors(record)):
            rule, message = _describe(error)
            if error.validator == "required":
                # a required cell left empty: its value is the empty text
                for missing in [p for p in error.validator_value if p not in error.instance]:
                    issues.append(
                        Issue(name, line, row_no, missing, "" if missing in header else None, "required", message)
                    )
                continue
            column = str(error.absolute_path[0]) if error.absolute_path else None
            issues.append(Issue(name, line, row_no, column, error.instance if column else None, rule, message))
        records.append({**record, "_row": row_no})
        lines.append(line)
    return records, lines, issues


def _frame(records: list[dict], lines: list[int], schema: dict) -> pd.DataFrame:
    """Records as an object-dtype frame (values keep their Python types)."""
    columns = list(schema.get("properties", {}))
    frame = pd.DataFrame([[rec.get(c) for c in columns] for rec in records], columns=columns, dtype=object)
    frame.insert(0, "_row", [rec["_row"] for rec in records])
    frame.insert(0, "_line", lines)
    return frame


def _typed(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """Give each column the pandas dtype of its schema type (nullable where empty)."""
    out = frame.copy()
    dtypes = {"integer": "Int64", "number": "Float64", "boolean": "boolean", "string": "string"}
    for col, kind in _column_types(schema).items():
        enum = "enum" in schema["properties"][col]
        out[col] = out[col].astype(dtypes["string"] if enum else dtypes.get(kind, "string"))
    out["_line"] = out["_line"].astype(int)
    return out.drop(columns="_row")


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def cross_table_issues(
    studies: pd.DataFrame,
    outcomes: pd.DataFrame,
    studies_name: str = "data/studies.csv",
    outcomes_name: str = "data/outcomes.csv",
) -> list[Issue]:
    """Rules that involve more than one cell: keys, references, counts, designs.

    Both frames carry a ``_line`` column (the file line of each row).
    """
    issues: list[Issue] = []

    def row_of(frame, idx):
        return int(frame.at[idx, "_line"]), int(frame.at[idx, "_row"])

    # studies: unique ids, references, overlaps, doses
    first_line: dict[str, int] = {}
    for idx, sid in studies["study_id"].items():
        line, row = row_of(studies, idx)
        if sid in first_line:
            issues.append(
                Issue(
                    studies_name,
                    line,
                    row,
                    "study_id",
                    sid,
                    "unique_study_id",
                    f"study_id already used on line {first_line[sid]}",
                )
            )
        else:
            first_line[sid] = line
    known = {s for s in studies["study_id"] if isinstance(s, str)}
    included = {s for s, inc in zip(studies["study_id"], studies["include"]) if inc is True and isinstance(s, str)}
    # studies linked by overlaps_with (directly or through others) report the same patients
    parent = {s: s for s in known}

    def root(s):
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for sid, other in zip(studies["study_id"], studies["overlaps_with"]):
        if isinstance(sid, str) and isinstance(other, str) and other in known:
            parent[root(sid)] = root(other)
    for idx in studies.index:
        line, row = row_of(studies, idx)
        other = studies.at[idx, "overlaps_with"]
        sid = studies.at[idx, "study_id"]
        if _present(other):
            if other not in known:
                issues.append(
                    Issue(
                        studies_name,
                        line,
                        row,
                        "overlaps_with",
                        other,
                        "known_study",
                        "overlaps_with names a study_id that is not in the table",
                    )
                )
            elif other == sid:
                issues.append(
                    Issue(
                        studies_name, line, row, "overlaps_with", other, "overlap_self", "a study cannot overlap itself"
                    )
                )
            elif sid in included:
                twins = sorted(s for s in included if s != sid and root(s) == root(sid))
                if twins:
                    issues.append(
                        Issue(
                            studies_name,
                            line,
                            row,
                            "overlaps_with",
                            other,
                            "no_double_counting",
                            f"{sid} shares patients with {', '.join(twins)} (through overlaps_with) "
                            "and both are included; exclude all but one",
                        )
                    )
        lo, hi = studies.at[idx, "dose_min_mg_kg_h"], studies.at[idx, "dose_max_mg_kg_h"]
        if _number(lo) and _number(hi) and lo > hi:
            issues.append(
                Issue(
                    studies_name,
                    line,
                    row,
                    "dose_min_mg_kg_h",
                    lo,
                    "dose_range_ordered",
                    f"dose_min_mg_kg_h exceeds dose_max_mg_kg_h ({hi})",
                )
            )

    design = dict(zip(studies["study_id"], studies["design"]))
    include = dict(zip(studies["study_id"], studies["include"]))

    # outcomes: one row per key
    seen_key: dict[tuple, int] = {}
    for idx in outcomes.index:
        line, row = row_of(outcomes, idx)
        key = tuple(outcomes.at[idx, c] for c in OUTCOME_KEY)
        if key in seen_key:
            issues.append(
                Issue(
                    outcomes_name,
                    line,
                    row,
                    "study_id",
                    "/".join(map(str, key)),
                    "unique_outcome_key",
                    f"duplicate study_id x arm x timepoint x measure; first on line {seen_key[key]}",
                )
            )
        else:
            seen_key[key] = line

    for idx in outcomes.index:
        line, row = row_of(outcomes, idx)
        rec = outcomes.loc[idx]
        sid = rec["study_id"]
        if sid not in known:
            issues.append(
                Issue(outcomes_name, line, row, "study_id", sid, "known_study", f"study_id not found in {studies_name}")
            )
        elif include.get(sid) is not True:
            issues.append(
                Issue(
                    outcomes_name,
                    line,
                    row,
                    "study_id",
                    sid,
                    "included_study",
                    f"outcome for a study excluded in {studies_name}; remove the row or include the study",
                )
            )
        elif rec["arm"] == PLACEBO and design.get(sid) in SINGLE_ARM_DESIGNS:
            issues.append(
                Issue(
                    outcomes_name,
                    line,
                    row,
                    "arm",
                    PLACEBO,
                    "no_placebo_in_single_arm",
                    f"{sid} has single-arm design {design.get(sid)!r} and cannot have a placebo arm",
                )
            )

        n, r = rec.get("n"), rec.get("responders")
        if _number(n) and _number(r) and r > n:
            issues.append(
                Issue(outcomes_name, line, row, "responders", r, "responders_le_n", f"responders exceed n ({r} > {n})")
            )
        pct = rec.get("responders_pct")
        if _number(pct) and _number(n) and _number(r) and n > 0 and abs(pct * n / 100.0 - r) > COUNT_ROUNDING_TOLERANCE:
            issues.append(
                Issue(
                    outcomes_name,
                    line,
                    row,
                    "responders_pct",
                    pct,
                    "pct_matches_count",
                    f"{pct} % of n = {n} is {pct * n / 100.0:.2f}; the nearest whole count is "
                    f"{round(pct * n / 100.0)}, not responders = {r}",
                )
            )

        weeks, tp = rec.get("weeks"), rec.get("timepoint")
        if _number(weeks) and tp in WEEKS_BY_TIMEPOINT:
            lo, hi = WEEKS_BY_TIMEPOINT[tp]
            if not lo <= weeks <= hi:
                issues.append(
                    Issue(
                        outcomes_name,
                        line,
                        row,
                        "weeks",
                        weeks,
                        "weeks_fit_timepoint",
                        f"a {tp!r} outcome needs weeks between {lo} and {hi}",
                    )
                )

        measure = rec["measure"]
        wrong = PAIN_COLUMNS if measure == "responders" else RESPONDER_COLUMNS if measure == "pain" else ()
        for col in wrong:
            if _present(rec.get(col)):
                issues.append(
                    Issue(
                        outcomes_name,
                        line,
                        row,
                        col,
                        rec.get(col),
                        "column_fits_measure",
                        f"column does not belong on a {measure!r} row; put it on a row of the other measure",
                    )
                )
        if measure == "pain":
            issues += _pain_issues(rec, outcomes_name, line, row)

    # a controlled design must report its placebo arm somewhere (any single
    # timepoint or measure may still be missing)
    for sid in sorted(included):
        if design.get(sid) not in CONTROLLED_DESIGNS:
            continue
        rows = outcomes[outcomes["study_id"] == sid]
        if len(rows) and not (rows["arm"] == PLACEBO).any():
            idx = rows.index[0]
            line, row = row_of(outcomes, idx)
            issues.append(
                Issue(
                    outcomes_name,
                    line,
                    row,
                    "arm",
                    rows.at[idx, "arm"],
                    "controlled_has_placebo",
                    f"{sid} is a {design[sid]} but none of its outcome rows is a placebo arm",
                )
            )
    return issues


def _pain_issues(rec, name, line, row) -> list[Issue]:
    issues = []
    scale = rec.get("pain_scale_max")
    if not (_present(scale) and isinstance(scale, (int, float)) and scale > 0):
        return issues
    for col in PAIN_LEVEL_COLUMNS:
        v = rec.get(col)
        if _present(v) and isinstance(v, (int, float)) and not 0 <= v <= scale:
            issues.append(Issue(name, line, row, col, v, "pain_on_scale", f"must lie on the pain scale 0 to {scale}"))
    for col in PAIN_WIDTH_COLUMNS:
        v = rec.get(col)
        if _present(v) and isinstance(v, (int, float)) and abs(v) > scale:
            issues.append(Issue(name, line, row, col, v, "pain_on_scale", f"cannot exceed the scale width {scale}"))
    q1, med, q3 = rec.get("pain_q1"), rec.get("pain_median"), rec.get("pain_q3")
    numbers = [v for v in (q1, med, q3) if _present(v) and isinstance(v, (int, float))]
    if numbers != sorted(numbers):
        issues.append(
            Issue(name, line, row, "pain_median", med, "quartiles_ordered", "need pain_q1 <= pain_median <= pain_q3")
        )
    return issues


def load_tables(
    studies_path: str | Path,
    outcomes_path: str | Path,
    studies_schema: dict,
    outcomes_schema: dict,
    studies_name: str | None = None,
    outcomes_name: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and validate both tables; return them as typed data frames.

    Raises :class:`InputValidationError` listing every problem found in either
    table. The frames keep a ``_line`` column with each row's file line.
    """
    s_name = studies_name or str(studies_path)
    o_name = outcomes_name or str(outcomes_path)
    s_records, s_lines, issues = read_table(studies_path, studies_schema, s_name)
    o_records, o_lines, o_issues = read_table(outcomes_path, outcomes_schema, o_name)
    issues += o_issues
    structural = {
        "utf8",
        "empty_table",
        "csv_syntax",
        "missing_column",
        "unknown_column",
        "duplicate_column",
        "readable",
    }
    if not any(i.rule in structural for i in issues):
        studies = _frame(s_records, s_lines, studies_schema)
        outcomes = _frame(o_records, o_lines, outcomes_schema)
        try:
            issues += cross_table_issues(studies, outcomes, s_name, o_name)
        except Exception as exc:  # a rule met a value it could not judge: report, do not crash
            issues.append(
                Issue(
                    o_name,
                    None,
                    None,
                    None,
                    None,
                    "cross_table_checks",
                    f"cross-table checks could not run on these values ({type(exc).__name__}: {exc}); "
                    "fix the errors above first",
                )
            )
    if issues:
        raise InputValidationError(issues)
    return _typed(studies, studies_schema), _typed(outcomes, outcomes_schema)


def load_published(path: str | Path, schema: dict, display_name: str | None = None) -> pd.DataFrame:
    """Read and validate data/published.csv (published pooled figures, comparators only).

    Besides the schema: ``lower_pct <= estimate_pct <= upper_pct`` where given,
    and one row per synthesis x timepoint x estimand.
    """
    name = display_name or str(path)
    records, lines, issues = read_table(path, schema, name)
    seen = {}
    for rec, line in zip(records, lines):
        est, lo, hi = rec.get("estimate_pct"), rec.get("lower_pct"), rec.get("upper_pct")
        # values of the wrong type are already reported by the schema; compare numbers only
        for column, value, ok in (
            ("lower_pct", lo, not (_number(lo) and _number(est)) or lo <= est),
            ("upper_pct", hi, not (_number(hi) and _number(est)) or hi >= est),
        ):
            if not ok:
                issues.append(
                    Issue(
                        name,
                        line,
                        rec["_row"],
                        column,
                        value,
                        "interval_contains_estimate",
                        f"the interval must contain estimate_pct {est}",
                    )
                )
        key = (rec.get("synthesis_id"), rec.get("timepoint"), rec.get("estimand"))
        if key in seen:
            issues.append(
                Issue(
                    name,
                    line,
                    rec["_row"],
                    "synthesis_id",
                    rec.get("synthesis_id"),
                    "duplicate_key",
                    f"{key} already given on line {seen[key]}",
                )
            )
        seen.setdefault(key, line)
    if issues:
        raise InputValidationError(issues)
    return _typed(_frame(records, lines, schema), schema)


def published_rates(published: pd.DataFrame) -> pd.DataFrame:
    """Published pooled figures on the rate scale (fractions), one row per synthesis x timepoint, for drawing
    beside ours: ``timepoint, estimate, lower, upper, label``."""
    if published is None or not len(published):
        return pd.DataFrame(columns=["timepoint", "estimate", "lower", "upper", "label"])
    return pd.DataFrame(
        {
            "timepoint": published["timepoint"].astype(str),
            "estimate": published["estimate_pct"].astype(float) / 100,
            "lower": published["lower_pct"].astype(float) / 100,
            "upper": published["upper_pct"].astype(float) / 100,
            "label": published["synthesis_id"].astype(str),
        }
    )
