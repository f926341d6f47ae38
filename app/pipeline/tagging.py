"""Tags people add and remove on a selection of files, and rename, merge and delete across
the library. Every change is logged (app/pipeline/decisions.py) in one batch, so one undo
reverts it: tag_add / tag_remove per file; tag_rename, tag_merge and tag_delete as one
decision per tag whose payload lists the files it touched.

A tag keeps the case people typed; "Anna" and "anna" are one tag (Tag.key)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from ..database import retrying
from ..media import tags as media_tags
from ..models import File, FileTag, Tag, UserDecision, db, insert_ignore, insert_rows, tag_key, utcnow
from ..vocab import DecisionKind
from . import decisions
from .sql import chunks

TAG_SOURCES_FROM_IMPORT = ("folder", "filename", "xmp")


class TagError(ValueError):
    """A tag change that cannot be made; the message says why, for people."""


def clean_names(names) -> list[str]:
    """Tag names as typed (case kept), split at commas, one spelling each; ValueError if none."""
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    for item in names or []:
        out += media_tags.split(str(item))
    if not out:
        raise TagError("Type a tag name first.")
    return media_tags.unique(out)


def find(name: str) -> Tag | None:
    return db.session.execute(select(Tag).where(Tag.key == tag_key(name))).scalar()


def tag_ids(names) -> dict[str, int]:
    """{name: id} of the tags `names` (matched whatever their case: the first spelling
    stays), creating those that do not exist yet.

    On PostgreSQL new tags are written in a short transaction of their own, sorted by key
    and tried again after a deadlock: imports running at once create the same tags ("2019",
    "holiday") in whatever order their files come, and a tag inserted inside a long
    transaction would hold its name until that commits. The caller's transaction then only
    refers to tags that exist. On SQLite the one writer at a time makes this moot, and a
    second connection would wait for the caller's own transaction: they go into it."""
    by_key = {tag_key(n): n for n in sorted(set(names))}
    found = _ids_by_key(by_key)
    missing = sorted(k for k in by_key if k not in found)
    if missing:
        rows = [{"name": by_key[k], "key": k, "created_at": utcnow()} for k in missing]
        if db.engine.dialect.name == "postgresql":
            retrying(lambda: _create_now(rows), rollback=lambda: None)
        else:
            insert_rows(Tag, rows)
        found.update(_ids_by_key({k: by_key[k] for k in missing}))
    return {name: found[key] for key, name in by_key.items()}


def _ids_by_key(by_key: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(list(by_key)):
        found.update(dict(db.session.execute(select(Tag.key, Tag.id).where(Tag.key.in_(chunk))).all()))
    return found


def _create_now(rows: list[dict]) -> None:
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 500):
            conn.execute(insert_ignore(Tag), rows[start : start + 500])


def _tag_id(name: str) -> int:
    """The tag's id, made when new (the first spelling stays)."""
    return tag_ids([name])[name]


def add_tags(file_ids: list[int], names) -> tuple[int, str]:
    """Add tags to files; returns (links added, batch). Tags and files are taken in sorted
    order, so two people tagging at once never wait for each other in a circle; a deadlock
    with other writers all the same is retried."""
    names, ids = sorted(clean_names(names)), sorted(set(file_ids))
    return retrying(lambda: _add_tags(ids, names), db.session.rollback)


def _add_tags(file_ids: list[int], names: list[str]) -> tuple[int, str]:
    batch = decisions.new_batch()
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
            for f in new:
                decisions.record(DecisionKind.TAG_ADD, batch, {"tag": name, "tag_id": tag_id}, f)
            added += len(new)
    db.session.commit()
    return added, batch


def remove_tags(file_ids: list[int], names, sources: tuple[str, ...] | None = None) -> tuple[int, str]:
    """Remove tags from files (only links made by `sources`, when given); returns (links
    removed, batch). Sorted and retried like add_tags."""
    names, ids = sorted(clean_names(names)), sorted(set(file_ids))
    return retrying(lambda: _remove_tags(ids, names, sources), db.session.rollback)


def _remove_tags(file_ids: list[int], names: list[str], sources: tuple[str, ...] | None) -> tuple[int, str]:
    batch = decisions.new_batch()
    removed = 0
    for name in names:
        tag = find(name)
        if tag is None:
            continue
        for chunk in chunks(file_ids):
            where = [FileTag.tag_id == tag.id, FileTag.file_id.in_(chunk)]
            if sources:
                where.append(FileTag.source.in_(sources))
            rows = db.session.execute(select(FileTag.file_id, FileTag.source).where(*where)).all()
            if not rows:
                continue
            db.session.execute(delete(FileTag).where(*where))
            for f, s in rows:
                decisions.record(DecisionKind.TAG_REMOVE, batch, {"tag": tag.name, "source": s}, f)
            removed += len(rows)
    db.session.commit()
    return removed, batch


