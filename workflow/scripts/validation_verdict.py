"""Rule validate: fail, naming every failed check, or write the PASSED marker."""

import sys

import pandas as pd

from crpsmeta.calibration.scoring import ValidationFailed, verdict
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    coverage = pd.read_csv(snakemake.input.coverage_csv)
    uniformity = pd.read_csv(snakemake.input.sbc_uniformity_csv)
    try:
        summary = verdict(coverage, uniformity)
    except ValidationFailed as exc:
        print(
            f"ERROR: {exc}\nSee {snakemake.input.report_md}, {snakemake.input.coverage_png} and "
            f"{snakemake.input.sbc_png}.",
            file=sys.stderr,
        )
        sys.exit(1)
    print(summary)
    with open(snakemake.output.passed, "w", encoding="utf-8") as fh:
        fh.write(summary + "\n")
