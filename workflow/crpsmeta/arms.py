"""Which study arm each model pools, for the data step and the report alike.

``pooled_rate`` pools the ketamine arms, ``placebo_map`` the placebo arms (its
meta-analytic-predictive prior), and every meta-regression model pooled_rate's
ketamine arms with one covariate; their ``used.csv`` has no arm column, so the
model says which arm its rows are. ``placebo_adjusted`` uses both arms and
names each row's arm in its own ``used.csv``. This module imports no other
crpsmeta module that builds or fits models, so the report can import it
without the data step (and without a cycle).
"""

from __future__ import annotations

from .regression import REGRESSION_PREFIX

__all__ = ["POOLED_ARM", "pooled_arm"]

# which arm each single-arm-style model pools (one fit per timepoint)
POOLED_ARM = {"pooled_rate": "ketamine", "placebo_map": "placebo"}


def pooled_arm(model: str) -> str | None:
    """The arm whose responder counts ``model`` pools; None for a model that uses both arms (placebo_adjusted)."""
    if model in POOLED_ARM:
        return POOLED_ARM[model]
    if str(model).startswith(REGRESSION_PREFIX):  # pooled_rate's rows with a covariate
        return POOLED_ARM["pooled_rate"]
    return None
