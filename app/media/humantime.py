"""Read a date a person typed, keeping only the precision they gave.

    "15 June 2019 14:30"   -> 2019-06-15 14:30:00, minute
    "2019-06-15 14:30:05"  -> second
    "15.06.2019"           -> 2019-06-15, day
    "2019-06" / "June 2019"-> 2019-06-01, month
    "2019"                 -> 2019-01-01, year
    "today 9:15", "yesterday"

Day-first with dots (15.06.2019) and month names in English or German; 12-hour times with
am/pm. A slash date that could be read both ways (05/06/2019) is refused with a message
saying how to write it, rather than guessed. The result is a naive local wall-clock time;
`parse_typed_time` also takes a UTC offset typed after the time ("14:30 +02:00"), which
otherwise comes from the zone at that date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ..vocab import Precision
from ..wording import MONTH_NAMES, MONTH_WORDS

FIRST_YEAR = 1826  # the oldest surviving photograph
HINT = "Try for example 2019-06-15 14:30, 15.06.2019, 15 June 2019, June 2019 or 2019."

_MONTH_PATTERN = "|".join(sorted(MONTH_WORDS, key=len, reverse=True))  # longest first: "march" before "mar"

_TIME = r"(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?)?\s*(?P<ampm>[ap]\.?m\.?)?"
_TAIL = rf"(?:(?:\s+|\s*[,t]\s*|\s+(?:at|um|à)\s+){_TIME})?"
_FORMS = [
    # 2019-06-15 14:30[:05], 2019/06/15, 2019.06.15, 2019:06:15 (EXIF style)
    re.compile(rf"^(?P<Y>\d{{4}})[-/.:](?P<M>\d{{1,2}})[-/.:](?P<D>\d{{1,2}}){_TAIL}$"),
    # 15.06.2019 [14:30] (day first, as in Germany)
    re.compile(rf"^(?P<D>\d{{1,2}})\.\s*(?P<M>\d{{1,2}})\.\s*(?P<Y>\d{{4}}){_TAIL}$"),
    # 15/06/2019 or 06/15/2019: decided below, or refused when both are possible
    re.compile(rf"^(?P<A>\d{{1,2}})/(?P<B>\d{{1,2}})/(?P<Y>\d{{4}}){_TAIL}$"),
    # 15 June 2019 [14:30], 15. Juni 2019
    re.compile(rf"^(?P<D>\d{{1,2}})(?:st|nd|rd|th|\.)?\s+(?P<month>{_MONTH_PATTERN})\.?,?\s+(?P<Y>\d{{4}}){_TAIL}$"),
    # June 15, 2019 [2:30 pm]
    re.compile(rf"^(?P<month>{_MONTH_PATTERN})\.?\s+(?P<D>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<Y>\d{{4}}){_TAIL}$"),
    # June 2019, Juni 2019
    re.compile(rf"^(?P<month>{_MONTH_PATTERN})\.?,?\s+(?P<Y>\d{{4}})$"),
    # 2019-06, 06/2019, 06.2019
    re.compile(r"^(?P<Y>\d{4})[-/.](?P<M>\d{1,2})$"),
    re.compile(r"^(?P<M>\d{1,2})[/.](?P<Y>\d{4})$"),
    # 2019
    re.compile(r"^(?P<Y>\d{4})$"),
    # today / yesterday [14:30]
    re.compile(rf"^(?P<rel>today|yesterday|heute|gestern){_TAIL}$"),
]


def parse_human_time(text: str, zone: ZoneInfo | str, now: datetime | None = None) -> tuple[datetime, Precision]:
    """(naive local datetime, precision) for what a person typed; ValueError with a message
    a person can act on otherwise. `zone` is the household zone ("today" is its today)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    raw = " ".join(str(text or "").split())
    if not raw:
        raise ValueError(f"Please type a date. {HINT}")
    cleaned = raw.lower().replace("’", "'")
    if re.search(r"(?:\d(?:z|utc|gmt)|[+-]\d{2}:?\d{2})$", cleaned):
        raise ValueError(f"{raw!r}: leave out the time zone here; the zone is chosen separately.")
    local_now = (now or datetime.now(UTC)).astimezone(zone).replace(tzinfo=None)
    for form in _FORMS:
        m = form.match(cleaned)
        if m:
            value, precision = _build(m.groupdict(), raw, local_now)
            if value > local_now + timedelta(days=1):
                raise ValueError(f"{raw!r} is in the future.")
            return value, precision
    raise ValueError(f"Could not read {raw!r} as a date. {HINT}")


# A time zone typed after the time: "+02:00", "+0200", "UTC+2", "GMT-05:30", "Z", "UTC".
_TYPED_OFFSET = re.compile(
    r"(?:\s*(?:utc|gmt)?\s*(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?|(?<=\d)z|\s+(?:utc|gmt|z))$",
    re.IGNORECASE,
)