@decisions.reverter(DecisionKind.TAG_ADD, DecisionKind.TAG_REMOVE)
def _revert_link(d: UserDecision, _batch: str):
    name = d.payload.get("tag")
    if not name or d.file_id is None:
        return None
    tag_id = _tag_id(name)
    linked = db.session.execute(
        select(FileTag.file_id).where(FileTag.tag_id == tag_id, FileTag.file_id == d.file_id)
    ).scalar()
    if (linked is not None) != (d.kind == DecisionKind.TAG_ADD):
        return None  # changed since: the file has (or lacks) the tag already
    if d.kind == DecisionKind.TAG_ADD:
        db.session.execute(delete(FileTag).where(FileTag.tag_id == tag_id, FileTag.file_id == d.file_id))
    else:
        db.session.execute(
            insert_ignore(FileTag).values(file_id=d.file_id, tag_id=tag_id, source=d.payload.get("source", "user"))
        )
    return DecisionKind.UNDO, {"tag": name}


def undo(batch: str) -> int:
    """Revert an action (of any kind: decisions.undo)."""
    try:
        return retrying(lambda: decisions.undo(batch), db.session.rollback)
    except decisions.UndoError as exc:
        raise TagError(str(exc)) from None


# --- across the library: rename, merge, delete -------------------------------------------------


def _links(tag_id: int) -> list[list[Any]]:
    return [
        [fid, source]
        for fid, source in db.session.execute(select(FileTag.file_id, FileTag.source).where(FileTag.tag_id == tag_id))
    ]


def _existing(tag_id: int) -> Tag:
    tag = db.session.get(Tag, tag_id)
    if tag is None:
        raise TagError("That tag no longer exists. Reload the page.")
    return tag


def rename(tag_id: int, new_name: str) -> tuple[int, str]:
    """Rename a tag everywhere. A name another tag already has merges the two. Returns
    (files carrying the tag, batch)."""
    tag = _existing(tag_id)
    names = clean_names([new_name.replace(",", " ")])
    name = names[0]
    other = find(name)
    if other is not None and other.id != tag.id:
        return merge([tag.id], other.id, rename_to=name)
    if name == tag.name:
        raise TagError(f"The tag is called “{name}” already.")
    batch = decisions.new_batch()
    decisions.record(DecisionKind.TAG_RENAME, batch, {"tag_id": tag.id, "old": tag.name, "new": name})
    tag.name, tag.key = name, tag_key(name)
    db.session.commit()
    return count_files(tag.id), batch


@decisions.reverter(DecisionKind.TAG_RENAME)
def _revert_rename(d: UserDecision, _batch: str):
    tag = db.session.get(Tag, d.payload.get("tag_id"))
    if tag is None or tag.name != d.payload.get("new") or find(d.payload["old"]) not in (None, tag):
        return None
    tag.name, tag.key = d.payload["old"], tag_key(d.payload["old"])
    return DecisionKind.UNDO, {"tag": tag.name}


def merge(tag_ids: list[int], into_id: int, rename_to: str | None = None) -> tuple[int, str]:
    """Fold tags into one: their files get `into_id` (and keep it), the others disappear.
    Returns (files now carrying the tag, batch)."""
    into = _existing(into_id)
    sources = [_existing(t) for t in dict.fromkeys(tag_ids) if t != into_id]
    if not sources:
        raise TagError("Choose at least two different tags to merge.")
    batch = decisions.new_batch()
    have = {fid for fid, _ in _links(into.id)}
    folded, added = [], []
    for tag in sources:
        links = _links(tag.id)
        folded.append({"id": tag.id, "name": tag.name, "created_at": _iso(tag), "links": links})
        new = [[fid, source] for fid, source in links if fid not in have]
        have.update(fid for fid, _ in new)
        added += new
        db.session.execute(delete(FileTag).where(FileTag.tag_id == tag.id))
        db.session.delete(tag)
    db.session.flush()
    for chunk in chunks(added):
        db.session.execute(insert_ignore(FileTag), [{"file_id": f, "tag_id": into.id, "source": s} for f, s in chunk])
    payload = {"into": into.id, "into_name": into.name, "from": folded, "added": [f for f, _ in added]}
    if rename_to and rename_to != into.name:
        payload["renamed"] = {"old": into.name, "new": rename_to}
        into.name, into.key = rename_to, tag_key(rename_to)
    decisions.record(DecisionKind.TAG_MERGE, batch, payload)
    db.session.commit()
    return count_files(into.id), batch


@decisions.reverter(DecisionKind.TAG_MERGE)
def _revert_merge(d: UserDecision, _batch: str):
    into = db.session.get(Tag, d.payload.get("into"))
    if into is None:
        return None
    renamed = d.payload.get("renamed")
    if renamed and into.name == renamed["new"]:
        into.name, into.key = renamed["old"], tag_key(renamed["old"])
        db.session.flush()
    for fids in chunks(d.payload.get("added", [])):
        db.session.execute(delete(FileTag).where(FileTag.tag_id == into.id, FileTag.file_id.in_(fids)))
    for folded in d.payload.get("from", []):
        _restore_tag(folded["name"], folded["links"])
    return DecisionKind.UNDO, {"tag": into.name}


