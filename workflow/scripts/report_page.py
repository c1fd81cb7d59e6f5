"""Rule report_page: the self-contained posterior report, results/report/index.html."""

import importlib.metadata
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml

from crpsmeta.api import file_sha256
from crpsmeta.report import (comparison_notes, data_uri, evidence_tables, external_asset_references,
                             gate_summary, not_estimable, record_provenance, render_report, report_caveats,
                             sensitivity_pivot, table_html)
from crpsmeta.runlog import logged
from crpsmeta.validation import load_published

i, p = snakemake.input, snakemake.params.context
KEY = ["ketamine_response_rate", "placebo_response_rate", "risk_difference", "prob_risk_difference_gt_0",
       "prob_risk_difference_gt_threshold", "placebo_share", "tau", "design_bias", "pooled_rate", "predicted_rate"]
PACKAGES = ["crpsmeta", "pymc", "pytensor", "arviz", "nutpie", "numpy", "scipy", "pandas", "xarray", "snakemake",
            "matplotlib", "jinja2"]


def fit_name(path, depth):
    """'model/unit' (or 'model/unit/prior set') from a results path."""
    parts = Path(path).parts
    return "/".join(parts[-1 - depth:-1])


def figure(path, title, text=""):
    return {"src": data_uri(path), "title": title, "text": text, "file": str(path)}


with logged(snakemake.log[0]):
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
    stale = [f"{r['model']}/{r['fit']} ({r['prior_set']})" for r in records
             if any(hashes.get(k) != v for k, v in (r["data_sha256"] or {}).items())]
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    evidence = evidence_tables(studies, outcomes,
                               {fit_name(u, 2): pd.read_csv(u) for u in i.used},
                               {fit_name(g, 2): pd.read_csv(g) for g in i.gaps})
    checks = pd.read_csv(i.predictive_checks)
    flagged = checks[checks["flagged"].astype(str).str.lower().eq("true")]
    power = pd.read_csv(i.power_scaling)
    influence_tables = [pd.read_csv(f) for f in i.influence if f.endswith("most_influential.csv")]
    regression_tables = {Path(f).stem: pd.read_csv(f) for f in i.regression if f.endswith(".csv")}
    loo = {Path(f).stem: pd.read_csv(f) for f in getattr(i, "loo", [])}
    timepoints = list(p["timepoints"])
    context = {
        "title": "IV ketamine for CRPS: Bayesian evidence synthesis",
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "p": p, "prob_label": f"{100 * p['interval']['prob']:g} %",
        "interval_kind": "equal-tailed" if p["interval"]["type"] == "equal_tailed" else "highest-density",
        "sof": {tp: sof[sof["timepoint"] == tp].to_dict("records") for tp in timepoints},
        "published": published.to_dict("records"),
        "comparison_notes": comparison_notes(sof, published, p["reference_definition"]) if len(published) else [],
        "failing": failing.to_dict("records"),
        "caveats": report_caveats(sof, loo.get("loo")),
        "not_estimable": not_estimable(p["skipped"], p["fits"], timepoints, sof),
        "stale": stale,
        "figures": {
            "time_course": figure(i.time_course, "Time course"),
            "placebo_explained": figure(i.placebo_explained, "How much of an uncontrolled series' responder rate "
                                        "placebo explains"),
            "effect_forest": figure(i.effect_forest, "Forest plot of the placebo-adjusted effect (odds ratio)"),
            "forest": [figure(f, f"Forest plot: {fit_name(f, 1)} {Path(f).stem.split('_', 1)[1]}") for f in i.forest],
            "prior_posterior": [figure(f, f"Prior versus posterior: {fit_name(f, 2)}") for f in i.prior_posterior],
            "rank": [figure(f, f"Rank plots: {fit_name(f, 2)}") for f in i.rank],
            "predictive": [figure(f, f"{Path(f).stem.replace('_', ' ')}: {fit_name(f, 2)}")
                           for f in i.predictive_figures],
            "sensitivity": figure(i.sensitivity_figure, "Key estimands across prior sets"),
            "influence": [figure(f, f"Leave-one-study-out: {fit_name(f, 2)}") for f in i.influence
                          if f.endswith(".png")],
            "funnel": [figure(f, f"Funnel plot: {Path(f).stem.split('_', 1)[1]}") for f in i.regression
                       if f.endswith(".png")],
        },
        "tables": {
            "gates": table_html(primary.drop(columns=["prior_set"])),
            "gates_all": table_html(gates[["model", "prior_set", "fit", "passed", "failed"]]),
            "loo": table_html(loo["loo"]) if "loo" in loo else "",
            "pareto_k": table_html(loo["pareto_k"]) if "pareto_k" in loo else "",
            "flagged": table_html(flagged[["model", "unit", "check", "observation", "observed", "p_value",
                                           "pareto_k"]]) if len(flagged) else "",
            "n_checks": len(checks),
            "sensitivity": {m: table_html(sensitivity_pivot(sensitivity, model=m, names=KEY,
                                                             prior_sets=list(p["sensitivity_sets"])))
                            for m in dict.fromkeys(sensitivity["model"])},
            "power": table_html(power.sort_values("diagnosis", key=lambda c: c.eq("fine"))),
            "influence": [table_html(t) for t in influence_tables],
            "regression": {k: table_html(v) for k, v in regression_tables.items()},
            "included": table_html(evidence["included"]), "outcomes": table_html(evidence["outcomes"]),
            "excluded": table_html(evidence["excluded"]), "gaps": table_html(evidence["gaps"]),
            "records": table_html(pd.DataFrame(records).drop(columns=["versions", "data_sha256"])),
        },
        "counts": {"included": len(evidence["included"]), "excluded": len(evidence["excluded"]),
                   "outcomes": len(evidence["outcomes"]), "gaps": len(evidence["gaps"])},
        "config_name": i.config, "config_text": Path(i.config).read_text(encoding="utf-8"),
        "hashes": hashes, "versions": versions,
        "record_versions": records[0]["versions"] if records else {},
    }
    page = render_report(Path(snakemake.scriptdir).parent / "report", context)
    refs = external_asset_references(page)
    if refs:
        raise RuntimeError(f"the report would need other files or the network: {refs[:5]}")
    tmp = Path(snakemake.output.html).with_suffix(".html.partial")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(snakemake.output.html)
    print(f"wrote {snakemake.output.html} ({len(page) / 1e6:.1f} MB); {len(failing)} fit(s) failed a gate; "
          f"{len(stale)} record(s) fitted to other data")
