# IV ketamine for Complex Regional Pain Syndrome: Bayesian evidence synthesis.
#
# Table of contents. Run `snakemake --cores all` (or `bash run.sh analysis`).
#   1. config        config/config.yaml (first checked to be YAML), validated against workflow/schemas/config.schema.yaml
#   2. validation    data/studies.csv, data/outcomes.csv (and data/published.csv), validated before any job runs
#   3. rules         workflow/rules/*.smk (helpers in common.smk)
#   4. rule all      everything the analysis writes under results/, ending in results/report/index.html
#
# `snakemake --report report.html` builds Snakemake's own report from the registered outputs.

from snakemake.utils import min_version

min_version("9.0")


include: "workflow/rules/common.smk"


# A config file that is not YAML is refused with its line and column (Snakemake's own message has neither).
check_config_file("config/config.yaml")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# Stops here, with every problem listed, if config or data break a rule.
validate_inputs()


include: "workflow/rules/data.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/summarize.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/criticism.smk"
include: "workflow/rules/checks.smk"
include: "workflow/rules/regression.smk"
include: "workflow/rules/validation.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
