"""Choose the capture time among the candidates, and say how sure we are.

Not "first tag wins" and not "earliest wins": candidates are first checked for sanity, the
most trusted usable one is chosen (SOURCES below: rank), and then every other credible
candidate is compared with it. Agreement is judged with tolerances (TOLERANCES); what a
disagreement means depends on its shape (a whole number of hours is a time-zone mix-up,
a date that is later than the capture is a scan or an edit, and so on). The outcome is a
confidence level whose meaning is written in RULES — the review page shows that table.

Time zones (what "offset known" means in `Choice.offset` and in `inspect`):
- a wall-clock time with an offset the device wrote (EXIF OffsetTimeOriginal, Apple's
  video creation date, an XMP/IPTC date with a non-zero offset) keeps that offset;
- a wall-clock time without one learns it from an independent instant of the same moment
  (GPS, a Takeout sidecar, the video header, a Pixel file name): the difference must be an
  offset some zone uses (UTC-12:00..UTC+14:00: whole hours, or the +05:30/+05:45-style
  15-minute steps), within the source's tolerance (GPS: 5 minutes, its fix can be old);
- an instant with no wall clock beside it (GPS alone, Pixel and epoch names, Takeout,
  the MP4 header, the file time) is shown in the household zone (MEDIAPARSER_TIMEZONE),
  with that zone's offset at that instant (so DST is right);
- otherwise the offset is unknown (None): the time is printed without one, and the
  instant stored for sorting reads the wall clock in the household zone.

Precision is kept: a time known to the day is the local date at 00:00:00 with precision
"day" — the 00:00:00 is a placeholder, never an invented time of day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .placeholders import CLOCK_RESET_DAYS, camera_wall, placeholder_instant
from .timestamps import Candidate

HIGH, MEDIUM, LOW, NONE = "high", "medium", "low", "none"
LEVELS = (NONE, LOW, MEDIUM, HIGH)

RULES: list[tuple[str, str]] = [
    (
        HIGH,
        "The camera or phone recorded the capture time itself (EXIF DateTimeOriginal or CreateDate, "
        "or a phone video's creation date) and no other credible source disagrees.",
    ),
    (
        MEDIUM,
        "Good but indirect evidence: XMP or IPTC metadata, a video file's header, GPS, a Google Takeout "
        "sidecar, or a phone's file name with a time of day. Also when a credible source differs by whole "
        "hours (a time-zone mix-up), by a few minutes, when a scan or copy was made later than the picture, "
        "or when a folder name says otherwise.",
    ),
    (
        LOW,
        "Only weak evidence: a date without a time (a WhatsApp name, a folder), the day a messaging app "
        "sent the file, a modification date, or the file's own time. Also when credible sources disagree "
        "and no time zone explains it. A person should look.",
    ),
    (NONE, "Nothing usable was found; the file waits for a person to set its date."),
]

HOUR = 3600
MINOR = 5 * 60  # beyond tolerance but within five minutes: a slightly different clock
PERSON_MEDIUM_GAP = 31 * 86400  # a person's date this far off (beyond its margin) is worth a look
ZONE_SPAN = 26 * HOUR  # UTC-12 .. UTC+14: the widest gap a time-zone mix-up can make
MIN_OFFSET, MAX_OFFSET = -12 * HOUR, 14 * HOUR
# UTC offsets (seconds) that time zones use: whole hours from -12 to +14, and the zones on
# the half and three-quarter hour (India +05:30, Nepal +05:45, Newfoundland -03:30, ...).
REAL_OFFSETS = sorted(
    {h * HOUR for h in range(-12, 15)}
    | {int(h * HOUR) for h in (-9.5, -3.5, -2.5, 3.5, 4.5, 5.5, 6.5, 9.5, 10.5, 11.5, 5.75, 8.75, 12.75, 13.75)}
)


@dataclass(frozen=True)
class SourceRule:
    rank: int  # lower = more trusted
    cap: str  # the best confidence this source can give
    tolerance: float  # seconds of difference that still count as agreement
    label: str  # for people


SOURCES: dict[str, SourceRule] = {
    "exif:DateTimeOriginal": SourceRule(0, HIGH, 2, "EXIF DateTimeOriginal (the camera's capture time)"),
    "exif:CreateDate": SourceRule(1, HIGH, 2, "EXIF CreateDate (when the camera digitized it)"),
    "video:apple_creationdate": SourceRule(1, HIGH, 2, "the phone's video creation date (with its offset)"),
    "xmp:DateTimeOriginal": SourceRule(2, MEDIUM, 2, "XMP DateTimeOriginal (copied by photo software)"),
    "xmp:DateTimeDigitized": SourceRule(3, MEDIUM, 2, "XMP DateTimeDigitized"),
    "iptc:DateCreated": SourceRule(3, MEDIUM, 2, "IPTC DateCreated (set by a photographer or software)"),
    "photoshop:DateCreated": SourceRule(3, MEDIUM, 2, "XMP photoshop:DateCreated"),
    "iptc:DigitalCreationDate": SourceRule(4, MEDIUM, 2, "IPTC DigitalCreationDate (when it was digitized)"),
    "xmp:CreateDate": SourceRule(4, MEDIUM, 2, "XMP CreateDate (when the file was created)"),
    "video:creation_time": SourceRule(5, MEDIUM, 10, "the video file's header time (UTC by the standard)"),
    "takeout:photoTakenTime": SourceRule(6, MEDIUM, 2, "Google Takeout photoTakenTime"),
    "gps": SourceRule(7, MEDIUM, 300, "GPS date and time (UTC)"),
    "xmp:GPSDateTime": SourceRule(7, MEDIUM, 300, "GPS date and time in XMP (UTC)"),
    "filename": SourceRule(8, MEDIUM, 10, "the file name"),
    "png:CreationTime": SourceRule(9, LOW, 2, "PNG 'Creation Time' text"),
    "folder": SourceRule(10, LOW, 0, "the folder name"),
    "exif:ModifyDate": SourceRule(11, LOW, 2, "EXIF ModifyDate (last changed)"),
    "xmp:ModifyDate": SourceRule(11, LOW, 2, "XMP ModifyDate (last changed)"),
    "png:tIME": SourceRule(12, LOW, 2, "PNG modification time"),
    "takeout:creationTime": SourceRule(12, LOW, 2, "Google Photos upload time"),
    "png:date:create": SourceRule(13, LOW, 2, "PNG 'date:create' (when a program wrote the file)"),
    "mtime": SourceRule(14, LOW, 2, "the file's modification time"),
    # Readers for every file a household has (raw, camcorders, sidecars):
    "video:mdpm": SourceRule(1, HIGH, 2, "the camcorder's recording time (in the AVCHD stream, with its time zone)"),
    "video:moi": SourceRule(1, HIGH, 2, "the camcorder's recording time (its .MOI clip file)"),
    "makernote": SourceRule(2, MEDIUM, 2, "the camera's own date in its maker notes (read by exiftool)"),
    "xmp-sidecar": SourceRule(3, MEDIUM, 2, "a date in the photo's XMP sidecar file (photo software)"),
}
_DEFAULT_RULE = SourceRule(9, LOW, 2, "other")
# The camera's own capture time: the only sources that can give HIGH.
CAPTURE_SOURCES = frozenset(source for source, r in SOURCES.items() if r.cap == HIGH)

# Dates a person (or their software) states: clock-never-set rules do not apply to them, and
# a clash with the chosen time gives MEDIUM (LOW when more than a month beyond its margin).
PERSON_SOURCES = ("folder", "iptc:", "photoshop:DateCreated")
# Later than the capture is normal for these: a scan, an export or a copy was made afterwards.
CREATED_LATER_SOURCES = ("exif:CreateDate", "xmp:CreateDate", "xmp:DateTimeDigitized", "iptc:DigitalCreationDate")
CREATED_LATER_SOURCES += ("xmp-sidecar:CreateDate", "xmp-sidecar:DateTimeDigitized")
# Sources written by software that writes "00:00:00" when it only knows the date.
DATE_ONLY_MIDNIGHT = ("exif:", "xmp:", "photoshop:", "png:", "xmp-sidecar:")
FIRST_PHOTOGRAPH = datetime(1826, 1, 1)
FUTURE_MARGIN = timedelta(days=1)

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
_FOLDER_MARGIN = {"day": 1, "month": 7, "year": 31, "second": 1, "minute": 1}


def rule(source: str) -> SourceRule:
    return SOURCES.get(source) or SOURCES.get(source.split(":")[0]) or _DEFAULT_RULE


def source_rank(source: str) -> int:
    """How trusted a kind of source is, by name (lower = more trusted)."""
    return rule(source).rank


def rank(c: Candidate) -> float:
    r = rule(c.source).rank
    if c.source.startswith("filename:") and (c.role == "not_after" or c.precision not in ("second", "minute")):
        r = 9  # a date-only or "sent" name is weaker than a name with a capture time
    elif c.role == "not_after":
        r = max(r, 11)  # an upload or modification time is only a bound (e.g. Takeout's fallback)
    return r


def cap(c: Candidate) -> str:
    if c.source.startswith("filename:") and (c.role == "not_after" or c.precision not in ("second", "minute")):
        return LOW
    if c.role == "not_after" or c.role == "weak":
        return LOW
    return rule(c.source).cap


def _is_person(c: Candidate) -> bool:
    return c.source.startswith(PERSON_SOURCES) or c.source in ("filename:dated", "filename:compact_date")


@dataclass
class Choice:
    local: datetime | None = None  # wall clock where it was taken (naive)
    offset: int | None = None  # minutes east of UTC, when known
    utc: datetime | None = None  # the instant (zone assumed when the offset is unknown)
    precision: str | None = None
    source: str | None = None
    confidence: str = NONE
    notes: list[str] = field(default_factory=list)

    def iso(self) -> str | None:
        """ISO 8601 local time, with its offset when known."""
        if self.local is None:
            return None
        text = self.local.replace(microsecond=0).isoformat()
        if self.offset is not None:
            text += format_offset(self.offset)
        return text


def format_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# --- sanity ----------------------------------------------------------------------------------


def sanity_check(candidates: list[Candidate], now: datetime, zone: ZoneInfo | None = None) -> None:
    """Mark impossible and placeholder values as rejected, in place (they stay visible).
    `zone`: where a camera's clock would have been, to judge default dates of instants."""
    now = now.astimezone(UTC)
    for c in candidates:
        if c.rejected or c.value is None:
            if c.value is None and not c.rejected:
                c.rejected = "no value"
            continue
        c.rejected = placeholder_instant(c)
        if c.rejected:
            continue
        wall = c.value.replace(tzinfo=None)
        camera = camera_wall(c, zone)
        person = _is_person(c)
        latest = now.replace(tzinfo=None) + FUTURE_MARGIN + (timedelta(hours=14) if not c.zone_known else timedelta(0))
        as_utc = c.value.astimezone(UTC).replace(tzinfo=None) if c.zone_known else wall
        if as_utc > latest:
            c.rejected = "in the future"
        elif wall < FIRST_PHOTOGRAPH:
            c.rejected = "before photography existed"
        elif not person and datetime(camera.year, camera.month, camera.day) in CLOCK_RESET_DAYS:
            c.rejected = f"a device's start date ({camera:%Y-%m-%d}): its clock was probably never set"
        elif (
            not person
            and c.precision == "second"
            and (camera.month, camera.day, camera.hour, camera.minute, camera.second, camera.microsecond)
            == (1, 1, 0, 0, 0, 0)
        ):
            c.rejected = "exactly midnight on 1 January: a camera's default date (clock never set)"
        elif (
            c.source.startswith(DATE_ONLY_MIDNIGHT)
            and c.precision in ("second", "minute")
            and (wall.hour, wall.minute, wall.second, wall.microsecond) == (0, 0, 0, 0)
        ):
            c.precision = "day"
            c.note = c.note or "time 00:00:00 is how software writes a date without a time"


