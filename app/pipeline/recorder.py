"""The import's writer (one in each worker on the import): analysis results into File rows,
in batches.

A file is pending until the transaction that records its result commits, so a killed worker
leaves it pending and whoever takes its batch over does it — once. A batch the database refuses (one odd value) is
recorded file by file, and a file that still cannot be saved gets an error line: one file
never stops an import."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, text, update

from ..database import retrying
from ..media import analyze as media
from ..media.companion_names import content_id, family_key
from ..models import (
    Confidence,
    File,
    FileFingerprint,
    FileSource,
    FileStatus,
    FileTag,
    Job,
    db,
    insert_ignore,
    insert_rows,
    utcnow,
)
from . import leases, tagging
from .sql import chunks

log = logging.getLogger(__name__)

CONTENT_COLUMNS = (
    "size", "sha256", "mime", "media_kind", "ext", "width", "height", "orientation", "duration",
    "camera_make", "camera_model", "meta", "phash", "dhash", "mean_color", "contrast", "thumb_key",
)  # fmt: skip
CONTENT_LOCKS = 0x6D70  # PostgreSQL advisory lock space of "first copy of these bytes" decisions
SAME_FILE = "Already in the library: this very file was imported before from the same place (it is not a copy)"


@dataclass
class _Writes:
    """What one batch of results writes."""

    updates: list[dict] = field(default_factory=list)
    tags: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    fingerprints: list[dict] = field(default_factory=list)
    demoted: list[tuple[int, int, bool]] = field(default_factory=list)  # (old first copy, new one, same file)
    again: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("done", "errors", "skipped", "duplicates"), 0)
    )


class Recorder:
    """Writes analysis results into File rows. Works in bulk (one SELECT and one executemany
    UPDATE per batch) so it stays a small share of a core.

    Several workers record at once (pipeline/batches.py): which file is the first copy of
    some bytes is decided under a lock on those bytes (PostgreSQL: advisory locks; SQLite:
    its one writer, and a transaction that read before another's commit starts again), from
    what the database holds then. Of identical files the first found (the lowest id) is the
    original, whichever worker recorded it first: a later-found copy recorded earlier by
    another worker becomes the copy."""

    def __init__(self, ctx, zone: ZoneInfo, sha_owner: dict[str, int]):
        self.ctx = ctx  # a jobs.JobContext or batches.BatchContext: add() counts, fenced
        self.zone = zone
        self.sha_owner = sha_owner  # sha256 -> the library's first file with those bytes
        self.tag_ids: dict[str, int] = {}
        self._added: list[str] = []

    def record(self, results: list[tuple[int, media.Analysis]]) -> list[int]:
        """Record `results`; returns the files to analyze again without the shortcut for
        bytes already in the library (their first copy left the library meanwhile, or a
        copy found earlier turned up)."""
        try:
            # a lost race with another writer (deadlock, SQLite's stale snapshot): again, afresh
            return retrying(lambda: self._record(results), self._forget)
        except leases.LeaseLost:
            self._forget()
            raise
        except Exception:  # noqa: BLE001 - one value the database refuses must not stop the import
            self._forget()
            if len(results) == 1:
                log.exception("could not record file %s", results[0][0])
                self._record_failure(*results[0])
                return []
            return [file_id for one in results for file_id in self.record([one])]

    def _forget(self) -> None:
        """After a failed transaction: what it taught the writer is forgotten too."""
        db.session.rollback()
        for sha in self._added:
            self.sha_owner.pop(sha, None)
        self._added = []
        self.tag_ids.clear()

    def _record(self, results: list[tuple[int, media.Analysis]]) -> list[int]:
        self._added = []
        # in file order, not the order workers finished: of identical files, the first found is the original
        results = sorted(results, key=lambda item: item[0])
        ids = [file_id for file_id, _ in results]
        pending = {
            r.id: r
            for r in db.session.execute(
                select(File.id, File.original_name, File.relative_dir, File.mtime, File.source).where(
                    File.id.in_(ids), File.status == FileStatus.PENDING
                )
            )
        }
        self._refresh_owners({a.sha256 for _, a in results if a.sha256})
        originals = self._originals({self.sha_owner[a.sha256] for _, a in results if a.sha256 in self.sha_owner})
        out = _Writes()
        for file_id, a in results:
            row = pending.get(file_id)
            if row is not None:  # else recorded by an earlier run: exactly once
                self._one(file_id, row, a, originals, out)
        self._write(out)
        return out.again

    def _one(self, file_id: int, row, a: media.Analysis, originals: dict[int, dict], out: _Writes) -> None:
        owner = self.sha_owner.get(a.sha256) if a.sha256 else None
        first = originals.get(owner) if owner is not None and owner != file_id else None
        if first is not None and owner > file_id and first["status"] == FileStatus.DONE:
            # a copy found later was recorded first (another batch): this file is the original
            if a.status == FileStatus.DUPLICATE:
                out.again.append(file_id)  # not decoded (its bytes were known): analyze it in full
                return
            out.demoted.append((owner, file_id, _same_file(row, a, first)))  # the same either way
            self.sha_owner.pop(a.sha256)
            first = None
        if first is not None:
            if _same_file(row, a, first):
                values = {"status": FileStatus.SKIPPED, "error": SAME_FILE, "sha256": a.sha256, "inode": a.inode}
                out.counts["skipped"] += 1
            else:
                values = self._duplicate_values(row, a, owner, first)
                out.tags.append((file_id, media.tags.tags_for(row.original_name, row.relative_dir)))
                out.counts["duplicates"] += 1
        elif a.status == FileStatus.DUPLICATE:
            out.again.append(file_id)  # its first copy is not in the library any more
            return
        else:
            values = self._analysis_values(row, a)
            if a.fingerprint:
                out.fingerprints.append({"file_id": file_id, "pixels": a.fingerprint})
            if a.sha256 and a.sha256 not in self.sha_owner:
                self.sha_owner[a.sha256] = file_id
                self._added.append(a.sha256)
                originals[file_id] = {c: values[c] for c in CONTENT_COLUMNS}
                originals[file_id].update(path=a.path, inode=a.inode, source=row.source, status=values["status"])
            if a.mime:
                out.tags.append((file_id, a.tags))
            out.counts["errors"] += a.status == FileStatus.ERROR
            out.counts["skipped"] += a.status == FileStatus.SKIPPED
        out.counts["done"] += 1
        out.updates.append({"id": file_id, **values, "processed_at": utcnow()})

    def _write(self, out: _Writes) -> None:
        for shape in _by_shape(out.updates):
            # Core, not the ORM's bulk UPDATE: that one spends more than the database does
            # sorting each row's keys out (0.3 ms a file)
            db.session.execute(_UPDATE_BY_ID, [_by_id(row) for row in shape])
        for old, new, same in out.demoted:
            _demote(old, new, same)
        if out.fingerprints:  # for the near-duplicate search (pipeline/duplicates.py)
            db.session.execute(insert_ignore(FileFingerprint), out.fingerprints)
        self._add_tags(out.tags)
        self.ctx.add(**out.counts)
        db.session.commit()

    def _refresh_owners(self, shas: set[str]) -> None:
        """The first copy of each of `shas` as the database says now (other workers record
        too), read under a lock on those bytes that lasts until this transaction ends."""
        if not shas:
            return
        ordered = sorted(shas)
        if db.engine.dialect.name == "postgresql":
            keys = sorted({int(sha[:8], 16) - (1 << 31) for sha in ordered})
            db.session.execute(
                text(
                    "SELECT pg_advisory_xact_lock(:space, k) FROM "
                    "(SELECT unnest(CAST(:keys AS integer[])) AS k ORDER BY k) AS sorted_keys"
                ),
                {"space": CONTENT_LOCKS, "keys": keys},
            )
        now = {}
        for chunk in chunks(ordered):
            now.update(
                db.session.execute(
                    select(File.sha256, func.min(File.id))
                    .where(File.sha256.in_(chunk), File.exact_of_id.is_(None), File.status != FileStatus.PENDING)
                    .group_by(File.sha256)
                ).all()
            )
        for sha in ordered:
            if sha in now:
                self.sha_owner[sha] = now[sha]
            else:
                self.sha_owner.pop(sha, None)

    def _originals(self, owners: set[int]) -> dict[int, dict]:
        """Content facts of each first copy, by file id (and where it is, to tell a copy
        from the same file imported again)."""
        if not owners:
            return {}
        columns = [getattr(File, c) for c in CONTENT_COLUMNS]
        rows = db.session.execute(
            select(File.id, File.path, File.inode, File.source, File.status, *columns).where(File.id.in_(owners))
        )
        keys = (*CONTENT_COLUMNS, "path", "inode", "source", "status")
        return {r.id: {c: getattr(r, c) for c in keys} for r in rows}

    def _record_failure(self, file_id: int, a: media.Analysis) -> None:
        text = "MediaParser read this file but could not save what it found; try importing it again"
        result = db.session.execute(
            update(File)
            .where(File.id == file_id, File.status == FileStatus.PENDING)
            .values(status=FileStatus.ERROR, error=text, processed_at=utcnow())
        )
        if result.rowcount:
            self.ctx.add(done=1, errors=1)
        db.session.commit()

    def mark_failed(self, file_id: int, text: str) -> None:
        """A file whose analysis never came back (its process crashed or hung): an error line,
        with the count of such ends kept in its metadata."""
        meta = db.session.execute(select(File.meta).where(File.id == file_id)).scalar()
        crashes = int((meta or {}).get("analysis_crashes", 0)) + 1
        result = db.session.execute(
            update(File)
            .where(File.id == file_id, File.status == FileStatus.PENDING)
            .values(status=FileStatus.ERROR, error=text, meta={"analysis_crashes": crashes}, processed_at=utcnow())
        )
        if result.rowcount:
            self.ctx.add(done=1, errors=1)
        db.session.commit()

    def reopen(self, file_id: int, text: str) -> bool:
        """Make a file that failed with `text` pending again (to try it once more)."""
        result = db.session.execute(
            update(File)
            .where(File.id == file_id, File.status == FileStatus.ERROR, File.error == text)
            .values(status=FileStatus.PENDING, error=None)
        )
        if result.rowcount:
            self.ctx.add(done=-1, errors=-1)
        db.session.commit()
        return bool(result.rowcount)

    def _analysis_values(self, row, a: media.Analysis) -> dict:
        values = {
            "status": FileStatus(a.status),
            "error": a.error or ("; ".join(a.warnings) if a.warnings else None),
            "size": a.size, "sha256": a.sha256, "mime": a.mime, "media_kind": a.kind, "ext": a.ext,
            "width": a.width, "height": a.height, "orientation": a.orientation, "duration": a.duration,
            "camera_make": a.meta.get("make"), "camera_model": a.meta.get("model"),
            "meta": {**a.meta, **({"video": a.video} if a.video else {})} or None,
            "phash": a.phash, "dhash": a.dhash, "mean_color": a.mean_color, "contrast": a.contrast,
            "thumb_key": a.thumb_key, "mtime": row.mtime or a.mtime, "inode": a.inode,
            # what the companion step looks its new files' companions up by (pipeline/companions.py)
            "companion_key": family_key(row.original_name),
        }  # fmt: skip
        values["content_id"] = content_id(values["meta"] or {})
        if a.mime:
            values.update(time_columns(a.candidates, a.choice))
        return values

    def _duplicate_values(self, row, a: media.Analysis, original_id: int, original: dict) -> dict:
        """Same bytes as the first copy: take its content facts, keep this copy's own name,
        folder and file time (they are evidence too), and do not decode again."""
        values = {c: original[c] for c in CONTENT_COLUMNS}
        values.update(status=FileStatus.DUPLICATE, exact_of_id=original_id, error=None, mtime=row.mtime or a.mtime)
        values["inode"] = a.inode  # this copy's own, like its path
        # The content's metadata is the first copy's; a Takeout sidecar belongs to this copy.
        meta = {k: v for k, v in (original["meta"] or {}).items() if k != "sidecar"}
        sidecar = media.sidecars.read_for(Path(a.path), row.original_name)
        if sidecar:
            meta["sidecar"] = sidecar
        values["meta"] = meta or None
        candidates, choice = media.redetect_time(
            meta, meta.get("video") or {}, row.original_name, row.relative_dir, values["mtime"], self.zone
        )
        values.update(time_columns(candidates, choice))
        return values

    def _add_tags(self, tagged: list[tuple[int, dict[str, str]]]) -> None:
        """Tags from names and folders, for a whole batch: one INSERT of many rows, in key
        order (imports running at once then never wait for each other in a circle)."""
        self.tag_ids.update(tagging.tag_ids({name for _, found in tagged for name in found} - set(self.tag_ids)))
        rows = [
            {"file_id": file_id, "tag_id": self.tag_ids[name], "source": source}
            for file_id, found in tagged
            for name, source in found.items()
        ]
        insert_rows(FileTag, rows)


def _same_file(row, a: media.Analysis, original: dict) -> bool:
    """The same file on disk imported again (the same folder twice, or again after an import
    that stopped): not a copy of itself."""
    return (
        row.source == FileSource.FOLDER
        and original.get("source") == FileSource.FOLDER
        and original.get("path") == a.path
        and original.get("inode") == a.inode
    )


def _demote(old: int, new: int, same_file: bool) -> None:
    """File `old` was recorded as the first copy of its bytes, but `new`, found before it, is:
    `old` becomes a copy of `new` (or, when it is the very same file, is skipped), and the
    copies of `old` point to `new`."""
    if same_file:
        values = {"status": FileStatus.SKIPPED, "error": SAME_FILE}
        counter = {"skipped": Job.skipped + 1}
    else:
        values = {"status": FileStatus.DUPLICATE, "exact_of_id": new, "error": None}
        counter = {"duplicates": Job.duplicates + 1}
    db.session.execute(update(File).where(File.exact_of_id == old).values(exact_of_id=new))
    db.session.execute(update(File).where(File.id == old).values(**values))
    job_id = select(File.job_id).where(File.id == old).scalar_subquery()
    db.session.execute(update(Job).where(Job.id == job_id).values(**counter))


_UPDATE_BY_ID = update(File.__table__).where(File.__table__.c.id == bindparam("b_id"))


def _by_id(row: dict) -> dict:
    """A row's values for _UPDATE_BY_ID: its id as the key it is found by, the rest to set."""
    return {("b_id" if k == "id" else k): v for k, v in row.items()}


def _by_shape(rows: list[dict]) -> list[list[dict]]:
    """executemany needs rows with the same keys: group them (analyzed, duplicate, not media)."""
    shapes: dict[frozenset, list[dict]] = {}
    for row in rows:
        shapes.setdefault(frozenset(row), []).append(row)
    return list(shapes.values())


def time_columns(candidates, choice) -> dict:
    """The File columns that hold a detected capture time."""
    return {
        "time_candidates": [c.to_dict() for c in candidates],
        "taken_at": choice.utc,
        "taken_local": choice.local.isoformat() if choice.local else None,
        "taken_offset": choice.offset,
        "taken_precision": choice.precision,
        "taken_source": choice.source,
        "confidence": choice.confidence,
        "time_notes": choice.notes,
        "needs_review": choice.confidence in (Confidence.LOW, Confidence.NONE),
        # why it needs a look (the most pressing reason); None when it does not
        "review_reason": (choice.reasons or [None])[0] if choice.confidence <= Confidence.LOW else None,
    }


def apply_time(row: File, candidates, choice) -> None:
    """Store a detected capture time on a row — unless a person already decided it."""
    values = time_columns(candidates, choice)
    if row.time_decided:
        values = {"time_candidates": values["time_candidates"]}
    for column, value in values.items():
        setattr(row, column, value)
