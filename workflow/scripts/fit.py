"""Rule fit: sample one model at one timepoint into its InferenceData record (or reuse the cached record of
the same fit; crpsmeta.fitting.cache)."""

import pandas as pd

from crpsmeta.fitting.cache import FitCache, fit_cached
from crpsmeta.fitting.record import file_sha256, record_attrs, write_record
from crpsmeta.fitting.sampling import fit
from crpsmeta.runlog import logged

p = snakemake.params
with logged(snakemake.log[0]):
    used = pd.read_csv(snakemake.input.used)
    idata, hit = fit_cached(
        fit,
        FitCache(p.cache),
        model=snakemake.wildcards.model,
        used=used,
        priors=p.priors,
        options=p.options,
        sampler=p.sampler,
        seed=p.seed,
        cores=snakemake.threads,
        attrs={
            "prior_set": p.prior_set,
            "timepoint": snakemake.wildcards.timepoint,
            "data_sha256": {
                "studies.csv": file_sha256(snakemake.input.studies),
                "outcomes.csv": file_sha256(snakemake.input.outcomes),
            },
        },
    )
    if hit:
        key = record_attrs(idata)["fit_cache_key"]
        print(f"reused the cached record {key}: same rows, priors, options, sampler, seed and code")
    write_record(idata, snakemake.output.idata)
