"""The field's vocabulary has one home (crpsmeta.vocabulary); the schemas' enums spell the same names."""

from __future__ import annotations

from conftest import load_schema


def test_the_table_schemas_spell_the_vocabulary():
    from crpsmeta import vocabulary as v

    studies, outcomes = load_schema("studies")["properties"], load_schema("outcomes")["properties"]
    assert tuple(studies["design"]["enum"]) == v.DESIGNS
    assert set(v.CONTROLLED_DESIGNS) | set(v.SINGLE_ARM_DESIGNS) == set(v.DESIGNS)
    assert not set(v.CONTROLLED_DESIGNS) & set(v.SINGLE_ARM_DESIGNS)
    assert set(v.RANDOMISED_DESIGNS) <= set(v.CONTROLLED_DESIGNS)
    assert tuple(outcomes["arm"]["enum"]) == v.ARMS
    assert tuple(outcomes["timepoint"]["enum"]) == v.TIMEPOINTS
    assert tuple(outcomes["measure"]["enum"]) == v.MEASURES
    assert tuple(outcomes["definition_class"]["enum"]) == v.DEFINITION_CLASSES
    assert set(v.WEEKS_BY_TIMEPOINT) == set(v.TIMEPOINT_LABELS) == set(v.WHEN) == set(v.TIMEPOINTS)


def test_the_config_schema_spells_the_vocabulary():
    from crpsmeta import vocabulary as v

    props = load_schema("config")["properties"]
    assert tuple(props["timepoints"]["items"]["enum"]) == v.TIMEPOINTS
    adjusted = props["placebo_adjusted"]["properties"]
    assert tuple(adjusted["reference_definition"]["enum"]) == v.DEFINITION_CLASSES
    assert adjusted["reference_definition"]["default"] == v.REFERENCE_DEFINITION


def test_every_module_uses_the_one_vocabulary():
    """Modules that name timepoints, designs or definition classes take them from crpsmeta.vocabulary."""
    from crpsmeta import registry
    from crpsmeta import vocabulary as v
    from crpsmeta.calibration import simulate
    from crpsmeta.figures import findings as finding_figures
    from crpsmeta.inputs import selection, tables
    from crpsmeta.models import placebo_adjusted
    from crpsmeta.report import findings

    assert selection.ALL_DEFINITIONS is v.DEFINITION_CLASSES
    assert tables.CONTROLLED_DESIGNS is v.CONTROLLED_DESIGNS and tables.SINGLE_ARM_DESIGNS is v.SINGLE_ARM_DESIGNS
    assert tables.WEEKS_BY_TIMEPOINT is v.WEEKS_BY_TIMEPOINT
    assert placebo_adjusted.TIMEPOINTS is v.TIMEPOINTS and registry.JOINT is v.JOINT
    assert findings.WHEN is v.WHEN and finding_figures.TIMEPOINT_LABELS is v.TIMEPOINT_LABELS
    # the simulation's order of definition classes is a permutation of the vocabulary's (it fixes simulated data)
    assert sorted(simulate.SIMULATION_DEFINITION_ORDER) == sorted(v.DEFINITION_CLASSES)
