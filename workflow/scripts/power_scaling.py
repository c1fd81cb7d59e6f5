"""Rule power_scaling: prior and likelihood power-scaling sensitivity of one fit, with diagnoses."""

from crpsmeta.criticism.power_scaling import power_scaling_table
from crpsmeta.fitting.record import read_record
from crpsmeta.runlog import logged

w = snakemake.wildcards
settings = snakemake.params.settings
with logged(snakemake.log[0]):
    idata = read_record(snakemake.input.idata)
    table = power_scaling_table(
        idata,
        model=w.model,
        prior_set=snakemake.params.prior_set,
        timepoint=w.timepoint,
        threshold=settings["threshold"],
        delta=settings["delta"],
    )
    print(table.to_string(index=False))
    table.to_csv(snakemake.output.table, index=False)
