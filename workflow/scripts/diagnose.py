"""Rule diagnose: convergence table of one fit, and its gate."""

import sys

from crpsmeta.fitting.diagnostics import DiagnosticsGateError, diagnostics_table, enforce_gate
from crpsmeta.fitting.record import read_record
from crpsmeta.runlog import logged

w = snakemake.wildcards
label = f"{w.model}/{snakemake.params.prior_set}/{w.timepoint}"
extra = [f"{k}={w[k]}" for k in sorted(w.keys()) if k not in ("model", "prior_set", "timepoint")]
label += f" ({', '.join(extra)})" if extra else ""
with logged(snakemake.log[0]):
    idata = read_record(snakemake.input.idata)
    table = diagnostics_table(
        idata, snakemake.params.thresholds, model=w.model, prior_set=snakemake.params.prior_set, timepoint=w.timepoint
    )
    print(table.to_string(index=False))
    try:
        for warning in enforce_gate(table, label):
            print(warning, file=sys.stderr)
    except DiagnosticsGateError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        sys.exit(1)
    table.to_csv(snakemake.output.table, index=False)
