"""Kinds of date clue, as data: how far each is trusted (rank), the best confidence it can
give (cap), how far it may differ and still agree (tolerance), and what it is called for
people (label) — the one table of source names the pages show. Also the words for each
confidence level (RULES) and the tolerances (TOLERANCES). Pure: confidence.py applies
these rules, explain.py and the pages put them into words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..vocab import Confidence, Precision, has_time_of_day
from .timestamps import Candidate

RULES: list[tuple[Confidence, str]] = [
    (
        Confidence.HIGH,
        "The camera or phone recorded the capture time itself (EXIF DateTimeOriginal or CreateDate, "
        "or a phone video's creation date) and no other credible source disagrees.",
    ),
    (
        Confidence.MEDIUM,
        "Good but indirect evidence: XMP or IPTC metadata, a video file's header, GPS, a Google Takeout "
        "sidecar, or a phone's file name with a time of day. Also when a credible source differs by whole "
        "hours (a time-zone mix-up), by a few minutes, when a scan or copy was made later than the picture, "
        "or when a folder name says otherwise. Also a file's own date on the same day as a date-only name, "
        "folder or sidecar date (the two agree).",
    ),
    (
        Confidence.LOW,
        "Only weak evidence: a date without a time (a WhatsApp name, a folder), the day a messaging app "
        "sent the file, or a modification date. Also when credible sources disagree and no time zone "
        "explains it. A person should look.",
    ),
    (
        Confidence.NONE,
        "Nothing usable was found, or only the file's own date (its modification time, or an upload's "
        "lastModified): copying a file sets that to the copy day, so it is a hint, not a date. The file "
        "waits for a person, who can confirm the file date or type the right one.",
    ),
]
# The file-time rules, by name (confidence.py applies them; tests name them):
FILE_TIME_HINT = (
    "A file time alone is a hint, never a fact: a date that rests only on it has confidence NONE "
    '("No date"); the hint is kept for sorting and shown as "file date, not a real date".'
)
FILE_TIME_CORROBORATED = (
    "A file time on the same day as a date-only file name, folder name or sidecar date is that day's "
    "time of day, as far as a file can tell: MEDIUM at most."
)


@dataclass(frozen=True)
class SourceRule:
    rank: int  # lower = more trusted
    cap: Confidence  # the best confidence this source can give
    tolerance: float  # seconds of difference that still count as agreement
    label: str  # what it is, for people who never heard of EXIF (the pages show it)


SOURCES: dict[str, SourceRule] = {
    "exif:DateTimeOriginal": SourceRule(0, Confidence.HIGH, 2, "Camera: when the photo was taken"),
    "exif:CreateDate": SourceRule(1, Confidence.HIGH, 2, "Camera: when the picture was recorded"),
    "video:apple_creationdate": SourceRule(1, Confidence.HIGH, 2, "Phone video: when recording started"),
    "xmp:DateTimeOriginal": SourceRule(2, Confidence.MEDIUM, 2, "Photo program's copy: when the photo was taken"),
    "xmp:DateTimeDigitized": SourceRule(3, Confidence.MEDIUM, 2, "Photo program's copy: when the picture was recorded"),
    "iptc:DateCreated": SourceRule(3, Confidence.MEDIUM, 2, "Photo caption: date taken (typed by a person or program)"),
    "photoshop:DateCreated": SourceRule(3, Confidence.MEDIUM, 2, "Photo program: date taken"),
    "iptc:DigitalCreationDate": SourceRule(4, Confidence.MEDIUM, 2, "Photo caption: when it was scanned or digitized"),
    "xmp:CreateDate": SourceRule(4, Confidence.MEDIUM, 2, "Photo program: when the file was created"),
    "video:creation_time": SourceRule(5, Confidence.MEDIUM, 10, "Video file: creation time"),
    "takeout:photoTakenTime": SourceRule(6, Confidence.MEDIUM, 2, "Google Takeout info file: when it was taken"),
    "gps": SourceRule(7, Confidence.MEDIUM, 300, "GPS satellite clock"),
    "xmp:GPSDateTime": SourceRule(7, Confidence.MEDIUM, 300, "GPS satellite clock (copied by a photo program)"),
    "filename": SourceRule(8, Confidence.MEDIUM, 10, "File name"),
    "png:CreationTime": SourceRule(9, Confidence.LOW, 2, "Picture file: creation time"),
    "folder": SourceRule(10, Confidence.LOW, 0, "Folder name"),
    "exif:ModifyDate": SourceRule(11, Confidence.LOW, 2, "Camera or editing program: last change"),
    "xmp:ModifyDate": SourceRule(11, Confidence.LOW, 2, "Photo program: last change"),
    "png:tIME": SourceRule(12, Confidence.LOW, 2, "Picture file: last change"),
    "takeout:creationTime": SourceRule(12, Confidence.LOW, 2, "Google Photos: when it was uploaded"),
    "png:date:create": SourceRule(13, Confidence.LOW, 2, "Picture file: when a program wrote it"),
    "mtime": SourceRule(14, Confidence.LOW, 2, "File date (when the file was last changed)"),
    # Camcorders, raw files and photo programs' sidecar files:
    "video:mdpm": SourceRule(1, Confidence.HIGH, 2, "Camcorder: when recording started"),
    "video:moi": SourceRule(1, Confidence.HIGH, 2, "Camcorder: when recording started (its clip file)"),
    "makernote": SourceRule(2, Confidence.MEDIUM, 2, "Camera's own notes: date taken"),
    "xmp-sidecar": SourceRule(3, Confidence.MEDIUM, 2, "Photo program's info file beside the photo"),
}
_DEFAULT_RULE = SourceRule(9, Confidence.LOW, 2, "Another date in the file")
# The camera's own capture time: the only sources that can give HIGH.
CAPTURE_SOURCES = frozenset(source for source, r in SOURCES.items() if r.cap == Confidence.HIGH)

# Dates a person (or their software) states: clock-never-set rules do not apply to them, and
# a clash with the chosen time gives MEDIUM (LOW when more than a month beyond its margin).
PERSON_SOURCES = ("folder", "iptc:", "photoshop:DateCreated")
PERSON_MEDIUM_GAP = 31 * 86400  # seconds: beyond its margin by more than this, LOW
# Later than the capture is normal for these: a scan, an export or a copy was made afterwards.
CREATED_LATER_SOURCES = (
    "exif:CreateDate",
    "xmp:CreateDate",
    "xmp:DateTimeDigitized",
    "iptc:DigitalCreationDate",
    "xmp-sidecar:CreateDate",
    "xmp-sidecar:DateTimeDigitized",
)
# Sources written by software that writes "00:00:00" when it only knows the date.
DATE_ONLY_MIDNIGHT = ("exif:", "xmp:", "photoshop:", "png:", "xmp-sidecar:")

TOLERANCES: list[tuple[str, str]] = [
    ("Same clock (EXIF/XMP/IPTC tags, Takeout)", "2 seconds (rounding, sub-seconds)"),
    ("File names", "10 seconds (phones name the file when it is saved)"),
    ("Video header", "10 seconds plus the video's length (written when recording ends)"),
    ("GPS", "5 minutes (the position fix can be older than the photo)"),
    ("Time-zone learning", "offsets zones use: UTC-12:00..UTC+14:00, in 15-minute steps (+05:30, +05:45, ...)"),
    ("Whole hours apart", "a time-zone mix-up: MEDIUM, reported"),
    ("Up to 5 minutes beyond tolerance", "a slightly different clock: MEDIUM"),
    ("Folder names", "the folder's period plus 1 day (day), 7 days (month) or 31 days (year)"),
    ("Modified/sent/uploaded dates", "the picture cannot be newer than them (26 h of zone slack)"),
    ("GPS position", "the zone of the place (with its summer time) for a clock without an offset; never raises"),
]


def rule(source: str) -> SourceRule:
    return SOURCES.get(source) or SOURCES.get(source.split(":")[0]) or _DEFAULT_RULE


def source_rank(source: str) -> int:
    """How trusted a kind of source is, by name (lower = more trusted)."""
    return rule(source).rank


# A file's own time (modification time; for uploads the browser's lastModified): a hint.
FILE_TIME_SOURCES = frozenset({"mtime"})
# Clues that can corroborate a file time, on the same day: a name, a folder, a sidecar.
CORROBORATING_SOURCES = ("filename:", "folder", "xmp-sidecar", "takeout:")


def is_file_time(c: Candidate) -> bool:
    """A file's own time: copying resets it, so alone it is never a capture date."""
    return c.source in FILE_TIME_SOURCES


