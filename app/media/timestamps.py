"""Capture-time candidates from every source a file has.

Each candidate says where it came from, what it says, how precise it is, and what it
knows about the time zone:

    zone "local"   a wall-clock time; the zone it was taken in is unknown
    zone "offset"  a wall-clock time with the UTC offset the device wrote beside it
    zone "utc"     an instant (GPS, the QuickTime/MP4 header, Pixel names, epoch numbers,
                   Takeout sidecars, file times); the local wall clock is unknown

and its role: "capture" (evidence of when the picture was taken), "not_after" (an upper
bound: modified, sent or uploaded then, so taken then or earlier) or "weak" (a date about
the file, not the picture: copy times). Sanity checks and the choice happen in
confidence.py; a rejected candidate stays in the list with its reason.

Pure functions of already-read facts: the metadata dict from exif.py (plus its "video"
part from video.py), the name and folder a person gave, the file time, and a Takeout
sidecar's facts from sidecars.py. Re-running detection needs nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import PurePath
from typing import Any

from ..vocab import Precision
from ..wording import MONTH_WORDS
from . import filenames, sidecars

ZONES = ("local", "offset", "utc")
ROLES = ("capture", "not_after", "weak")


@dataclass
class Candidate:
    source: str  # e.g. "exif:DateTimeOriginal", "filename:android", "folder", "mtime"
    value: datetime | None  # naive for zone "local"; aware otherwise; None when unreadable
    precision: str = Precision.SECOND  # a Precision value
    zone: str = "local"
    role: str = "capture"
    rejected: str | None = None  # why this value cannot be the capture time
    note: str | None = None  # anything else a person should know about it
    raw: str | None = None  # the text it was read from
    slack: float | None = None  # extra seconds of tolerance (a video's length)

    @property
    def zone_known(self) -> bool:
        return self.zone != "local"

    @property
    def usable(self) -> bool:
        return self.value is not None and not self.rejected

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["timestamp"] = data.pop("value").isoformat() if self.value is not None else None
        return {k: v for k, v in data.items() if v is not None or k == "timestamp"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        text = data.get("timestamp")
        value = datetime.fromisoformat(text) if text else None
        if value is not None and value.year == 1 and data.get("rejected"):
            value = None  # older rows stored 0001-01-01 for "no value"
        zone = data.get("zone") or ("local" if value is None or value.tzinfo is None else "offset")
        return cls(
            source=data["source"],
            value=value,
            precision=data.get("precision", Precision.SECOND),
            zone=zone,
            role=data.get("role", "capture"),
            rejected=data.get("rejected"),
            note=data.get("note"),
            raw=data.get("raw"),
            slack=data.get("slack"),
        )


# --- reading date text ------------------------------------------------------------------------


def parse_offset(text: str | None) -> timezone | None:
    """'+02:00', '-0530', '+1:00', 'Z' -> a fixed offset; None when absent or malformed."""
    if not text:
        return None
    text = text.strip()
    if text in ("Z", "z", "UTC", "GMT"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})", text)
    if not m:
        return None
    minutes = int(m[2]) * 60 + int(m[3])
    if minutes > 14 * 60 or int(m[3]) >= 60:
        return None
    return timezone(timedelta(minutes=minutes if m[1] == "+" else -minutes))


_DATETIME = re.compile(
    r"""^\s*(?P<Y>\d{4})
    (?:[:\-/.](?P<M>\d{1,2})
      (?:[:\-/.](?P<D>\d{1,2})
        (?:[ T]+(?P<h>\d{1,2})(?::(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?)?)?
      )?
    )?
    \s*(?P<tz>Z|z|[+-]\d{1,2}:?\d{2})?\s*$""",
    re.X,
)
_COMPACT = re.compile(r"^\s*(?P<Y>\d{4})(?P<M>\d{2})(?P<D>\d{2})\s*$")  # IPTC dates: 20190615


@dataclass(frozen=True)
class Parsed:
    value: datetime | None  # naive wall clock (the zone, if any, is in `tz`)
    precision: str | None
    tz: str | None = None  # the zone text found ("Z", "+02:00")
    problem: str | None = None  # why there is no value


def parse_datetime(text: Any, subsec: Any = None) -> Parsed:
    """'2019:06:15 14:30:00', '2019-06-15T14:30:00.5+02:00', '2003-08-31', '2005-12', '20190615'.

    Missing parts lower the precision (a date alone is "day"); a month or day of 00 means
    "unknown" in EXIF and lowers it too."""
    if text is None:
        return Parsed(None, None, problem="empty")
    raw = str(text).replace("\x00", "").strip()
    if not raw:
        return Parsed(None, None, problem="empty")
    if set(raw) <= set("0: -T.+Z") or raw.startswith("0000"):
        return Parsed(None, None, problem="placeholder (all zeros)")
    m = _DATETIME.match(raw) or _COMPACT.match(raw)
    if not m:
        return Parsed(None, None, problem=f"not a date: {raw[:40]!r}")
    g = m.groupdict()
    year, month, day = int(g["Y"]), int(g.get("M") or 0), int(g.get("D") or 0)
    if g.get("M") is None or month == 0:
        precision, month, day, hms = Precision.YEAR, 1, 1, (0, 0, 0)
    elif g.get("D") is None or day == 0:
        precision, day, hms = Precision.MONTH, 1, (0, 0, 0)
    elif g.get("h") is None:
        precision, hms = Precision.DAY, (0, 0, 0)
    else:
        if g.get("m") is None:  # an hour without minutes: keep only the day, invent nothing
            precision, hms = Precision.DAY, (0, 0, 0)
        else:
            precision = Precision.SECOND if g.get("s") is not None else Precision.MINUTE
            hms = (int(g["h"]), int(g["m"]), int(g.get("s") or 0))
    try:
        value = datetime(year, month, day, *hms)
    except ValueError:
        return Parsed(None, None, problem=f"impossible date {raw[:40]!r}")
    frac = g.get("frac")
    if not frac and subsec is not None and precision == Precision.SECOND:
        sub = str(subsec).replace("\x00", "").strip()
        frac = sub if sub.isdigit() else None
    if frac:
        value = value.replace(microsecond=int(frac[:6].ljust(6, "0")))
    return Parsed(value, precision, g.get("tz"))


def _with_zone(parsed: Parsed, offset_text: str | None, *, zero_is_unknown: bool, z_is_instant: bool):
    """(value, zone) for a parsed time and the offset written beside it (or inside it)."""
    value, tz_text = parsed.value, parsed.tz or offset_text
    tz = parse_offset(tz_text) if tz_text else None
    if value is None or tz is None:
        return value, "local"
    if tz_text and tz_text.strip() in ("Z", "z") and z_is_instant:
        return value.replace(tzinfo=UTC), "utc"
    if zero_is_unknown and tz.utcoffset(None) == timedelta(0):
        # Lightroom and IPTC writers put +00:00 where they do not know the zone.
        return value, "local"
    return value.replace(tzinfo=tz), "offset"


def _from_text(source, text, *, subsec=None, offset=None, role="capture", zero_is_unknown=False, z_is_instant=False):
    if text is None or not str(text).strip():
        return None
    parsed = parse_datetime(text, subsec)
    raw = str(text).replace("\x00", "").strip()[:60]
    if parsed.value is None:
        return Candidate(source, None, role=role, rejected=parsed.problem, raw=raw)
    value, zone = _with_zone(parsed, offset, zero_is_unknown=zero_is_unknown, z_is_instant=z_is_instant)
    return Candidate(source, value, parsed.precision, zone=zone, role=role, raw=raw)


# --- EXIF, GPS, XMP, IPTC, PNG ------------------------------------------------------------------


def _offset_for(meta: dict[str, Any], own_key: str, text: str | None) -> str | None:
    """The offset tag for a date; phones sometimes write only OffsetTime, which then holds
    for every date with the same text."""
    own = meta.get(own_key)
    if own:
        return own
    for date_key, offset_key in (
        ("datetime_original", "offset_original"),
        ("datetime_digitized", "offset_digitized"),
        ("datetime", "offset"),
    ):
        if meta.get(offset_key) and meta.get(date_key) == text:
            return meta[offset_key]
    return None


def gps_candidate(gps_date: Any, gps_time: Any) -> Candidate | None:
    """GPS date stamp + time stamp: an instant in UTC (a date alone: a UTC day)."""
    if not gps_date:
        return None
    raw = f"{gps_date} {gps_time or ''}".strip()
    parsed = parse_datetime(str(gps_date).split(" ")[0])
    if parsed.value is None or parsed.precision != Precision.DAY:
        return Candidate("gps", None, rejected=f"invalid GPS date {raw[:40]!r}", raw=raw[:60])
    day = parsed.value.replace(tzinfo=UTC)
    if not gps_time:
        return Candidate("gps", day, Precision.DAY, zone="utc", raw=raw[:60], note="GPS date without a time")
    try:
        h, m, s = (float(x) for x in gps_time)
    except (TypeError, ValueError):
        return Candidate("gps", None, rejected=f"invalid GPS time {gps_time!r}", raw=raw[:60])
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):
        return Candidate("gps", None, rejected=f"invalid GPS time {raw[:40]!r}", raw=raw[:60])
    instant = day + timedelta(hours=h, minutes=m, seconds=s)
    return Candidate("gps", instant.replace(microsecond=0), zone="utc", raw=raw[:60])


def exif_candidates(meta: dict[str, Any]) -> list[Candidate]:
    """EXIF DateTimeOriginal/CreateDate/ModifyDate with sub-seconds and offsets, and GPS."""
    dto, digitized, modified = meta.get("datetime_original"), meta.get("datetime_digitized"), meta.get("datetime")
    found = [
        _from_text(
            "exif:DateTimeOriginal",
            dto,
            subsec=meta.get("subsec_original"),
            offset=_offset_for(meta, "offset_original", dto),
        ),
        _from_text(
            "exif:CreateDate",
            digitized,
            subsec=meta.get("subsec_digitized"),
            offset=_offset_for(meta, "offset_digitized", digitized),
        ),
        _from_text(
            "exif:ModifyDate",
            modified,
            subsec=meta.get("subsec"),
            offset=_offset_for(meta, "offset", modified),
            role="not_after",
        ),
        gps_candidate(meta.get("gps_date"), meta.get("gps_time")),
    ]
    return [c for c in found if c is not None]


def xmp_candidates(meta: dict[str, Any]) -> list[Candidate]:
    """XMP dates. 'Z' means the writer converted to UTC (an instant); '+00:00' is what
    Lightroom writes when it does not know the zone, so it is read as 'zone unknown'."""
    opts = {"zero_is_unknown": True, "z_is_instant": True}
    found = [
        _from_text("xmp:DateTimeOriginal", meta.get("xmp_datetime_original"), **opts),
        _from_text("xmp:DateTimeDigitized", meta.get("xmp_datetime_digitized"), **opts),
        _from_text("photoshop:DateCreated", meta.get("photoshop_date_created"), **opts),
        _from_text("xmp:CreateDate", meta.get("xmp_create_date"), **opts),
        _from_text("xmp:ModifyDate", meta.get("xmp_modify_date"), role="not_after", **opts),
    ]
    gps = meta.get("xmp_gps_datetime")
    if gps:
        c = _from_text("xmp:GPSDateTime", gps, **opts)
        if c is not None and c.value is not None and c.value.tzinfo is None:
            c.value, c.zone = c.value.replace(tzinfo=UTC), "utc"  # GPS time is UTC by definition
        elif c is not None and c.value is not None:
            c.value, c.zone = c.value.astimezone(UTC), "utc"
        found.append(c)
    return [c for c in found if c is not None]


def _iptc(source: str, date: Any, time: Any) -> Candidate | None:
    if not date:
        return None
    text = str(date).strip()
    time_text = str(time or "").strip()
    m = re.fullmatch(r"(\d{2}):?(\d{2}):?(\d{2})\s*([+-]\d{2}:?\d{2})?", time_text)
    # A TimeCreated of 00:00:00 is what writers put when only the date is known.
    if m and (m[1], m[2], m[3]) != ("00", "00", "00"):
        text = (
            f"{text[:4]}-{text[4:6]}-{text[6:8]}T{m[1]}:{m[2]}:{m[3]}"
            if text.isdigit()
            else f"{text} {m[1]}:{m[2]}:{m[3]}"
        )
        return _from_text(source, text, offset=m[4], zero_is_unknown=True)
    return _from_text(source, text)


def iptc_candidates(meta: dict[str, Any]) -> list[Candidate]:
    found = [
        _iptc("iptc:DateCreated", meta.get("iptc_date_created"), meta.get("iptc_time_created")),
        _iptc("iptc:DigitalCreationDate", meta.get("iptc_digital_date"), meta.get("iptc_digital_time")),
    ]
    return [c for c in found if c is not None]


def _free_text_date(source: str, text: Any, role: str) -> Candidate | None:
    """PNG text chunks hold free text: ISO/EXIF style or e-mail style (RFC 1123)."""
    if not text:
        return None
    c = _from_text(source, text, role=role, z_is_instant=True)
    if c is not None and c.value is None:
        try:
            value = parsedate_to_datetime(str(text))
        except (TypeError, ValueError, IndexError):
            return c
        zone = "utc" if value.tzinfo is not None else "local"
        return Candidate(source, value, zone=zone, role=role, raw=str(text)[:60])
    return c


def png_candidates(meta: dict[str, Any]) -> list[Candidate]:
    found = [
        _free_text_date("png:CreationTime", meta.get("png_creation_time"), "capture"),
        _free_text_date("png:date:create", meta.get("png_date_create"), "weak"),
    ]
    modified = meta.get("png_time")  # tIME: last modification, UTC by the PNG specification
    if modified:
        c = _from_text("png:tIME", modified, role="not_after")
        if c is not None and c.value is not None:
            c.value, c.zone = c.value.replace(tzinfo=UTC), "utc"
        found.append(c)
    return [c for c in found if c is not None]


# --- video -------------------------------------------------------------------------------------


def video_candidates(video: dict[str, Any]) -> list[Candidate]:
    """Apple's creation date (local time + offset) and the container time (UTC in MP4/MOV
    and Matroska; the camera's local time in AVI)."""
    found = []
    apple = _from_text("video:apple_creationdate", video.get("apple_creationdate"))
    if apple is not None:
        found.append(apple)
    created = video.get("creation_time")
    if created:
        c = _from_text("video:creation_time", created, z_is_instant=True)
        if c is not None and c.value is not None and c.zone == "offset":
            c.value, c.zone = c.value.astimezone(UTC), "utc"
        if c is not None:
            # The header may be written when recording ends, or when the file is saved.
            duration = video.get("duration")
            c.slack = round(float(duration), 1) if isinstance(duration, int | float) and duration > 0 else None
            found.append(c)
    return found


def stream_candidates(video: dict[str, Any]) -> list[Candidate]:
    """Camcorder dates from the stream itself: AVCHD's recording time (local time with its
    zone, from the H.264 MDPM data) and a JVC/Panasonic `.MOI` file's (local time)."""
    # A camcorder whose zone was never set writes +00:00: read as "zone unknown".
    mdpm = _from_text("video:mdpm", video.get("recorded"), zero_is_unknown=True)
    if mdpm is not None and video.get("recorded_note"):
        mdpm.note = video["recorded_note"]
    found = [mdpm, _from_text("video:moi", video.get("moi_recorded"))]
    return [c for c in found if c is not None]


def maker_candidates(meta: dict[str, Any]) -> list[Candidate]:
    """A capture date only the maker notes or a vendor segment hold (trail cameras, FLIR,
    Casio, old Olympus), as exiftool read it: trusted less than EXIF DateTimeOriginal."""
    dates = meta.get("maker_dates") or {}
    ordered = sorted(dates.items(), key=lambda kv: (not kv[0].endswith(":DateTimeOriginal"), kv[0]))
    for group, text in ordered:
        c = _from_text("makernote:DateTimeOriginal", text)
        if c is not None:
            c.note = f"read by exiftool from {group.rpartition(':')[0]}"
            return [c]
    return []


def xmp_sidecar_candidates(meta: dict[str, Any]) -> list[Candidate]:
    """Dates from a standalone XMP sidecar (darktable, digiKam, Lightroom), read like the
    XMP inside a file but named apart: software wrote them beside the picture."""
    facts = meta.get("xmp_sidecar") or {}
    found = xmp_candidates(facts.get("dates") or {})
    for c in found:
        c.source = "xmp-sidecar:" + c.source.split(":", 1)[-1]
        c.note = c.note or f"from {facts.get('file')}"
    return found


# --- Google Takeout sidecar ---------------------------------------------------------------------


def sidecar_candidates(sidecar: dict[str, Any] | None) -> list[Candidate]:
    if not sidecar:
        return []
    found = []
    taken, created = sidecar.get("photo_taken"), sidecar.get("created")
    source_file = sidecar.get("file")
    if taken is not None:
        value = sidecars.epoch_to_utc(taken)
        c = Candidate("takeout:photoTakenTime", value, zone="utc", raw=str(taken), note=source_file)
        if value is None:
            c.rejected = f"not a time: {taken!r}"
        elif created is not None and abs(int(taken) - int(created)) <= 2:
            # Google Photos fills photoTakenTime with the upload time when it found no date.
            c.role = "not_after"
            c.note = "same as the upload time: Google Photos may not have known when it was taken"
        found.append(c)
    if created is not None:
        value = sidecars.epoch_to_utc(created)
        c = Candidate("takeout:creationTime", value, zone="utc", role="not_after", raw=str(created))
        if value is None:
            c.rejected = f"not a time: {created!r}"
        found.append(c)
    return found


# --- file names, folders, file time -------------------------------------------------------------


def filename_candidates(name: str, now: datetime | None = None) -> list[Candidate]:
    found = filenames.match(name, now)
    if found is None:
        return []
    p = found.pattern
    return [
        Candidate(
            f"filename:{p.name}",
            found.value,
            found.precision,
            zone="utc" if p.meaning == "utc" else "local",
            role="not_after" if p.meaning == "sent" else "capture",
            raw=found.text,
        )
    ]


_FOLDER_RULES = [
    # (regex, precision); Y/M/D groups. The first that matches a folder name wins.
    (
        re.compile(
            r"^(?P<Y>(?:18|19|20)\d{2})(?P<sep>[-_. ])(?P<M>0?[1-9]|1[0-2])(?P=sep)(?P<D>0?[1-9]|[12]\d|3[01])(?!\d)"
        ),
        Precision.DAY,
    ),
    (re.compile(r"^(?P<Y>(?:18|19|20)\d{2})(?P<M>0[1-9]|1[0-2])(?P<D>0[1-9]|[12]\d|3[01])(?!\d)"), Precision.DAY),
    (
        re.compile(r"(?<!\d)(?P<D>0?[1-9]|[12]\d|3[01])\.(?P<M>0?[1-9]|1[0-2])\.(?P<Y>(?:18|19|20)\d{2})(?!\d)"),
        Precision.DAY,
    ),
    (
        re.compile(r"(?<!\d)(?P<Y>(?:18|19|20)\d{2})-(?P<M>0[1-9]|1[0-2])-(?P<D>0[1-9]|[12]\d|3[01])(?!\d)"),
        Precision.DAY,
    ),
    (re.compile(r"^(?P<Y>(?:18|19|20)\d{2})[-_. ](?P<M>0?[1-9]|1[0-2])(?![\d.])"), Precision.MONTH),
    (re.compile(r"^(?P<month>[a-zäA-ZÄ]{3,9})\.? (?P<Y>(?:18|19|20)\d{2})$"), Precision.MONTH),
    (re.compile(r"^(?P<Y>(?:18|19|20)\d{2})(?!\d)"), Precision.YEAR),
    (re.compile(r"^\D.* (?P<Y>(?:18|19|20)\d{2})$"), Precision.YEAR),  # "Summer 2019", "Weihnachten 2018"
]


def _month_number(word: str) -> int | None:
    word = word.lower().rstrip(".")
    if word in MONTH_WORDS:
        return MONTH_WORDS[word]
    matches = {n for name, n in MONTH_WORDS.items() if len(word) >= 3 and name.startswith(word)}
    return matches.pop() if len(matches) == 1 else None


def _folder_date(part: str) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) a folder name states, or None."""
    for rx, precision in _FOLDER_RULES:
        m = rx.search(part)
        if not m:
            continue
        g = m.groupdict()
        month = _month_number(g["month"]) if g.get("month") else g.get("M")
        if month is None and precision == Precision.MONTH:
            continue
        day = int(g["D"]) if precision == Precision.DAY else None
        return int(g["Y"]), (int(month) if precision != Precision.YEAR else None), day
    return None


def folder_candidates(relative_dir: str, now: datetime | None = None) -> list[Candidate]:
    """Dates a person put in folder names: '2019/06/15', '2019-06 Holiday', '2008',
    'Summer 2019', '15.06.2019 Party'. Weak and coarse; the deepest dated folder wins, and
    a bare month or day number directly under it refines it."""
    now = now or datetime.now(UTC)
    parts = [p for p in PurePath(relative_dir.replace("\\", "/")).parts if p not in ("/", "", ".", "..")]
    year = month = day = None
    extendable = False  # the previous folder was a date that a bare number may refine
    source_part = None
    for part in parts:
        found = _folder_date(part)
        if found:
            year, month, day = found
            extendable, source_part = day is None, part
            continue
        if extendable and year and part.isdigit() and len(part) <= 2:
            number = int(part)
            if month is None and 1 <= number <= 12:
                month, source_part = number, f"{source_part}/{part}"
                continue
            if month is not None and day is None and 1 <= number <= 31:
                day, extendable, source_part = number, False, f"{source_part}/{part}"
                continue
        extendable = False
    if not year or year > now.year or year < 1826:
        return []
    try:
        value = datetime(year, month or 1, day or 1)
    except ValueError:
        return []
    precision = Precision.DAY if day else (Precision.MONTH if month else Precision.YEAR)
    return [Candidate("folder", value, precision, raw=source_part)]


def mtime_candidate(mtime: datetime | None, source: str = "mtime") -> list[Candidate]:
    """The file's modification time (for uploads: the browser's lastModified): weakest."""
    if mtime is None:
        return []
    value = mtime if mtime.tzinfo else mtime.replace(tzinfo=UTC)
    return [Candidate(source, value.astimezone(UTC).replace(microsecond=0), zone="utc", role="weak")]


def collect(
    meta: dict[str, Any] | None = None,
    video: dict[str, Any] | None = None,
    name: str = "",
    relative_dir: str = "",
    mtime: datetime | None = None,
    sidecar: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> list[Candidate]:
    """Every candidate, in no particular order; sanity checks happen in confidence.py."""
    found: list[Candidate] = []
    if meta:
        found += exif_candidates(meta)
        found += xmp_candidates(meta)
        found += iptc_candidates(meta)
        found += png_candidates(meta)
        found += maker_candidates(meta)
        found += xmp_sidecar_candidates(meta)
    if video:
        found += video_candidates(video)
        found += stream_candidates(video)
    found += sidecar_candidates(sidecar)
    found += filename_candidates(name, now)
    found += folder_candidates(relative_dir, now)
    found += mtime_candidate(mtime)
    return found
