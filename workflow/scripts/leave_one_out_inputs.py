"""Rule leave_one_out_inputs: a fit's rows without one study."""

import pandas as pd

from crpsmeta.criticism.influence import leave_out
from crpsmeta.runlog import logged

with logged(snakemake.log[0]):
    used = pd.read_csv(snakemake.input.used)
    kept = leave_out(used, snakemake.wildcards.study)
    print(f"without {snakemake.wildcards.study}: {len(kept)} of {len(used)} rows kept")
    kept.to_csv(snakemake.output.used, index=False)
