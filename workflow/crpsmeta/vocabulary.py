"""The field's vocabulary, written once: timepoints, arms, study designs, responder-definition classes.

Modules take these names from here rather than spelling them (the default reference definition
``ge30pct`` is config's, in its schema). The JSON Schemas of the data tables
and the config (workflow/schemas/) spell the same names as enums for their own
readers; ``tests/test_vocabulary.py`` checks that they agree with this module.
"""

from __future__ import annotations

__all__ = [
    "TIMEPOINTS",
    "JOINT",
    "TIMEPOINT_LABELS",
    "WHEN",
    "WEEKS_BY_TIMEPOINT",
    "ARMS",
    "KETAMINE",
    "PLACEBO",
    "CONTRAST_ARM",
    "DESIGNS",
    "CONTROLLED_DESIGNS",
    "RANDOMISED_DESIGNS",
    "SINGLE_ARM_DESIGNS",
    "DEFINITION_CLASSES",
    "DEFINITION_LABELS",
    "REFERENCE_DEFINITION",
    "MEASURES",
]

# Timepoints: at the end of the infusion course, and 1-3 months after it. A fit unit is a timepoint, or JOINT for
# a model that fits both timepoints together (placebo_adjusted).
TIMEPOINTS = ("immediate", "followup")
JOINT = "joint"
TIMEPOINT_LABELS = {"immediate": "end of infusion", "followup": "1-3 months"}  # axis labels and titles
WHEN = {"immediate": "the end of infusion", "followup": "1-3 months"}  # "at ..." in sentences
# weeks since the end of infusion an outcome of each timepoint may report (validation rule weeks_fit_timepoint)
WEEKS_BY_TIMEPOINT = {"immediate": (0, 2), "followup": (2, 26)}

KETAMINE, PLACEBO = "ketamine", "placebo"  # the two arms, named once
ARMS = (KETAMINE, PLACEBO)
# the arm label of a ketamine-versus-placebo contrast row (a log odds ratio between the two arms)
CONTRAST_ARM = "ketamine_vs_placebo"
MEASURES = ("responders", "pain")

# Study designs. Controlled designs have a placebo arm; only an RCT is randomised; single-arm designs have none.
DESIGNS = ("rct", "nonrandomized_controlled", "prospective_single_arm", "retrospective_single_arm", "case_series")
CONTROLLED_DESIGNS = ("rct", "nonrandomized_controlled")
RANDOMISED_DESIGNS = ("rct",)
SINGLE_ARM_DESIGNS = ("prospective_single_arm", "retrospective_single_arm", "case_series")

# Responder-definition classes (data/README.md), the strictest first.
DEFINITION_CLASSES = (
    "complete_relief",
    "pain_free",
    "full_remission",
    "ge30pct",
    "ge50pct",
    "ge2point_or_success",
    "meaningful",
    "any_relief",
)
DEFINITION_LABELS = {"ge30pct": ">=30 % pain relief", "ge50pct": ">=50 % pain relief"}

# the convergence diagnostics and the side of their threshold a fit must stay on (config ``diagnostics``)
DIAGNOSTICS = {
    "r_hat": "max",
    "ess_bulk": "min",
    "ess_tail": "min",
    "divergences": "max",
    "ebfmi": "min",
}

# the responder definition a model's other definitions are offsets from, unless config says otherwise
# (placebo_adjusted.reference_definition; the schema's default spells the same)
REFERENCE_DEFINITION = "ge30pct"
