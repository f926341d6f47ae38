"""Choose the capture time among the candidates, and say how sure we are.

Not "first tag wins" and not "earliest wins": candidates are first checked for sanity, the
most trusted usable one is chosen (clues.SOURCES: rank), and then every other credible
candidate is compared with it. Agreement is judged with tolerances (clues.TOLERANCES); what a
disagreement means depends on its shape (a whole number of hours is a time-zone mix-up,
a date that is later than the capture is a scan or an edit, and so on). The outcome is a
confidence level whose meaning is written in clues.RULES.

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

from ..vocab import Confidence, Precision, ReviewReason, has_time_of_day
from ..wording import format_offset
from . import reasons
from .clues import CAPTURE_SOURCES as CAPTURE_SOURCES  # re-exported: duplicates use it
from .clues import (
    CREATED_LATER_SOURCES,
    DATE_ONLY_MIDNIGHT,
    PERSON_MEDIUM_GAP,
    cap,
    is_backup_folder,
    is_clock_reading,
    is_person,
    known_placeholder,
    rank,
    rule,
)
from .clues import source_rank as source_rank  # re-exported: duplicate review uses it
from .filetime import file_time_level, file_time_on_the_day
from .placeholders import CLOCK_RESET_DAYS, camera_wall, placeholder_instant
from .timestamps import Candidate
from .timetext import candidate_text as _fmt
from .timetext import gap_text as _human

HOUR = 3600
MINOR = 5 * 60  # beyond tolerance but within five minutes: a slightly different clock
ZONE_SPAN = 26 * HOUR  # UTC-12 .. UTC+14: the widest gap a time-zone mix-up can make
MIN_OFFSET, MAX_OFFSET = -12 * HOUR, 14 * HOUR
# UTC offsets (seconds) that time zones use: whole hours from -12 to +14, and the zones on
# the half and three-quarter hour (India +05:30, Nepal +05:45, Newfoundland -03:30, ...).
REAL_OFFSETS = sorted(
    {h * HOUR for h in range(-12, 15)}
    | {int(h * HOUR) for h in (-9.5, -3.5, -2.5, 3.5, 4.5, 5.5, 6.5, 9.5, 10.5, 11.5, 5.75, 8.75, 12.75, 13.75)}
)
FIRST_PHOTOGRAPH = datetime(1826, 1, 1)
FUTURE_MARGIN = timedelta(days=1)

_FOLDER_MARGIN = {Precision.DAY: 1, Precision.MONTH: 7, Precision.YEAR: 31}  # days; others: 1


@dataclass
class Choice:
    local: datetime | None = None  # wall clock where it was taken (naive)
    offset: int | None = None  # minutes east of UTC, when known
    utc: datetime | None = None  # the instant (zone assumed when the offset is unknown)
    precision: str | None = None
    source: str | None = None
    confidence: Confidence = Confidence.NONE
    notes: list[str] = field(default_factory=list)
    # Why a person should look (vocab.ReviewReason values), most pressing first: media/reasons.py.
    reasons: list[str] = field(default_factory=list)

    def iso(self) -> str | None:
        """ISO 8601 local time, with its offset when known."""
        if self.local is None:
            return None
        text = self.local.replace(microsecond=0).isoformat()
        if self.offset is not None:
            text += format_offset(self.offset)
        return text


# --- sanity ----------------------------------------------------------------------------------


def sanity_check(candidates: list[Candidate], now: datetime, zone: ZoneInfo | None = None) -> list[Candidate]:
    """The candidates with impossible and placeholder values marked as rejected (they stay
    visible, with the reason). Returns new candidates where something changed; the given
    list and its candidates are left as they are. Checking twice changes nothing more.
    `zone`: where a camera's clock would have been, to judge default dates of instants."""
    now = now.astimezone(UTC)
    return [_sane(c, now, zone) for c in candidates]


def _sane(c: Candidate, now: datetime, zone: ZoneInfo | None) -> Candidate:
    if c.value is None:
        return c if c.rejected else replace(c, rejected="no value")
    if c.rejected:
        return c
    problem = known_placeholder(c) or placeholder_instant(c) or _impossible(c, now, zone)
    if problem:
        return replace(c, rejected=problem)
    wall = c.value.replace(tzinfo=None)
    if (
        c.source.startswith(DATE_ONLY_MIDNIGHT)
        and has_time_of_day(c.precision)
        and (wall.hour, wall.minute, wall.second, wall.microsecond) == (0, 0, 0, 0)
    ):
        note = c.note or "time 00:00:00 is how software writes a date without a time"
        return replace(c, precision=Precision.DAY, note=note)
    return c


