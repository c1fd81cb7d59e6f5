"""Rule validation_report: coverage, bias and SBC tables and figures over every scenario."""

import pandas as pd

from crpsmeta.calibration.report import report_text
from crpsmeta.calibration.scoring import fit_failures, validation_tables
from crpsmeta.figures.calibration import coverage_plot, sbc_plot
from crpsmeta.figures.style import save_figure
from crpsmeta.runlog import logged

out = snakemake.output
with logged(snakemake.log[0]):
    scores = pd.concat([pd.read_csv(p, dtype={"replicate": str}) for p in snakemake.input.scores], ignore_index=True)
    diagnostics = pd.concat(
        [pd.read_csv(p, dtype={"replicate": str}) for p in snakemake.input.diagnostics], ignore_index=True
    )
    coverage, uniformity, bias = validation_tables(
        scores, prob=snakemake.params.prob, level=snakemake.params.level, bins=snakemake.params.bins
    )
    failed_fits = fit_failures(diagnostics)
    coverage.to_csv(out.coverage_csv, index=False)
    uniformity.to_csv(out.sbc_uniformity_csv, index=False)
    bias.to_csv(out.bias_csv, index=False)
    failed_fits.to_csv(out.fit_failures_csv, index=False)
    scores[["scenario", "model", "parameter", "replicate", "rank", "sbc_draws"]].to_csv(out.sbc_ranks_csv, index=False)
    save_figure(coverage_plot(coverage), out.coverage_png)
    save_figure(sbc_plot(scores, uniformity), out.sbc_png)
    text = report_text(coverage, uniformity, bias, failed_fits, snakemake.params.settings)
    with open(out.report_md, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(text)
