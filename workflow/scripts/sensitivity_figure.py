"""Rule sensitivity_figure: the key estimands under every prior set."""

import pandas as pd

from crpsmeta.figures.sensitivity import sensitivity_figure
from crpsmeta.figures.style import save_figure
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    estimands = pd.read_csv(snakemake.input.estimands)
    fig = sensitivity_figure(
        estimands,
        key_estimands=snakemake.params.key_estimands,
        primary=snakemake.params.primary,
        prob=snakemake.params.interval["prob"],
    )
    save_figure(fig, snakemake.output.png)