def _impossible(c: Candidate, now: datetime, zone: ZoneInfo | None) -> str | None:
    """Why this value cannot be a capture time, or None. Default dates are judged on the
    wall clock a camera would have shown (`camera_wall`)."""
    wall = c.value.replace(tzinfo=None)
    camera = camera_wall(c, zone)
    person = is_person(c)
    latest = now.replace(tzinfo=None) + FUTURE_MARGIN + (timedelta(hours=14) if not c.zone_known else timedelta(0))
    as_utc = c.value.astimezone(UTC).replace(tzinfo=None) if c.zone_known else wall
    if as_utc > latest:
        return "in the future"
    if wall < FIRST_PHOTOGRAPH:
        return "before photography existed"
    if person:
        return None
    if datetime(camera.year, camera.month, camera.day) in CLOCK_RESET_DAYS:
        return f"a device's start date ({camera:%Y-%m-%d}): its clock was probably never set"
    if c.precision == Precision.SECOND and (
        camera.month,
        camera.day,
        camera.hour,
        camera.minute,
        camera.second,
        camera.microsecond,
    ) == (1, 1, 0, 0, 0, 0):
        return "exactly midnight on 1 January: a camera's default date (clock never set)"
    return None


# --- comparing two candidates ----------------------------------------------------------------


def _span(c: Candidate) -> timedelta:
    v = c.value
    if c.precision == Precision.MINUTE:
        return timedelta(minutes=1)
    if c.precision == Precision.DAY:
        return timedelta(days=1)
    if c.precision == Precision.MONTH:
        return timedelta(days=calendar.monthrange(v.year, v.month)[1])
    if c.precision == Precision.YEAR:
        return timedelta(days=366 if calendar.isleap(v.year) else 365)
    return timedelta(0)


def _start(c: Candidate) -> datetime:
    v = c.value
    if c.precision == Precision.MINUTE:
        return v.replace(second=0, microsecond=0)
    if not has_time_of_day(c.precision):
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
    fine = has_time_of_day(best.precision) and has_time_of_day(other.precision)
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


# --- the choice ------------------------------------------------------------------------------


def _order(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (rank(c), _precision_rank(c.precision)))


def _precision_rank(precision: str | None) -> int:
    try:
        return Precision(precision).rank
    except ValueError:
        return 9


