"""How the notes about a capture time write a clue's value and a gap between two times
(confidence.py's notes, which the detail page shows)."""

from __future__ import annotations

from ..vocab import Precision
from .timestamps import Candidate

HOUR = 3600


def gap_text(seconds: float) -> str:
    d = abs(seconds)
    if d < 120:
        return f"{d:.0f} s"
    if d < 2 * HOUR:
        return f"{d / 60:.0f} min"
    if d < 3 * 86400:
        return f"{d / HOUR:.1f} h".replace(".0 h", " h")
    if d < 120 * 86400:
        return f"{d / 86400:.0f} days"
    return f"{d / (365.25 * 86400):.1f} years".replace(".0 years", " years")


def candidate_text(c: Candidate) -> str:
    v = c.value
    if c.precision == Precision.YEAR:
        return f"{v:%Y}"
    if c.precision == Precision.MONTH:
        return f"{v:%Y-%m}"
    if c.precision == Precision.DAY:
        return f"{v:%Y-%m-%d}"
    text = v.replace(microsecond=0).isoformat(sep=" ")
    return text.replace("+00:00", " UTC") if c.zone == "utc" else text
