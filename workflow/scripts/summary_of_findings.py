"""Rule summary_of_findings: the summary-of-findings table, the time-course and placebo figures."""

from pathlib import Path

import pandas as pd
import yaml

from crpsmeta.figures.findings import placebo_explained_figure, time_course_figure
from crpsmeta.figures.forest import effect_forest_figure
from crpsmeta.figures.style import save_figure
from crpsmeta.inputs.tables import load_published, published_rates
from crpsmeta.report.certainty import certainty_table, nonreference_shares
from crpsmeta.report.findings import evidence_counts_by_model, gate_status, summary_of_findings
from crpsmeta.runlog import logged

p = snakemake.params
with logged(snakemake.log[0]):
    estimands = pd.read_csv(snakemake.input.estimands)
    outcomes = pd.read_csv(snakemake.input.outcomes)
    studies = pd.read_csv(snakemake.input.studies)
    designs = dict(zip(studies["study_id"].astype(str), studies["design"].astype(str)))
    used_by_fit = {tuple(fit): pd.read_csv(path) for fit, path in zip(p.fits, snakemake.input.used)}
    used = {model: rows for (model, _), rows in used_by_fit.items()}
    counts = evidence_counts_by_model(outcomes, used_by_fit, designs)
    gates = gate_status(pd.read_csv(snakemake.input.diagnostics))
    prob = p.interval["prob"]
    sof = summary_of_findings(
        estimands,
        prior_set=p.prior_set,
        counts=counts,
        gates=gates,
        timepoints=list(p.timepoints),
        threshold=p.threshold,
        reference_definition=p.reference_definition,
        prob=prob,
        power_scaling=pd.read_csv(snakemake.input.power_scaling),
    )
    certainty = certainty_table(
        sof,
        estimands,
        prior_set=p.prior_set,
        threshold=p.threshold,
        nonreference_shares=nonreference_shares(used_by_fit, list(p.timepoints), p.reference_definition),
        small_study=pd.read_csv(snakemake.input.small_study[0]) if snakemake.input.small_study else None,
        settings=dict(p.certainty),
    )
    matched = {(r.timepoint, r.estimand) for r in sof.itertuples()}
    for o in p.certainty["overrides"]:
        if (o["timepoint"], o["estimand"]) not in matched:
            print(f"NOTE: certainty override for {o['estimand']} at {o['timepoint']} matches no summary row")
    certainty.to_csv(snakemake.output.certainty, index=False)
    sof = sof.merge(certainty[["timepoint", "estimand", "certainty", "downgrades", "overridden"]], how="left")
    sof.to_csv(snakemake.output.table, index=False)
    print(certainty[["timepoint", "estimand", "certainty", "downgrades"]].to_string(index=False))
    print(
        sof[
            [
                "timepoint",
                "estimand",
                "estimate",
                "lower",
                "upper",
                "probability",
                "studies",
                "patients",
                "controlled_studies",
                "randomised_studies",
                "prior_sensitivity",
            ]
        ].to_string(index=False)
    )
    published = None
    if snakemake.input.published:
        published = load_published(
            snakemake.input.published[0], yaml.safe_load(Path(p.published_schema).read_text(encoding="utf-8"))
        )
    published = published_rates(published)
    fig = time_course_figure(estimands, published, prior_set=p.prior_set, timepoints=list(p.timepoints), prob=prob)
    save_figure(fig, snakemake.output.time_course)
    fig = placebo_explained_figure(estimands, prior_set=p.prior_set, timepoints=list(p.timepoints), prob=prob)
    save_figure(fig, snakemake.output.placebo_explained)
    effects = (
        pd.read_csv(snakemake.input.study_effects[0])
        if snakemake.input.study_effects
        else pd.DataFrame(columns=["study_id", "timepoint", "quantity"])
    )
    fig = effect_forest_figure(
        effects,
        estimands,
        used.get("placebo_adjusted", pd.DataFrame(columns=["study_id", "timepoint", "design"])),
        prior_set=p.prior_set,
        timepoints=list(p.timepoints),
        prob=prob,
        designs=designs,
    )
    save_figure(fig, snakemake.output.effect_forest)
