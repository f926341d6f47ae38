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
from functools import cache
from typing import Any

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
