"""Every figure of the workflow, and the only part of the package that imports matplotlib.

Every figure module imports :mod:`crpsmeta.figures.style`, which selects the non-interactive Agg
backend and the house style (``ecdf.py`` draws on axes it is given). Figures take tables or records
and return a matplotlib Figure; the rule scripts save them.
"""
