"""Convergence gates for one fit (Vehtari, Gelman, Simpson, Carpenter, Buerkner 2021).

:func:`diagnostics_table` measures; :func:`enforce_gate` decides. A failed
diagnostic whose ``on_failure`` is ``error`` raises
:class:`DiagnosticsGateError` naming the fit and the diagnostic; with ``warn``
it is returned as a warning and recorded in the table.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd

from crpsmeta.vocabulary import DIAGNOSTICS

# name -> (bound key, direction): "max" passes when value <= threshold, "min" when >=.


DEFAULT_THRESHOLDS = {
    "r_hat": {"max": 1.01, "on_failure": "error"},
    "ess_bulk": {"min": 400, "on_failure": "error"},
    "ess_tail": {"min": 400, "on_failure": "error"},
    "divergences": {"max": 0, "on_failure": "error"},
    "ebfmi": {"min": 0.3, "on_failure": "error"},
}


TABLE_COLUMNS = [
    "model",
    "prior_set",
    "timepoint",
    "diagnostic",
    "value",
    "worst_variable",
    "bound",
    "threshold",
    "passed",
    "on_failure",
]


class DiagnosticsGateError(RuntimeError):
    """A fit failed a convergence gate set to ``error``."""


def _worst(dataset, pick) -> tuple[float, str]:
    best_val, best_name = None, ""
    for name, da in dataset.data_vars.items():
        values = np.asarray(da.values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        v = pick(values)
        if best_val is None or pick([best_val, v]) == v:
            best_val, best_name = float(v), str(name)
    return (float("nan") if best_val is None else best_val), best_name


def diagnostics_table(
    idata, thresholds: dict, *, model: str = "", prior_set: str = "", timepoint: str = ""
) -> pd.DataFrame:
    """One row per diagnostic with its value, threshold and pass/fail.

    R-hat and ESS are taken over every posterior variable (the worst one is
    named); divergences are summed over chains; E-BFMI is the smallest chain's.
    Variables that do not vary (e.g. I-squared with one study) are skipped.
    """
    post = idata.posterior
    values = {
        "r_hat": _worst(az.rhat(post), max),
        "ess_bulk": _worst(az.ess(post, method="bulk"), min),
        "ess_tail": _worst(az.ess(post, method="tail"), min),
        "divergences": (float(idata.sample_stats["diverging"].sum()), ""),
        "ebfmi": (float(np.min(az.bfmi(idata))), ""),
    }
    rows = []
    for name, bound in DIAGNOSTICS.items():
        spec = {**DEFAULT_THRESHOLDS[name], **thresholds.get(name, {})}
        value, worst = values[name]
        threshold = spec[bound]
        passed = bool(np.isfinite(value) and (value <= threshold if bound == "max" else value >= threshold))
        rows.append(
            {
                "model": model,
                "prior_set": prior_set,
                "timepoint": timepoint,
                "diagnostic": name,
                "value": value,
                "worst_variable": worst,
                "bound": bound,
                "threshold": threshold,
                "passed": passed,
                "on_failure": spec["on_failure"],
            }
        )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _describe_failure(row) -> str:
    op = "<=" if row["bound"] == "max" else ">="
    where = f" (worst: {row['worst_variable']})" if row["worst_variable"] else ""
    return f"{row['diagnostic']} = {row['value']:.4g}{where}, needs {op} {row['threshold']:g}"


def enforce_gate(table: pd.DataFrame, fit_label: str) -> list[str]:
    """Raise for failed ``error`` gates; return messages for failed ``warn`` gates."""
    failed = table[~table["passed"]]
    errors = [_describe_failure(r) for _, r in failed.iterrows() if r["on_failure"] == "error"]
    warnings = [
        f"WARNING: fit {fit_label} failed diagnostic {_describe_failure(r)} "
        f"(demoted to a warning in config: its numbers are not trustworthy)"
        for _, r in failed.iterrows()
        if r["on_failure"] == "warn"
    ]
    if errors:
        raise DiagnosticsGateError(
            f"fit {fit_label} FAILED its convergence gate: "
            + "; ".join(errors)
            + ". Its posterior is not reported. Fix the model or sampler settings, or set "
            "diagnostics.<name>.on_failure: warn in config/config.yaml to report it marked as unreliable."
        )
    return warnings
