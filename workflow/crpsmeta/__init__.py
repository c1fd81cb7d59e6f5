"""crpsmeta: Bayesian evidence synthesis of IV ketamine for CRPS.

The statistics behind the Snakemake workflow, importable and testable on
their own. Nothing here imports snakemake or reads configuration files:
every function takes plain arguments.

Layers, each importing only from those above it (tests/test_layers.py checks it):

vocabulary    timepoints and labels, arms, designs, definition classes, diagnostics
formatting    how numbers are written ('69 %', '-' when missing)
registry      one ModelSpec per model: arm pooled, prior block, options, fit units, question, estimands;
              the meta-regression covariates
inputs/       before any model; never imports PyMC
  issues        Issue and InputValidationError (file, line, row, column, value, rule)
  config        config.yaml against its schema, and the rules across keys
  tables        the CSV tables against their schemas, and the rules across rows and tables
  conversions   published conversions between reporting forms (SE->SD, median/IQR, SMD->log OR)
  selection     the rows each fit uses, and the gaps it cannot use
  covariates    study-level covariates and the regressions' design matrix
plan          from config and tables: fits, skipped fits, leave-one-out studies, regressions, seeds, the
              sensitivity sets and the gates of refits
models/       the PyMC models; priors enter as data
  priors        prior specifications (value objects) and their footer text
  pooled_rate   single-arm random-effects model; the meta-regressions are its design case
  placebo_adjusted  arm-based model with the explicit placebo-response term
  build         build any registered model from its rows and prior block
fitting/      sampling (PyMC or nutpie), the record, the fit cache, convergence gates
  sampling  record  cache  diagnostics
summaries/    estimands (mu, tau, I2, prediction intervals, risk difference, NNT), regressions, LOO comparison
jobs          a fit job's fits in turn: sample or take from the fit cache, gate, summarise (draws sized to the gates)
criticism/    observations, prior/posterior predictive checks, LOO-PIT, the ECDF band, power-scaling, influence
calibration/  the package side of `snakemake validate`: simulate, score, report
figures/      every figure; the only place matplotlib is imported (one style, one ECDF panel)
report/       findings (the summary of findings) and page (the HTML report)
runlog        the rule scripts' log files
"""

__version__ = "0.1.0"
