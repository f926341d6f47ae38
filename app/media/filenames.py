"""Dates in file names: a table of patterns, one row per naming scheme.

Each row says what its date *means*:

    local   the wall-clock time where the file was made (zone unknown; read in the
            household zone until something better is known)
    utc     an instant in UTC (Pixel camera names, epoch numbers)
    sent    the local time a messaging app sent, received or saved the file: the
            picture was taken then *or earlier*, so it is an upper bound, not a capture time

and how precise it is (second, minute, day). Adding a naming scheme is one row here plus
one line in the labelled table in tests/test_time_filenames.py.

Specific rows (anchored at the start of the name) come first; the generic rows that find a
date anywhere in a name come last and only accept plausible dates, so that phone numbers,
counters and random ids do not turn into dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Building blocks. Year 18xx-20xx; month, day, hour, minute and second in range.
_Y = r"(?P<Y>(?:18|19|20)\d{2})"
_M = r"(?P<M>0[1-9]|1[0-2])"
_D = r"(?P<D>0[1-9]|[12]\d|3[01])"
_h = r"(?P<h>[01]\d|2[0-3])"
_h12 = r"(?P<h>[01]?\d|2[0-3])"  # 1 or 2 digits, with an optional AM/PM after the time
_m = r"(?P<m>[0-5]\d)"
_s = r"(?P<s>[0-5]\d)"
_ms = r"(?P<ms>\d{3})"
_AMPM = r"(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?"
_DATE8 = _Y + _M + _D
_TIME6 = _h + _m + _s
_Y2 = r"(?P<y2>\d{2})"  # a two-digit year: only where the rest of the name makes it unambiguous
# "Screenshot" as macOS writes it in its languages, and the word before the time.
_SCREENSHOT_WORDS = (
    r"Screenshot|Screen Shot|Screen Recording|Bildschirmfoto|Bildschirmaufnahme|Capture d[’']écran"
    r"|Enregistrement de l[’']écran|Captura de pantalla|Grabación de pantalla|Captura de Tela|Captura de ecrã"
    r"|Schermafbeelding|Schermopname|Istantanea schermo|Schermata|Skärmavbild|Skjermbilde|Skærmbillede"
    r"|Näyttökuva|Zrzut ekranu|Snímek obrazovky|Snímka obrazovky|Képernyőfotó|Ekran Resmi|Снимок экрана"
    r"|スクリーンショット|截屏|屏幕快照|스크린샷"
)
_SCREENSHOT_JOINS = r"at|um|à|a las|a la\(s\)|às|om|alle ore|alle|kl\.?|kello|o|в|"


@dataclass(frozen=True)
class FilenamePattern:
    name: str
    regex: str
    meaning: str  # local | utc | sent
    precision: str  # second | minute | day
    example: str
    generic: bool = False  # finds a date anywhere in the name: weaker evidence

    @property
    def compiled(self) -> re.Pattern:
        return _COMPILED[self.name]


PATTERNS: list[FilenamePattern] = [
    # Google Pixel camera: UTC, with milliseconds.
    FilenamePattern("pixel", rf"^PXL_{_DATE8}_{_TIME6}{_ms}", "utc", "second", "PXL_20190615_123000123.jpg"),
    # Google Camera bursts: 00000IMG_00000_BURST20190615143000123_COVER.jpg
    FilenamePattern(
        "burst", rf"BURST{_DATE8}{_TIME6}{_ms}", "local", "second", "00000IMG_00000_BURST20190615143000123_COVER.jpg"
    ),
    # WhatsApp on the phone: the day it was sent or received, no time.
    FilenamePattern(
        "whatsapp", rf"^(?:IMG|VID|AUD|PTT|STK|DOC)-{_DATE8}-WA\d{{4}}", "sent", "day", "IMG-20190615-WA0001.jpg"
    ),
    # WhatsApp desktop/web and Android exports (24-hour or 12-hour clock).
    FilenamePattern(
        "whatsapp_export",
        rf"^WhatsApp (?:Image|Video|Audio|Ptt|Sticker|Gif) {_Y}-{_M}-{_D} at {_h12}[.:]{_m}[.:]{_s}{_AMPM}",
        "sent",
        "second",
        "WhatsApp Image 2019-06-15 at 14.30.00.jpeg",
    ),
    # WhatsApp on iOS, "export chat" / saved media.
    FilenamePattern(
        "whatsapp_ios",
        rf"^(?:PHOTO|VIDEO|AUDIO|STICKER|GIF)-{_Y}-{_M}-{_D}-{_h}-{_m}-{_s}",
        "sent",
        "second",
        "PHOTO-2019-06-15-14-30-00.jpg",
    ),
    # Signal saves attachments under the time they were saved.
    FilenamePattern(
        "signal", rf"^signal-{_Y}-{_M}-{_D}-{_h}-?{_m}-?{_s}", "sent", "second", "signal-2019-06-15-143000.jpg"
    ),
    # Telegram Desktop exports.
    FilenamePattern(
        "telegram",
        rf"^(?:photo|video|file)_{_Y}-{_M}-{_D}_{_h}-{_m}-{_s}",
        "sent",
        "second",
        "photo_2019-06-15_14-30-00.jpg",
    ),
    # macOS screenshots and screen recordings, in the languages macOS names them in (24- or
    # 12-hour clock; newer versions put a narrow no-break space before AM/PM).
    FilenamePattern(
        "screenshot_macos",
        rf"^(?:{_SCREENSHOT_WORDS})\s?{_Y}[-_]{_M}[-_]{_D}(?:,?\s+(?:{_SCREENSHOT_JOINS}))?\s+"
        rf"{_h12}[.:]{_m}[.:]{_s}{_AMPM}",
        "local",
        "second",
        "Screenshot 2019-06-15 at 14.30.00.png",
    ),
    # Windows 11 Snipping Tool.
    FilenamePattern(
        "screenshot_windows",
        rf"^Screenshot {_Y}-{_M}-{_D} {_TIME6}(?!\d)",
        "local",
        "second",
        "Screenshot 2024-01-15 093012.png",
    ),
    # Android cameras and screenshots (most brands): IMG_20190615_143000, Screenshot_20190615-143000_Chrome.
    FilenamePattern(
        "android",
        rf"^(?:IMG|VID|MVIMG|PANO|PORTRAIT|NIGHT|BURST\d*|TRIM|Screenshot|Screen_Recording|Screenrecorder|screen)"
        rf"[_-]{_DATE8}[_-]{_TIME6}(?!\d)",
        "local",
        "second",
        "IMG_20190615_143000.jpg",
    ),
    # Older Android and MIUI screenshots: Screenshot_2019-06-15-14-30-00.
    FilenamePattern(
        "android_dashed",
        rf"^(?:Screenshot|IMG|VID)_{_Y}-{_M}-{_D}-{_h}-{_m}-{_s}(?!\d)",
        "local",
        "second",
        "Screenshot_2019-06-15-14-30-00.png",
    ),
    # Dropbox / Google Photos desktop camera uploads.
    FilenamePattern(
        "dropbox", rf"^{_Y}-{_M}-{_D} {_h}\.{_m}\.{_s}(?!\d)", "local", "second", "2019-06-15 14.30.00.jpg"
    ),
    # Nextcloud's camera upload ("yy-MM-dd HH-mm-ss", then the original's counter or size).
    FilenamePattern(
        "nextcloud",
        rf"^{_Y2}-{_M}-{_D} {_h}-{_m}-{_s}(?!\d)",
        "local",
        "second",
        "22-04-06 15-21-03 2160.jpg",
    ),
    # Samsung camera.
    FilenamePattern("samsung", rf"^{_DATE8}_{_TIME6}(?!\d)", "local", "second", "20190615_143000.jpg"),
    # DJI drones and Osmo cameras.
    FilenamePattern("dji", rf"^DJI_{_DATE8}{_TIME6}_\d{{4}}", "local", "second", "DJI_20190615143000_0001_D.JPG"),
    # Windows Phone / Lumia.
    FilenamePattern(
        "windows_phone", rf"^WP_{_DATE8}_{_h}_{_m}_{_s}", "local", "second", "WP_20140615_14_30_00_Pro.jpg"
    ),
    # Epoch numbers (Facebook, WeChat, many apps): the whole name, optionally behind a known prefix.
    FilenamePattern(
        "epoch_ms",
        r"^(?:FB_IMG_|mmexport|wx_camera_|IMG_|VID_|image_|photo_|video_)?(?P<epoch_ms>1\d{12})(?:[_-]\d{1,3}|\s?\(\d+\))?$",
        "utc",
        "second",
        "1560601800123.jpg",
    ),
    FilenamePattern(
        "epoch_s",
        r"^(?:FB_IMG_|mmexport|IMG_|VID_|image_|photo_|video_)?(?P<epoch_s>1\d{9})(?:[_-]\d{1,3}|\s?\(\d+\))?$",
        "utc",
        "second",
        "1560601800.jpg",
    ),
    # Generic rows: a date anywhere in the name, with or without a time.
    FilenamePattern(
        "dated_time",
        rf"(?<!\d){_Y}(?P<ds>[-_. ]){_M}(?P=ds){_D}[ _T.-]+{_h}(?P<ts>[-_.:]){_m}(?P=ts){_s}(?!\d)",
        "local",
        "second",
        "Party 2019-06-15 14-30-00.jpg",
        generic=True,
    ),
    FilenamePattern(
        "compact_time",
        rf"(?<!\d){_DATE8}[_T-]?{_TIME6}(?!\d)",
        "local",
        "second",
        "scan_20190615-143000.jpg",
        generic=True,
    ),
    FilenamePattern(
        "dated",
        rf"(?<!\d){_Y}(?P<sep>[-_.]){_M}(?P=sep){_D}(?!\d)",
        "local",
        "day",
        "2019-06-15 Birthday.jpg",
        generic=True,
    ),
    FilenamePattern("compact_date", rf"(?<!\d){_DATE8}(?!\d)", "local", "day", "scan_20190615.jpg", generic=True),
]

_COMPILED = {p.name: re.compile(p.regex, re.IGNORECASE) for p in PATTERNS}
_NAMES = {p.name for p in PATTERNS}
assert len(_NAMES) == len(PATTERNS), "pattern names must be unique"

# Epoch numbers and generic dates are only believed inside this window.
EPOCH_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
GENERIC_FLOOR_YEAR = 1900


@dataclass(frozen=True)
class FilenameDate:
    pattern: FilenamePattern
    value: datetime  # naive for local/sent, aware UTC for utc
    precision: str
    text: str  # the part of the name that matched


def stem_of(name: str) -> str:
    """The name without its media extension ('2019-06-15 14.30.00.jpg' -> '2019-06-15 14.30.00').

    Only an extension that looks like one is removed, so a name without one keeps its dots."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    head, dot, ext = base.rpartition(".")
    if dot and head and 1 <= len(ext) <= 5 and ext.isalnum() and not ext.isdigit():
        return head
    return base


