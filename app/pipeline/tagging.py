"""Tags people add and remove on a selection of files; each change is logged as a
UserDecision (tag_add / tag_remove) in one batch, so it can be undone as one action."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select

from ..database import retrying
from ..media.tags import normalize
from ..models import FileTag, Tag, UserDecision, db, insert_ignore, insert_rows, utcnow
from ..vocab import DecisionKind
from .sql import chunks


def clean_names(names) -> list[str]:
    """Normalized, unique, non-empty tag names; ValueError with a message if none."""
    if isinstance(names, str):
        names = names.split(",")
    out = [n for n in (normalize(str(x)) for x in names or []) if n]
    if not out:
        raise ValueError("Type a tag name first.")
    return list(dict.fromkeys(out))


def tag_ids(names) -> dict[str, int]:
    """{name: id} of the tags `names`, creating those that do not exist yet.

    On PostgreSQL new tags are written in a short transaction of their own, sorted by name
    and tried again after a deadlock: imports running at once create the same tags ("2019",
    "holiday") in whatever order their files come, and a tag inserted inside a long
    transaction would hold its name until that commits. The caller's transaction then only
    refers to tags that exist. On SQLite the one writer at a time makes this moot, and a
    second connection would wait for the caller's own transaction: they go into it."""
    wanted = sorted(set(names))
    found: dict[str, int] = {}
    for chunk in chunks(wanted):
        found.update(dict(db.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(chunk))).all()))
    missing = [n for n in wanted if n not in found]
    if not missing:
        return found
    rows = [{"name": n, "created_at": utcnow()} for n in missing]
    if db.engine.dialect.name == "postgresql":
        retrying(lambda: _create_now(rows), rollback=lambda: None)
    else:
        insert_rows(Tag, rows)
    for chunk in chunks(missing):
        found.update(dict(db.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(chunk))).all()))
    return found


def _create_now(rows: list[dict]) -> None:
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 500):
            conn.execute(insert_ignore(Tag), rows[start : start + 500])


def _tag_id(name: str) -> int:
    return tag_ids([name])[name]


def add_tags(file_ids: list[int], names) -> tuple[int, str]:
    """Add tags to files; returns (links added, batch). Tags and files are taken in sorted
    order, so two people tagging at once never wait for each other in a circle; a deadlock
    with other writers all the same is retried."""
    names, ids = sorted(clean_names(names)), sorted(set(file_ids))
    return retrying(lambda: _add_tags(ids, names), db.session.rollback)


def _add_tags(file_ids: list[int], names: list[str]) -> tuple[int, str]:
    batch = str(uuid.uuid4())
    added = 0
    found = tag_ids(names)
    for name in names:
        tag_id = found[name]
        for chunk in chunks(file_ids):
            have = set(
                db.session.execute(
                    select(FileTag.file_id).where(FileTag.tag_id == tag_id, FileTag.file_id.in_(chunk))
                ).scalars()
            )
            new = [fid for fid in chunk if fid not in have]
            if not new:
                continue
            insert_rows(FileTag, [{"file_id": f, "tag_id": tag_id, "source": "user"} for f in new])
            db.session.add_all(
                UserDecision(kind=DecisionKind.TAG_ADD, file_id=f, payload={"tag": name}, batch=batch) for f in new
            )
            added += len(new)
    db.session.commit()
    return added, batch


def remove_tags(file_ids: list[int], names) -> tuple[int, str]:
    """Remove tags from files; returns (links removed, batch). Sorted and retried like add_tags."""
    names, ids = sorted(clean_names(names)), sorted(set(file_ids))
    return retrying(lambda: _remove_tags(ids, names), db.session.rollback)


def _remove_tags(file_ids: list[int], names: list[str]) -> tuple[int, str]:
    batch = str(uuid.uuid4())
    removed = 0
    for name in names:
        tag = db.session.execute(select(Tag).where(Tag.name == name)).scalar()
        if tag is None:
            continue
        for chunk in chunks(file_ids):
            rows = db.session.execute(
                select(FileTag.file_id, FileTag.source).where(FileTag.tag_id == tag.id, FileTag.file_id.in_(chunk))
            ).all()
            if not rows:
                continue
            db.session.execute(delete(FileTag).where(FileTag.tag_id == tag.id, FileTag.file_id.in_(chunk)))
            db.session.add_all(
                UserDecision(kind=DecisionKind.TAG_REMOVE, file_id=f, payload={"tag": name, "source": s}, batch=batch)
                for f, s in rows
            )
            removed += len(rows)
    db.session.commit()
    return removed, batch


def undo(batch: str) -> int:
    """Revert a tag action (a new decision per file, pointing at what it undoes)."""
    return retrying(lambda: _undo(batch), db.session.rollback)


def _undo(batch: str) -> int:
    decisions = list(
        db.session.execute(
            select(UserDecision)
            .where(UserDecision.batch == batch, UserDecision.kind.in_((DecisionKind.TAG_ADD, DecisionKind.TAG_REMOVE)))
            .order_by(UserDecision.file_id, UserDecision.id)  # the order add_tags takes rows in
        ).scalars()
    )
    undo_batch = str(uuid.uuid4())
    count = 0
    for d in decisions:
        name = d.payload.get("tag")
        tag_id = _tag_id(name)
        if d.kind == DecisionKind.TAG_ADD:
            db.session.execute(delete(FileTag).where(FileTag.tag_id == tag_id, FileTag.file_id == d.file_id))
        else:
            db.session.execute(
                insert_ignore(FileTag).values(file_id=d.file_id, tag_id=tag_id, source=d.payload.get("source", "user"))
            )
        db.session.add(
            UserDecision(
                kind=DecisionKind.UNDO, file_id=d.file_id, payload={"tag": name}, undoes_id=d.id, batch=undo_batch
            )
        )
        count += 1
    db.session.commit()
    return count


def tags_of(file_ids: list[int]) -> list[tuple[str, int]]:
    """(tag, how many of the files have it), most common first."""
    counts: dict[str, int] = {}
    for chunk in chunks(file_ids):
        for name, n in db.session.execute(
            select(Tag.name, func.count())
            .join(FileTag, FileTag.tag_id == Tag.id)
            .where(FileTag.file_id.in_(chunk))
            .group_by(Tag.name)
        ).all():
            counts[name] = counts.get(name, 0) + n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def suggest(prefix: str, limit: int = 20) -> list[str]:
    """Tag names starting with (then containing) `prefix`, for autocomplete."""
    text = (normalize(prefix) or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    starts = list(
        db.session.execute(
            select(Tag.name).where(Tag.name.like(f"{text}%", escape="\\")).order_by(Tag.name).limit(limit)
        ).scalars()
    )
    if len(starts) < limit and text:
        more = db.session.execute(
            select(Tag.name)
            .where(Tag.name.like(f"%{text}%", escape="\\"), Tag.name.not_like(f"{text}%", escape="\\"))
            .order_by(Tag.name)
            .limit(limit - len(starts))
        ).scalars()
        starts += list(more)
    return starts
