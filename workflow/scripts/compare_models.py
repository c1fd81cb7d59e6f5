"""Rule compare_models: PSIS-LOO of pooled_rate and placebo_adjusted on common observations."""

from pathlib import Path

from crpsmeta.fitting.record import read_record
from crpsmeta.runlog import logged
from crpsmeta.summaries.comparison import compare_loo

with logged(snakemake.log[0]):
    pooled = {Path(p).parent.name: read_record(p) for p in snakemake.input.pooled}
    adjusted = read_record(snakemake.input.adjusted[0])
    table, pareto = compare_loo(pooled, adjusted)
    table.to_csv(snakemake.output.loo, index=False)
    pareto.to_csv(snakemake.output.pareto_k, index=False)
    print(table.to_string(index=False))