def corroborates_file_time(c: Candidate) -> bool:
    """A usable day from a name, folder or sidecar that a file time on that day agrees with
    (a "sent" day of a messaging app is a bound, not a capture day: it does not count)."""
    return (
        c.usable and c.role == "capture" and c.precision == Precision.DAY and c.source.startswith(CORROBORATING_SOURCES)
    )


def _weak_name(c: Candidate) -> bool:
    """A date-only or "sent" file name: weaker than a name with a capture time."""
    return c.source.startswith("filename:") and (c.role == "not_after" or not has_time_of_day(c.precision))


def rank(c: Candidate) -> float:
    r = rule(c.source).rank
    if _weak_name(c):
        r = 9  # a date-only or "sent" name is weaker than a name with a capture time
    elif c.role == "not_after":
        r = max(r, 11)  # an upload or modification time is only a bound (e.g. Takeout's fallback)
    return r


def cap(c: Candidate) -> Confidence:
    if _weak_name(c) or c.role in ("not_after", "weak"):
        return Confidence.LOW
    return rule(c.source).cap


def is_person(c: Candidate) -> bool:
    """A date a person (or their software) states, not a clock's record."""
    return c.source.startswith(PERSON_SOURCES) or c.source in ("filename:dated", "filename:compact_date")


# Times that did not come from a clue in the file (File.taken_source after a person acted).
_PERSON_LABELS = {"user": "Set by you", "manual": "Set by you"}


