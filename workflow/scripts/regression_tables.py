"""Rules meta_regression and small_study: one table over every planned regression."""

from crpsmeta.runlog import logged
from crpsmeta.summaries.regression import load_fits, meta_regression_table, small_study_table

p, i = snakemake.params, snakemake.input
with logged(snakemake.log[0]):
    fits = load_fits(p.plan, i.used, i.gaps, i.idata, i.diagnostics)
    interval = dict(min_studies=p.min_studies, prob=p.interval["prob"], interval_type=p.interval["type"])
    if p.kind == "small_study":
        table = small_study_table(fits, **interval)
    else:
        table = meta_regression_table(fits, levels=p.levels, **interval)
    table.to_csv(snakemake.output.table, index=False)
    print(table.to_string(index=False))
