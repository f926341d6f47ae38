"""The one decision log: every action a person takes (a date, a confirmation, a duplicate
verdict, a tag, leaving a file out, turning a picture) is `UserDecision` rows of its kind
(vocab.DecisionKind) sharing one batch id, with a self-describing payload (what was before,
what is now). One `undo(batch)` reverts exactly that action, whatever its kind: each family of
kinds registers how to revert one of its rows (`reverter`), and the undo is itself recorded
(`undoes_id` points at what it reverted), so nothing is ever undone twice.

Leaving out, taking back in and turning pictures live here; dates are app/pipeline/timefix.py,
duplicates app/pipeline/duplicate_review.py, tags app/pipeline/tagging.py — they record their
rows through `record` and delegate their undo to this module.

A new kind of decision either registers its reverter, or records the `File` columns it
changed as {"old": {column: value}, "new": {column: value}} (JSON values; instants as ISO
text): the generic reverter puts "old" back while the file still shows "new".
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ..media.orientation import turned
from ..models import File, UserDecision, UTCDateTime, db, utcnow
from ..vocab import DecisionKind, MediaKind
from . import companions
from .sql import chunks

ROTATIONS = (0, 90, 180, 270)
# kind -> fn(decision, undo batch) -> (kind of the undo record, its payload), or None when the
# decision can no longer be reverted (its file changed since: the later decision stands).
Reverter = Callable[[UserDecision, str], "tuple[str, dict[str, Any]] | None"]
_REVERTERS: dict[str, Reverter] = {}


class UndoError(ValueError):
    """Nothing to undo; the message says why, for people."""


def new_batch() -> str:
    return uuid.uuid4().hex


def reverter(*kinds: str):
    """Register how to revert decisions of these kinds."""

    def register(fn: Reverter) -> Reverter:
        for kind in kinds:
            _REVERTERS[str(kind)] = fn
        return fn

    return register


def record(
    kind: str,
    batch: str,
    payload: dict[str, Any],
    file_id: int | None = None,
    group_id: int | None = None,
    undoes_id: int | None = None,
) -> UserDecision:
    row = UserDecision(
        kind=kind,
        file_id=file_id,
        group_id=group_id,
        payload=payload,
        batch=batch,
        undoes_id=undoes_id,
        created_at=utcnow(),
    )
    db.session.add(row)
    return row


def _load_reverters() -> None:
    # Each family registers its reverters when imported; an undo may come before any of them was.
    from . import duplicate_review, tagging, timefix  # noqa: F401


def batch_rows(batch_id: str) -> list[UserDecision]:
    return list(
        db.session.execute(select(UserDecision).where(UserDecision.batch == batch_id).order_by(UserDecision.id))
        .scalars()
        .all()
    )


def undone_ids(ids: Iterable[int]) -> set[int]:
    """Which of these decisions an undo already reverted."""
    found: set[int] = set()
    for chunk in chunks(list(ids)):
        found.update(
            db.session.execute(select(UserDecision.undoes_id).where(UserDecision.undoes_id.in_(chunk))).scalars()
        )
    return found


def undo(batch_id: str) -> int:
    """Revert the action `batch_id`, newest decision first. Returns how many decisions were
    reverted (0: every file changed since, so the later decisions stand). Raises UndoError
    when there is no such action, or it was undone already."""
    _load_reverters()
    rows = batch_rows(batch_id) if batch_id else []
    if not rows:
        raise UndoError("There is no such action to undo.")
    done = undone_ids(r.id for r in rows)
    todo = [r for r in rows if r.id not in done and _reverter_of(r) is not None]
    if not todo:
        if any(r.id not in done for r in rows):
            raise UndoError("This kind of action cannot be undone here.")
        raise UndoError("Nothing to undo: this action was undone already.")
    undo_batch = new_batch()
    count = 0
    for row in reversed(todo):
        result = _reverter_of(row)(row, undo_batch)
        if result is None:
            continue
        kind, payload = result
        record(kind, undo_batch, {**payload, "undone_batch": batch_id}, row.file_id, row.group_id, undoes_id=row.id)
        count += 1
    db.session.commit()
    return count


def _reverter_of(row: UserDecision) -> Reverter | None:
    if row.kind in _REVERTERS:
        return _REVERTERS[row.kind]
    payload = row.payload or {}
    if row.kind != DecisionKind.UNDO and row.file_id and isinstance(payload.get("old"), dict):
        return _revert_columns
    return None


def _column_values(f: File, names) -> dict[str, Any]:
    values = {}
    for name in names:
        value = getattr(f, name)
        values[name] = value.isoformat() if isinstance(value, datetime) else value
    return values


def _revert_columns(row: UserDecision, _batch: str):
    """The generic reverter: the File columns in the payload's "old", back from "new"."""
    old, new = row.payload.get("old") or {}, row.payload.get("new") or {}
    f = db.session.get(File, row.file_id)
    names = [n for n in old if n in File.__table__.columns]
    if f is None or not names or _column_values(f, new) != {k: new[k] for k in new if k in names}:
        return None
    for name in names:
        value = old[name]
        if isinstance(File.__table__.columns[name].type, UTCDateTime) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        setattr(f, name, value)
    return DecisionKind.UNDO, {"action": "undo", "old": new, "new": old}


# --- leave out, take back in, turn --------------------------------------------------------