def delete_tag(tag_id: int) -> tuple[int, str]:
    """Remove a tag from every file (the files themselves are untouched). Returns (files that
    had it, batch)."""
    tag = _existing(tag_id)
    links = _links(tag.id)
    batch = decisions.new_batch()
    decisions.record(DecisionKind.TAG_DELETE, batch, {"tag_id": tag.id, "name": tag.name, "links": links})
    db.session.execute(delete(FileTag).where(FileTag.tag_id == tag.id))
    db.session.delete(tag)
    db.session.commit()
    return len(links), batch


@decisions.reverter(DecisionKind.TAG_DELETE)
def _revert_delete(d: UserDecision, _batch: str):
    _restore_tag(d.payload["name"], d.payload.get("links", []))
    return DecisionKind.UNDO, {"tag": d.payload["name"]}


def _restore_tag(name: str, links: list[list[Any]]) -> None:
    tag_id = _tag_id(name)
    for chunk in chunks(links):
        rows = [{"file_id": f, "tag_id": tag_id, "source": s} for f, s in chunk]
        existing = set(db.session.execute(select(File.id).where(File.id.in_([r["file_id"] for r in rows]))).scalars())
        rows = [r for r in rows if r["file_id"] in existing]  # a file removed since stays removed
        if rows:
            db.session.execute(insert_ignore(FileTag), rows)


def _iso(tag: Tag) -> str | None:
    return tag.created_at.isoformat() if tag.created_at else None


# --- reading ---------------------------------------------------------------------------------


def count_files(tag_id: int) -> int:
    return db.session.execute(select(func.count()).select_from(FileTag).where(FileTag.tag_id == tag_id)).scalar_one()


def library_tags() -> list[dict[str, Any]]:
    """Every tag with how many files carry it, by name (the tags page)."""
    counts = dict(db.session.execute(select(FileTag.tag_id, func.count()).group_by(FileTag.tag_id)).all())
    rows = db.session.execute(select(Tag.id, Tag.name).order_by(Tag.key)).all()
    return [{"id": tid, "name": name, "files": counts.get(tid, 0)} for tid, name in rows]


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
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower()))


def made_by_import(job_id: int) -> list[dict[str, Any]]:
    """The tags an import made from folder and file names (and XMP keywords), with how many
    of its files got each: the job page lists them so they can be removed at once."""
    rows = db.session.execute(
        select(Tag.id, Tag.name, func.count())
        .join(FileTag, FileTag.tag_id == Tag.id)
        .join(File, File.id == FileTag.file_id)
        .where(File.job_id == job_id, FileTag.source.in_(TAG_SOURCES_FROM_IMPORT))
        .group_by(Tag.id, Tag.name)
        .order_by(Tag.key)
    ).all()
    return [{"id": tid, "name": name, "files": n} for tid, name, n in rows]


def remove_import_tags(job_id: int, tag_ids: list[int] | None = None) -> tuple[int, str]:
    """Take the tags an import made off its files (all, or only `tag_ids`), in one undoable
    batch; tags people added themselves stay. Returns (links removed, batch)."""
    made = made_by_import(job_id)
    wanted = [t for t in made if tag_ids is None or t["id"] in set(tag_ids)]
    if not wanted:
        raise TagError("This import made no tags (or they were removed already).")
    batch = decisions.new_batch()
    removed = 0
    ids = list(db.session.execute(select(File.id).where(File.job_id == job_id)).scalars())
    for t in wanted:
        for chunk in chunks(ids):
            where = [FileTag.tag_id == t["id"], FileTag.file_id.in_(chunk), FileTag.source.in_(TAG_SOURCES_FROM_IMPORT)]
            rows = db.session.execute(select(FileTag.file_id, FileTag.source).where(*where)).all()
            db.session.execute(delete(FileTag).where(*where))
            for f, s in rows:
                decisions.record(DecisionKind.TAG_REMOVE, batch, {"tag": t["name"], "source": s}, f)
            removed += len(rows)
    db.session.commit()
    return removed, batch


def suggest(prefix: str, limit: int = 20) -> list[str]:
    """Tag names starting with (then containing) `prefix`, whatever the case, for autocomplete."""
    text = tag_key(prefix or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    starts = list(
        db.session.execute(
            select(Tag.name).where(Tag.key.like(f"{text}%", escape="\\")).order_by(Tag.key).limit(limit)
        ).scalars()
    )
    if len(starts) < limit and text:
        more = db.session.execute(
            select(Tag.name)
            .where(Tag.key.like(f"%{text}%", escape="\\"), Tag.key.not_like(f"{text}%", escape="\\"))
            .order_by(Tag.key)
            .limit(limit - len(starts))
        ).scalars()
        starts += list(more)
    return starts
