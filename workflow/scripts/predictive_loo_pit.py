"""Rule loo_pit: PSIS LOO-PIT of one fit, its uniformity test and figure."""

from crpsmeta.criticism.loo_pit import loo_pit, pit_uniformity
from crpsmeta.criticism.predictive import uniformity_row
from crpsmeta.figures.checks import loo_pit_plot
from crpsmeta.figures.style import save_figure
from crpsmeta.fitting.record import read_record
from crpsmeta.plan import child_seeds
from crpsmeta.runlog import logged

w, p, out = snakemake.wildcards, snakemake.params, snakemake.output
with logged(snakemake.log[0]):
    idata = read_record(snakemake.input.idata)
    labels = {"model": w.model, "unit": w.timepoint, "prior_set": p.prior_set}
    pit_seed, test_seed = child_seeds(p.seed, 2)
    table = loo_pit(idata, model=w.model, unit=w.timepoint, seed=pit_seed)
    uniformity = pit_uniformity(table["loo_pit"], prob=p.prob, seed=test_seed)
    summary = uniformity_row(uniformity, table, **labels)
    table.assign(**labels)[[*labels, *table.columns]].to_csv(out.table, index=False)
    summary.to_csv(out.uniformity, index=False)
    fig = loo_pit_plot(table, uniformity, title=f"LOO-PIT: {w.model}, {w.timepoint} (prior set '{p.prior_set}')")
    save_figure(fig, out.png)
    print(table[["observation", "loo_pit", "pareto_k", "k_good"]].to_string(index=False))
    print(summary.to_string(index=False))
