"""What people do about capture times: set, shift, choose, confirm, undo.

Every action is recorded as `UserDecision` rows (kind "timestamp", or "confirm" for a
confirmation; one per file) sharing one `batch` id, whose payload holds the file's time
fields before and after:

    {"action": "set" | "shift" | "choose" | "confirm" | "undo",
     "old": {...time fields...}, "new": {...time fields...}, ...details}

Each action sets `File.time_decided`, so re-detection never overrides what a person chose.
A companion set (companions.py: a Live Photo's still and video, RAW + JPEG, an edit) has one
date: an action on any of its files is an action on its main file, and every other file of the
set takes the main's time, recorded in the same batch (`share_time`).
Undo is itself a decision (action "undo", `undoes_id` pointing at the decision it reverts,
a new batch id); undoing an undo redoes. The file's current time can therefore always be
rebuilt from the log: the "new" fields of its latest timestamp decision (`state_from_log`).
`undo` is the one undo of app/pipeline/decisions.py (any batch, any kind); this module
registers how a time decision is reverted.

Call these with a database session (a Flask app context). Where a wall clock without an
offset must become an instant, the caller passes the household zone (the settings' zone:
web routes and commands know it; this module reads no settings). Functions return the
batch id of the action so a page can offer "undo".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..media import confidence, geozone, timestamps
from ..media.archive_dates import camera_made_name
from ..media.clues import source_label
from ..media.humantime import parse_human_time, parse_typed_time  # noqa: F401 - part of this module's API
from ..models import File, UserDecision, db
from ..vocab import TIME_DECISIONS, Confidence, DecisionKind, FileStatus, Precision
from . import companions, decisions

KIND = DecisionKind.TIMESTAMP
TIME_FIELDS = (
    "taken_at",
    "taken_local",
    "taken_offset",
    "taken_precision",
    "taken_source",
    "confidence",
    "needs_review",
    "time_decided",
    "time_notes",
)
CHUNK = 500
MIN_OFFSET, MAX_OFFSET = -12 * 60, 14 * 60
CAMERA_WINDOW_DAYS = 30  # a clock correction's default reach: this many days around the photo
MAX_WINDOW_DAYS = 36500
# Times from a camera's own clock: what a clock correction shifts (camera-made names too).
CLOCK_SOURCES = ("exif:", "xmp:", "video:", "makernote", "xmp-sidecar")


class TimeFixError(ValueError):
    """An action that cannot be done; the message says why, for people."""


def _new_batch() -> str:
    return decisions.new_batch()


# --- snapshots --------------------------------------------------------------------------------


def snapshot(f: File) -> dict[str, Any]:
    """The file's time fields as JSON-ready values."""
    data = {name: getattr(f, name) for name in TIME_FIELDS}
    data["taken_at"] = f.taken_at.isoformat() if f.taken_at else None
    data["time_notes"] = list(f.time_notes) if f.time_notes else None
    return data


def _restore(f: File, data: dict[str, Any]) -> None:
    for name in TIME_FIELDS:
        value = data.get(name)
        if name == "taken_at" and value:
            value = datetime.fromisoformat(value)
        setattr(f, name, value)
    f.needs_review = bool(f.needs_review)
    f.time_decided = bool(f.time_decided)


def _files(file_ids: Iterable[int]) -> list[File]:
    """The files an action is about: each companion part stands for its set's main file (the
    set then takes the main's time: `share_time`)."""
    ids = companions.main_ids(file_ids)
    if not ids:
        raise TimeFixError("No files were chosen.")
    found: list[File] = []
    for start in range(0, len(ids), CHUNK):
        found += db.session.execute(select(File).where(File.id.in_(ids[start : start + CHUNK]))).scalars().all()
    if not found:
        raise TimeFixError("None of the chosen files exist (any more).")
    order = {i: n for n, i in enumerate(ids)}
    return sorted(found, key=lambda f: order[f.id])


def _record(f: File, batch: str, action: str, old: dict[str, Any], **details: Any) -> None:
    kind = DecisionKind.CONFIRM if action == "confirm" else KIND
    decisions.record(kind, batch, {"action": action, "old": old, "new": snapshot(f), **details}, f.id)


