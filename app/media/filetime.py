"""A file's own time is a hint, never a fact (clues.FILE_TIME_HINT, FILE_TIME_CORROBORATED).

Copying a file (a plain `cp`, a download, most backups) sets its modification time to the
copy day, and a browser upload's lastModified is that same time. So a date that rests on it
alone is "No date" (confidence NONE): the value is kept, for sorting and as a hint people
can confirm, but nothing treats it as a capture time. When a date-only name, folder or
sidecar clue says the same day, the two agree: the file time then gives that day's time of
day, at MEDIUM at most. confidence.choose() applies these two rules.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..vocab import Confidence
from .clues import corroborates_file_time, is_file_time
from .timestamps import Candidate

HINT_NOTE = "only the file date, which copying changes: not a real date until a person confirms it"


def on_day(file_time: Candidate, day: Candidate, zone: ZoneInfo) -> bool:
    """The file time (an instant) falls on the day of a date-only clue, read in `zone`."""
    return file_time.value.astimezone(zone).date() == day.value.date()


def file_time_on_the_day(best: Candidate, usable: list[Candidate], zone: ZoneInfo) -> Candidate | None:
    """For a chosen day from a name, folder or sidecar: a file time on that very day, which
    gives its time of day (the two agree; alone, neither would say as much)."""
    if not corroborates_file_time(best):
        return None
    return next((c for c in usable if is_file_time(c) and on_day(c, best, zone)), None)


def file_time_level(best: Candidate, usable: list[Candidate], zone: ZoneInfo) -> tuple[Confidence, str] | None:
    """The confidence a chosen file time starts from, and why: MEDIUM when a name, folder or
    sidecar says the same day, otherwise NONE. None when the chosen clue is not a file time."""
    if not is_file_time(best):
        return None
    day = next((c for c in usable if corroborates_file_time(c) and on_day(best, c, zone)), None)
    if day is not None:
        return Confidence.MEDIUM, f"the file date falls on the day {day.source} says"
    return Confidence.NONE, HINT_NOTE
