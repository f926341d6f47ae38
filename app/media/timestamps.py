"""Capture-time candidates from every source a file has.

Each candidate says where it came from, what it says (a wall-clock time, or an instant
when the source knows its zone), how precise it is, and — when it is implausible — why it
was rejected. Rejected candidates are kept so the review page can show why they lost.
Choosing between them is confidence.py's job.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import PurePath
from typing import Any

PRECISIONS = ("second", "minute", "day", "month", "year")


@dataclass
class Candidate:
    source: str  # e.g. "exif:DateTimeOriginal", "filename:android", "mtime"
    value: datetime  # naive: wall clock in an unknown zone; aware: a known instant
    precision: str = "second"
    rejected: str | None = None  # why this value cannot be a capture time
    note: str | None = None

    @property
    def zone_known(self) -> bool:
        return self.value.tzinfo is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timestamp"] = data.pop("value").isoformat()
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        return cls(
            source=data["source"],
            value=datetime.fromisoformat(data["timestamp"]),
            precision=data.get("precision", "second"),
            rejected=data.get("rejected"),
            note=data.get("note"),
        )


def parse_offset(text: str | None) -> timezone | None:
    """'+02:00', '-0530', 'Z' -> a fixed offset; None when absent or malformed."""
    if not text:
        return None
    text = text.strip()
    if text in ("Z", "z", "+00:00", "UTC"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})", text)
    if not m:
        return None
    minutes = int(m[2]) * 60 + int(m[3])
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=minutes if m[1] == "+" else -minutes))


_EXIF_DT = re.compile(
    r"(\d{4})[:\-/.](\d{2})[:\-/.](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def parse_exif_datetime(text: str | None, subsec: str | None = None, offset: str | None = None):
    """An EXIF-style date string -> (datetime, precision) or (None, reason) when unusable."""
    if not text:
        return None, "empty"
    raw = text.strip()
    if not raw or set(raw) <= set("0: -") or raw.startswith("0000"):
        return None, "placeholder (all zeros)"
    m = _EXIF_DT.match(raw)
    if not m:
        return None, f"not a date: {raw!r}"
    y, mo, d, hh, mi, ss, frac, zone = m.groups()
    try:
        value = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
    except ValueError:
        return None, f"impossible date {raw!r}"
    precision = "second" if ss is not None else ("minute" if mi is not None else "day")
    frac = frac or (subsec.strip() if subsec and subsec.strip().isdigit() else None)
    if frac:
        value = value.replace(microsecond=int(frac[:6].ljust(6, "0")))
    tz = parse_offset(zone) or parse_offset(offset)
    if tz is not None:
        value = value.replace(tzinfo=tz)
    return value, precision


def _exif_candidate(source: str, text, subsec=None, offset=None) -> Candidate | None:
    if not text:
        return None
    value, info = parse_exif_datetime(text, subsec, offset)
    if value is None:
        return Candidate(source, datetime(1, 1, 1), "second", rejected=info, note=str(text)[:40])
    return Candidate(source, value, info)


def exif_candidates(meta: dict[str, Any]) -> list[Candidate]:
    found = [
        _exif_candidate(
            "exif:DateTimeOriginal",
            meta.get("datetime_original"),
            meta.get("subsec_original"),
            meta.get("offset_original"),
        ),
        _exif_candidate(
            "exif:CreateDate",
            meta.get("datetime_digitized"),
            meta.get("subsec_digitized"),
            meta.get("offset_digitized"),
        ),
        _exif_candidate("exif:ModifyDate", meta.get("datetime"), meta.get("subsec"), meta.get("offset")),
    ]
    gps_date, gps_time = meta.get("gps_date"), meta.get("gps_time")
    if gps_date and gps_time:
        h, m, s = gps_time
        value, info = parse_exif_datetime(f"{gps_date} 00:00:00")
        if value is None or not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):
            found.append(Candidate("gps", datetime(1, 1, 1), rejected=f"invalid GPS date/time {gps_date} {gps_time}"))
        else:
            instant = value.replace(tzinfo=UTC) + timedelta(hours=h, minutes=m, seconds=int(s))
            found.append(Candidate("gps", instant, "second"))
    return [c for c in found if c is not None]


def video_candidates(video: dict[str, Any]) -> list[Candidate]:
    """Container creation times (QuickTime/MP4 store UTC; Apple's key carries the local offset)."""
    found = []
    apple = video.get("apple_creationdate")
    if apple:
        value, info = parse_exif_datetime(apple)
        found.append(
            Candidate("video:apple_creationdate", value, info)
            if value
            else Candidate("video:apple_creationdate", datetime(1, 1, 1), rejected=info)
        )
    created = video.get("creation_time")
    if created:
        value, info = parse_exif_datetime(created)
        if value is None:
            found.append(Candidate("video:creation_time", datetime(1, 1, 1), rejected=info))
        else:
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)  # UTC by the QuickTime/MP4 spec
            found.append(Candidate("video:creation_time", value, info))
    return found