def share_time(files: Iterable[File], batch: str, action: str) -> None:
    """One item, one date: every other file of these files' companion sets takes the file's
    time fields, each recorded in `batch` (so one undo reverts the whole set)."""
    sources = {(f.companion_of or f.id): f for f in files}
    if not sources:
        return
    parts = companions.parts_of(sources)
    mains = {f.id: f for f in _loaded([m for m, f in sources.items() if f.id != m])}
    for main_id, source in sources.items():
        for other in (mains.get(main_id), *parts.get(main_id, ())):
            if other is None or other.id == source.id or snapshot(other) == snapshot(source):
                continue
            old = snapshot(other)
            for name in TIME_FIELDS:
                value = getattr(source, name)
                setattr(other, name, list(value) if isinstance(value, list) else value)
            _record(other, batch, action, old, set_of=source.id)


def _loaded(ids: list[int]) -> list[File]:
    found: list[File] = []
    for start in range(0, len(ids), CHUNK):
        found += db.session.execute(select(File).where(File.id.in_(ids[start : start + CHUNK]))).scalars().all()
    return found


def _commit(batch: str, files: Iterable[File], action: str) -> None:
    share_time(files, batch, action)
    db.session.commit()


def _local_of(f: File) -> datetime | None:
    return datetime.fromisoformat(f.taken_local) if f.taken_local else None


def _instant(local: datetime, offset_minutes: int | None, zone: ZoneInfo) -> datetime:
    if offset_minutes is None:
        return local.replace(tzinfo=zone).astimezone(UTC)
    return (local - timedelta(minutes=offset_minutes)).replace(tzinfo=UTC)


def zone_of(f: File, household: ZoneInfo) -> ZoneInfo:
    """Where a file's wall clock is read: the zone of the place its GPS position names, else
    the household zone."""
    meta = f.meta or {}
    place = geozone.place_of(meta, meta.get("video"))
    return ZoneInfo(place.zone) if place else household


