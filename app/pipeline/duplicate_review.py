"""What people decide about duplicate groups, and what the pages show them. No Flask here:
the web pages and the CLI call these functions inside an app context.

Reading
  list_groups(kinds, statuses)       groups with their files' quality facts, for listings
  group_view(group_id)               one group, for the decision page
  next_open_group(kinds, after_id)   the next group nobody decided (skip with after_id)
  queue_position(kinds, group_id)    (x, y): "group x of y"
  open_group_counts()                {"exact": n, "near": n, "version": n, "similar": n, "total": n}
  recommendation_summary(kind)       what accepting every recommendation of a kind would do
  recommendation_preview(kind)       the groups it would settle, to be looked at first

Deciding (each returns a batch id; every change is a `UserDecision` row in that batch; each
is one transaction, tried again when it loses a race with another writer: database.retrying)
  keep(group_id, keep_file_ids)      keep one or several, the others are discarded (left out of
                                     the export, never deleted); keepers of exact/near groups
                                     inherit the best capture time and every tag of the group
  not_duplicates(group_id)           keep all; the files are never grouped together again
  accept_all_recommendations(kind, dry_run=True, group_ids=None)   count first (dry run), then
                                     do, one batch; only the groups a person saw, when given
  undo(batch_id)                     revert a whole batch, of any kind (decisions.undo: the one undo)
  last_batch()                       the newest batch not undone yet
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select

from ..database import retrying
from ..media import keeper
from ..media.confidence import source_rank
from ..models import Duplicate, DuplicateGroup, File, FileTag, Tag, UserDecision, db, utcnow
from ..vocab import LIVE_GROUP_STATES, SAME_PICTURE_KINDS, Confidence, DecisionKind, GroupKind, GroupStatus
from ..wording import size_text
from . import companions, decisions, timefix
from .duplicates import describe
from .sql import chunks
from .timefix import TIME_FIELDS  # the columns that make up a file's capture time

KINDS = tuple(GroupKind)


class DecisionError(ValueError):
    """A decision that cannot be made; the message says why, for people."""


# --- reading --------------------------------------------------------------------------------


def _file_view(
    f: File, group: DuplicateGroup, match: Duplicate | None, tags: list[str], differences: list[str]
) -> dict[str, Any]:
    return {
        "id": f.id,
        "path": f.path,
        "name": f.original_name,
        "display_path": f.display_path,
        "relative_dir": f.relative_dir,
        "source": f.source,
        "width": f.width,
        "height": f.height,
        "megapixels": round((f.width or 0) * (f.height or 0) / 1_000_000, 1),
        "size": f.size,
        "size_text": size_text(f.size),
        "format": keeper.format_name(f.ext),
        "mime": f.mime,
        "media_kind": f.media_kind,
        "duration": f.duration,
        "taken_at": f.taken_at.isoformat() if f.taken_at else None,
        "taken_local": f.taken_local,
        "taken_offset": f.taken_offset,
        "taken_source": f.taken_source,
        "confidence": f.confidence,
        "camera": " ".join(x for x in (f.camera_make, f.camera_model) if x) or None,
        "thumb_key": f.thumb_key,
        "discarded": f.discarded,
        "recommended": f.id == group.recommended_id,
        "representative": f.id == group.representative_id,
        "match": {"kind": match.kind, "distance": match.distance, "similarity": match.similarity}
        if match is not None
        else None,
        "tags": tags,
        # a version: what differs from the suggested file, in words ("turned 90° right")
        "differences": differences,
    }


def _views(groups: Sequence[DuplicateGroup]) -> list[dict[str, Any]]:
    """Views of many groups with a fixed number of queries (no query per file)."""
    if not groups:
        return []
    ids = [g.id for g in groups]
    files: dict[int, list[File]] = defaultdict(list)
    matches: dict[tuple[int, int], Duplicate] = {}
    tags: dict[int, list[str]] = defaultdict(list)
    last_batch: dict[int, str] = {}
    for chunk in chunks(ids):
        for f in db.session.execute(select(File).where(File.group_id.in_(chunk)).order_by(File.id)).scalars():
            files[f.group_id].append(f)
        for d in db.session.execute(select(Duplicate).where(Duplicate.group_id.in_(chunk))).scalars():
            matches[(d.group_id, d.file_id)] = d
        for gid, batch in db.session.execute(
            select(UserDecision.group_id, UserDecision.batch)
            .where(UserDecision.group_id.in_(chunk), UserDecision.kind != DecisionKind.UNDO, _not_undone())
            .order_by(UserDecision.id)
        ):
            last_batch[gid] = batch
    file_ids = [f.id for fs in files.values() for f in fs]
    for chunk in chunks(file_ids):
        for fid, name in db.session.execute(
            select(FileTag.file_id, Tag.name).join(Tag, Tag.id == FileTag.tag_id).where(FileTag.file_id.in_(chunk))
        ):
            tags[fid].append(name)
    out = []
    for g in groups:
        members = files.get(g.id, [])
        recommended = next((f for f in members if f.id == g.recommended_id), None)
        said = describe.differences(g, members, {fid: m for (gid, fid), m in matches.items() if gid == g.id})
        out.append(
            {
                "id": g.id,
                "kind": g.kind,
                "status": g.status,
                "representative_id": g.representative_id,
                "recommended_id": g.recommended_id,
                "recommended_path": recommended.path if recommended else None,
                "recommended_reason": g.recommended_reason,
                "max_distance": g.max_distance,
                "created_at": g.created_at.isoformat() if g.created_at else None,
                "resolved_at": g.resolved_at.isoformat() if g.resolved_at else None,
                "last_batch": last_batch.get(g.id),
                "files": [
                    _file_view(f, g, matches.get((g.id, f.id)), sorted(tags.get(f.id, [])), said[f.id]) for f in members
                ],
            }
        )
    return out


def list_groups(kinds: Iterable[str] = KINDS, statuses: Iterable[str] = LIVE_GROUP_STATES) -> list[dict[str, Any]]:
    groups = db.session.execute(
        select(DuplicateGroup)
        .where(DuplicateGroup.kind.in_(list(kinds)), DuplicateGroup.status.in_(list(statuses)))
        .order_by(DuplicateGroup.id)
    ).scalars()
    return [v for v in _views(list(groups)) if len(v["files"]) >= 2]


def group_view(group_id: int) -> dict[str, Any] | None:
    group = db.session.get(DuplicateGroup, group_id)
    return _views([group])[0] if group is not None else None


def next_open_group(kinds: Iterable[str] = KINDS, after_id: int | None = None) -> dict[str, Any] | None:
    query = select(DuplicateGroup).where(
        DuplicateGroup.status == GroupStatus.OPEN, DuplicateGroup.kind.in_(list(kinds))
    )
    if after_id is not None:
        query = query.where(DuplicateGroup.id > after_id)
    group = db.session.execute(query.order_by(DuplicateGroup.id).limit(1)).scalar()
    return group_view(group.id) if group is not None else None


def queue_position(kinds: Iterable[str], group_id: int) -> tuple[int, int]:
    """(x, y) for "group x of y": where an open group stands among the open groups of `kinds`
    (x is 0 for a group that is decided already)."""
    kinds = list(kinds)
    open_of_kinds = select(func.count()).where(
        DuplicateGroup.status == GroupStatus.OPEN, DuplicateGroup.kind.in_(kinds)
    )
    total = db.session.execute(open_of_kinds).scalar() or 0
    group = db.session.get(DuplicateGroup, group_id)
    if group is None or group.status != GroupStatus.OPEN or group.kind not in kinds:
        return 0, total
    before = db.session.execute(open_of_kinds.where(DuplicateGroup.id < group_id)).scalar() or 0
    return before + 1, total


def open_group_counts() -> dict[str, int]:
    counts = dict.fromkeys(map(str, KINDS), 0)
    counts.update(
        db.session.execute(
            select(DuplicateGroup.kind, func.count())
            .where(DuplicateGroup.status == GroupStatus.OPEN)
            .group_by(DuplicateGroup.kind)
        ).all()
    )
    counts["total"] = sum(counts[k] for k in KINDS)
    return counts


def recommendation_summary(kind: str = GroupKind.EXACT) -> dict[str, int]:
    """How many open groups of `kind` accepting every recommendation would settle, and how
    many files it would keep and set aside."""
    rows = db.session.execute(
        select(DuplicateGroup.id, func.count(File.id))
        .join(File, File.group_id == DuplicateGroup.id)
        .where(
            DuplicateGroup.status == GroupStatus.OPEN,
            DuplicateGroup.kind == kind,
            DuplicateGroup.recommended_id.is_not(None),
        )
        .group_by(DuplicateGroup.id)
    ).all()
    groups = [(gid, n) for gid, n in rows if n >= 2]
    return {"groups": len(groups), "keep": len(groups), "set_aside": sum(n - 1 for _, n in groups)}


# --- deciding -------------------------------------------------------------------------------


def _not_undone():
    undone = select(UserDecision.undoes_id).where(UserDecision.undoes_id.is_not(None))
    return UserDecision.id.not_in(undone)


def _group_and_members(group_id: int) -> tuple[DuplicateGroup, list[File]]:
    group = db.session.get(DuplicateGroup, group_id)
    if group is None:
        raise DecisionError(f"There is no duplicate group {group_id}")
    members = list(db.session.execute(select(File).where(File.group_id == group_id).order_by(File.id)).scalars())
    if len(members) < 2:
        raise DecisionError(f"Group {group_id} no longer has two files to choose between")
    return group, members


def _time_of(f: File) -> dict[str, Any]:
    values = {name: getattr(f, name) for name in TIME_FIELDS}
    values["taken_at"] = f.taken_at.isoformat() if f.taken_at else None
    return values


def _set_time(f: File, values: dict[str, Any]) -> None:
    from datetime import datetime

    for name in TIME_FIELDS:
        value = values.get(name)
        if name == "taken_at" and value is not None:
            value = datetime.fromisoformat(value)
        setattr(f, name, value)


def _time_quality(f: File) -> tuple[int, int]:
    """Higher is better: the confidence, then how trusted the source is."""
    if f.taken_at is None:
        return (-1, 0)
    return (Confidence.of(f.confidence).rank, -source_rank(f.taken_source or "mtime"))


def _inherit_time(keeper_file: File, others: list[File]) -> dict[str, Any] | None:
    """The keeper takes the best capture time of its group when its own is worse
    (a WhatsApp copy gains the camera original's time; an original keeps its own)."""
    if keeper_file.time_decided or not others:
        return None
    donor = max(others, key=lambda f: (_time_quality(f), -f.id))
    if _time_quality(donor) <= _time_quality(keeper_file):
        return None
    before = _time_of(keeper_file)
    for name in ("taken_at", "taken_local", "taken_offset", "taken_precision", "taken_source", "confidence"):
        setattr(keeper_file, name, getattr(donor, name))
    keeper_file.time_notes = [
        *(keeper_file.time_notes or []),
        f"Capture time taken from its duplicate {donor.display_path} ({donor.taken_source})",
    ]
    keeper_file.needs_review = donor.needs_review
    keeper_file.time_decided = True  # a person's decision: detection does not override it
    return {"from_file": donor.id, "previous": before, "new": _time_of(keeper_file)}


def _merge_tags(keeper_file: File, others: list[File]) -> list[int]:
    """Every tag of the group on the keeper (source "merge"); returns the tag ids added."""
    have = set(db.session.execute(select(FileTag.tag_id).where(FileTag.file_id == keeper_file.id)).scalars())
    wanted = set(
        db.session.execute(select(FileTag.tag_id).where(FileTag.file_id.in_([o.id for o in others]))).scalars()
    )
    added = sorted(wanted - have)
    for tag_id in added:
        db.session.add(FileTag(file_id=keeper_file.id, tag_id=tag_id, source="merge"))
    return added


def _decide(group: DuplicateGroup, members: list[File], keep_ids: set[int], batch: str) -> None:
    status_before = group.status
    keepers = [f for f in members if f.id in keep_ids]
    inherited: list[File] = []
    for f in members:
        payload: dict[str, Any] = {"previous": {"discarded": f.discarded}, "group_status": status_before}
        if f.id in keep_ids:
            others = [o for o in members if o.id != f.id]
            if group.kind in SAME_PICTURE_KINDS:
                time = _inherit_time(f, [o for o in others if o.id not in keep_ids] or others)
                if time:
                    payload["time"] = time
                    inherited.append(f)
            tags = _merge_tags(f, others)
            if tags:
                payload["tags_added"] = tags
        f.discarded = f.id not in keep_ids
        db.session.add(
            UserDecision(
                kind=DecisionKind.KEEP if f.id in keep_ids else DecisionKind.DISCARD,
                file_id=f.id,
                group_id=group.id,
                payload=payload,
                batch=batch,
            )
        )
    group.status, group.resolved_at = GroupStatus.RESOLVED, utcnow()
    if not keepers:  # pragma: no cover - guarded by keep()
        raise DecisionError("Keep at least one file")
    _carry_to_parts(members, batch)
    timefix.share_time(inherited, batch, "inherit")


def _carry_to_parts(members: list[File], batch: str) -> None:
    """A companion set is kept or left out whole: a Live Photo's video, a RAW, an edit follow
    their main file's verdict (each recorded in the batch, so one undo reverts it)."""
    parts = companions.parts_of([f.id for f in members])
    for f in members:
        for part in parts.get(f.id, ()):
            if part.discarded == f.discarded:
                continue
            kind = DecisionKind.DISCARD if f.discarded else DecisionKind.KEEP
            payload = {"previous": {"discarded": part.discarded}, "set_of": f.id}
            db.session.add(UserDecision(kind=kind, file_id=part.id, payload=payload, batch=batch))
            part.discarded = f.discarded


def keep(group_id: int, keep_file_ids: Iterable[int], *, batch: str | None = None) -> str:
    """Keep these files of the group; the others are discarded (left out of the export)."""
    keep_ids = set(keep_file_ids)
    batch = batch or str(uuid.uuid4())

    def work() -> str:
        group, members = _group_and_members(group_id)
        member_ids = {f.id for f in members}
        if not keep_ids:
            raise DecisionError("Choose at least one file to keep")
        if keep_ids - member_ids:
            raise DecisionError(f"Files {sorted(keep_ids - member_ids)} are not in group {group_id}")
        _decide(group, members, keep_ids, batch)
        db.session.commit()
        return batch

    return retrying(work, db.session.rollback)


def not_duplicates(group_id: int) -> str:
    """Keep every file: they are not duplicates. Remembered: they are not grouped together again."""
    return retrying(lambda: _not_duplicates(group_id, str(uuid.uuid4())), db.session.rollback)


def _not_duplicates(group_id: int, batch: str) -> str:
    group, members = _group_and_members(group_id)
    # every file is kept, with its companion set
    everyone = members + [p for parts in companions.parts_of([f.id for f in members]).values() for p in parts]
    db.session.add(
        UserDecision(
            kind=DecisionKind.NOT_DUPLICATE,
            group_id=group.id,
            batch=batch,
            payload={
                "file_ids": [f.id for f in members],
                "previous": {"discarded": {str(f.id): f.discarded for f in everyone}},
                "group_status": group.status,
            },
        )
    )
    for f in everyone:
        f.discarded = False
    group.status, group.resolved_at = GroupStatus.DISMISSED, utcnow()
    db.session.commit()
    return batch


def _ready_groups(kind: str, group_ids: Iterable[int] | None) -> tuple[list[DuplicateGroup], dict[int, list[File]]]:
    """Open groups of `kind` (only `group_ids`, when given) whose suggested file is still in
    them, with their members."""
    query = select(DuplicateGroup).where(
        DuplicateGroup.status == GroupStatus.OPEN,
        DuplicateGroup.kind == kind,
        DuplicateGroup.recommended_id.is_not(None),
    )
    if group_ids is not None:
        query = query.where(DuplicateGroup.id.in_(list(group_ids)))
    groups = list(db.session.execute(query.order_by(DuplicateGroup.id)).scalars())
    members: dict[int, list[File]] = defaultdict(list)
    for chunk in chunks([g.id for g in groups]):
        for f in db.session.execute(select(File).where(File.group_id.in_(chunk))).scalars():
            members[f.group_id].append(f)
    ready = [g for g in groups if len(members[g.id]) >= 2 and any(f.id == g.recommended_id for f in members[g.id])]
    return ready, members


def recommendation_preview(kind: str, limit: int = 500) -> list[dict[str, Any]]:
    """What accepting every suggestion of `kind` would do, group by group (the first `limit`):
    the views of the groups it would settle."""
    ready, _ = _ready_groups(kind, None)
    return _views(ready[:limit])


def accept_all_recommendations(
    kind: str = GroupKind.EXACT,
    dry_run: bool = True,
    *,
    batch: str | None = None,
    group_ids: Iterable[int] | None = None,
) -> int:
    """Keep the recommended file of every open group of `kind` (only of `group_ids`, the
    groups a person was shown, when given). With dry_run (the default) only counts the groups
    it would settle; otherwise does it, all in one batch (`batch`, or a new one: `last_batch()`
    finds it) that a single `undo` reverts."""
    if kind not in KINDS:
        raise DecisionError(f"Unknown kind of group: {kind}")
    if dry_run:
        return len(_ready_groups(kind, group_ids)[0])
    batch = batch or str(uuid.uuid4())

    def work() -> int:
        ready, members = _ready_groups(kind, group_ids)
        for g in ready:
            _decide(g, sorted(members[g.id], key=lambda f: f.id), {g.recommended_id}, batch)
        db.session.commit()
        return len(ready)

    return retrying(work, db.session.rollback)


def last_batch() -> str | None:
    """The batch of the newest decision that is not undone (for an "Undo" button)."""
    return db.session.execute(
        select(UserDecision.batch)
        .where(UserDecision.kind != DecisionKind.UNDO, UserDecision.batch.is_not(None), _not_undone())
        .order_by(UserDecision.id.desc())
        .limit(1)
    ).scalar()


def undo(batch_id: str) -> int:
    """Revert every decision of a batch (newest first), whatever its kind (decisions.undo);
    returns how many were undone."""
    try:
        count = retrying(lambda: decisions.undo(batch_id), db.session.rollback)
    except decisions.UndoError as exc:
        raise DecisionError(str(exc)) from None
    if not count:
        raise DecisionError("Nothing was undone: these files were changed since")
    return count


@decisions.reverter(DecisionKind.KEEP, DecisionKind.DISCARD, DecisionKind.NOT_DUPLICATE)
def _revert_decision(row: UserDecision, _undo_batch: str):
    payload = row.payload or {}
    _revert(row, payload)
    if row.group_id is not None and "group_status" in payload:
        group = db.session.get(DuplicateGroup, row.group_id)
        if group is not None:
            group.status = payload["group_status"]
            group.resolved_at = None if group.status == GroupStatus.OPEN else group.resolved_at
    return DecisionKind.UNDO, {}


def _revert(row: UserDecision, payload: dict[str, Any]) -> None:
    """What one keep, discard or not-duplicates decision changed on its files, put back."""
    if row.kind == DecisionKind.NOT_DUPLICATE:
        previous = payload.get("previous", {}).get("discarded", {})
        for fid, was in previous.items():
            f = db.session.get(File, int(fid))
            if f is not None:
                f.discarded = was
        return
    if row.kind not in (DecisionKind.KEEP, DecisionKind.DISCARD):
        return
    f = db.session.get(File, row.file_id) if row.file_id else None
    if f is None:
        return
    f.discarded = payload.get("previous", {}).get("discarded", False)
    if "time" in payload:
        _set_time(f, payload["time"]["previous"])
    for tag_id in payload.get("tags_added", []):
        db.session.execute(
            FileTag.__table__.delete().where(
                FileTag.file_id == f.id, FileTag.tag_id == tag_id, FileTag.source == "merge"
            )
        )
