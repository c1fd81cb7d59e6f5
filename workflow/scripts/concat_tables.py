"""Rules collecting per-fit tables: stack the input CSVs into one."""

import pandas as pd

from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    frames = [pd.read_csv(path) for path in snakemake.input.tables]
    pd.concat(frames, ignore_index=True).to_csv(snakemake.output.table, index=False)
