"""The report's HTML page: evidence tables, gate summary, sensitivity table, provenance and figures, rendered
from ``workflow/report/index.html.j2`` into one self-contained file (figures embedded as data URIs).
"""

from __future__ import annotations

import base64
import importlib.metadata
import mimetypes
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

from crpsmeta.fitting.record import file_sha256, record_provenance
from crpsmeta.formatting import fmt, pct
from crpsmeta.inputs.tables import load_published
from crpsmeta.report.findings import (
    comparison_notes,
    not_estimable,
    placebo_prior_comparison,
    report_caveats,
    time_course_findings,
    used_arms,
)
from crpsmeta.vocabulary import TIMEPOINTS


def data_uri(path: str | Path) -> str:
    """A file as a data: URI, so the page needs no other file."""
    kind = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def table_html(frame: pd.DataFrame, *, digits: int = 4, classes: str = "data") -> str:
    """A data frame as an escaped HTML table, numbers to ``digits`` significant digits for reading."""
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "-" if pd.isna(v) else f"{v:.{digits}g}")
    return shown.to_html(index=False, classes=classes, na_rep="", border=0, escape=True)


def render_report(template_dir: str | Path, context: dict, template: str = "index.html.j2") -> str:
    """Render the report template with Jinja2 (autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(template_dir)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fmt=fmt, pct=pct)
    return env.get_template(template).render(**context)


def external_asset_references(page: str) -> list[str]:
    """Every src/href in ``page`` that would need a network or another file (the page must have none)."""
    import re

    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    return [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]


# ---- page sections: plain tables from the workflow's outputs -----------------
def gate_summary(diagnostics: pd.DataFrame) -> pd.DataFrame:
    """One row per fit (model, prior set, unit): passed or not, and which diagnostics failed with their values."""
    rows = []
    for (model, prior_set, unit), g in diagnostics.groupby(["model", "prior_set", "timepoint"], sort=False):
        passed = g["passed"].astype(str).str.lower().eq("true")
        failed = g[~passed]
        rows.append(
            {
                "model": model,
                "prior_set": prior_set,
                "fit": unit,
                "passed": bool(passed.all()),
                "failed": "; ".join(
                    f"{r.diagnostic} = {fmt(r.value, 3)} ({r.bound} {fmt(r.threshold, 3)}, "
                    f"{r.worst_variable}; on failure: {r.on_failure})"
                    for r in failed.itertuples()
                )
                or "-",
                **{str(r.diagnostic): r.value for r in g.itertuples()},
            }
        )
    return pd.DataFrame(rows)


def sensitivity_pivot(estimands: pd.DataFrame, *, model: str, names: list[str], prior_sets: list[str]) -> pd.DataFrame:
    """Key estimands (rows) across prior sets (columns), as 'median [lower, upper]' or a probability."""
    est = estimands[estimands["model"] == model]
    rows = []
    for (tp, name), g in est[est["estimand"].isin(names)].groupby(["timepoint", "estimand"], sort=False):
        row = {"timepoint": tp, "estimand": name}
        for ps in prior_sets:
            r = g[g["prior_set"] == ps]
            if r.empty:
                row[ps] = "-"
            elif name.startswith("prob_"):
                row[ps] = pct(float(r["mean"].iloc[0]))
            else:
                r = r.iloc[0]
                row[ps] = f"{fmt(r['median'])} [{fmt(r['lower'])}, {fmt(r['upper'])}]"
        rows.append(row)
    order = {n: i for i, n in enumerate(names)}
    return (
        pd.DataFrame(rows)
        .sort_values(
            ["timepoint", "estimand"],
            key=lambda c: c.map(order) if c.name == "estimand" else c.map({tp: i for i, tp in enumerate(TIMEPOINTS)}),
        )
        .reset_index(drop=True)
    )


def evidence_tables(
    studies: pd.DataFrame, outcomes: pd.DataFrame, used: dict[str, pd.DataFrame], gaps: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """The evidence section: included studies, outcome rows with the fits that use them, exclusions, gaps.

    ``used`` and ``gaps`` map a fit name ('model/unit') to its used.csv and gaps.csv; the model in the name says
    which arm a used.csv without an arm column holds (:func:`used_arms`).
    """
    include = studies["include"].astype(str).str.lower().eq("true")
    uses: dict[tuple, list[str]] = {}
    for fit, frame in used.items():
        for r in used_arms(frame, fit.split("/")[-1], model=fit.split("/")[0]).itertuples():
            uses.setdefault((r.study_id, r.arm, r.timepoint), []).append(fit)
    out_rows = outcomes.copy()
    out_rows["used_by"] = [
        ", ".join(dict.fromkeys(uses.get((str(r.study_id), str(r.arm), str(r.timepoint)), []))) or "-"
        for r in outcomes.itertuples()
    ]
    keep = [
        c
        for c in [
            "study_id",
            "arm",
            "timepoint",
            "measure",
            "n",
            "responders",
            "responders_pct",
            "responder_definition",
            "definition_class",
            "pain_mean",
            "pain_se",
            "used_by",
            "source",
            "verification",
            "derivation",
        ]
        if c in out_rows.columns
    ]
    contributing = {s for (s, _a, _t) in uses}
    study_cols = [
        c
        for c in [
            "study_id",
            "design",
            "drug_form",
            "dose_as_reported",
            "days",
            "setting",
            "source",
            "verification",
            "notes",
        ]
        if c in studies.columns
    ]
    included = studies[include][study_cols].copy()
    included.insert(
        1, "contributes", included["study_id"].astype(str).isin(contributing).map({True: "yes", False: "no"})
    )
    excluded = studies[~include][
        [
            c
            for c in ["study_id", "design", "exclusion_reason", "overlaps_with", "source", "verification"]
            if c in studies.columns
        ]
    ]
    gap_rows = []
    for fit, frame in gaps.items():
        for r in frame.to_dict("records"):
            gap_rows.append({"fit": fit, **{k: r.get(k) for k in ("study_id", "arm", "timepoint", "reason", "notes")}})
    silent = studies[include & ~studies["study_id"].astype(str).isin(contributing)]
    for r in silent.to_dict("records"):
        gap_rows.append(
            {
                "fit": "(none)",
                "study_id": r["study_id"],
                "arm": "-",
                "timepoint": "-",
                "reason": "included, but no usable outcome was reported",
                "notes": r.get("notes"),
            }
        )
    gap_frame = pd.DataFrame(gap_rows, columns=["fit", "study_id", "arm", "timepoint", "reason", "notes"])
    gap_frame = gap_frame.drop_duplicates(subset=["study_id", "arm", "timepoint", "reason"])
    return {"included": included, "outcomes": out_rows[keep], "excluded": excluded, "gaps": gap_frame}


# ---- the page ------------------------------------------------------------------

KEY = [
    "ketamine_response_rate",
    "placebo_response_rate",
    "risk_difference",
    "prob_risk_difference_gt_0",
    "prob_risk_difference_gt_threshold",
    "placebo_share",
    "tau",
    "design_bias",
    "pooled_rate",
    "predicted_rate",
]
PACKAGES = [
    "crpsmeta",
    "pymc",
    "pytensor",
    "arviz",
    "nutpie",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "snakemake",
    "matplotlib",
    "jinja2",
]


def fit_name(path, depth):
    """'model/unit' (or 'model/unit/prior set') from a results path."""
    parts = Path(path).parts
    return "/".join(parts[-1 - depth : -1])


def figure(path, title, text=""):
    return {"src": data_uri(path), "title": title, "text": text, "file": str(path)}


def build_page(i, p: dict, template_dir: str | Path) -> tuple[str, str]:
    """The report's HTML page and a one-line account of it, from the workflow's outputs.

    ``i`` holds the input paths by name as attributes (the report_page rule's inputs: summary of findings,
    sensitivity and diagnostics tables, evidence tables, fit records, figures, ...); ``p`` the rule's context
    (config's interval, prior sets, timepoints, the plan's fits and skipped fits). Raises RuntimeError when
    the page would need any other file or the network.
    """
    sof = pd.read_csv(i.sof)
    sensitivity = pd.read_csv(i.sensitivity)
    diagnostics = pd.read_csv(i.diagnostics)
    studies, outcomes = pd.read_csv(i.studies), pd.read_csv(i.outcomes)
    schema = yaml.safe_load(Path(p["published_schema"]).read_text(encoding="utf-8"))
    published = load_published(i.published[0], schema) if i.published else pd.DataFrame()
    gates = gate_summary(diagnostics)
    primary = gates[gates["prior_set"] == p["prior_set"]]
    failing = gates[~gates["passed"]]
    records = [record_provenance(r) for r in i.records]
    hashes = {Path(f).name: file_sha256(f) for f in [i.studies, i.outcomes, *i.published]}
    stale = [
        f"{r['model']}/{r['fit']} ({r['prior_set']})"
        for r in records
        if any(hashes.get(k) != v for k, v in (r["data_sha256"] or {}).items())
    ]
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    evidence = evidence_tables(
        studies,
        outcomes,
        {fit_name(u, 2): pd.read_csv(u) for u in i.used},
        {fit_name(g, 2): pd.read_csv(g) for g in i.gaps},
    )
    checks = pd.read_csv(i.predictive_checks)
    flagged = checks[checks["flagged"].astype(str).str.lower().eq("true")]
    power = pd.read_csv(i.power_scaling)
    influence_tables = [pd.read_csv(f) for f in i.influence if f.endswith("most_influential.csv")]
    regression_tables = {Path(f).stem: pd.read_csv(f) for f in i.regression if f.endswith(".csv")}
    loo = {Path(f).stem: pd.read_csv(f) for f in getattr(i, "loo", [])}
    timepoints = list(p["timepoints"])
    context = {
        "title": "IV ketamine for CRPS: Bayesian evidence synthesis",
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "p": p,
        "prob_label": f"{100 * p['interval']['prob']:g} %",
        "interval_kind": "equal-tailed" if p["interval"]["type"] == "equal_tailed" else "highest-density",
        "sof": {tp: sof[sof["timepoint"] == tp].to_dict("records") for tp in timepoints},
        "published": published.to_dict("records"),
        "comparison_notes": comparison_notes(sof, published, p["reference_definition"]) if len(published) else [],
        "failing": failing.to_dict("records"),
        "caveats": report_caveats(sof, loo.get("loo")),
        "not_estimable": not_estimable(p["skipped"], p["fits"], timepoints, sof, p.get("notes", [])),
        "placebo_prior": placebo_prior_comparison(
            sensitivity,
            p.get("prior_sets", {}),
            p["prior_set"],
            timepoints,
            f"{100 * p['interval']['prob']:g} %",
        )
        if p.get("prior_sets")
        else [],
        "time_course": time_course_findings(
            sensitivity,
            pd.read_csv(i.time_course_studies[0]),
            prior_set=p["prior_set"],
            half_life_prior=p["prior_sets"][p["prior_set"]]["placebo_adjusted"]["half_life"],
            threshold=p["threshold"],
            prob_label=f"{100 * p['interval']['prob']:g} %",
        )
        if getattr(i, "time_course_studies", [])
        else {},
        "stale": stale,
        "figures": {
            "decay": [figure(f, "How the difference over placebo fades with weeks") for f in getattr(i, "decay", [])],
            "time_course": figure(i.time_course, "Time course"),
            "placebo_explained": figure(
                i.placebo_explained, "How much of an uncontrolled series' responder rate placebo explains"
            ),
            "effect_forest": figure(i.effect_forest, "Forest plot of the placebo-adjusted effect (odds ratio)"),
            "forest": [figure(f, f"Forest plot: {fit_name(f, 1)} {Path(f).stem.split('_', 1)[1]}") for f in i.forest],
            "prior_posterior": [figure(f, f"Prior versus posterior: {fit_name(f, 2)}") for f in i.prior_posterior],
            "rank": [figure(f, f"Rank plots: {fit_name(f, 2)}") for f in i.rank],
            "predictive": [
                figure(f, f"{Path(f).stem.replace('_', ' ')}: {fit_name(f, 2)}") for f in i.predictive_figures
            ],
            "sensitivity": figure(i.sensitivity_figure, "Key estimands across prior sets"),
            "influence": [
                figure(f, f"Leave-one-study-out: {fit_name(f, 2)}") for f in i.influence if f.endswith(".png")
            ],
            "funnel": [
                figure(f, f"Funnel plot: {Path(f).stem.split('_', 1)[1]}") for f in i.regression if f.endswith(".png")
            ],
        },
        "tables": {
            "gates": table_html(primary.drop(columns=["prior_set"])),
            "gates_all": table_html(gates[["model", "prior_set", "fit", "passed", "failed"]]),
            "loo": table_html(loo["loo"]) if "loo" in loo else "",
            "pareto_k": table_html(loo["pareto_k"]) if "pareto_k" in loo else "",
            "flagged": table_html(flagged[["model", "unit", "check", "observation", "observed", "p_value", "pareto_k"]])
            if len(flagged)
            else "",
            "n_checks": len(checks),
            "sensitivity": {
                m: table_html(
                    sensitivity_pivot(sensitivity, model=m, names=KEY, prior_sets=list(p["sensitivity_sets"]))
                )
                for m in dict.fromkeys(sensitivity["model"])
            },
            "power": table_html(power.sort_values("diagnosis", key=lambda c: c.eq("fine"))),
            "influence": [table_html(t) for t in influence_tables],
            "regression": {k: table_html(v) for k, v in regression_tables.items()},
            "included": table_html(evidence["included"]),
            "outcomes": table_html(evidence["outcomes"]),
            "excluded": table_html(evidence["excluded"]),
            "gaps": table_html(evidence["gaps"]),
            "records": table_html(pd.DataFrame(records).drop(columns=["versions", "data_sha256"])),
        },
        "counts": {
            "included": len(evidence["included"]),
            "excluded": len(evidence["excluded"]),
            "outcomes": len(evidence["outcomes"]),
            "gaps": len(evidence["gaps"]),
        },
        "config_name": i.config,
        "config_text": p["config_text"],
        "hashes": hashes,
        "versions": versions,
        "record_versions": records[0]["versions"] if records else {},
    }
    page = render_report(template_dir, context)
    refs = external_asset_references(page)
    if refs:
        raise RuntimeError(f"the report would need other files or the network: {refs[:5]}")
    return page, f"{len(failing)} fit(s) failed a gate; {len(stale)} record(s) fitted to other data"
