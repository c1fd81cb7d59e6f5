"""Rule compare_models: PSIS-LOO of pooled_rate and placebo_adjusted on common observations."""

from pathlib import Path

import arviz as az

from crpsmeta.comparison import compare_loo
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    pooled = {Path(p).parent.name: az.from_netcdf(p) for p in snakemake.input.pooled}
    adjusted = az.from_netcdf(snakemake.input.adjusted[0])
    table, pareto = compare_loo(pooled, adjusted)
    table.to_csv(snakemake.output.loo, index=False)
    pareto.to_csv(snakemake.output.pareto_k, index=False)
    print(table.to_string(index=False))