def _files(file_ids: Iterable[int]) -> list[File]:
    ids = list(dict.fromkeys(int(i) for i in file_ids))
    found: list[File] = []
    for chunk in chunks(ids):
        found += db.session.execute(select(File).where(File.id.in_(chunk))).scalars().all()
    if not found:
        raise ValueError("None of the chosen files exist (any more).")
    return sorted(found, key=lambda f: f.id)


def set_left_out(file_ids: Iterable[int], left_out: bool) -> tuple[int, str]:
    """Leave files out of the archive (True) or take them back in (False), each with its
    companion set (a Live Photo's video goes with its still). Files already so are not
    touched. Returns (files changed, batch)."""
    batch = new_batch()
    kind = DecisionKind.LEAVE_OUT if left_out else DecisionKind.INCLUDE
    changed = 0
    for f in _files(companions.with_parts(file_ids)):
        if bool(f.discarded) == left_out:
            continue
        record(kind, batch, {"previous": bool(f.discarded), "new": left_out}, f.id)
        f.discarded = left_out
        changed += 1
    db.session.commit()
    return changed, batch


@reverter(DecisionKind.LEAVE_OUT, DecisionKind.INCLUDE)
def _revert_left_out(row: UserDecision, _batch: str):
    f = db.session.get(File, row.file_id) if row.file_id else None
    if f is None or bool(f.discarded) != bool(row.payload.get("new")):
        return None
    f.discarded = bool(row.payload.get("previous"))
    return DecisionKind.UNDO, {"action": "undo", "discarded": f.discarded}


def rotate(file_ids: Iterable[int], degrees: int) -> tuple[int, str]:
    """Turn pictures clockwise by `degrees` (90, 180 or 270; -90 is 270), with the pictures of
    their companion sets (a RAW with its JPEG, an edit with its original; a Live Photo's video
    and sidecars are not pictures). Only what people see and the exported copy's orientation
    change; the original never does."""
    step = int(degrees) % 360
    if step not in ROTATIONS[1:]:
        raise ValueError("Turn by 90, 180 or 270 degrees.")
    batch = new_batch()
    chosen = companions.main_ids(file_ids)
    files = [f for f in _files(companions.with_parts(chosen)) if f.id in chosen or f.media_kind == MediaKind.IMAGE]
    for f in files:
        old = f.rotation or 0
        f.rotation = (old + step) % 360
        record(DecisionKind.ROTATE, batch, {"old": old, "new": f.rotation}, f.id)
    db.session.commit()
    return len(files), batch


@reverter(DecisionKind.ROTATE)
def _revert_rotate(row: UserDecision, _batch: str):
    f = db.session.get(File, row.file_id) if row.file_id else None
    if f is None or (f.rotation or 0) != row.payload.get("new"):
        return None
    f.rotation = row.payload.get("old", 0)
    return DecisionKind.UNDO, {"action": "undo", "rotation": f.rotation}


def export_orientation(orientation: int | None, rotation: int | None) -> int | None:
    """THE HOOK FOR EXPORT: the EXIF orientation value (1-8) an exported copy must carry so it
    shows the way the person turned it, or None when the person did not turn it (the copy keeps
    the original's tag). `orientation` is the original's tag (File.orientation), `rotation`
    File.rotation."""
    if not rotation:
        return None
    return turned(orientation, rotation)


# --- reading the log ----------------------------------------------------------------------


@dataclass
class Action:
    """One batch of the log, for the "recent changes" list."""

    batch: str
    kind: str
    action: str | None
    files: int
    created_at: datetime | None
    undone: bool
    is_undo: bool
    payload: dict[str, Any]


def recent(limit: int = 8, scan: int = 400, undos: bool = False) -> list[Action]:
    """The newest actions (batches), newest first, with how many files each touched; undos
    themselves only when asked for (the action they reverted is marked `undone`)."""
    rows = list(
        db.session.execute(
            select(
                UserDecision.id, UserDecision.batch, UserDecision.kind, UserDecision.payload, UserDecision.created_at
            )
            .where(UserDecision.batch.is_not(None))
            .order_by(UserDecision.id.desc())
            .limit(scan)
        ).all()
    )
    order: list[str] = []
    first: dict[str, Any] = {}
    for r in rows:
        if r.batch not in first:
            order.append(r.batch)
            first[r.batch] = r
    if not undos:
        order = [b for b in order if not _is_undo(first[b])]
    order = order[:limit]
    if not order:
        return []
    sizes = Counter(
        dict(
            db.session.execute(
                select(
                    UserDecision.batch, func.count(func.distinct(func.coalesce(UserDecision.file_id, UserDecision.id)))
                )
                .where(UserDecision.batch.in_(order))
                .group_by(UserDecision.batch)
            ).all()
        )
    )
    undone = _undone_batches(order)
    return [
        Action(
            batch=b,
            kind=first[b].kind,
            action=(first[b].payload or {}).get("action"),
            files=sizes[b],
            created_at=first[b].created_at,
            undone=b in undone,
            is_undo=_is_undo(first[b]),
            payload=first[b].payload or {},
        )
        for b in order
    ]


def _is_undo(row) -> bool:
    return row.kind == DecisionKind.UNDO or (row.payload or {}).get("action") == "undo"


def _undone_batches(batches: list[str]) -> set[str]:
    target = UserDecision.__table__.alias("target")
    rows = db.session.execute(
        select(target.c.batch)
        .select_from(UserDecision)
        .join(target, target.c.id == UserDecision.undoes_id)
        .where(target.c.batch.in_(batches))
        .distinct()
    ).scalars()
    return set(rows)
