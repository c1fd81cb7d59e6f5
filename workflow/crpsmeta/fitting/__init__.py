"""Sampling a model into its record, the record itself, and the convergence gates."""
