"""Convergence gates: pass good fits, fail bad ones loudly, demote to warnings on request.

The gates on real fits of a published model (eight schools, posteriordb) are in
tests/reference/test_eight_schools_posteriordb.py.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crpsmeta.fitting.diagnostics import DEFAULT_THRESHOLDS, DiagnosticsGateError, enforce_gate


def table(**values):
    rows = []
    for name, bound in (
        ("r_hat", "max"),
        ("ess_bulk", "min"),
        ("ess_tail", "min"),
        ("divergences", "max"),
        ("ebfmi", "min"),
    ):
        spec = DEFAULT_THRESHOLDS[name]
        v = values.get(name, {"r_hat": 1.0, "ess_bulk": 1000, "ess_tail": 1000, "divergences": 0, "ebfmi": 0.8}[name])
        ok = v <= spec[bound] if bound == "max" else v >= spec[bound]
        rows.append(
            {
                "diagnostic": name,
                "value": v,
                "worst_variable": "mu" if name in ("r_hat", "ess_bulk") else "",
                "bound": bound,
                "threshold": spec[bound],
                "passed": ok,
                "on_failure": values.get("mode", "error"),
            }
        )
    return pd.DataFrame(rows)


def test_gate_passes_clean_table():
    assert enforce_gate(table(), "m/p/t") == []


@pytest.mark.parametrize(
    "name, value", [("r_hat", 1.05), ("ess_bulk", 120), ("ess_tail", 50), ("divergences", 3), ("ebfmi", 0.1)]
)
def test_gate_names_the_failing_diagnostic_and_fit(name, value):
    with pytest.raises(DiagnosticsGateError) as info:
        enforce_gate(table(**{name: value}), "pooled_rate/default/followup")
    text = str(info.value)
    assert "pooled_rate/default/followup" in text and f"{name} = " in text


def test_gate_can_be_demoted_to_a_warning():
    warnings = enforce_gate(table(divergences=2, mode="warn"), "fit-x")
    assert len(warnings) == 1 and "divergences" in warnings[0] and "fit-x" in warnings[0]
