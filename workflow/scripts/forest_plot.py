"""Rule forest_plot: forest plot of one fit."""

import pandas as pd

from crpsmeta.figures.forest import pooled_forest_figure
from crpsmeta.figures.style import save_figure
from crpsmeta.runlog import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    estimands = pd.read_csv(snakemake.input.estimands)
    studies = pd.read_csv(snakemake.input.studies)
    fig = pooled_forest_figure(
        studies,
        estimands,
        model=w.model,
        timepoint=w.timepoint,
        prob=snakemake.params.interval["prob"],
        interval_type=snakemake.params.interval["type"],
        prior_text=snakemake.params.prior_text,
    )
    save_figure(fig, snakemake.output.png)
