"""The time zone a picture was taken in, from its GPS position: offline, no network.

A camera writes its wall clock without a zone; a position says where it was, and the zone
boundaries say which zone rules there (with its summer time on that date). This is how a
photo taken in New York is not read as Berlin time just because the household lives there.

The lookup is timezonefinder (the timezone-boundary-builder polygons, unsimplified). It was
chosen over tzfpy (smaller and faster, but with simplified boundaries: it drops small
islands and coastal waters and maps Xinjiang to Asia/Shanghai) because a wrong zone moves a
photo by hours, while the lookup costs only microseconds per photo either way; figures in
bench/timezone_lookup_bench.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from ..vocab import has_time_of_day
from ..wording import format_offset
from .confidence import Choice

SOURCE = "gps position"


@dataclass(frozen=True)
class Place:
    zone: str  # IANA name, e.g. "America/New_York"
    lat: float
    lon: float
    origin: str  # where the position came from: "exif", "xmp", "video", "takeout"

    def describe(self) -> str:
        return f"taken in {self.zone}, from the GPS position"


@cache
def _finder():
    try:
        from timezonefinder import TimezoneFinder
    except ImportError:  # pragma: no cover - timezonefinder is in requirements.txt
        return None
    return TimezoneFinder()


def zone_at(lat: float, lon: float) -> str | None:
    """The IANA zone at a position (Etc/GMT±N out at sea), or None."""
    finder = _finder()
    if finder is None or not _plausible(lat, lon):
        return None
    try:
        return finder.timezone_at(lng=lon, lat=lat)
    except ValueError:
        return None


def _plausible(lat: Any, lon: Any) -> bool:
    """A real position: numbers in range, and not 0,0 (what writers put for 'no fix')."""
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return False
    if abs(lat) < 1e-6 and abs(lon) < 1e-6:
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180


_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


def parse_iso6709(text: Any) -> tuple[float, float] | None:
    """'+40.7128-074.0060+010.000/' (Apple's location key, QuickTime ©xyz) -> (lat, lon)."""
    m = _ISO6709.match(str(text or "").strip())
    if not m:
        return None
    return float(m[1]), float(m[2])


def position(meta: dict[str, Any] | None, video: dict[str, Any] | None = None) -> tuple[float, float, str] | None:
    """(lat, lon, origin) of the first plausible position a file states."""
    meta = meta or {}
    candidates = [
        (meta.get("gps_lat"), meta.get("gps_lon"), "exif"),
        (meta.get("xmp_gps_lat"), meta.get("xmp_gps_lon"), "xmp"),
    ]
    located = parse_iso6709((video or {}).get("location") or (meta.get("video") or {}).get("location"))
    if located:
        candidates.append((*located, "video"))
    sidecar = meta.get("sidecar") or {}
    candidates.append((sidecar.get("lat"), sidecar.get("lon"), "takeout"))
    for lat, lon, origin in candidates:
        if _plausible(lat, lon):
            return float(lat), float(lon), origin
    return None


def place_of(meta: dict[str, Any] | None, video: dict[str, Any] | None = None) -> Place | None:
    found = position(meta, video)
    if found is None:
        return None
    lat, lon, origin = found
    zone = zone_at(lat, lon)
    return Place(zone, lat, lon, origin) if zone else None


# Notes choose() writes when it had to assume the household zone; a known place replaces them.
ASSUMED_ZONE_NOTES = ("time zone unknown: read as ", "an instant, shown in the household time zone")


def with_place(choice: Choice, place_zone: ZoneInfo, described: str) -> Choice:
    """The time zone of the place a picture was taken (from its GPS position): a clue of its
    own, trusted to give a wall clock its offset, never to raise the confidence.

    `confidence.choose()` must already have been run with `place_zone` as the zone (local clocks are
    then read, and instants shown, in the place's zone). Here a wall clock without an offset
    gets that zone's offset at that date (summer time included), and the notes say so; an
    offset the device wrote or that another source implies stays, with a note when it
    differs from the place's."""
    if choice.local is None or not has_time_of_day(choice.precision):
        return choice
    offset = int(choice.local.replace(tzinfo=place_zone).utcoffset().total_seconds() // 60)
    notes = [n for n in choice.notes if not str(n).startswith(ASSUMED_ZONE_NOTES)]
    if choice.offset is None or choice.offset == offset:
        choice.offset = offset
        choice.utc = (choice.local - timedelta(minutes=offset)).replace(tzinfo=UTC)
        notes.append(f"{described} (UTC{format_offset(offset)} then)")
    else:
        notes.append(
            f"the GPS position is in {place_zone.key} (UTC{format_offset(offset)} then), but the time says "
            f"UTC{format_offset(choice.offset)}: the camera's clock may have been on another zone"
        )
    choice.notes = notes
    return choice