def source_label(source: str) -> str:
    """What a source of a date is, in words for people; never the internal key."""
    if source in SOURCES:
        return SOURCES[source].label
    if source in _PERSON_LABELS:
        return _PERSON_LABELS[source]
    head, _, detail = source.partition(":")
    if head == "filename" and detail:
        return f"File name ({_NAME_PATTERNS.get(detail, detail.replace('_', ' ') + ' pattern')})"
    return rule(source).label


# How people know the file-name patterns (media/filenames.py names them).
_NAME_PATTERNS = {
    "whatsapp": "WhatsApp",
    "whatsapp_export": "WhatsApp export",
    "whatsapp_ios": "WhatsApp on an iPhone",
    "signal": "Signal",
    "telegram": "Telegram",
    "pixel": "Google Pixel phone",
    "android": "Android phone",
    "android_dashed": "Android phone",
    "samsung": "Samsung phone",
    "screenshot_macos": "Mac screenshot",
    "screenshot_windows": "Windows screenshot",
    "dji": "DJI drone",
    "nextcloud": "Nextcloud upload",
    "epoch_ms": "a computer timestamp",
    "epoch_s": "a computer timestamp",
    "dated": "a date someone typed",
    "dated_time": "a date and time someone typed",
    "compact_date": "a date",
    "compact_time": "a date and time",
}


# --- noise rules: clues that look like evidence but are not ------------------------------------

# Folder names that say where files were copied, not when they were taken: backups, exports and
# device dumps ("Phone backup 2020", "Camera Roll 2008", "Old laptop export"). Their date is when
# the copy was made, so it bounds a camera date from above and never contradicts an earlier one.
BACKUP_FOLDER = re.compile(
    r"""\b(?:
        back[ -]?ups?|sicherung(?:en)?|exports?|exported|dumps?|copy|copies|kopie|sync(?:ed)?
        |transfers?|camera[ ]roll|camera[ ]uploads|dcim|takeout|icloud|google[ ]photos|onedrive|dropbox
        |(?:old|new|my|alte[sr]?|altes)[ ](?:phone|handy|iphone|laptop|computer|pc|camera|kamera)
        |phone|handy|iphone|ipad|android|galaxy|smartphone|laptop|computer|sd[ -]?card|memory[ ]card|speicherkarte
        |festplatte|hard[ ]drive|usb[ ]stick
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)


def is_backup_folder(name: str | None) -> bool:
    """Whether a folder name looks like a backup, an export or a device dump."""
    return bool(name) and BACKUP_FOLDER.search(name) is not None


# Values some devices write when they do not know the time: (sources they appear in, the wall
# clock, why). Rejected like an unset clock, so a good DateTimeOriginal beside them stays sure.
KNOWN_PLACEHOLDERS: list[tuple[tuple[str, ...], datetime, str]] = [
    (
        ("exif:CreateDate", "exif:ModifyDate", "xmp:CreateDate", "xmp:ModifyDate", "exif:DateTimeOriginal"),
        datetime(2002, 12, 8, 12, 0, 0),
        "2002-12-08 12:00:00 is what some Android phones write when they do not know the time",
    ),
]


def known_placeholder(c: Candidate) -> str | None:
    """Why this value is a known device placeholder (KNOWN_PLACEHOLDERS), or None."""
    if c.value is None:
        return None
    wall = c.value.replace(tzinfo=None, microsecond=0)
    for sources, value, why in KNOWN_PLACEHOLDERS:
        if c.source in sources and wall == value:
            return f"a placeholder: {why}"
    return None


def is_clock_reading(c: Candidate) -> bool:
    """A camera's (or phone's) own record of the moment, to the minute or second: EXIF, a
    video header, a camera-made file name — not a date a person or a folder states."""
    return (
        c.role == "capture"
        and has_time_of_day(c.precision)
        and not is_person(c)
        and not _weak_name(c)
        and rule(c.source).cap >= Confidence.MEDIUM
    )
