"""Why each date clue of a file won or lost, in words for people: what the detail page
shows under "Every date clue in this file". Pure: it reads the stored candidates (the
dicts `Candidate.to_dict` wrote) and the file's chosen source; the page only renders.

Values that are instants (file dates, GPS, video headers) are shown in the household zone;
camera values keep the wall clock the camera recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from ..vocab import ClueState
from .clues import source_label

_ORDER = {ClueState.WON: 0, ClueState.LOST: 1, ClueState.REJECTED: 2}
AGREE_SECONDS = 2  # this close to the chosen time counts as the same moment


@dataclass(frozen=True)
class Clue:
    source: str | None
    value: str | None  # ISO wall clock as shown (no offset)
    offset: int | None  # minutes east of UTC of `value`, when it is an instant or carries one
    precision: str | None
    why: str  # a sentence for people
    state: ClueState
    usable: bool


def explain_clues(stored: list[dict[str, Any]] | None, chosen: str | None, decided: bool, zone: tzinfo) -> list[Clue]:
    """Every stored candidate with why it won or lost: the winner first, then the others,
    then the rejected ones (each group in the stored order)."""
    parsed = [(c, _parse(c.get("timestamp"))) for c in stored or []]
    best = next((dt for c, dt in parsed if c.get("source") == chosen and not c.get("rejected") and dt), None)
    out: list[Clue] = []
    won = False
    for c, dt in parsed:
        state, why = _judge(c, dt, best, chosen, decided, zone, won)
        won = won or state == ClueState.WON
        out.append(_clue(c, dt, state, why, zone))
    return sorted(out, key=lambda clue: _ORDER[clue.state])


def _judge(c: dict, dt, best, chosen: str | None, decided: bool, zone: tzinfo, won: bool) -> tuple[ClueState, str]:
    rejected = c.get("rejected")
    if rejected:
        said = f" (it says “{c['note']}”)" if c.get("note") else ""
        return ClueState.REJECTED, f"Not used: {rejected}{said}"
    if c.get("source") == chosen and dt == best and not won:
        return ClueState.WON, "Chosen by you" if decided else "Chosen: the most trustworthy clue this file has"
    if best is None and decided:
        return ClueState.LOST, "Not used: you set the date yourself"
    return ClueState.LOST, why_lost(dt, best, chosen, zone)


def _clue(c: dict, dt: datetime | None, state: ClueState, why: str, zone: tzinfo) -> Clue:
    source = c.get("source")
    shown = dt
    if dt is not None and dt.tzinfo is not None and not (source or "").startswith("exif:"):
        shown = dt.astimezone(zone)
    return Clue(
        source=source,
        value=shown.replace(tzinfo=None).isoformat() if shown else None,
        offset=int(shown.utcoffset().total_seconds() // 60) if shown and shown.tzinfo else None,
        precision=c.get("precision"),
        why=why,
        state=state,
        usable=not c.get("rejected"),
    )


def _parse(value: str | None) -> datetime | None:
    """A stored timestamp; None for none, unreadable text, or the 0001-01-01 of older rows."""
    try:
        dt = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return dt if dt and dt.year > 1 else None


def why_lost(dt: datetime | None, best: datetime | None, chosen: str | None, zone: tzinfo) -> str:
    """How a usable clue compares with the chosen time: agrees, or says how far off it is."""
    if dt is None or best is None or not chosen:
        return "Not used"
    # a wall clock without a zone is read in the household zone
    a = dt if dt.tzinfo else dt.replace(tzinfo=zone)
    b = best if best.tzinfo else best.replace(tzinfo=zone)
    diff = (a - b).total_seconds()
    if abs(diff) <= AGREE_SECONDS:
        return "Agrees with the chosen time"
    direction = "later" if diff > 0 else "earlier"
    return f"Less trustworthy than “{source_label(chosen)}”; says {_gap(diff)} {direction}"


def _gap(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    if minutes >= 2 * 365 * 24 * 60:
        return f"about {minutes / (365.25 * 24 * 60):.0f} years"
    if minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min" if minutes else f"{int(abs(seconds))} s"


# A source key inside a stored note ("exif:CreateDate (2019-03-02 10:00:00) is 34 years
# later: ..."): the heads of clues.SOURCES, and the bare keys.
_SOURCE_KEY = re.compile(
    r"(?<![\w:-])(?:(?:exif|xmp-sidecar|xmp|iptc|photoshop|png|video|takeout|filename)(?::\w+)+|gps|folder|mtime"
    r"|makernote|xmp-sidecar)(?![\w-])"
)


def readable_note(note: str) -> str:
    """A stored note about a file's time with every source key put in people's words."""
    return _SOURCE_KEY.sub(lambda m: f"“{source_label(m[0])}”", str(note))