def parse_typed_time(
    text: str, zone: ZoneInfo | str, now: datetime | None = None
) -> tuple[datetime, Precision, int | None]:
    """What a person typed in the date box: (naive local datetime, precision, UTC offset in
    minutes when they typed one, else None). A typed offset needs a time of day."""
    raw = " ".join(str(text or "").split())
    m = _TYPED_OFFSET.search(raw)
    if not m or not re.search(r"\d:\d\d|\d[ap]\.?m|\dt\d|\d\.\d\d\D*$", raw[: m.start()].lower() + " "):
        local, precision = parse_human_time(raw, zone, now)
        return local, precision, None
    offset = 0 if not m["sign"] else (int(m["h"]) * 60 + int(m["m"] or 0)) * (-1 if m["sign"] == "-" else 1)
    if not -12 * 60 <= offset <= 14 * 60:
        raise ValueError(f"{raw!r}: a time zone lies between UTC-12:00 and UTC+14:00.")
    local, precision = parse_human_time(raw[: m.start()].rstrip(" ,"), zone, now)
    if not precision.has_time_of_day:
        raise ValueError(f"{raw!r}: a time zone goes with a time of day, like 14:30 +02:00.")
    return local, precision, offset


def _build(g: dict, raw: str, local_now: datetime) -> tuple[datetime, Precision]:
    if g.get("rel"):
        base = local_now - timedelta(days=1 if g["rel"] in ("yesterday", "gestern") else 0)
        year, month, day = base.year, base.month, base.day
    else:
        year, month, day = _date_parts(g, raw)
        if month is None:
            return _checked(raw, year, 1, 1), Precision.YEAR
        if not 1 <= month <= 12:
            raise ValueError(f"{raw!r}: there is no month {month}.")
        if day is None:
            return _checked(raw, year, month, 1), Precision.MONTH
    if g.get("h") is None:
        return _checked(raw, year, month, day), Precision.DAY
    hour, minute, second = _clock(g, raw)
    value = _checked(raw, year, month, day).replace(hour=hour, minute=minute, second=second or 0)
    return value, Precision.SECOND if second is not None else Precision.MINUTE


def _date_parts(g: dict, raw: str) -> tuple[int, int | None, int | None]:
    """(year, month, day) as written; month and day None when not given."""
    year = int(g["Y"])
    if g.get("A"):
        day, month = _slash_day_month(int(g["A"]), int(g["B"]), year, raw)
        return year, month, day
    month = MONTH_WORDS[g["month"]] if g.get("month") else (int(g["M"]) if g.get("M") else None)
    return year, month, int(g["D"]) if g.get("D") else None


def _slash_day_month(a: int, b: int, year: int, raw: str) -> tuple[int, int]:
    """(day, month) of a date like 15/06/2019 or 06/15/2019: the reading in which a number
    can be a month. Refused when both can (05/06/2019) or neither can (32/13/2019)."""
    a_month, b_month = 1 <= a <= 12, 1 <= b <= 12
    if a == b:
        return a, a
    if a_month and b_month:
        raise ValueError(
            f"{raw!r} could mean {a} {_month_name(b)} or {b} {_month_name(a)}: "
            f"please write it as {year}-{b:02d}-{a:02d} or {a} {_month_name(b)} {year}."
        )
    if b_month:
        return a, b
    if a_month:
        return b, a
    raise ValueError(f"{raw!r} is not a date: neither {a} nor {b} is a month (1 to 12). {HINT}")


def _clock(g: dict, raw: str) -> tuple[int, int, int | None]:
    """(hour, minute, second or None) of the time of day written; 12-hour times made 24-hour."""
    hour, minute, second = int(g["h"]), int(g.get("m") or 0), int(g["s"]) if g.get("s") else None
    ampm = (g.get("ampm") or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"{raw!r}: {hour} is not an hour on a 12-hour clock.")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if g.get("m") is None and not ampm:
        raise ValueError(f"{raw!r}: write the time with minutes, like 14:30.")
    if hour > 23 or minute > 59 or (second is not None and second > 59):
        raise ValueError(f"{raw!r}: {g['h']}:{g.get('m') or '00'} is not a time of day.")
    return hour, minute, second


def _checked(raw: str, year: int, month: int, day: int) -> datetime:
    """Every value is made here: the one place that refuses days that do not exist."""
    if year < FIRST_YEAR:
        raise ValueError(f"{raw!r} is before photography existed.")
    try:
        return datetime(year, month, day)
    except ValueError:
        raise ValueError(f"{raw!r}: {_month_name(month)} {year} has no day {day}.") from None


def _month_name(month: int) -> str:
    return MONTH_NAMES[month - 1] if 1 <= month <= 12 else str(month)
