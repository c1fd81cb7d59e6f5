"""Hypothesis strategies for VALID evidence tables and legal configs.

Built from the two table schemas (their enums and bounds) and the cross-table
rules of ``crpsmeta.inputs.tables``: every table drawn here should pass
validation, so that a property test can push it through everything that
happens before sampling. Shapes are drawn, not listed: any subset of arms,
timepoints, measures and reporting forms; zero or more controlled studies;
no pain rows or no responder rows; one study; overlaps and exclusions; every
``definition_class``; optional columns absent from the header.
"""

from __future__ import annotations

import copy
import csv
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import strategies as st

from crpsmeta.vocabulary import CONTROLLED_DESIGNS, WEEKS_BY_TIMEPOINT

ROOT = Path(__file__).resolve().parents[1]
_SCHEMAS = {
    name: yaml.safe_load((ROOT / "workflow" / "schemas" / f"{name}.schema.yaml").read_text())
    for name in ("studies", "outcomes", "config")
}
STUDY_COLUMNS = list(_SCHEMAS["studies"]["properties"])
OUTCOME_COLUMNS = list(_SCHEMAS["outcomes"]["properties"])
STUDY_REQUIRED = _SCHEMAS["studies"]["required"]
OUTCOME_REQUIRED = _SCHEMAS["outcomes"]["required"]
DESIGNS = _SCHEMAS["studies"]["properties"]["design"]["enum"]
DEFINITION_CLASSES = _SCHEMAS["outcomes"]["properties"]["definition_class"]["enum"]
CONTROLLED = CONTROLLED_DESIGNS  # a placebo arm is allowed (and required somewhere)
WEEKS = WEEKS_BY_TIMEPOINT  # the weeks each timepoint admits
PAIN_FORMS = ("mean_sd", "mean_se", "median_quartiles", "median_iqr", "change", "levels_only", "nothing")
RESPONDER_FORMS = ("count", "count_pct", "n_only", "pct_only", "pct_n")


@dataclass
class Tables:
    """Two tables as CSV rows (cells as text), each with its own header."""

    studies_header: list[str]
    studies: list[dict]
    outcomes_header: list[str]
    outcomes: list[dict]
    forms: list[str]  # the reporting form of every outcome row, e.g. "responders:count", "pain:change"

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = folder / "studies.csv", folder / "outcomes.csv"
        for path, header, rows in (
            (paths[0], self.studies_header, self.studies),
            (paths[1], self.outcomes_header, self.outcomes),
        ):
            with open(path, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=header)
                writer.writeheader()
                writer.writerows([{c: row.get(c, "") for c in header} for row in rows])
        return paths

    def shape(self) -> tuple:
        """A coarse signature of the table's shape (what a property test has covered)."""
        included = {r["study_id"]: r["design"] for r in self.studies if r["include"] == "true"}
        return (
            tuple(sorted(set(included.values()))),
            len(included),
            sum(d in CONTROLLED for d in included.values()),
            tuple(sorted({(r["arm"], r["timepoint"], r["measure"]) for r in self.outcomes})),
            any(r["include"] == "false" for r in self.studies),
            any(r.get("overlaps_with") for r in self.studies),
        )


def _num(x: float) -> str:
    return f"{x:.6g}"


_text = st.text(alphabet="abcdefghij ,.;%()-", min_size=1, max_size=12).filter(lambda s: s.strip() != "")


@st.composite
def _provenance(draw) -> dict:
    verification = draw(st.sampled_from(["primary", "secondary", "derived"]))
    row = {"source": draw(_text), "verification": verification}
    if verification == "derived" or draw(st.booleans()):
        row["derivation"] = draw(_text)
    return row


@st.composite
def _responder_row(draw) -> tuple[dict, str]:
    form = draw(st.sampled_from(RESPONDER_FORMS))
    n = draw(st.integers(1, 300))
    r = draw(st.integers(0, n))
    row = {"definition_class": draw(st.sampled_from(DEFINITION_CLASSES)), "responder_definition": draw(_text)}
    if form in ("count", "count_pct"):
        row |= {"n": str(n), "responders": str(r)}
    if form in ("count_pct", "pct_only", "pct_n"):
        row["responders_pct"] = _num(round(100 * r / n, 1))
    if form in ("n_only", "pct_n"):
        row["n"] = str(n)
    return row, form


