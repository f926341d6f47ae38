"""The import's one writer: analysis results into File rows, in batches.

A file is pending until the batch that records its result commits, so a killed worker leaves
it pending and the next run does it — once. A batch the database refuses (one odd value) is
recorded file by file, and a file that still cannot be saved gets an error line: one file
never stops an import."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from ..media import analyze as media
from ..models import (
    Confidence,
    File,
    FileFingerprint,
    FileSource,
    FileStatus,
    FileTag,
    db,
    insert_ignore,
    insert_rows,
    utcnow,
)
from . import jobs, tagging

log = logging.getLogger(__name__)

CONTENT_COLUMNS = (
    "size", "sha256", "mime", "media_kind", "ext", "width", "height", "orientation", "duration",
    "camera_make", "camera_model", "meta", "phash", "dhash", "mean_color", "contrast", "thumb_key",
)  # fmt: skip
SAME_FILE = "Already in the library: this very file was imported before from the same place (it is not a copy)"


class Recorder:
    """Writes analysis results into File rows. Works in bulk (one SELECT and one executemany
    UPDATE per batch) so it stays a small share of a core."""

    def __init__(self, ctx: jobs.JobContext, zone: ZoneInfo, sha_owner: dict[str, int]):
        self.ctx = ctx
        self.zone = zone
        self.sha_owner = sha_owner  # sha256 -> the library's first file with those bytes
        self.tag_ids: dict[str, int] = {}

    def record(self, results: list[tuple[int, media.Analysis]]) -> list[int]:
        """Record `results`; returns the files to analyze again without the shortcut for
        bytes already in the library (their first copy left the library meanwhile)."""
        added: list[str] = []
        try:
            return self._record(results, added)
        except Exception:  # noqa: BLE001 - one value the database refuses must not stop the import
            db.session.rollback()
            for sha in added:
                self.sha_owner.pop(sha, None)
            self.tag_ids.clear()
            if len(results) == 1:
                log.exception("could not record file %s", results[0][0])
                self._record_failure(*results[0])
                return []
            return [file_id for one in results for file_id in self.record([one])]

    def _record(self, results: list[tuple[int, media.Analysis]], added: list[str]) -> list[int]:
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
        originals = self._originals({self.sha_owner[a.sha256] for _, a in results if a.sha256 in self.sha_owner})
        updates, tags, fingerprints, again = [], [], [], []
        counts = {"done": 0, "errors": 0, "skipped": 0, "duplicates": 0}
        for file_id, a in results:
            row = pending.get(file_id)
            if row is None:
                continue  # recorded by an earlier run: exactly once
            owner = self.sha_owner.get(a.sha256) if a.sha256 else None
            if owner is not None and owner != file_id and owner in originals:
                if _same_file(row, a, originals[owner]):
                    values = {"status": FileStatus.SKIPPED, "error": SAME_FILE, "sha256": a.sha256, "inode": a.inode}
                    counts["skipped"] += 1
                else:
                    values = self._duplicate_values(row, a, owner, originals[owner])
                    tags.append((file_id, media.tags.tags_for(row.original_name, row.relative_dir)))
                    counts["duplicates"] += 1
            elif a.status == FileStatus.DUPLICATE:
                again.append(file_id)  # its first copy is not in the library any more
                continue
            else:
                values = self._analysis_values(row, a)
                if a.fingerprint:
                    fingerprints.append({"file_id": file_id, "pixels": a.fingerprint})
                if a.sha256 and a.sha256 not in self.sha_owner:
                    self.sha_owner[a.sha256] = file_id
                    added.append(a.sha256)
                    originals[file_id] = {c: values[c] for c in CONTENT_COLUMNS}
                    originals[file_id].update(path=a.path, inode=a.inode, source=row.source)
                if a.mime:
                    tags.append((file_id, a.tags))
                counts["errors"] += a.status == FileStatus.ERROR
                counts["skipped"] += a.status == FileStatus.SKIPPED
            counts["done"] += 1
            updates.append({"id": file_id, **values, "processed_at": utcnow()})
        for shape in _by_shape(updates):
            db.session.execute(update(File), shape)
        if fingerprints:  # for the near-duplicate search (pipeline/duplicates.py)
            db.session.execute(insert_ignore(FileFingerprint), fingerprints)
        self._add_tags(tags)
        self.ctx.add(**counts)
        db.session.commit()
        return again

    def _originals(self, owners: set[int]) -> dict[int, dict]:
        """Content facts of each first copy, by file id (and where it is, to tell a copy
        from the same file imported again)."""
        if not owners:
            return {}
        columns = [getattr(File, c) for c in CONTENT_COLUMNS]
        rows = db.session.execute(
            select(File.id, File.path, File.inode, File.source, *columns).where(File.id.in_(owners))
        )
        return {r.id: {c: getattr(r, c) for c in (*CONTENT_COLUMNS, "path", "inode", "source")} for r in rows}

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
        }  # fmt: skip
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