def offset_at(local: datetime, zone: ZoneInfo) -> int:
    """The UTC offset (minutes) `zone` has at that wall-clock date: summer time included."""
    return int(local.replace(tzinfo=zone).utcoffset().total_seconds() // 60)


# --- actions ----------------------------------------------------------------------------------


def set_time(
    file_ids: Iterable[int], local: datetime, precision: str, offset_minutes: int | None = None, *, zone: ZoneInfo
) -> str:
    """Give files a time a person knows. `local` is the wall clock where they were taken;
    `offset_minutes` its UTC offset when the person typed one; otherwise each file takes the
    offset its zone has at that date (summer time included): the zone of the place its GPS
    position names, else the household `zone`. A time known only to the day (or month,
    year) is stored as that day at 00:00:00 with that precision — never with an invented
    time of day."""
    try:
        precision = Precision(precision)
    except ValueError:
        known = ", ".join(Precision)
        raise TimeFixError(f"Precision must be one of {known}, not {precision!r}.") from None
    if local.tzinfo is not None:
        if offset_minutes is None:
            offset_minutes = int(local.utcoffset().total_seconds() // 60)
        local = local.replace(tzinfo=None)
    if offset_minutes is not None and not MIN_OFFSET <= offset_minutes <= MAX_OFFSET:
        raise TimeFixError("A UTC offset must lie between -12:00 and +14:00.")
    if not precision.has_time_of_day:
        offset_minutes = None  # a date alone has no meaningful offset
    local = precision.truncate(local)
    if _instant(local, offset_minutes, zone) > datetime.now(UTC) + timedelta(days=1):
        raise TimeFixError("That time is in the future.")
    batch = _new_batch()
    files = _files(file_ids)
    for f in files:
        old = snapshot(f)
        offset = offset_minutes
        if offset is None and precision.has_time_of_day:
            offset = offset_at(local, zone_of(f, zone))
        f.taken_local, f.taken_offset, f.taken_at = local.isoformat(), offset, _instant(local, offset, zone)
        f.taken_precision, f.taken_source = precision, "user"
        f.confidence, f.needs_review, f.time_decided = Confidence.HIGH, False, True
        f.time_notes = ["set by a person"]
        _record(f, batch, "set", old, typed_offset=offset_minutes)
    _commit(batch, files, "set")
    return batch


def _moved(before: datetime, delta: timedelta, precision: str | None) -> datetime:
    """A wall clock moved by `delta`, kept to its precision (sub-seconds stay with seconds)."""
    p = Precision.of(precision)
    return before + delta if p == Precision.SECOND else p.truncate(before + delta)


def preview_shift(file_ids: Iterable[int], delta: timedelta) -> list[tuple[int, datetime | None, datetime | None]]:
    """(file id, local time now, local time after the shift) — None for files without a time."""
    rows = []
    for f in _files(file_ids):
        before = _local_of(f)
        after = _moved(before, delta, f.taken_precision) if before else None
        rows.append((f.id, before, after))
    return rows


def shift_times(
    file_ids: Iterable[int], delta: timedelta, zone: ZoneInfo | None = None, *, action: str = "shift", **details: Any
) -> str:
    """Move files' times by `delta` (a camera whose clock was wrong), to the second. Each
    file keeps its wall-clock meaning: its precision and its offset stay, and a time without
    a known offset is read again in its zone (the place's, else the household `zone`), so a
    shift across a summer-time change lands on the right instant. Files without a time are
    left alone. `details` go into each decision's payload (what the person asked for)."""
    if not delta:
        raise TimeFixError("A shift of zero changes nothing.")
    batch = _new_batch()
    shifted = []
    for f in _files(file_ids):
        before = _local_of(f)
        if before is None or f.taken_at is None:
            continue
        old = snapshot(f)
        after = _moved(before, delta, f.taken_precision)
        f.taken_local = after.isoformat()
        if f.taken_offset is None and zone is not None:
            f.taken_at = _instant(after, None, zone_of(f, zone))
        else:
            f.taken_at = f.taken_at + (after - before)
        f.confidence, f.needs_review, f.time_decided = Confidence.HIGH, False, True
        f.time_notes = [*(f.time_notes or []), f"shifted by {_signed(delta)} by a person (camera clock)"]
        _record(f, batch, action, old, delta_seconds=delta.total_seconds(), **details)
        shifted.append(f)
    _commit(batch, shifted, action)
    return batch


def suggest_shift(file_id: int, true_local: datetime, zone: ZoneInfo) -> timedelta:
    """The shift that makes this file show `true_local` (a photo of a clock, a known event):
    apply it to the same camera's files with `shift_times`. An aware `true_local` is read
    in the file's own offset, or else in the household `zone`."""
    f = db.session.get(File, file_id)
    if f is None:
        raise TimeFixError("That file does not exist (any more).")
    current = _local_of(f)
    if current is None:
        raise TimeFixError("This file has no time yet, so there is nothing to shift from; set its time instead.")
    if true_local.tzinfo is not None:
        if f.taken_offset is not None:
            true_local = (true_local.astimezone(UTC) + timedelta(minutes=f.taken_offset)).replace(tzinfo=None)
        else:
            true_local = true_local.astimezone(zone).replace(tzinfo=None)
    return true_local - current


@dataclass
class CameraScope:
    """The files a camera-clock correction applies to: every file from the same camera (make,
    model and, where the camera writes one, its serial number) across all imports, whose
    time came from that camera's clock, within `days` of the anchor photo (None: all)."""

    make: str | None
    model: str | None
    serial: str | None
    days: int | None
    ids: list[int]
    outside: int = 0  # same camera, outside the window
    other_bodies: int = 0  # same make and model, another (or no) serial number
    not_clock: int = 0  # same camera, but the time came from elsewhere (GPS, a person, a file date)

    def describe(self) -> str:
        name = " ".join(p for p in (self.make, self.model) if p) or "an unknown camera"
        return f"{name} (serial number {self.serial})" if self.serial else name


def camera_serial(f: File) -> str | None:
    value = (f.meta or {}).get("serial")
    return str(value).strip() or None if value else None


def from_camera_clock(source: str | None) -> bool:
    """Whether a time came from the camera's own clock (which a correction shifts), not from
    GPS, a person, a folder or a file date."""
    if not source:
        return False
    if source.startswith("filename:"):
        return camera_made_name(source)
    return source.startswith(CLOCK_SOURCES)


def camera_files(file_id: int, days: int | None = CAMERA_WINDOW_DAYS) -> CameraScope:
    """The files a correction of this file's camera clock applies to (see CameraScope), in
    time order; always including the file itself."""
    f = db.session.get(File, file_id)
    if f is None:
        raise TimeFixError("That file does not exist (any more).")
    if days is not None and not 0 <= days <= MAX_WINDOW_DAYS:
        raise TimeFixError(f"The window must be between 0 and {MAX_WINDOW_DAYS} days.")
    scope = CameraScope(f.camera_make, f.camera_model, camera_serial(f), days, [f.id])
    if (not f.camera_make and not f.camera_model) or f.taken_at is None:
        return scope
    query = select(File.id, File.taken_at, File.taken_source, File.meta["serial"].as_string()).where(
        File.camera_make.is_(None) if f.camera_make is None else File.camera_make == f.camera_make,
        File.camera_model.is_(None) if f.camera_model is None else File.camera_model == f.camera_model,
        File.status.in_([str(FileStatus.DONE), str(FileStatus.DUPLICATE)]),
        File.discarded.is_(False),
        File.taken_at.is_not(None),
        File.id != f.id,
    )
    window = timedelta(days=days) if days is not None else None
    found = [(f.taken_at, f.id)]
    for other_id, taken_at, source, serial in db.session.execute(query):
        if (serial or None) != scope.serial:
            scope.other_bodies += 1
        elif not from_camera_clock(source):
            scope.not_clock += 1
        elif window is not None and abs(taken_at - f.taken_at) > window:
            scope.outside += 1
        else:
            found.append((taken_at, other_id))
    scope.ids = [i for _t, i in sorted(found)]
    return scope


def same_camera_file_ids(file_id: int) -> list[int]:
    """Every file of this file's camera across the library (no time window)."""
    return camera_files(file_id, None).ids


def choose_candidate(file_id: int, source: str, zone: ZoneInfo) -> str:
    """Use one of the file's detected candidates (by its source name) as its time; a wall
    clock without an offset is read in the household `zone`."""
    f = db.session.get(File, file_id)
    if f is None:
        raise TimeFixError("That file does not exist (any more).")
    candidates = [timestamps.Candidate.from_dict(d) for d in (f.time_candidates or [])]
    picked = next((c for c in candidates if c.source == source), None)
    if picked is None:
        raise TimeFixError("This file has no such date clue. Reload the page to see its clues.")
    if picked.value is None:
        why = picked.rejected or "it could not be read"
        raise TimeFixError(f"The date from “{source_label(source)}” cannot be used: {why}.")
    # taken somewhere known: its clocks are read in that place's zone (as detection does)
    place = geozone.place_of(f.meta or {}, (f.meta or {}).get("video"))
    place_zone = ZoneInfo(place.zone) if place else zone
    choice = confidence.choose(candidates, place_zone, prefer=source)
    if place is not None:
        choice = geozone.with_place(choice, place_zone, place.describe())
    batch = _new_batch()
    old = snapshot(f)
    f.taken_local = choice.local.isoformat() if choice.local else None
    f.taken_offset, f.taken_at, f.taken_precision = choice.offset, choice.utc, choice.precision
    f.taken_source = source
    f.confidence, f.needs_review, f.time_decided = Confidence.HIGH, False, True
    f.time_notes = [f"chosen by a person: {source}", *choice.notes[1:]]
    _record(f, batch, "choose", old, source=source)
    _commit(batch, [f], "choose")
    return batch


def confirm(file_ids: Iterable[int], **details: Any) -> str:
    """Accept the detected times as they are: no longer waiting for review, and never
    changed by re-detection. A file whose only date is its file date ("No date") gets that
    date as the person's: this is "use the file dates for these files". `details` go into the
    log (a batch answer names its reason)."""
    batch = _new_batch()
    files = _files(file_ids)
    for f in files:
        old = snapshot(f)
        f.needs_review, f.time_decided = False, True
        if f.confidence == Confidence.NONE and f.taken_local:
            # "use the file date": a hint becomes the person's date
            f.confidence = Confidence.HIGH
            f.time_notes = [*(f.time_notes or []), "confirmed by a person: the file date is right"]
        _record(f, batch, "confirm", old, **details)
    _commit(batch, files, "confirm")
    return batch


def leave_undated(file_ids: Iterable[int], **details: Any) -> str:
    """A person says these files have no real date: they stop waiting for review and go to the
    archive's undated/ folder. A file-time hint is dropped from the date (the clue stays)."""
    batch = _new_batch()
    files = _files(file_ids)
    for f in files:
        old = snapshot(f)
        f.taken_at = f.taken_local = f.taken_offset = f.taken_precision = f.taken_source = None
        f.confidence, f.needs_review, f.time_decided = Confidence.NONE, False, True
        f.time_notes = ["left undated by a person: no real date is known"]
        _record(f, batch, "undated", old, **details)
    _commit(batch, files, "undated")
    return batch


def use_file_times(file_ids: Iterable[int], zone: ZoneInfo, **details: Any) -> tuple[int, str]:
    """A person accepts each file's own file time as its date ("use the file dates for these
    N"): it becomes the person's date (decided), like choosing that clue on the file's page.
    Files without a file time are left as they are. Returns (files changed, batch)."""
    batch = _new_batch()
    changed: list[File] = []
    for f in _files(file_ids):
        candidates = [timestamps.Candidate.from_dict(d) for d in (f.time_candidates or [])]
        hint = next((c for c in candidates if c.source == "mtime" and c.value is not None), None)
        if hint is None:
            continue
        choice = confidence.choose(candidates, zone, prefer=hint.source)
        old = snapshot(f)
        f.taken_local = choice.local.isoformat() if choice.local else None
        f.taken_offset, f.taken_at, f.taken_precision = choice.offset, choice.utc, choice.precision
        f.taken_source = hint.source
        f.confidence, f.needs_review, f.time_decided = Confidence.HIGH, False, True
        f.time_notes = ["the file date, accepted by a person as the date it was taken"]
        _record(f, batch, "file_time", old, **details)
        changed.append(f)
    _commit(batch, changed, "file_time")
    return len(changed), batch


def confirm_all_high() -> tuple[int, str]:
    """Confirm every detected HIGH-confidence time no person has decided yet."""
    ids = list(
        db.session.execute(
            select(File.id).where(
                File.confidence == Confidence.HIGH,
                File.time_decided.is_(False),
                File.taken_at.is_not(None),
                File.status.in_([str(FileStatus.DONE), str(FileStatus.DUPLICATE)]),
            )
        ).scalars()
    )
    if not ids:
        return 0, _new_batch()
    return len(ids), confirm(ids)


def undo(batch_id: str) -> int:
    """Revert an action (of any kind: decisions.undo). Each file goes back to what it was
    before — unless a later action changed it since, in which case that later decision
    stands. Returns how many files were reverted."""
    try:
        return decisions.undo(batch_id)
    except decisions.UndoError as exc:
        raise TimeFixError(str(exc)) from None


@decisions.reverter(*TIME_DECISIONS)
def _revert(d: UserDecision, _undo_batch: str):
    f = db.session.get(File, d.file_id) if d.file_id else None
    if f is None or snapshot(f) != d.payload.get("new"):
        return None  # changed since: the later decision stands
    old = snapshot(f)
    _restore(f, d.payload["old"])
    return KIND, {"action": "undo", "old": old, "new": snapshot(f)}


# --- reading the log --------------------------------------------------------------------------


def history(file_id: int) -> list[dict[str, Any]]:
    """The file's timestamp decisions, oldest first, for the review page."""
    rows = db.session.execute(
        select(UserDecision)
        .where(UserDecision.file_id == file_id, UserDecision.kind.in_(TIME_DECISIONS))
        .order_by(UserDecision.id)
    ).scalars()
    return [
        {
            "id": d.id,
            "batch": d.batch,
            "action": d.payload.get("action"),
            "undoes_id": d.undoes_id,
            "created_at": d.created_at.isoformat() if d.created_at else None,
            "old": d.payload.get("old"),
            "new": d.payload.get("new"),
        }
        for d in rows
    ]


def state_from_log(file_id: int) -> dict[str, Any] | None:
    """The file's time fields rebuilt from the decision log alone (None: no decision yet,
    the detected time stands)."""
    last = db.session.execute(
        select(UserDecision)
        .where(UserDecision.file_id == file_id, UserDecision.kind.in_(TIME_DECISIONS))
        .order_by(UserDecision.id.desc())
        .limit(1)
    ).scalar()
    return dict(last.payload["new"]) if last else None


def _signed(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{days} d {text}" if days else f"{sign}{text}"
