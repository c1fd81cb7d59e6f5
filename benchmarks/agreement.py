"""Do two runs of the analysis give the same estimands within Monte Carlo error?

    .venv/bin/python benchmarks/agreement.py OLD_RESULTS NEW_RESULTS [--write]

Compares every estimand of every fit the two runs share (primary, sensitivity sets, leave-one-study-out
refits: the ``estimands.csv`` under ``summaries/``) by the difference of posterior means in units of its
Monte Carlo standard error, ``|mean_new - mean_old| / sqrt(sd_old^2 / ess_old + sd_new^2 / ess_new)``
(the MCSE of a mean, from each fit's bulk ESS; a posterior probability's row gives its MCSE as its ``sd``).
Two correct samplers of one posterior give values like |N(0, 1)|: about 5 % above 2 and almost none
above 4 over a few hundred estimands. Prints one table per kind of fit (the largest value, the estimand
it belongs to, the share above 2 and above 4); ``--write`` puts it in
benchmarks/RESULTS.md (section ``agreement``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEYS = ["kind", "fit", "model", "prior_set", "timepoint", "estimand"]


def collect(results: Path) -> pd.DataFrame:
    """Every estimands.csv of a run's fits, with the kind of fit (primary, sensitivity, influence) and its name."""
    frames = []
    for path in sorted(results.rglob("estimands.csv")):
        rel = path.relative_to(results).parts
        if rel[0] == "summaries" and len(rel) == 4:
            kind, fit = "primary", "/".join(rel[1:3])
        elif rel[0] == "sensitivity" and len(rel) == 6 and rel[2] == "summaries":
            kind, fit = "sensitivity", "/".join((rel[1], *rel[3:5]))
        elif rel[:2] == ("influence", "summaries"):
            kind, fit = "influence", "/".join(rel[2:5])
        else:
            continue
        frame = pd.read_csv(path)
        frames.append(frame.assign(kind=kind, fit=fit))
    if not frames:
        raise SystemExit(f"no fit's estimands.csv under {results}")
    return pd.concat(frames, ignore_index=True)


def agreement(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """One row per estimand both runs have (with a finite SD and ESS): the difference of means over its MCSE.

    A posterior probability's row already gives its Monte Carlo SE as ``sd`` (its note says so), so that is
    used as it is; every other row's MCSE is sd / sqrt(bulk ESS)."""
    old, new = old.drop_duplicates(KEYS), new.drop_duplicates(KEYS)
    both = old.merge(new, on=KEYS, suffixes=("_old", "_new"))
    is_mcse = both["note_old"].fillna("").str.contains("Monte Carlo standard error")
    var_old = np.where(is_mcse, both["sd_old"] ** 2, both["sd_old"] ** 2 / both["ess_bulk_old"])
    var_new = np.where(is_mcse, both["sd_new"] ** 2, both["sd_new"] ** 2 / both["ess_bulk_new"])
    mcse = np.sqrt(var_old + var_new)
    both["z"] = (both["mean_new"] - both["mean_old"]).abs() / mcse
    return both[np.isfinite(both["z"])].reset_index(drop=True)


def table(both: pd.DataFrame) -> str:
    rows = []
    for kind, part in both.groupby("kind", sort=False):
        worst = part.loc[part["z"].idxmax()]
        rows.append(
            f"| {kind} | {part['fit'].nunique()} | {len(part)} | {worst['z']:.2f} | "
            f"{worst['estimand']} ({worst['fit']}) | {(part['z'] > 2).mean():.1%} | {(part['z'] > 4).mean():.1%} |"
        )
    return "\n".join(
        [
            "| fits | n fits | n estimands | largest abs(diff)/MCSE | where | share > 2 | share > 4 |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    both = agreement(collect(args.old), collect(args.new))
    if both.empty:
        sys.exit("the two runs share no estimand")
    text = table(both)
    print(text)
    if args.write:
        import re

        path = Path(__file__).with_name("RESULTS.md")
        body = path.read_text()
        pattern = re.compile(r"(<!-- bench:agreement -->\n).*?(\n<!-- /bench:agreement -->)", re.S)
        if not pattern.search(body):
            sys.exit("RESULTS.md has no <!-- bench:agreement --> section")
        path.write_text(pattern.sub(lambda m: f"{m.group(1)}{text}{m.group(2)}", body))


if __name__ == "__main__":
    main()