# --- file names -------------------------------------------------------------------------
# One row per pattern: (name, regex, meaning). Groups: Y M D, optional h m s, optional ms.
# meaning: "local" wall clock, "utc" instant, or "day" (the date something was sent/saved).
_D = r"(?P<Y>(?:19|20)\d{2})"
_FILENAME_PATTERNS: list[tuple[str, str, str]] = [
    (
        "pixel",
        rf"^PXL_{_D}(?P<M>\d{{2}})(?P<D>\d{{2}})_(?P<h>\d{{2}})(?P<m>\d{{2}})(?P<s>\d{{2}})(?P<ms>\d{{3}})",
        "utc",
    ),
    ("whatsapp", rf"^(?:IMG|VID|AUD|PTT|DOC|STK)-{_D}(?P<M>\d{{2}})(?P<D>\d{{2}})-WA\d+", "day"),
    (
        "whatsapp_export",
        rf"^WhatsApp (?:Image|Video) {_D}-(?P<M>\d{{2}})-(?P<D>\d{{2}}) at (?P<h>\d{{1,2}})[.:](?P<m>\d{{2}})[.:](?P<s>\d{{2}})",
        "local",
    ),
    (
        "android",
        rf"^(?:IMG|VID|MVIMG|PANO|BURST\d*|Screenshot|signal)[_-]{_D}(?P<M>\d{{2}})(?P<D>\d{{2}})[_-](?P<h>\d{{2}})(?P<m>\d{{2}})(?P<s>\d{{2}})",
        "local",
    ),
    (
        "dated_time",
        rf"(?<!\d){_D}-(?P<M>\d{{2}})-(?P<D>\d{{2}})[ _T-](?P<h>\d{{2}})[.:\-](?P<m>\d{{2}})[.:\-](?P<s>\d{{2}})(?!\d)",
        "local",
    ),
    (
        "compact_time",
        rf"(?<!\d){_D}(?P<M>\d{{2}})(?P<D>\d{{2}})[_-](?P<h>\d{{2}})(?P<m>\d{{2}})(?P<s>\d{{2}})(?!\d)",
        "local",
    ),
    ("dated", rf"(?<!\d){_D}-(?P<M>\d{{2}})-(?P<D>\d{{2}})(?!\d)", "day"),
]
_COMPILED = [(name, re.compile(rx, re.IGNORECASE), meaning) for name, rx, meaning in _FILENAME_PATTERNS]


def filename_candidates(name: str) -> list[Candidate]:
    stem = PurePath(name).stem
    for pattern_name, rx, meaning in _COMPILED:
        m = rx.search(stem)
        if not m:
            continue
        g = m.groupdict()
        try:
            value = datetime(
                int(g["Y"]), int(g["M"]), int(g["D"]), int(g.get("h") or 0), int(g.get("m") or 0), int(g.get("s") or 0)
            )
        except ValueError:
            continue
        if g.get("ms"):
            value = value.replace(microsecond=int(g["ms"]) * 1000)
        if meaning == "utc":
            value = value.replace(tzinfo=UTC)
        precision = "day" if meaning == "day" else "second"
        return [Candidate(f"filename:{pattern_name}", value, precision)]
    return []


_FOLDER_PATTERNS = [
    (re.compile(r"^(?P<Y>(?:19|20)\d{2})[-_. ](?P<M>\d{2})[-_. ](?P<D>\d{2})\b"), "day"),
    (re.compile(r"^(?P<Y>(?:19|20)\d{2})[-_. ](?P<M>\d{2})(?!\d)"), "month"),
    (re.compile(r"^(?P<Y>(?:19|20)\d{2})(?!\d)"), "year"),
]


def folder_candidates(relative_dir: str) -> list[Candidate]:
    """Dates in folder names: '2019/06/15', '2019-06 Holiday', '2008'. Weak and coarse."""
    parts = [p for p in PurePath(relative_dir).parts if p not in ("/", "")]
    year = month = day = None
    for part in parts:
        for rx, _precision in _FOLDER_PATTERNS:
            m = rx.match(part)
            if m:
                g = m.groupdict()
                year, month, day = int(g["Y"]), int(g.get("M") or 0) or None, int(g.get("D") or 0) or None
                break
        else:
            # nested '2019/06/15': a bare month or day number under a year folder
            if year and part.isdigit() and len(part) <= 2:
                if month is None and 1 <= int(part) <= 12:
                    month = int(part)
                elif month is not None and day is None and 1 <= int(part) <= 31:
                    day = int(part)
    if not year:
        return []
    try:
        value = datetime(year, month or 1, day or 1)
    except ValueError:
        return []
    precision = "day" if day else ("month" if month else "year")
    return [Candidate("folder", value, precision)]


def mtime_candidate(mtime: datetime | None, source: str = "mtime") -> list[Candidate]:
    if mtime is None:
        return []
    return [Candidate(source, mtime.astimezone(UTC), "second")]


def collect(
    meta: dict[str, Any] | None = None,
    video: dict[str, Any] | None = None,
    name: str = "",
    relative_dir: str = "",
    mtime: datetime | None = None,
) -> list[Candidate]:
    """Every candidate, in no particular order; sanity checks happen in confidence.py."""
    found: list[Candidate] = []
    if meta:
        found += exif_candidates(meta)
    if video:
        found += video_candidates(video)
    found += filename_candidates(name)
    found += folder_candidates(relative_dir)
    found += mtime_candidate(mtime)
    return found