@st.composite
def _pain_row(draw) -> tuple[dict, str]:
    scale = draw(st.sampled_from([10, 100]))
    form = draw(st.sampled_from(PAIN_FORMS))
    level = st.floats(0, scale, allow_nan=False).map(lambda v: round(v, 2))
    row = {"pain_scale_max": str(scale)}
    if draw(st.booleans()) or form in ("mean_se", "median_quartiles", "change"):
        row["n"] = str(draw(st.integers(2, 300)))
    spread = st.floats(0.01 * scale, 0.5 * scale, allow_nan=False).map(lambda v: round(v, 3))
    if form == "mean_sd":
        row |= {"pain_mean": _num(draw(level)), "pain_sd": _num(draw(spread))}
    elif form == "mean_se":
        row |= {"pain_mean": _num(draw(level)), "pain_se": _num(draw(spread))}
    elif form == "median_quartiles":
        q = sorted(draw(st.lists(level, min_size=3, max_size=3)))
        row |= {"pain_q1": _num(q[0]), "pain_median": _num(q[1]), "pain_q3": _num(q[2])}
    elif form == "median_iqr":
        row |= {"pain_median": _num(draw(level)), "pain_iqr": _num(draw(st.floats(0, scale).map(round)))}
    elif form == "change":
        row |= {
            "pain_change_mean": _num(draw(st.floats(-scale, scale, allow_nan=False).map(lambda v: round(v, 2)))),
            "pain_change_se": _num(draw(spread)),
        }
    elif form == "levels_only":
        row |= {"baseline_pain_mean": _num(draw(level)), "baseline_pain_median": _num(draw(level))}
    return row, form


@st.composite
def evidence_tables(draw, max_studies: int = 6) -> Tables:
    """A valid pair (studies.csv, outcomes.csv) of any shape."""
    k = draw(st.integers(1, max_studies))
    ids = [f"Study{2000 + i}{draw(st.sampled_from(['', 'a', 'b']))}" for i in range(k)]
    studies = []
    for sid in ids:
        include = draw(st.booleans()) if k > 1 else True
        row = {
            "study_id": sid,
            "citation": draw(_text),
            "include": "true" if include else "false",
            **draw(_provenance()),
        }
        if include or draw(st.booleans()):
            row["design"] = draw(st.sampled_from(DESIGNS))
        if not include:
            row["exclusion_reason"] = draw(_text)
        if draw(st.booleans()):  # a regimen, in any combination of its columns
            lo, hi = sorted(draw(st.lists(st.floats(0, 20).map(lambda v: round(v, 3)), min_size=2, max_size=2)))
            if draw(st.booleans()):
                row["dose_min_mg_kg_h"] = _num(lo)
            if draw(st.booleans()):
                row["dose_max_mg_kg_h"] = _num(hi)
            if draw(st.booleans()):
                row["days"] = _num(draw(st.floats(0.5, 60).map(lambda v: round(v, 1))))
            if draw(st.booleans()):
                row["setting"] = draw(st.sampled_from(["inpatient", "outpatient", "icu"]))
            if draw(st.booleans()):
                row["hours_per_day"] = _num(draw(st.floats(0.5, 24).map(lambda v: round(v, 1))))
            if draw(st.booleans()):
                row["drug_form"] = draw(st.sampled_from(["racemic", "s_ketamine"]))
        studies.append(row)
    if not any(row["include"] == "true" for row in studies):  # outcomes.csv needs a row, so a study is in
        row = draw(st.sampled_from(studies))
        row["include"] = "true"
        row.pop("exclusion_reason")
        row.setdefault("design", draw(st.sampled_from(DESIGNS)))
    # overlaps: each excluded study may share patients with one study no other overlap touches, so no two
    # included studies are ever linked (the no_double_counting rule)
    linked = set()
    for row in studies:
        if row["include"] == "false" and row["study_id"] not in linked and draw(st.booleans()):
            others = [s["study_id"] for s in studies if s["study_id"] not in linked and s is not row]
            if others:
                other = draw(st.sampled_from(others))
                linked |= {row["study_id"], other}
                twin = next(s for s in studies if s["study_id"] == other)
                if draw(st.booleans()) or twin.get("overlaps_with"):
                    row["overlaps_with"] = other
                else:
                    twin["overlaps_with"] = row["study_id"]

    outcomes, forms = [], []
    for row in studies:
        if row["include"] != "true":
            continue
        arms = ["ketamine", "placebo"] if row["design"] in CONTROLLED else ["ketamine"]
        keys = [(a, t, m) for a in arms for t in WEEKS for m in ("responders", "pain")]
        chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
        if row["design"] in CONTROLLED and chosen and not any(a == "placebo" for a, _, _ in chosen):
            chosen.append(("placebo", chosen[0][1], chosen[0][2]))
        for arm, timepoint, measure in chosen:
            values, form = draw(_responder_row() if measure == "responders" else _pain_row())
            out = {
                "study_id": row["study_id"],
                "arm": arm,
                "timepoint": timepoint,
                "measure": measure,
                **values,
                **draw(_provenance()),
            }
            if draw(st.booleans()):
                lo, hi = WEEKS[timepoint]
                out["weeks"] = _num(draw(st.integers(lo, hi)))
            if draw(st.booleans()):
                out["time_as_reported"] = draw(_text)
            if draw(st.booleans()):
                out["notes"] = draw(_text)
            outcomes.append(out)
            forms.append(f"{measure}:{form}")
    if not outcomes:  # a table needs a data row; an included study with one ketamine row
        sid = next(s for s in studies if s["include"] == "true")
        values, form = draw(_responder_row())
        outcomes.append(
            {
                "study_id": sid["study_id"],
                "arm": "ketamine",
                "timepoint": "immediate",
                "measure": "responders",
                **values,
                **draw(_provenance()),
            }
        )
        forms.append(f"responders:{form}")
        if sid["design"] in CONTROLLED:
            outcomes.append({**outcomes[-1], "arm": "placebo"})
            forms.append(f"responders:{form}")
    outcomes = draw(st.permutations(outcomes)) if len(outcomes) < 12 else outcomes

    def header(required, columns, rows):
        used = {c for r in rows for c in r}
        optional = [c for c in columns if c not in used and c not in required]
        extra = draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []
        keep = set(required) | used | set(extra)
        return draw(st.permutations([c for c in columns if c in keep]))

    return Tables(
        header(STUDY_REQUIRED, STUDY_COLUMNS, studies),
        studies,
        header(OUTCOME_REQUIRED, OUTCOME_COLUMNS, outcomes),
        outcomes,
        forms,
    )


