"""Every figure of the workflow, and the only part of the package that imports matplotlib.

Importing any module here selects the non-interactive Agg backend and the
house style (:mod:`crpsmeta.figures.style`). Figures take tables or records
and return a matplotlib Figure; the rule scripts save them.
"""
