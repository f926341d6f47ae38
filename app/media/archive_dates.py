"""What an archive copy states about when it was taken: only what is known.

The library keeps every date it found, with its source and confidence; a copy in the archive
is read later by other programs (Immich, Google Photos, Windows), which take an EXIF
`DateTimeOriginal` as the moment the camera fired. So a copy states

    a full time   (EXIF DateTimeOriginal, to the second or minute, and XMP)
                  only one the camera or phone recorded, a camera-made file name
                  (PXL_20190714_101500123.jpg, IMG_20190615_143000.jpg), a sidecar, photo
                  software's metadata, or a person supplied;
    a date        (XMP only, at that precision: "2019-06-15", "2019-06", "2019")
                  for a day, month or year, and for a time of day that is not a capture
                  time (a messaging app's "sent" time, a modification or upload date, a
                  generic "scan_20190615-143000" name, a file time that a name, folder or
                  sidecar corroborates): their day, never their clock;
    nothing       (undated/, the file's own name) for "No date" (confidence NONE): a file
                  time alone, or no clue at all.

A person's date (File.time_decided) is stated as it is. Pure: the exporter's plan calls
`stated()` for every file and the README documents this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..vocab import Confidence, Precision
from . import filenames
from .clues import FILE_TIME_SOURCES

# Sources whose time of day is not a capture time: only their day may be stated.
NOT_CAPTURE_SOURCES = frozenset(
    {
        "exif:ModifyDate",
        "xmp:ModifyDate",
        "png:tIME",
        "png:date:create",
        "png:CreationTime",
        "takeout:creationTime",
    }
)
_PATTERNS = {p.name: p for p in filenames.PATTERNS}


@dataclass(frozen=True)
class Stated:
    local: datetime | None  # wall clock (naive); None: the copy states no date
    offset: int | None  # minutes east of UTC, only with a time of day
    precision: str | None  # a Precision value; None when undated
    why: str  # for people and the manifest

    @property
    def kind(self) -> str:
        """ "time" (EXIF and XMP), "date" (XMP at day/month/year) or "none"."""
        if self.local is None:
            return "none"
        return "time" if Precision.of(self.precision).has_time_of_day else "date"


def camera_made_name(source: str) -> bool:
    """A file name a camera or phone gave when it took the picture (not a messaging app's
    "sent" name, not a generic date somewhere in a name a person or program chose)."""
    pattern = _PATTERNS.get(source.partition(":")[2]) if source.startswith("filename:") else None
    return pattern is not None and pattern.meaning in ("local", "utc") and not pattern.generic


def clock_is_a_capture_time(source: str | None) -> bool:
    """Whether a time of day from this source says when the picture was taken."""
    if not source:
        return False
    if source in FILE_TIME_SOURCES or source in NOT_CAPTURE_SOURCES:
        return False
    if source.startswith("filename:"):
        return camera_made_name(source)
    return True


def stated(
    local: str | datetime | None,
    offset: int | None,
    precision: str | None,
    source: str | None,
    confidence: str | None,
    decided: bool,
) -> Stated:
    """What a copy of a file with this library date states (see the module notes)."""
    if isinstance(local, str):
        local = datetime.fromisoformat(local)
    if local is None or Confidence.of(confidence) == Confidence.NONE:
        return Stated(None, None, None, "no date" if local is None else "only a file date: not a real date")
    p = Precision.of(precision)
    if decided:
        return Stated(local, offset if p.has_time_of_day else None, p, "a person's date")
    if p.has_time_of_day and not clock_is_a_capture_time(source):
        day = Precision.DAY.truncate(local)
        return Stated(day, None, Precision.DAY, "the day only: its time of day is not a capture time")
    if not p.has_time_of_day:
        return Stated(p.truncate(local), None, p, f"known to the {p.value}")
    return Stated(local, offset, p, "a capture time")
