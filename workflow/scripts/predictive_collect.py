"""Rule collect_predictive_checks: every check's rows in one table."""

import pandas as pd

from crpsmeta.criticism.predictive import collect
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    inp = snakemake.input
    tables = [pd.read_csv(f) for f in [*inp.prior, *inp.posterior, *inp.loo_pit]]
    uniformity = [pd.read_csv(f) for f in inp.uniformity]
    summary = collect(tables, uniformity, prob=snakemake.params.prob)
    summary.to_csv(snakemake.output.summary, index=False)
    flagged = summary[summary["flagged"]]
    print(f"{len(summary)} checks, {len(flagged)} flagged")
    if len(flagged):
        print(flagged[["model", "unit", "check", "observation", "p_value"]].to_string(index=False))
