"""The validation target's report (``results/validation/report.md``): coverage, SBC uniformity and bias
tables with the verdict, in Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from crpsmeta.calibration.scoring import ValidationFailed, verdict


def _markdown(frame: pd.DataFrame) -> str:
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def report_text(
    coverage: pd.DataFrame, uniformity: pd.DataFrame, bias: pd.DataFrame, fit_failed: pd.DataFrame, settings: Mapping
) -> str:
    """The validation report (Markdown): settings, verdict, then one table per scenario."""
    try:
        outcome = verdict(coverage, uniformity)
    except ValidationFailed as exc:
        outcome = str(exc)
    sampler = settings.get("sampler", {})
    lines = [
        "# Validation: known truth, coverage and simulation-based calibration",
        "",
        f"Truths drawn from prior set `{settings.get('simulate_prior_set')}`; fitted with prior set "
        f"`{settings.get('fit_prior_set')}`"
        + (
            " (**misspecified on purpose**)."
            if settings.get("simulate_prior_set") != settings.get("fit_prior_set")
            else "."
        ),
        f"Replications per scenario: {int(coverage['replications'].max())}. Sampler: {sampler.get('backend')}, "
        f"{sampler.get('chains')} chains x {sampler.get('draws')} draws (tune {sampler.get('tune')}, target_accept "
        f"{sampler.get('target_accept')}). SBC ranks among {int(uniformity['sbc_draws'].iloc[0])} thinned draws.",
        f"Each of the {int(coverage['checks'].iloc[0])} checks (a coverage count and an SBC uniformity test per "
        f"scenario x parameter) is made at level {settings.get('level')} / {int(coverage['checks'].iloc[0])} = "
        f"{coverage['check_level'].iloc[0]:.2g} (Bonferroni), so a correct implementation fails the target with "
        f"probability at most {settings.get('level')}.",
        "",
        "**" + outcome.split("\n")[0] + "**",
        "",
        *("- " + line.strip() for line in outcome.split("\n")[1:]),
        "",
        "Fits failing a convergence diagnostic (kept in every table; see fit_failures.csv):",
        "",
        _markdown(fit_failed),
        "",
    ]
    for scenario in dict.fromkeys(coverage["scenario"]):
        table = (
            coverage[coverage["scenario"] == scenario][
                ["parameter", "covered", "replications", "coverage", "tolerance_lower", "tolerance_upper"]
            ]
            .merge(uniformity[uniformity["scenario"] == scenario][["parameter", "p_value"]], on="parameter")
            .merge(
                bias[bias["scenario"] == scenario][["parameter", "mean_bias", "bias_mcse", "rmse", "mean_width"]],
                on="parameter",
            )
            .rename(columns={"p_value": "sbc_p"})
        )
        lines += [
            f"## {scenario} ({coverage[coverage['scenario'] == scenario]['model'].iloc[0]})",
            "",
            _markdown(table),
            "",
        ]
    return "\n".join(lines)
