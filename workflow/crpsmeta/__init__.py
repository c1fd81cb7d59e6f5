"""crpsmeta: Bayesian evidence synthesis of IV ketamine for CRPS.

The statistics behind the Snakemake workflow, importable and testable on
their own. Nothing here imports snakemake or reads configuration files:
every function takes plain arguments.

Modules
-------
validation   input checks (JSON Schema per row plus cross-table rules)
data         from validated tables to model inputs
priors       prior specifications as small value objects
models       PyMC model builders (priors enter as data)
sampling     MCMC with PyMC or nutpie into one InferenceData record
diagnostics  convergence gates
estimands    posterior summaries with the field's names
plots        forest plots
simulate     data simulated from the models with known parameters
"""

__version__ = "0.1.0"
