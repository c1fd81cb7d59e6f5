"""Rule fit_figures: prior-versus-posterior and rank plots of one primary fit."""

from crpsmeta.figures.fit import key_parameters, prior_posterior_figure, rank_figure
from crpsmeta.fitting.record import read_record, record_prior_text
from crpsmeta.runlog import logged
from crpsmeta.vocabulary import TIMEPOINT_LABELS

w = snakemake.wildcards
with logged(snakemake.log[0]):
    idata = read_record(snakemake.input.idata)
    variables = key_parameters(idata)
    name = f"{w.model}, {TIMEPOINT_LABELS.get(w.timepoint, w.timepoint)}"
    print(f"{name}: key parameters {', '.join(variables)}")
    fig = prior_posterior_figure(
        idata, variables, title=f"Prior versus posterior: {name}", prior_text=record_prior_text(idata)
    )
    fig.savefig(snakemake.output.prior_posterior, dpi=110)
    fig = rank_figure(idata, variables, title=f"Rank plots: {name}")
    fig.savefig(snakemake.output.rank, dpi=90)
