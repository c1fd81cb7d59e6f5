"""Rule predictive_checks: prior-implied rates, prior and posterior predictive checks of one fit."""

from crpsmeta.criticism.predictive import predictive_check, prior_rates
from crpsmeta.figures.checks import POSTERIOR_HOW_TO_READ, PRIOR_HOW_TO_READ, predictive_check_plot
from crpsmeta.figures.style import save_figure
from crpsmeta.fitting.record import read_record, record_prior_text
from crpsmeta.runlog import logged

w, p, out = snakemake.wildcards, snakemake.params, snakemake.output
with logged(snakemake.log[0]):
    idata = read_record(snakemake.input.idata)
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
