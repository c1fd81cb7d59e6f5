"""Rule summarize_fit: estimands and study-level estimates of one fit."""

import pandas as pd

from crpsmeta.fitting.record import read_record
from crpsmeta.runlog import logged
from crpsmeta.summaries.estimands import estimands_table, study_effects_table, study_table

w = snakemake.wildcards
opts = snakemake.params.options
with logged(snakemake.log[0]):
    idata = read_record(snakemake.input.idata)
    interval = dict(prob=opts["prob"], interval_type=opts["type"])
    labels = dict(model=w.model, prior_set=snakemake.params.prior_set)
    estimands = estimands_table(
        idata,
        timepoint=w.timepoint,
        threshold=opts["threshold"],
        timepoints=tuple(opts["timepoints"]),
        **labels,
        **interval,
    )
    if w.model == "placebo_adjusted":
        studies = study_effects_table(idata, **labels, **interval)
    else:
        used = pd.read_csv(snakemake.input.used)
        studies = study_table(
            idata,
            timepoint=w.timepoint,
            **labels,
            **interval,
            labels=used[["study_id", "responder_definition", "definition_class", "design", "verification"]],
        )
    estimands.to_csv(snakemake.output.estimands, index=False)
    studies.to_csv(snakemake.output.studies, index=False)
    print(estimands.to_string(index=False))
