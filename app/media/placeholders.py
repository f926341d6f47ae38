"""Values that are placeholders rather than readings of a clock, and the wall clock a camera
would have shown: the sanity rules of confidence.py use them.

- A device whose clock was never set starts from a fixed day (1904, 1970, 1980, 2000): any
  time that day, read on the wall clock the device showed.
- An instant that is the zero of a clock (a GPS receiver without a fix writes the Unix
  epoch, a QuickTime header 1904, FAT 1980) is judged in UTC, where it is zero.
- A camera's default date is a wall-clock reading: for an instant (a Takeout sidecar, a
  video header) it is judged in the zone the camera was in, so a Takeout time of exactly
  midnight UTC is not mistaken for a camera that was never set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .timestamps import Candidate

# Days a device clock starts from when it was never set (battery out): any time that day.
CLOCK_RESET_DAYS = {datetime(1904, 1, 1), datetime(1970, 1, 1), datetime(1980, 1, 1), datetime(2000, 1, 1)}
# Instants that are the zero of a clock (GPS without a fix, QuickTime, FAT).
CLOCK_ZEROS = {datetime(1970, 1, 1), datetime(1904, 1, 1), datetime(1980, 1, 1)}
GPS_SOURCES = ("gps", "xmp:GPSDateTime")


def placeholder_instant(c: Candidate) -> str | None:
    """Why an instant is a placeholder rather than a reading, or None."""
    if c.zone != "utc" or c.value is None:
        return None
    instant = c.value.astimezone(UTC).replace(tzinfo=None)
    day = datetime(instant.year, instant.month, instant.day)
    if c.source in GPS_SOURCES and day in CLOCK_RESET_DAYS:
        return f"a placeholder: GPS time {instant:%Y-%m-%d %H:%M:%S} UTC is what a receiver without a fix writes"
    if instant in CLOCK_ZEROS:
        return f"a placeholder: {instant:%Y-%m-%d %H:%M:%S} UTC is the zero of a clock, not a reading"
    return None


def camera_wall(c: Candidate, zone: ZoneInfo | None) -> datetime:
    """The wall clock a camera would have shown for this value: its own for a wall-clock time;
    for an instant (a Takeout sidecar, a video header), the instant in the zone it was taken in
    (the household's unless known). A camera's default date is a wall-clock reading."""
    if c.zone == "utc" and zone is not None:
        return c.value.astimezone(zone).replace(tzinfo=None)
    return c.value.replace(tzinfo=None)
