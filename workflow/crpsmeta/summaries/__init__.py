"""Posterior summaries with the field's names, read from fit records: estimands, regressions, LOO comparison."""