def resolve(c: Candidate, zone: ZoneInfo, offset_minutes: int | None = None) -> tuple[datetime, int | None, datetime]:
    """(local wall clock, offset in minutes or None, UTC instant) for one candidate, with an
    offset learned elsewhere when given. Coarse precisions keep only the date."""
    coarse = not has_time_of_day(c.precision)
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
    (or was rejected), and the others are still compared with it. `candidates` are not
    changed; `sanity_check` gives the checked list that goes with the choice."""
    checked = sanity_check(candidates, now or datetime.now(UTC), zone)
    usable, preferred = _usable(checked, prefer)
    if not usable:
        rejected = [f"{c.source}: {c.rejected}" for c in checked if c.rejected]
        why = reasons.ordered(None, Confidence.NONE, (), checked)
        return Choice(notes=["no usable date found", *rejected], reasons=why)
    best = preferred or _with_time_of_day(usable, zone)
    verdict = _judge(best, usable, zone, None if preferred else file_time_level(best, usable, zone))
    choice = _settle(best, verdict, zone)
    choice.reasons = reasons.ordered(best, choice.confidence, verdict.reasons, checked)
    return choice


def _usable(checked: list[Candidate], prefer: str | None) -> tuple[list[Candidate], Candidate | None]:
    """The usable candidates, most trusted first, and the one a person preferred (first even
    when it was rejected: a person's word overrides the sanity rules)."""
    usable = _order([c for c in checked if c.usable])
    preferred = next((c for c in checked if prefer and c.source == prefer and c.value is not None), None)
    if preferred is not None and preferred not in usable:
        preferred = replace(preferred, rejected=None)
        usable.insert(0, preferred)
    return usable, preferred


def _with_time_of_day(usable: list[Candidate], zone: ZoneInfo) -> Candidate:
    """The most trusted candidate; when it is a date without a time, a credible finer source
    that falls inside it instead: that is knowing more, not inventing."""
    best = usable[0]
    if has_time_of_day(best.precision):
        return best
    for other in usable[1:]:
        if (
            has_time_of_day(other.precision)
            and other.role == "capture"
            and cap(other) >= Confidence.MEDIUM
            and compare(best, other, zone).kind == "agree"
        ):
            return other
    return file_time_on_the_day(best, usable, zone) or best


@dataclass
class _Verdict:
    """What the other candidates say about the chosen one."""

    level: Confidence
    notes: list[str] = field(default_factory=list)
    learned: list[tuple[int, Candidate]] = field(
        default_factory=list
    )  # offsets of agreeing sources, most trusted first
    reasons: list[str] = field(default_factory=list)  # ReviewReason values of the disagreements

    def lower(self, to: Confidence, note: str, reason: str | None = None) -> None:
        self.notes.append(note)
        self.level = min(self.level, to)
        if reason:
            self.reasons.append(reason)


def _judge(
    best: Candidate, usable: list[Candidate], zone: ZoneInfo, start: tuple[Confidence, str] | None = None
) -> _Verdict:
    """Compare every other credible candidate with the chosen one: each disagreement lowers
    the confidence (by its shape) and is noted; agreeing instants teach the UTC offset.
    `start`: the level (and why) the chosen clue begins at, instead of its cap."""
    verdict = _Verdict(cap(best)) if start is None else _Verdict(start[0], [start[1]])
    same_wall = _same_wall_offsets(best, usable)
    for other in usable:
        if other is best or other.role == "weak" or other.source == best.source:
            continue
        if other.role == "not_after":
            late = _bound_violation(best, other, zone)
            if late > 0:
                verdict.lower(
                    Confidence.LOW,
                    f"{other.source} says {_fmt(other)}, {_human(late)} before it was taken: one of the clocks is wrong",
                    ReviewReason.SOURCES_DISAGREE,
                )
        elif is_person(other) and not has_time_of_day(other.precision):
            _judge_stated_date(best, other, zone, verdict)
        else:
            _judge_clue(best, other, zone, same_wall, verdict)
    _check_learned_offsets(best, same_wall, verdict)
    return verdict


def _judge_stated_date(best: Candidate, other: Candidate, zone: ZoneInfo, verdict: _Verdict) -> None:
    """A date a person or a folder states (day, month or year) against the chosen time. A
    backup's or export's folder date ("Phone backup 2020") only says when the copy was made:
    a camera's reading on or before it is no contradiction."""
    gap = _folder_gap(best, other, zone)
    if gap == 0 or (gap < 0 and _copy_folder_bounds(best, other)):
        return
    level = Confidence.MEDIUM if abs(gap) <= PERSON_MEDIUM_GAP else Confidence.LOW
    camera = other.source == "folder" and is_clock_reading(best)
    reason = ReviewReason.CAMERA_VS_FOLDER if camera else ReviewReason.SOURCES_DISAGREE
    verdict.lower(level, f"{other.source} says {_fmt(other)}, which does not match ({_human(gap)} apart)", reason)


def _copy_folder_bounds(best: Candidate, folder: Candidate) -> bool:
    """The folder is a backup, export or device dump and the chosen time is a camera's reading."""
    return folder.source == "folder" and is_backup_folder(folder.raw) and is_clock_reading(best)


def _same_wall_offsets(best: Candidate, usable: list[Candidate]) -> set[timedelta]:
    """Offsets that other tags give the best time's own wall clock (XMP/IPTC copies of it):
    not trusted enough to print, but a later tag written in that zone is no mix-up."""
    return {
        c.value.utcoffset()
        for c in usable
        if best.zone == "local" and c.zone == "offset" and abs(_gap(_wall(best), _wall(c))) <= _tolerance(best, c)
    }


def _judge_clue(
    best: Candidate, other: Candidate, zone: ZoneInfo, same_wall: set[timedelta], verdict: _Verdict
) -> None:
    rel = compare(best, other, zone)
    if rel.kind != "agree" and other.zone != "local":
        for offset in same_wall:
            moved = Candidate(best.source, best.value.replace(tzinfo=timezone(offset)), best.precision, zone="offset")
            if compare(moved, other, zone).kind == "agree":
                rel = Relation("agree")
                break
    if rel.kind == "agree":
        if rel.offset is not None and (best.zone == "local" or other.role == "capture"):
            verdict.learned.append((rel.offset, other))
        return
    verdict.lower(*_disagreement(other, rel))


def _disagreement(other: Candidate, rel: Relation) -> tuple[Confidence, str, str | None]:
    """What a disagreement of this shape means: the level it allows, the note, the reason."""
    later = rel.seconds > 0
    said = f"{other.source} ({_fmt(other)})"
    if rel.kind == "zone":
        note = f"{said} differs by {_human(rel.seconds)}: probably a time-zone mix-up"
        return Confidence.MEDIUM, note, ReviewReason.ZONE_MIXUP
    if rel.kind == "minor":
        return Confidence.MEDIUM, f"{said} differs by {_human(rel.seconds)}", None
    if later and other.source in CREATED_LATER_SOURCES:
        note = f"{said} is {_human(rel.seconds)} later: a scan, an edit or a copy made afterwards?"
        return Confidence.MEDIUM, note, None
    if is_person(other):
        level = Confidence.MEDIUM if abs(rel.seconds) <= PERSON_MEDIUM_GAP else Confidence.LOW
        note = f"{said} is {_human(rel.seconds)} {'later' if later else 'earlier'}"
        return level, note, ReviewReason.SOURCES_DISAGREE
    detail = rel.detail or f"is {_human(rel.seconds)} {'later' if later else 'earlier'}"
    return Confidence.LOW, f"{said} {detail}: the sources disagree", ReviewReason.SOURCES_DISAGREE


def _check_learned_offsets(best: Candidate, same_wall: set[timedelta], verdict: _Verdict) -> None:
    """An offset learned from an instant must match the offsets written beside the same wall
    clock, and the instants must agree among themselves."""
    learned = verdict.learned
    if learned and best.zone == "local" and same_wall:
        written = {int(o.total_seconds() // 60) for o in same_wall}
        if learned[0][0] not in written:
            shown = ", ".join(format_offset(o) for o in sorted(written))
            verdict.lower(
                Confidence.MEDIUM,
                f"{learned[0][1].source} implies UTC{format_offset(learned[0][0])}, other tags say {shown}",
                ReviewReason.ZONE_MIXUP,
            )
    if len(dict.fromkeys(o for o, _ in learned)) > 1:
        shown = ", ".join(f"{c.source} {format_offset(o)}" for o, c in learned)
        note = f"sources imply different time zones ({shown}): a time-zone mix-up"
        verdict.lower(Confidence.MEDIUM, note, ReviewReason.ZONE_MIXUP)


def _settle(best: Candidate, verdict: _Verdict, zone: ZoneInfo) -> Choice:
    """The chosen time in its zone: the learned offset (unless the video header turns out to
    hold local time), or the household zone for an instant, or no offset."""
    learned = verdict.learned
    if learned and _header_holds_local_time(learned[0], best, zone):
        # A video header "in UTC" that equals the local wall clock, where the household zone
        # is not UTC: the camera wrote local time there (many do). Keep the wall clock only.
        verdict.lower(Confidence.MEDIUM, "the video header holds the local time, not UTC: time zone unknown")
        learned = []
        if best.zone == "utc":
            best = replace(best, value=best.value.replace(tzinfo=None), zone="local")
    offset_minutes, note = _zone_of(best, learned, zone)
    notes = [f"from {best.source}: {rule(best.source).label}", *verdict.notes, *([note] if note else [])]
    local, offset_minutes, instant = resolve(best, zone, offset_minutes)
    return Choice(
        local=local,
        offset=offset_minutes,
        utc=instant,
        precision=best.precision,
        source=best.source,
        confidence=verdict.level,
        notes=notes,
    )


def _zone_of(best: Candidate, learned: list[tuple[int, Candidate]], zone: ZoneInfo) -> tuple[int | None, str | None]:
    """(the UTC offset learned for a time of day, or None; the note that says how)."""
    if not has_time_of_day(best.precision):
        return None, None
    if learned and best.zone in ("local", "utc"):
        offset, source = learned[0][0], learned[0][1].source
        if best.zone == "local":
            return offset, f"UTC offset {format_offset(offset)} learned from {source}"
        return offset, f"local time from {source} (UTC offset {format_offset(offset)})"
    if best.zone == "utc":
        return None, f"an instant, shown in the household time zone ({zone.key})"
    if best.zone == "local":
        return None, f"time zone unknown: read as {zone.key}"
    return None, None


def _header_holds_local_time(learned: tuple[int, Candidate], best: Candidate, zone: ZoneInfo) -> bool:
    offset, partner = learned
    header = best if best.source == "video:creation_time" else partner
    if offset != 0 or header.source != "video:creation_time" or header.zone != "utc":
        return False
    return header.value.astimezone(zone).utcoffset() != timedelta(0)
