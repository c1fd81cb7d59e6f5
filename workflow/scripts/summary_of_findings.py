"""Rule summary_of_findings: the summary-of-findings table, the time-course and placebo figures."""

from pathlib import Path

import pandas as pd
import yaml

from crpsmeta.report import (evidence_counts, gate_status, placebo_explained_figure, summary_of_findings,
                             time_course_figure)
from crpsmeta.runlog import logged
from crpsmeta.validation import load_published

p = snakemake.params
with logged(snakemake.log[0]):
    estimands = pd.read_csv(snakemake.input.estimands)
    outcomes = pd.read_csv(snakemake.input.outcomes)
    counts = {}
    for (model, unit), path in zip(p.fits, snakemake.input.used):
        counts.setdefault(model, {}).update(evidence_counts(outcomes, pd.read_csv(path), unit))
    gates = gate_status(pd.read_csv(snakemake.input.diagnostics))
    prob = p.interval["prob"]
    sof = summary_of_findings(estimands, prior_set=p.prior_set, counts=counts, gates=gates,
                              timepoints=list(p.timepoints), threshold=p.threshold,
                              reference_definition=p.reference_definition, prob=prob)
    sof.to_csv(snakemake.output.table, index=False)
    print(sof[["timepoint", "estimand", "estimate", "lower", "upper", "probability", "studies", "patients"]]
          .to_string(index=False))
    published = pd.DataFrame(columns=["timepoint", "estimate", "lower", "upper", "label"])
    if snakemake.input.published:
        schema = yaml.safe_load(Path(p.published_schema).read_text(encoding="utf-8"))
        table = load_published(snakemake.input.published[0], schema)
        published = pd.DataFrame({"timepoint": table["timepoint"].astype(str),
                                  "estimate": table["estimate_pct"].astype(float) / 100,
                                  "lower": table["lower_pct"].astype(float) / 100,
                                  "upper": table["upper_pct"].astype(float) / 100,
                                  "label": table["synthesis_id"].astype(str)})
    fig = time_course_figure(estimands, published, prior_set=p.prior_set, timepoints=list(p.timepoints), prob=prob)
    fig.savefig(snakemake.output.time_course, dpi=130)
    fig = placebo_explained_figure(estimands, prior_set=p.prior_set, timepoints=list(p.timepoints), prob=prob)
    fig.savefig(snakemake.output.placebo_explained, dpi=130)
