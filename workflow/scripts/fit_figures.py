"""Rule fit_figures: prior-versus-posterior and rank plots of one primary fit."""

import arviz as az

from crpsmeta.report import key_parameters, prior_posterior_figure, rank_figure
from crpsmeta.vocabulary import TIMEPOINT_LABELS
from crpsmeta.runlog import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    idata = az.from_netcdf(snakemake.input.idata)
    variables = key_parameters(idata)
    name = f"{w.model}, {TIMEPOINT_LABELS.get(w.timepoint, w.timepoint)}"
    print(f"{name}: key parameters {', '.join(variables)}")
    fig = prior_posterior_figure(idata, variables, title=f"Prior versus posterior: {name}",
                                 prior_text=snakemake.params.prior_text)
    fig.savefig(snakemake.output.prior_posterior, dpi=110)
    fig = rank_figure(idata, variables, title=f"Rank plots: {name}")
    fig.savefig(snakemake.output.rank, dpi=90)
