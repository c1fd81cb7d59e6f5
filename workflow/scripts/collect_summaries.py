"""Rule collect_summaries: one table each of estimands, study estimates and diagnostics."""

import pandas as pd

from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    for key in ("estimands", "studies", "diagnostics"):
        frames = [pd.read_csv(path) for path in snakemake.input[key]]
        pd.concat(frames, ignore_index=True).to_csv(snakemake.output[key], index=False)
