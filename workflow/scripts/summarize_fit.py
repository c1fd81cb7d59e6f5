"""Rule summarize_fit: estimands and study-level estimates of one fit."""

import pandas as pd

from crpsmeta.fitting.record import read_record
from crpsmeta.runlog import logged
from crpsmeta.summaries.estimands import fit_summaries

w = snakemake.wildcards
opts = snakemake.params.options
with logged(snakemake.log[0]):
    estimands, studies = fit_summaries(
        read_record(snakemake.input.idata),
        pd.read_csv(snakemake.input.used),
        model=w.model,
        prior_set=snakemake.params.prior_set,
        timepoint=w.timepoint,
        prob=opts["prob"],
        interval_type=opts["type"],
        threshold=opts["threshold"],
        timepoints=tuple(opts["timepoints"]),
    )
    estimands.to_csv(snakemake.output.estimands, index=False)
    studies.to_csv(snakemake.output.studies, index=False)
    print(estimands.to_string(index=False))
