"""Offline coordinate -> time-zone lookups compared: accuracy, speed, load time, memory.

Run with each candidate library installed (in its own virtualenv if you like):

    python bench/timezone_lookup_bench.py            # every library that imports
    python bench/timezone_lookup_bench.py tzfpy      # one of them

Accuracy: the principal city of every zone in the tz database's own zone.tab must map to
that zone ("exact"), or at least to one with the same UTC offsets 2015-2026 ("same rules").
Speed: 20,000 random points. Memory: resident size added by loading and using the library.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE_TAB = Path("/usr/share/zoneinfo/zone.tab")


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def loader(name: str):
    if name == "timezonefinder":
        from timezonefinder import TimezoneFinder

        finder = TimezoneFinder()
        return lambda lat, lon: finder.timezone_at(lng=lon, lat=lat)
    if name == "tzfpy":
        import tzfpy

        return lambda lat, lon: tzfpy.get_tz(lon, lat)
    if name == "timezonefinderL":
        from timezonefinderL import TimezoneFinder

        finder = TimezoneFinder()
        return lambda lat, lon: finder.timezone_at(lng=lon, lat=lat)
    raise ValueError(name)


def _coordinate(text: str) -> float:
    sign, digits = (1 if text[0] == "+" else -1), text[1:]
    if len(digits) in (4, 5):
        degrees, minutes, seconds = digits[:-2], digits[-2:], "0"
    else:
        degrees, minutes, seconds = digits[:-4], digits[-4:-2], digits[-2:]
    return sign * (int(degrees) + int(minutes) / 60 + int(seconds) / 3600)


def reference() -> list[tuple[str, float, float]]:
    cities = []
    for line in ZONE_TAB.read_text().splitlines():
        if line.startswith("#"):
            continue
        _country, coordinates, zone = line.split("\t")[:3]
        split = max(coordinates.rfind("+"), coordinates.rfind("-"))
        cities.append((zone, _coordinate(coordinates[:split]), _coordinate(coordinates[split:])))
    return cities


def same_rules(a: str, b: str) -> bool:
    try:
        za, zb = ZoneInfo(a), ZoneInfo(b)
    except (ValueError, KeyError, OSError):
        return False
    moments = [datetime(y, m, 15, 12) for y in range(2015, 2027) for m in (1, 4, 7, 10)]
    return all(za.utcoffset(t) == zb.utcoffset(t) for t in moments)


def bench(name: str) -> None:
    base = rss_mb()
    start = time.perf_counter()
    try:
        lookup = loader(name)
    except ImportError:
        print(f"{name}: not installed")
        return
    lookup(40.7128, -74.0060)
    load_ms = (time.perf_counter() - start) * 1000
    cities = reference()
    exact = rules = 0
    wrong = []
    for zone, lat, lon in cities:
        got = lookup(lat, lon)
        exact += got == zone
        ok = got == zone or (got is not None and same_rules(got, zone))
        rules += ok
        if not ok:
            wrong.append(f"{zone}->{got}")
    rng = random.Random(1)
    points = [(rng.uniform(-60, 75), rng.uniform(-180, 180)) for _ in range(20_000)]
    start = time.perf_counter()
    for lat, lon in points:
        lookup(lat, lon)
    per_lookup = (time.perf_counter() - start) / len(points) * 1e6
    print(
        f"{name}: zone.tab cities {exact}/{len(cities)} exact, {rules}/{len(cities)} same rules; "
        f"{per_lookup:.1f} us/lookup; load+first lookup {load_ms:.0f} ms; +{rss_mb() - base:.0f} MB resident; "
        f"wrong: {', '.join(wrong[:5]) or 'none'}"
    )


if __name__ == "__main__":
    for library in sys.argv[1:] or ["timezonefinder", "tzfpy", "timezonefinderL"]:
        bench(library)