MODELS = ("pooled_rate", "placebo_adjusted", "placebo_map")
COVARIATES = ("dose", "days", "setting", "definition")


def _subset(items, min_size=0):
    return st.lists(st.sampled_from(items), unique=True, min_size=min_size).map(
        lambda chosen: [i for i in items if i in chosen]
    )


@st.composite
def configs(draw, base: dict) -> dict:
    """A legal config: ``base`` (the shipped config) with any subset of models and timepoints, influence
    none or a model, no or some covariates, small-study on or off, one or several prior sets, hdi or
    equal-tailed intervals, warn or error gates, data choices switched on or off."""
    cfg = copy.deepcopy(base)
    cfg["models"] = draw(_subset(MODELS, 1))
    cfg["timepoints"] = draw(_subset(("immediate", "followup"), 1))
    sets = list(base["prior_sets"])
    chosen = draw(_subset(sets, 1))
    cfg["prior_sets"] = {name: base["prior_sets"][name] for name in chosen}
    cfg["prior_set"] = draw(st.sampled_from(chosen))
    cfg["sensitivity_prior_sets"] = draw(st.sampled_from(["all", [cfg["prior_set"]]]))
    cfg["interval"] = {
        "prob": draw(st.sampled_from([0.5, 0.8, 0.95])),
        "type": draw(st.sampled_from(["equal_tailed", "hdi"])),
    }
    mode = draw(st.sampled_from(["warn", "error"]))
    cfg["diagnostics"] = {name: {**spec, "on_failure": mode} for name, spec in base["diagnostics"].items()}
    influence = cfg["criticism"]["influence"]
    influence["model"] = draw(st.sampled_from(["none", "pooled_rate", "placebo_adjusted"]))
    influence["studies"] = draw(st.sampled_from(["all", ["Study2000", "Study2001a", "Nobody2020"]]))
    cfg["meta_regression"]["covariates"] = draw(_subset(COVARIATES))
    cfg["meta_regression"]["small_study"] = draw(st.booleans())
    defs = draw(
        st.one_of(st.just("all"), st.sampled_from([["ge30pct"], ["complete_relief", "pain_free", "full_remission"]]))
    )
    cfg["pooled_rate"]["responder_definitions"] = defs
    adjusted = cfg["placebo_adjusted"]
    adjusted["responder_definitions"] = draw(st.one_of(st.just("all"), st.just(defs)))
    adjusted["continuous_contrast"] = draw(st.sampled_from(["chinn", "off"]))
    adjusted["single_arm_pain"] = draw(st.sampled_from(["latent", "off"]))
    adjusted["reference_definition"] = draw(st.sampled_from(["ge30pct", "ge50pct", "complete_relief"]))
    return cfg
