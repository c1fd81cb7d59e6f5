"""Rule model_inputs: the rows each planned fit uses, and the gaps (reported rows it cannot use)."""

import yaml

from crpsmeta.inputs.selection import model_inputs
from crpsmeta.inputs.tables import load_tables
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    with open(snakemake.input.studies_schema) as fh_s, open(snakemake.input.outcomes_schema) as fh_o:
        studies, outcomes = load_tables(
            snakemake.input.studies, snakemake.input.outcomes, yaml.safe_load(fh_s), yaml.safe_load(fh_o)
        )
    for unit, used_path, gaps_path in zip(
        snakemake.params.units, snakemake.output.used, snakemake.output.gaps, strict=True
    ):
        used, gaps = model_inputs(
            studies,
            outcomes,
            model=unit["model"],
            unit=unit["unit"],
            options=unit["options"],
            timepoints=tuple(snakemake.params.timepoints),
        )
        used.to_csv(used_path, index=False)
        gaps.to_csv(gaps_path, index=False)
        print(f"{unit['model']} at {unit['unit']}: {len(used)} rows used, {len(gaps)} reported rows not usable")