# --- comparing two candidates ----------------------------------------------------------------


def _span(c: Candidate) -> timedelta:
    v = c.value
    if c.precision == "minute":
        return timedelta(minutes=1)
    if c.precision == "day":
        return timedelta(days=1)
    if c.precision == "month":
        return timedelta(days=calendar.monthrange(v.year, v.month)[1])
    if c.precision == "year":
        return timedelta(days=366 if calendar.isleap(v.year) else 365)
    return timedelta(0)


def _start(c: Candidate) -> datetime:
    v = c.value
    if c.precision == "minute":
        return v.replace(second=0, microsecond=0)
    if c.precision in ("day", "month", "year"):
        return v.replace(hour=0, minute=0, second=0, microsecond=0)
    return v


def _wall(c: Candidate) -> tuple[datetime, datetime]:
    start = _start(c).replace(tzinfo=None)
    return start, start + _span(c)


def _instant(c: Candidate, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instant interval; a local wall clock is read in the household zone."""
    start = _start(c)
    start = start.astimezone(UTC) if c.zone_known else start.replace(tzinfo=zone).astimezone(UTC)
    return start, start + _span(c)


def _gap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> float:
    """Seconds between two intervals; 0 when they overlap. Positive: b after a."""
    if b[0] > a[1]:
        return (b[0] - a[1]).total_seconds()
    if a[0] > b[1]:
        return -(a[0] - b[1]).total_seconds()
    return 0.0


@dataclass
class Relation:
    kind: str  # agree | zone | minor | later | soft | disagree
    seconds: float = 0.0  # signed: positive when the other candidate is later
    offset: int | None = None  # minutes: the offset learned from this pair
    detail: str = ""


def _tolerance(a: Candidate, b: Candidate) -> float:
    return max(rule(a.source).tolerance, rule(b.source).tolerance) + (a.slack or 0) + (b.slack or 0)


def _whole_hours(seconds: float, tol: float) -> bool:
    d = abs(seconds)
    rest = d % HOUR
    return HOUR - max(tol, 60) <= d <= ZONE_SPAN + max(tol, 60) and (
        rest <= max(tol, 60) or HOUR - rest <= max(tol, 60)
    )


def _classify(seconds: float, tol: float) -> str:
    if abs(seconds) <= tol:
        return "agree"
    if _whole_hours(seconds, tol):
        return "zone"
    if abs(seconds) <= tol + MINOR:
        return "minor"
    return "disagree"


def compare(best: Candidate, other: Candidate, zone: ZoneInfo) -> Relation:
    """How `other` relates to the chosen candidate."""
    tol = _tolerance(best, other)
    fine = best.precision in ("second", "minute") and other.precision in ("second", "minute")
    if best.zone != "utc" and other.zone != "utc":
        # Two wall clocks: compare them as written (the zone is the device's either way).
        gap = _gap(_wall(best), _wall(other))
        if abs(gap) > tol and best.zone == "offset" and other.zone == "offset":
            gap2 = _gap(_instant(best, zone), _instant(other, zone))
            if abs(gap2) <= tol:
                return Relation("agree", gap2)  # one instant, written in two zones
        return Relation(_classify(gap, tol), gap)
    if best.zone == "local" or other.zone == "local":
        wall_c, inst_c = (best, other) if best.zone == "local" else (other, best)
        sign = 1 if wall_c is best else -1
        if not fine:
            # Coarse: any valid offset will do.
            w0, w1 = _wall(wall_c)
            i0, i1 = (t.replace(tzinfo=None) for t in _instant(inst_c, zone))
            gap = _gap((w0, w1), (i0 + timedelta(seconds=MIN_OFFSET), i1 + timedelta(seconds=MAX_OFFSET)))
            return Relation("agree" if abs(gap) <= tol else "disagree", sign * gap)
        implied = (
            _start(wall_c).replace(tzinfo=None) - _start(inst_c).astimezone(UTC).replace(tzinfo=None)
        ).total_seconds()
        step = min(REAL_OFFSETS, key=lambda o: abs(implied - o))
        residual = implied - step
        if MIN_OFFSET - HOUR < implied < MAX_OFFSET + HOUR:
            if abs(residual) <= tol:
                return Relation("agree", -sign * residual, offset=int(step // 60))
            kind = "minor" if abs(residual) <= tol + MINOR else "disagree"
            detail = f"fits no time zone: {_human(residual)} off UTC{format_offset(int(step // 60))}"
            return Relation(kind, -sign * residual, detail=detail)
        nearest = min(max(implied, MIN_OFFSET), MAX_OFFSET)
        detail = (
            f"is {_human(implied)} {'after' if implied < 0 else 'before'} the local time "
            f"{_start(wall_c).replace(tzinfo=None):%Y-%m-%d %H:%M:%S}: no time zone explains that"
        )
        return Relation("disagree", -sign * (implied - nearest), detail=detail)
    # At least one instant and the other an instant or a time with its offset.
    gap = _gap(_instant(best, zone), _instant(other, zone))
    return Relation(_classify(gap, tol), gap)


def _bound_violation(best: Candidate, bound: Candidate, zone: ZoneInfo) -> float:
    """Seconds by which the capture is later than a 'not after' date allows (<= 0: fine)."""
    tol = _tolerance(best, bound)
    if best.zone != "utc" and bound.zone != "utc" and not (best.zone == "offset" and bound.zone == "offset"):
        slack = ZONE_SPAN  # two wall clocks may come from devices in different zones
        late = (_wall(best)[0] - _wall(bound)[1]).total_seconds()
    elif best.zone == "local" or bound.zone == "local":
        slack = ZONE_SPAN
        late = (
            (_wall(best)[0] - _wall(bound)[1]).total_seconds()
            if best.zone != "utc"
            else (_instant(best, zone)[0] - _instant(bound, zone)[1]).total_seconds()
        )
    else:
        slack = 0
        late = (_instant(best, zone)[0] - _instant(bound, zone)[1]).total_seconds()
    return late - slack - tol


def _folder_gap(best: Candidate, folder: Candidate, zone: ZoneInfo) -> float:
    wall = (
        _wall(best)
        if best.zone != "utc"
        else tuple(t.astimezone(zone).replace(tzinfo=None) for t in _instant(best, zone))
    )
    margin = timedelta(days=_FOLDER_MARGIN.get(folder.precision, 1))
    f0, f1 = _wall(folder)
    return _gap((f0 - margin, f1 + margin), wall)


def _human(seconds: float) -> str:
    d = abs(seconds)
    if d < 120:
        return f"{d:.0f} s"
    if d < 2 * HOUR:
        return f"{d / 60:.0f} min"
    if d < 3 * 86400:
        return f"{d / HOUR:.1f} h".replace(".0 h", " h")
    if d < 120 * 86400:
        return f"{d / 86400:.0f} days"
    return f"{d / (365.25 * 86400):.1f} years".replace(".0 years", " years")


# --- the choice ------------------------------------------------------------------------------


def _order(candidates: list[Candidate]) -> list[Candidate]:
    precision_rank = {p: i for i, p in enumerate(("second", "minute", "day", "month", "year"))}
    return sorted(candidates, key=lambda c: (rank(c), precision_rank.get(c.precision, 9)))


def resolve(c: Candidate, zone: ZoneInfo, offset_minutes: int | None = None) -> tuple[datetime, int | None, datetime]:
    """(local wall clock, offset in minutes or None, UTC instant) for one candidate, with an
    offset learned elsewhere when given. Coarse precisions keep only the date."""
    coarse = c.precision not in ("second", "minute")
    if c.zone == "utc" and coarse:
        local = c.value.replace(tzinfo=None)  # a UTC day is that day; converting would move it
    elif c.zone == "utc":
        if offset_minutes is None:
            local_aware = c.value.astimezone(zone)
            offset_minutes = int(local_aware.utcoffset().total_seconds() // 60)
        local = (c.value.astimezone(UTC) + timedelta(minutes=offset_minutes)).replace(tzinfo=None)
    elif c.zone == "offset":
        local = c.value.replace(tzinfo=None)
        offset_minutes = int(c.value.utcoffset().total_seconds() // 60)
    else:
        local = c.value
    if coarse:
        local = _start(Candidate(c.source, local, c.precision)).replace(tzinfo=None)
        offset_minutes = None  # a date alone has no meaningful offset
    if offset_minutes is None:
        instant = local.replace(tzinfo=zone).astimezone(UTC)
    else:
        instant = (local - timedelta(minutes=offset_minutes)).replace(tzinfo=UTC)
    return local, offset_minutes, instant


def choose(
    candidates: list[Candidate], zone: ZoneInfo, now: datetime | None = None, prefer: str | None = None
) -> Choice:
    """The capture time, its precision and offset, and how sure we are (see RULES).

    `prefer` names a source a person picked: it is used even when it would not have won
    (or was rejected), and the others are still compared with it."""
    now = now or datetime.now(UTC)
    sanity_check(candidates, now, zone)
    usable = _order([c for c in candidates if c.usable])
    preferred = next((c for c in candidates if prefer and c.source == prefer and c.value is not None), None)
    if preferred is not None and preferred not in usable:
        preferred = replace(preferred, rejected=None)
        usable.insert(0, preferred)
    if not usable:
        rejected = [f"{c.source}: {c.rejected}" for c in candidates if c.rejected]
        return Choice(notes=["no usable date found", *rejected])
    best = preferred or usable[0]
    # A coarse best (a date without a time) takes the time of a credible finer source that
    # falls inside it: that is knowing more, not inventing.
    if best.precision not in ("second", "minute") and preferred is None:
        for other in usable[1:]:
            if (
                other.precision in ("second", "minute")
                and other.role == "capture"
                and LEVELS.index(cap(other)) >= LEVELS.index(MEDIUM)
                and compare(best, other, zone).kind == "agree"
            ):
                best = other
                break

    level = cap(best)
    notes: list[str] = []
    learned: list[tuple[int, Candidate]] = []  # offsets implied by agreeing sources, most trusted first

    def lower(to: str) -> None:
        nonlocal level
        if LEVELS.index(to) < LEVELS.index(level):
            level = to

    # Offsets that other tags give the best time's own wall clock (XMP/IPTC copies of it):
    # not trusted enough to print, but a later tag written in that zone is no mix-up.
    same_wall_offsets = {
        c.value.utcoffset()
        for c in usable
        if best.zone == "local" and c.zone == "offset" and abs(_gap(_wall(best), _wall(c))) <= _tolerance(best, c)
    }

    for other in usable:
        if other is best or other.role == "weak" or other.source == best.source:
            continue
        if other.role == "not_after":
            late = _bound_violation(best, other, zone)
            if late > 0:
                notes.append(
                    f"{other.source} says {_fmt(other)}, {_human(late)} before it was taken: one of the clocks is wrong"
                )
                lower(LOW)
            continue
        if _is_person(other) and other.precision not in ("second", "minute"):
            gap = _folder_gap(best, other, zone)
            if gap != 0:
                notes.append(f"{other.source} says {_fmt(other)}, which does not match ({_human(gap)} apart)")
                lower(MEDIUM if abs(gap) <= PERSON_MEDIUM_GAP else LOW)
            continue
        rel = compare(best, other, zone)
        if rel.kind != "agree" and other.zone != "local" and same_wall_offsets:
            for offset in same_wall_offsets:
                moved = Candidate(
                    best.source, best.value.replace(tzinfo=timezone(offset)), best.precision, zone="offset"
                )
                if compare(moved, other, zone).kind == "agree":
                    rel = Relation("agree")
                    break
        if rel.kind == "agree":
            if rel.offset is not None and (best.zone == "local" or other.role == "capture"):
                learned.append((rel.offset, other))
            continue
        later = rel.seconds > 0
        said = f"{other.source} ({_fmt(other)})"
        if rel.kind == "zone":
            notes.append(f"{said} differs by {_human(rel.seconds)}: probably a time-zone mix-up")
            lower(MEDIUM)
        elif rel.kind == "minor":
            notes.append(f"{said} differs by {_human(rel.seconds)}")
            lower(MEDIUM)
        elif later and other.source in CREATED_LATER_SOURCES:
            notes.append(f"{said} is {_human(rel.seconds)} later: a scan, an edit or a copy made afterwards?")
            lower(MEDIUM)
        elif _is_person(other):
            notes.append(f"{said} is {_human(rel.seconds)} {'later' if later else 'earlier'}")
            lower(MEDIUM if abs(rel.seconds) <= PERSON_MEDIUM_GAP else LOW)
        else:
            detail = rel.detail or f"is {_human(rel.seconds)} {'later' if later else 'earlier'}"
            notes.append(f"{said} {detail}: the sources disagree")
            lower(LOW)

    # An offset learned from an instant must match the offsets written beside the same wall clock.
    if learned and best.zone == "local" and same_wall_offsets:
        written = {int(o.total_seconds() // 60) for o in same_wall_offsets}
        if learned[0][0] not in written:
            shown = ", ".join(format_offset(o) for o in sorted(written))
            notes.append(f"{learned[0][1].source} implies UTC{format_offset(learned[0][0])}, other tags say {shown}")
            lower(MEDIUM)

    offsets = dict.fromkeys(o for o, _ in learned)
    if len(offsets) > 1:
        shown = ", ".join(f"{c.source} {format_offset(o)}" for o, c in learned)
        notes.append(f"sources imply different time zones ({shown}): a time-zone mix-up")
        lower(MEDIUM)
    fine = best.precision in ("second", "minute")
    offset_minutes = None
    if learned and _header_holds_local_time(learned[0], best, zone):
        # A video header "in UTC" that equals the local wall clock, where the household zone
        # is not UTC: the camera wrote local time there (many do). Keep the wall clock only.
        notes.append("the video header holds the local time, not UTC: time zone unknown")
        lower(MEDIUM)
        learned = []
        if best.zone == "utc":
            best = replace(best, value=best.value.replace(tzinfo=None), zone="local")
    if best.zone == "local" and learned and fine:
        offset_minutes = learned[0][0]
        notes.append(f"UTC offset {format_offset(offset_minutes)} learned from {learned[0][1].source}")
    elif best.zone == "utc" and learned and fine:
        offset_minutes = learned[0][0]
        notes.append(f"local time from {learned[0][1].source} (UTC offset {format_offset(offset_minutes)})")
    elif best.zone == "utc" and fine:
        notes.append(f"an instant, shown in the household time zone ({zone.key})")
    elif best.zone == "local" and fine:
        notes.append(f"time zone unknown: read as {zone.key}")
    local, offset_minutes, instant = resolve(best, zone, offset_minutes)
    notes.insert(0, f"from {best.source}: {rule(best.source).label}")
    return Choice(
        local=local,
        offset=offset_minutes,
        utc=instant,
        precision=best.precision,
        source=best.source,
        confidence=level,
        notes=notes,
    )


def _header_holds_local_time(learned: tuple[int, Candidate], best: Candidate, zone: ZoneInfo) -> bool:
    offset, partner = learned
    header = best if best.source == "video:creation_time" else partner
    if offset != 0 or header.source != "video:creation_time" or header.zone != "utc":
        return False
    return header.value.astimezone(zone).utcoffset() != timedelta(0)


def _fmt(c: Candidate) -> str:
    v = c.value
    if c.precision == "year":
        return f"{v:%Y}"
    if c.precision == "month":
        return f"{v:%Y-%m}"
    if c.precision == "day":
        return f"{v:%Y-%m-%d}"
    text = v.replace(microsecond=0).isoformat(sep=" ")
    return text.replace("+00:00", " UTC") if c.zone == "utc" else text
