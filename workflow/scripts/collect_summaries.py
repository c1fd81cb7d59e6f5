"""Rules collecting per-fit tables: each output stacks the input CSVs of the same name."""

import pandas as pd

from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    for key in snakemake.output.keys():
        frames = [pd.read_csv(path) for path in snakemake.input[key]]
        pd.concat(frames, ignore_index=True).to_csv(snakemake.output[key], index=False)
