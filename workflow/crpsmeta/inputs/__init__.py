"""Everything before a model: tables and config read and validated, rows selected, covariates. Never imports PyMC."""
