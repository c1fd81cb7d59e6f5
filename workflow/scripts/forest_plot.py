"""Rule forest_plot: forest plot of one fit."""

import pandas as pd

from crpsmeta.plots import forest_plot
from crpsmeta.runlog import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    estimands = pd.read_csv(snakemake.input.estimands)
    studies = pd.read_csv(snakemake.input.studies)
    names = {"immediate": "at the end of infusion", "followup": "at 1-3 months"}
    fig = forest_plot(studies, estimands, title=f"Ketamine responder rate {names[w.timepoint]} "
                      f"({w.model}, random-effects binomial-logit)", prob=snakemake.params.interval["prob"],
                      interval_type=snakemake.params.interval["type"], prior_text=snakemake.params.prior_text)
    fig.savefig(snakemake.output.png, dpi=150)
