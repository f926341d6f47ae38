"""Words and numbers for people: time sources, confidence, sizes, dates (Jinja filters)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from ..media import clues
from ..vocab import Confidence, Precision
from ..wording import MONTH_NAMES, format_offset, size_text

CONFIDENCE = {
    Confidence.HIGH: ("Sure", "The date comes from the camera and nothing disagrees."),
    Confidence.MEDIUM: ("Likely", "A good clue, but not the camera's own record of the moment."),
    Confidence.LOW: ("Doubtful", "Only a weak clue, or the clues disagree. Worth a look."),
    Confidence.NONE: ("No date", "MediaParser found no usable date. Please set one."),
}

PRECISION = {
    Precision.SECOND: "exact to the second",
    Precision.MINUTE: "exact to the minute",
    Precision.DAY: "day only",
    Precision.MONTH: "month only",
    Precision.YEAR: "year only",
}


def source_label(source: str | None) -> str:
    """Where a date came from, in people's words (the one table is media/clues.py)."""
    return clues.source_label(source) if source else "—"


def confidence_label(value: str | None) -> str:
    return CONFIDENCE[Confidence.of(value)][0]


def confidence_help(value: str | None) -> str:
    return CONFIDENCE[Confidence.of(value)][1]


def offset_text(minutes: int | None) -> str:
    return "" if minutes is None else f"UTC{format_offset(minutes)}"


def local_time(value: str | None, precision: str | None = Precision.SECOND) -> str:
    """'2019-06-15T14:30:00' -> '15 June 2019, 14:30:00', cut to the known precision."""
    if not value:
        return "No date"
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return value
    if dt.year <= 1:
        return "unreadable"
    precision = precision or Precision.SECOND
    if precision == Precision.YEAR:
        return f"{dt.year}"
    if precision == Precision.MONTH:
        return f"{MONTH_NAMES[dt.month - 1]} {dt.year}"
    date = f"{dt.day} {MONTH_NAMES[dt.month - 1]} {dt.year}"
    if precision == Precision.DAY:
        return date
    if precision == Precision.MINUTE:
        return f"{date}, {dt:%H:%M}"
    return f"{date}, {dt:%H:%M:%S}"


def short_time(value: str | None, precision: str | None = Precision.SECOND) -> str:
    """Compact form for grid tiles: '2019-06-15 14:30'."""
    if not value:
        return "No date"
    text = value.replace("T", " ")
    cut = {Precision.YEAR: 4, Precision.MONTH: 7, Precision.DAY: 10}.get(precision or Precision.SECOND, 16)
    return text[:cut]


def file_size(num: int | None) -> str:
    """A file's size as people read it (the one wording for sizes); unknown -> a dash."""
    return "—" if num is None else size_text(num)


def duration(seconds: float | None) -> str:
    if not seconds:
        return ""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def number(value: int | None) -> str:
    return f"{value or 0:,}".replace(",", "\u202f")  # narrow no-break space: 12 345


def eta(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"


def camera(make: str | None, model: str | None) -> str:
    """'Canon' + 'Canon EOS 40D' -> 'Canon EOS 40D' (models often repeat the make)."""
    make, model = (make or "").strip(), (model or "").strip()
    if model and make and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(p for p in (make, model) if p) or "unknown"


def in_zone(value: datetime | None, zone: str) -> str:
    """An instant as wall-clock time in the household zone."""
    if value is None:
        return "—"
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo(zone))
    return local_time(local.replace(tzinfo=None).isoformat(), Precision.MINUTE)


def register_filters(app: Flask) -> None:
    for name, fn in {
        "source_label": source_label,
        "confidence_label": confidence_label,
        "confidence_help": confidence_help,
        "offset_text": offset_text,
        "local_time": local_time,
        "short_time": short_time,
        "file_size": file_size,
        "duration": duration,
        "number": number,
        "eta": eta,
        "camera": camera,
        "in_zone": in_zone,
    }.items():
        app.add_template_filter(fn, name)
    app.add_template_global(PRECISION, "PRECISIONS")
    app.add_template_global(MONTH_NAMES, "MONTHS")
