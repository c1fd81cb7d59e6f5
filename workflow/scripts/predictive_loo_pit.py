"""Rule loo_pit: PSIS LOO-PIT of one fit, its uniformity test and figure."""

import arviz as az

from crpsmeta.checks import loo_pit, loo_pit_plot, pit_uniformity, uniformity_row
from crpsmeta.runlog import logged
from crpsmeta.sampling import child_seeds

w, p, out = snakemake.wildcards, snakemake.params, snakemake.output
with logged(snakemake.log[0]):
    idata = az.from_netcdf(snakemake.input.idata)
    labels = {"model": w.model, "unit": w.timepoint, "prior_set": p.prior_set}
    pit_seed, test_seed = child_seeds(p.seed, 2)
    table = loo_pit(idata, model=w.model, unit=w.timepoint, seed=pit_seed)
    uniformity = pit_uniformity(table["loo_pit"], prob=p.prob, seed=test_seed)
    summary = uniformity_row(uniformity, table, **labels)
    table.assign(**labels)[[*labels, *table.columns]].to_csv(out.table, index=False)
    summary.to_csv(out.uniformity, index=False)
    fig = loo_pit_plot(table, uniformity, title=f"LOO-PIT: {w.model}, {w.timepoint} (prior set '{p.prior_set}')")
    fig.savefig(out.png, dpi=150)
    print(table[["observation", "loo_pit", "pareto_k", "k_good"]].to_string(index=False))
    print(summary.to_string(index=False))
