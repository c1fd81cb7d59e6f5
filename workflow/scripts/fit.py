"""Rule fit: sample one model at one timepoint into its InferenceData record."""

import pandas as pd

from crpsmeta.fitting.record import file_sha256, write_record
from crpsmeta.fitting.sampling import fit
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    used = pd.read_csv(snakemake.input.used)
    idata = fit(
        snakemake.wildcards.model,
        used,
        snakemake.params.priors,
        snakemake.params.sampler,
        seed=snakemake.params.seed,
        cores=snakemake.threads,
        options=snakemake.params.options,
        attrs={
            "prior_set": snakemake.params.prior_set,
            "timepoint": snakemake.wildcards.timepoint,
            "data_sha256": {
                "studies.csv": file_sha256(snakemake.input.studies),
                "outcomes.csv": file_sha256(snakemake.input.outcomes),
            },
        },
    )
    write_record(idata, snakemake.output.idata)
