"""Rule criticise_fit: prior and posterior predictive checks, power-scaling sensitivity, and the
prior-versus-posterior and rank figures of one primary fit (one process, one read of its record)."""

from crpsmeta.criticism.power_scaling import power_scaling_table
from crpsmeta.criticism.predictive import predictive_check, prior_rates
from crpsmeta.figures.checks import POSTERIOR_HOW_TO_READ, PRIOR_HOW_TO_READ, predictive_check_plot
from crpsmeta.figures.fit import key_parameters, prior_posterior_figure, rank_figure
from crpsmeta.figures.style import save_figure
from crpsmeta.fitting.record import read_record, record_prior_text
from crpsmeta.runlog import logged
from crpsmeta.vocabulary import TIMEPOINT_LABELS

w, p, out = snakemake.wildcards, snakemake.params, snakemake.output
with logged(snakemake.log[0]):
    idata = read_record(snakemake.input.idata)

    # prior-implied rates, prior and posterior predictive checks
    labels = {"model": w.model, "unit": w.timepoint, "prior_set": p.prior_set}
    pct = f"{p.prob * 100:g} %"
    rates = prior_rates(idata, unit=w.timepoint, prob=p.prob)
    for group, table_path, png_path, title, how in (
        (
            "prior_predictive",
            out.prior,
            out.prior_png,
            f"Prior predictive check: {w.model}, {w.timepoint} (what the priors alone predict)",
            PRIOR_HOW_TO_READ,
        ),
        (
            "posterior_predictive",
            out.posterior,
            out.posterior_png,
            f"Posterior predictive check: {w.model}, {w.timepoint}",
            POSTERIOR_HOW_TO_READ,
        ),
    ):
        table = predictive_check(idata, group, model=w.model, unit=w.timepoint, prob=p.prob)
        table = table.assign(**labels)[[*labels, *table.columns]]
        table.to_csv(table_path, index=False)
        fig = predictive_check_plot(
            table,
            rates=rates if group == "prior_predictive" else None,
            prob=p.prob,
            title=title,
            how_to_read=how.format(pct=pct),
            footer=record_prior_text(idata),
        )
        save_figure(fig, png_path)
        print(f"{group}:")
        print(table[["observation", "observed", "rep_lower", "rep_upper", "p_value", "flagged"]].to_string(index=False))
    rates.assign(**labels)[[*labels, *rates.columns]].to_csv(out.rates, index=False)

    # power-scaling sensitivity
    table = power_scaling_table(
        idata,
        model=w.model,
        prior_set=p.prior_set,
        timepoint=w.timepoint,
        threshold=p.power_scaling["threshold"],
        delta=p.power_scaling["delta"],
    )
    print(table.to_string(index=False))
    table.to_csv(out.power_scaling, index=False)

    # prior versus posterior, rank plots
    variables = key_parameters(idata)
    name = f"{w.model}, {TIMEPOINT_LABELS.get(w.timepoint, w.timepoint)}"
    print(f"{name}: key parameters {', '.join(variables)}")
    fig = prior_posterior_figure(
        idata, variables, title=f"Prior versus posterior: {name}", prior_text=record_prior_text(idata)
    )
    save_figure(fig, out.prior_posterior)
    save_figure(rank_figure(idata, variables, title=f"Rank plots: {name}"), out.rank)
