"""Rule summarize_fit: estimands and study-level estimates of one fit."""

import arviz as az
import pandas as pd

from crpsmeta.estimands import estimands_table, study_table
from crpsmeta.runlog import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    idata = az.from_netcdf(snakemake.input.idata)
    interval = dict(prob=snakemake.params.interval["prob"], interval_type=snakemake.params.interval["type"])
    common = dict(model=w.model, prior_set=snakemake.params.prior_set, timepoint=w.timepoint, **interval)
    estimands = estimands_table(idata, **common)
    labels = pd.read_csv(snakemake.input.used)[["study_id", "responder_definition", "definition_class",
                                                 "design", "verification"]]
    studies = study_table(idata, labels=labels, **common)
    estimands.to_csv(snakemake.output.estimands, index=False)
    studies.to_csv(snakemake.output.studies, index=False)
    print(estimands.to_string(index=False))