TWO_DIGIT_1900S = 90  # a two-digit year from 90 is 19xx; up to this year's, 20xx; between: no date


def _year(g: dict, now: datetime) -> int | None:
    if g.get("Y"):
        return int(g["Y"])
    yy = int(g["y2"])
    if 2000 + yy <= now.year:
        return 2000 + yy
    return 1900 + yy if yy >= TWO_DIGIT_1900S else None


def _build(p: FilenamePattern, g: dict, now: datetime) -> datetime | None:
    if g.get("epoch_ms") or g.get("epoch_s"):
        seconds = int(g["epoch_ms"]) / 1000 if g.get("epoch_ms") else int(g["epoch_s"])
        value = datetime.fromtimestamp(seconds, UTC)
        return value if EPOCH_FLOOR <= value <= now + timedelta(days=1) else None
    hour = int(g.get("h") or 0)
    ampm = (g.get("ampm") or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    year = _year(g, now)
    if year is None:
        return None
    try:
        value = datetime(year, int(g["M"]), int(g["D"]), hour, int(g.get("m") or 0), int(g.get("s") or 0))
    except ValueError:
        return None  # 31 June and the like: not a date
    if g.get("ms"):
        value = value.replace(microsecond=int(g["ms"]) * 1000)
    if p.meaning == "utc":
        value = value.replace(tzinfo=UTC)
    if p.generic:
        # A generic match must be a plausible date, or digits in a name become dates.
        naive_now = now.astimezone(UTC).replace(tzinfo=None)
        if value.year < GENERIC_FLOOR_YEAR or value.replace(tzinfo=None) > naive_now + timedelta(days=1):
            return None
    return value


def match(name: str, now: datetime | None = None) -> FilenameDate | None:
    """The first pattern (most specific first) that gives a real date for this file name."""
    now = now or datetime.now(UTC)
    stem = stem_of(name)
    for p in PATTERNS:
        for m in p.compiled.finditer(stem):
            value = _build(p, m.groupdict(), now)
            if value is not None:
                return FilenameDate(p, value, p.precision, m.group(0))
            if p.regex.startswith("^"):
                break  # an anchored row matches once
    return None
