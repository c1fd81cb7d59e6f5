"""Rule power_scaling: prior and likelihood power-scaling sensitivity of one fit, with diagnoses."""

import arviz as az

from crpsmeta.runlog import logged
from crpsmeta.sensitivity import power_scaling_table

w = snakemake.wildcards
settings = snakemake.params.settings
with logged(snakemake.log[0]):
    idata = az.from_netcdf(snakemake.input.idata)
    table = power_scaling_table(idata, model=w.model, prior_set=snakemake.params.prior_set, timepoint=w.timepoint,
                                threshold=settings["threshold"], delta=settings["delta"])
    print(table.to_string(index=False))
    table.to_csv(snakemake.output.table, index=False)
