"""Rule fit_figures: prior-versus-posterior and rank plots of one primary fit."""

from crpsmeta.figures.fit import key_parameters, prior_posterior_figure, rank_figure
from crpsmeta.figures.style import save_figure
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
    save_figure(fig, snakemake.output.prior_posterior)
    fig = rank_figure(idata, variables, title=f"Rank plots: {name}")
    save_figure(fig, snakemake.output.rank)
