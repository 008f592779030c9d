"""The row of a paper's claims table, shared by the paper packages that need no more.

A claims report (``python -m implicit_bias.papers.<paper> claims``) checks each statement of a
paper on fresh runs and prints a markdown table with one :class:`Claim` per row; the command
exits 1 when a row fails. Marion & Chizat's report has its own, richer row (the runs each
theorem's assumptions hold on); the others use this one.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Claim", "to_markdown"]


@dataclasses.dataclass(frozen=True)
class Claim:
    """One row of a claims table.

    Attributes:
        claim: the statement, with the theorem and its line in the paper text.
        measured: what the runs gave, formatted.
        threshold: what the statement requires of it (tolerance included).
        passed: whether ``measured`` meets ``threshold``.
    """

    claim: str
    measured: str
    threshold: str
    passed: bool


def to_markdown(claims: list[Claim], header: str = "") -> str:
    """The claims as a GitHub-flavoured markdown table (``|`` inside a cell escaped), after an
    optional header line; a failing row says **FAIL**."""
    lines = [header, ""] if header else []
    lines += ["| claim | measured | threshold | pass |", "| --- | --- | --- | --- |"]
    for c in claims:
        cells = (c.claim, c.measured, c.threshold, "pass" if c.passed else "**FAIL**")
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"
