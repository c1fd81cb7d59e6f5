"""Every number in data/outcomes.csv is traced to the evidence ledger (../shared/evidence/README.md).

The ledger is the record of what the literature gives; data/ may hold only what it shows. For each outcome
row with a responder count or a pain summary: its study is named in the ledger, and its numbers appear in
the ledger's lines about that study (a count seen as printed: the count, or count and n; a count derived from
a percentage: the percentage; a pain row: its mean or change). The ledger sits beside the repository
(../shared), as in CI.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import ROOT

LEDGER = ROOT.parent / "shared" / "evidence" / "README.md"


@pytest.fixture(scope="module")
def ledger() -> str:
    if not LEDGER.exists():
        pytest.fail(f"the evidence ledger is not at {LEDGER} (../shared beside the repository, as in CI)")
    return LEDGER.read_text(encoding="utf-8")


def lines_about(ledger: str, study_id: str) -> str:
    """The ledger's table rows and paragraphs that name the study."""
    return "\n".join(line for line in ledger.splitlines() if study_id in line)


def numbers(text: str) -> set[str]:
    """Every number written in ``text``, as written and without trailing zeros ('7.2', '33', '76')."""
    found = set()
    for token in re.findall(r"\d+(?:\.\d+)?", text):
        found.add(token)
        if "." in token:
            found.add(token.rstrip("0").rstrip("."))
    return found


def _fmt(value: float) -> str:
    return f"{value:g}"


def test_every_outcome_row_is_traced_to_the_ledger(ledger):
    outcomes = pd.read_csv(ROOT / "data" / "outcomes.csv")
    untraced = []
    for i, row in outcomes.iterrows():
        about = lines_about(ledger, row["study_id"])
        if not about:
            untraced.append(f"row {i + 2}: {row['study_id']} is not named in the ledger")
            continue
        seen = numbers(about)
        if row["measure"] == "responders" and pd.notna(row["responders"]):
            wanted = (
                {_fmt(row["responders_pct"])}
                if row["verification"] == "derived" and pd.notna(row["responders_pct"])
                else {_fmt(row["responders"])}
            )
            if row["verification"] == "derived" and pd.isna(row["responders_pct"]):
                wanted = {_fmt(row["responders"]), _fmt(row["n"])}  # a derivation from counts seen (e.g. subgroups)
        elif row["measure"] == "pain":
            values = [row[c] for c in ("pain_mean", "pain_change_mean", "pain_median") if pd.notna(row[c])]
            wanted = {_fmt(abs(v)) for v in values[:1]}
        else:
            continue
        missing = {w for w in wanted if w not in seen}
        if missing:
            where = f"row {i + 2}: {row['study_id']} {row['arm']} {row['timepoint']}"
            untraced.append(f"{where}: {sorted(missing)} not in its ledger lines")
    assert not untraced, "\n".join(untraced)


def test_the_check_fails_on_a_number_the_ledger_does_not_give(ledger):
    about = lines_about(ledger, "Kiefer2008a")
    assert "65" in numbers(about)  # 13/20 = 65 % full remission, as the ledger gives it
    assert "66" not in numbers(about)
    assert lines_about(ledger, "Nobody1999") == ""


def test_section_5_decisions_are_in_the_data(ledger):
    """The additions of ledger section 5 reached data/ (data/README.md, "Evidence update")."""
    outcomes = pd.read_csv(ROOT / "data" / "outcomes.csv")
    studies = pd.read_csv(ROOT / "data" / "studies.csv").set_index("study_id")
    assert "Section 5" in ledger or "## 5." in ledger
    cohen = outcomes[(outcomes["study_id"] == "Cohen2023") & (outcomes["measure"] == "responders")].iloc[0]
    assert (cohen["responders"], cohen["n"], cohen["verification"]) == (33, 71, "secondary")
    patil = outcomes[outcomes["study_id"] == "Patil2012"].iloc[0]
    assert (
        patil["timepoint"] == "immediate"
        and patil["weeks"] == 0
        and "pre- and post-procedure" in patil["time_as_reported"]
    )
    assert studies.loc["Kiefer2002", "overlaps_with"] == "Kiefer2008a" and not studies.loc["Kiefer2002", "include"]
    assert "10.9" in studies.loc["Dahan2011", "notes"]
    assert "516-523" in studies.loc["Kirkpatrick2020", "citation"]
