"""Rule model_inputs: the rows a model uses at one timepoint, and the gaps."""

import yaml

from crpsmeta.inputs.selection import model_inputs
from crpsmeta.inputs.tables import load_tables
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    with open(snakemake.input.studies_schema) as fh_s, open(snakemake.input.outcomes_schema) as fh_o:
        studies, outcomes = load_tables(
            snakemake.input.studies, snakemake.input.outcomes, yaml.safe_load(fh_s), yaml.safe_load(fh_o)
        )
    used, gaps = model_inputs(
        studies,
        outcomes,
        model=snakemake.wildcards.model,
        unit=snakemake.wildcards.timepoint,
        options=snakemake.params.options,
        timepoints=tuple(snakemake.params.timepoints),
    )
    used.to_csv(snakemake.output.used, index=False)
    gaps.to_csv(snakemake.output.gaps, index=False)
    print(f"{len(used)} studies used, {len(gaps)} reported rows not usable (see {snakemake.output.gaps})")
