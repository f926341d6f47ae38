"""The timeline bar: files per month across the library, and the days that look wrong — a
device's start date (1970-01-01, 2000-01-01, ...), or a single day holding hundreds of files
(often the day a folder was copied, when only file dates were left). Built from the day
counts the database keeps current (app/pipeline/counts.py), never by counting files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..media.placeholders import CLOCK_RESET_DAYS
from ..wording import MONTH_NAMES
from . import counts

SPIKE_MIN = 100  # a day with at least this many files ...
SPIKE_FACTOR = 10  # ... and this many times an average day with files is suspicious
RESET_DAYS = tuple(sorted(d.date().isoformat() for d in CLOCK_RESET_DAYS))


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    files: int
    spike: str | None  # why it looks wrong, for people; None when it does not

    @property
    def year(self) -> int:
        return int(self.month[:4])

    @property
    def label(self) -> str:
        return f"{MONTH_NAMES[int(self.month[5:7]) - 1]} {self.month[:4]}"


@dataclass(frozen=True)
class Spike:
    day: str  # YYYY-MM-DD
    files: int
    why: str


def spikes(candidates: list[tuple[str, int]], typical: float) -> list[Spike]:
    """Of the busy days and device start dates, the ones that look wrong, most files first."""
    found = []
    for day, n in candidates:
        if day in RESET_DAYS:
            found.append(Spike(day, n, "a device's start date: its clock was probably never set"))
        elif n >= SPIKE_MIN and n >= SPIKE_FACTOR * max(typical, 1):
            found.append(Spike(day, n, f"{n:,} files on one day: often the day they were copied"))
    return sorted(found, key=lambda s: -s.files)


def months(by_day: list[tuple[str, int]] | None = None) -> tuple[list[Month], list[Spike]]:
    """Every month from the first to the last dated file (empty months too, so the bar shows
    gaps), and the suspicious days. Months before 1990 or after today are only listed when
    they hold files (a 1970 start date must not stretch the bar over decades). `by_day`
    (tests): the day counts to use instead of the library's."""
    if by_day is None:
        per_month = dict(counts.months())
        typical = counts.average_day()
        busy = counts.busy_days(max(SPIKE_MIN, SPIKE_FACTOR * typical), RESET_DAYS)
    else:
        per_month = {}
        for day, n in by_day:
            per_month[day[:7]] = per_month.get(day[:7], 0) + n
        typical = sum(n for _, n in by_day) / max(len(by_day), 1)
        busy = [(d, n) for d, n in by_day if n >= SPIKE_MIN or d in RESET_DAYS]
    found = spikes(busy, typical)
    if not per_month:
        return [], found
    why = {s.day[:7]: s.why for s in found}
    plausible = [m for m in per_month if "1990-01" <= m <= date.today().isoformat()[:7]]
    span = _span(min(plausible), max(plausible)) if plausible else []
    keys = sorted(set(span) | set(per_month))
    return [Month(m, per_month.get(m, 0), why.get(m)) for m in keys], found


def _span(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
