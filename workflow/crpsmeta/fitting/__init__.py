"""Sampling a model into its record, the record itself, the content-addressed fit cache, and the convergence
gates."""
