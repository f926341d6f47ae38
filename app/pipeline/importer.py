"""The import job: find files, analyze them on every core, record them in batches.

Phases (stored on the job, so a resumed job continues where it stopped):
  discover  walk the folder and insert one pending `File` row per file (idempotent)
  process   analyze pending files in a process pool; one writer commits results in batches
  finish    find duplicates among the new files and the whole library

Per-file state is `File.status`: a file is pending until the batch that records its result
commits, so a killed worker leaves it pending and the next run does it — once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from ..media import analyze as media
from ..media import batch
from ..models import (
    Confidence,
    File,
    FileFingerprint,
    FileSource,
    FileStatus,
    FileTag,
    Job,
    JobControl,
    JobKind,
    JobStatus,
    Tag,
    db,
    insert_ignore,
    tag_key,
    utcnow,
)
from . import jobs

log = logging.getLogger(__name__)

BATCH_SECONDS = 0.5  # commit at least this often, so progress and pauses are prompt
BATCH_FILES = 64
PREFETCH = 256  # pending files read per query
DISCOVER_BATCH = 500


class ImportRefused(ValueError):
    """A folder that may not be imported; the message says why."""


# --- where files may come from ----------------------------------------------------------


def check_import_path(path: str | Path, roots: tuple[Path, ...] | None) -> tuple[Path, Path]:
    """Resolve `path` and return (folder, root it lies in). `roots=None` allows any folder
    (the command line is the server's own admin); otherwise the folder, after resolving
    `..` and symlinks, must lie inside one of the roots."""
    raw = Path(path).expanduser()
    try:
        folder = raw.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        raise ImportRefused(f"Folder not found: {raw}") from None
    if not folder.is_dir():
        raise ImportRefused(f"Not a folder: {raw}")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise ImportRefused(f"MediaParser may not read this folder: {folder}")
    if roots is None:
        return folder, folder
    if not roots:
        raise ImportRefused("No import folders are configured (set MEDIAPARSER_IMPORT_ROOTS)")
    for root in roots:
        if folder == root or folder.is_relative_to(root):
            return folder, root
    raise ImportRefused(f"{folder} is outside the folders MediaParser may import from")


def start_folder_import(path: str | Path, roots: tuple[Path, ...] | None) -> Job:
    folder, root = check_import_path(path, roots)
    return jobs.create(JobKind.IMPORT, {"source": FileSource.FOLDER, "path": str(folder), "root": str(root)})


# --- discover ---------------------------------------------------------------------------


def _relative(folder: Path, base: Path) -> str:
    rel = folder.relative_to(base).as_posix()
    return "" if rel == "." else rel


def _discover_rows(job: Job):
    folder = Path(job.params["path"])
    root = Path(job.params.get("root") or folder)
    # Folder names are evidence (dates, tags): keep the path below the import root, and the
    # imported folder's own name ("2019-06 Holiday/IMG_1.jpg") when it is the root itself.
    base = folder.parent if folder == root else root
    for path in media.iter_media_paths(folder):
        row = {
            "job_id": job.id,
            "path": str(path),
            "original_name": path.name,
            "relative_dir": _relative(path.parent, base),
            "source": FileSource.FOLDER,
            "status": FileStatus.PENDING,
            "created_at": utcnow(),
            # every row has every key: a multi-row INSERT takes its columns from the rows
            "error": None,
            "size": None,
            "mtime": None,
        }
        try:
            st = path.lstat()
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(folder):
                    row.update(
                        status=FileStatus.SKIPPED, error="Link to a file outside the imported folder: not followed"
                    )
                    yield row
                    continue
                st = target.stat()
            row["size"] = st.st_size
            row["mtime"] = datetime.fromtimestamp(st.st_mtime, UTC)
        except OSError as exc:
            row.update(status=FileStatus.ERROR, error=f"The file cannot be read ({exc.strerror or exc})")
        yield row


def discover(ctx: jobs.JobContext) -> None:
    job = ctx.job
    folder = Path(job.params["path"])
    if not folder.is_dir():
        raise jobs.JobError(f"The folder {folder} is no longer there")
    batch: list[dict] = []

    def flush():
        if batch:
            # Idempotent: a resumed discovery re-walks and only adds what is missing.
            db.session.execute(insert_ignore(File).values(batch))
            db.session.commit()
            batch.clear()

    for row in _discover_rows(job):
        batch.append(row)
        if len(batch) >= DISCOVER_BATCH:
            flush()
            if ctx.checkpoint() != JobControl.RUN:
                return
    flush()
    _refresh_counts(job)
    job.phase = "process"
    db.session.commit()


def _refresh_counts(job: Job) -> None:
    """Recount from the rows: the counters can never drift from the truth."""
    counts = dict(
        db.session.execute(select(File.status, func.count()).where(File.job_id == job.id).group_by(File.status)).all()
    )
    job.total = sum(counts.values())
    job.errors = counts.get(FileStatus.ERROR, 0)
    job.skipped = counts.get(FileStatus.SKIPPED, 0)
    job.duplicates = counts.get(FileStatus.DUPLICATE, 0)
    job.done = job.total - counts.get(FileStatus.PENDING, 0)


# --- process ----------------------------------------------------------------------------


class _InlineExecutor:
    """Runs tasks in this process: for one worker, and where processes cannot be started."""

    def __init__(self, initargs):
        batch.init(*initargs)

    def submit(self, fn, arg) -> Future:
        future: Future = Future()
        future.set_result(fn(arg))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def _executor(workers: int, initargs, max_image_pixels: int):
    if workers <= 1:
        return _InlineExecutor(initargs)  # this process was set up by its own entry point
    # forkserver, not fork: this process has threads (web server, queue) that must not be
    # forked; the fork server starts once, with the media code already imported.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["app.media.batch"])
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=batch.start_process,
        initargs=(*initargs, max_image_pixels),
    )


CONTENT_COLUMNS = (
    "size", "sha256", "mime", "media_kind", "ext", "width", "height", "orientation", "duration",
    "camera_make", "camera_model", "meta", "phash", "dhash", "mean_color", "contrast", "thumb_key",
)  # fmt: skip


class _Recorder:
    """Writes analysis results into File rows: the one writer of the import. Works in bulk
    (one SELECT and one executemany UPDATE per batch) so it stays a small share of a core."""

    def __init__(self, ctx: jobs.JobContext, zone: ZoneInfo, sha_owner: dict[str, int]):
        self.ctx = ctx
        self.zone = zone
        self.sha_owner = sha_owner  # sha256 -> the library's first file with those bytes
        self.tag_ids: dict[str, int] = {}

    def record(self, results: list[tuple[int, media.Analysis]]) -> None:
        # in file order, not the order workers finished: of identical files, the first found is the original
        results = sorted(results, key=lambda item: item[0])
        ids = [file_id for file_id, _ in results]
        pending = {
            r.id: r
            for r in db.session.execute(
                select(File.id, File.original_name, File.relative_dir, File.mtime).where(
                    File.id.in_(ids), File.status == FileStatus.PENDING
                )
            )
        }
        owners = {self.sha_owner[a.sha256] for _, a in results if a.sha256 in self.sha_owner}
        # content facts of each first copy, by file id (those recorded in this batch join below)
        originals = {
            r.id: {c: getattr(r, c) for c in CONTENT_COLUMNS}
            for r in db.session.execute(
                select(File.id, *[getattr(File, c) for c in CONTENT_COLUMNS]).where(File.id.in_(owners))
            )
        }
        updates, tags, fingerprints = [], [], []
        counts = {"done": 0, "errors": 0, "skipped": 0, "duplicates": 0}
        for file_id, a in results:
            row = pending.get(file_id)
            if row is None:
                continue  # recorded by an earlier run: exactly once
            owner = self.sha_owner.get(a.sha256) if a.sha256 else None
            if owner is not None and owner != file_id and owner in originals:
                values = self._duplicate_values(row, a, owner, originals[owner])
                tags.append((file_id, media.tags.tags_for(row.original_name, row.relative_dir)))
                counts["duplicates"] += 1
            elif a.status == FileStatus.DUPLICATE:
                continue  # its first copy is not in the library any more: analyzed next run
            else:
                values = self._analysis_values(row, a)
                if a.fingerprint:
                    fingerprints.append({"file_id": file_id, "pixels": a.fingerprint})
                if a.sha256 and a.sha256 not in self.sha_owner:
                    self.sha_owner[a.sha256] = file_id
                    originals[file_id] = {c: values[c] for c in CONTENT_COLUMNS}
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
        values = dict(original)
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
        """Tags from names and folders, for a whole batch: one INSERT of many rows."""
        for name in {name for _, found in tagged for name in found} - set(self.tag_ids):
            # one tag whatever its case: "Holiday" finds "holiday" (models.tag_key)
            db.session.execute(insert_ignore(Tag).values(name=name, key=tag_key(name), created_at=utcnow()))
            self.tag_ids[name] = db.session.execute(select(Tag.id).where(Tag.key == tag_key(name))).scalar_one()
        rows = [
            {"file_id": file_id, "tag_id": self.tag_ids[name], "source": source}
            for file_id, found in tagged
            for name, source in found.items()
        ]
        if rows:
            db.session.execute(insert_ignore(FileTag), rows)


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


def _pending(job_id: int, after_id: int, limit: int) -> list[batch.Task]:
    rows = db.session.execute(
        select(File.id, File.path, File.original_name, File.relative_dir, File.mtime)
        .where(File.job_id == job_id, File.status == FileStatus.PENDING, File.id > after_id)
        .order_by(File.id)
        .limit(limit)
    ).all()
    return [batch.Task(r.id, r.path, r.original_name, r.relative_dir, r.mtime) for r in rows]


def process(ctx: jobs.JobContext) -> JobControl:
    settings = ctx.settings
    job = ctx.job
    sha_owner = dict(
        db.session.execute(
            select(File.sha256, func.min(File.id))
            .where(File.sha256.is_not(None), File.exact_of_id.is_(None), File.status != FileStatus.PENDING)
            .group_by(File.sha256)
        ).all()
    )
    initargs = (frozenset(sha_owner), settings.timezone, str(settings.thumbnails_dir))
    recorder = _Recorder(ctx, settings.zone, sha_owner)
    executor = _executor(settings.workers, initargs, settings.max_image_pixels)
    in_flight: set[Future] = set()
    window = max(2, settings.workers * 4)  # enough queued work to keep every core busy
    queue: deque[batch.Task] = deque()
    last_id, exhausted, control = 0, False, JobControl.RUN
    finished: list[tuple[int, media.Analysis]] = []
    last_flush = time.monotonic()
    try:
        while True:
            while control == JobControl.RUN and len(in_flight) < window:
                if not queue and not exhausted:
                    queue.extend(_pending(job.id, last_id, PREFETCH))
                    exhausted = not queue
                    last_id = queue[-1].file_id if queue else last_id
                if not queue:
                    break
                in_flight.add(executor.submit(batch.run, queue.popleft()))
            if not in_flight:
                break
            done, in_flight = wait(in_flight, timeout=BATCH_SECONDS, return_when=FIRST_COMPLETED)
            finished += [f.result() for f in done]
            if finished and (len(finished) >= BATCH_FILES or time.monotonic() - last_flush >= BATCH_SECONDS):
                recorder.record(finished)
                finished, last_flush = [], time.monotonic()
                control = ctx.checkpoint()
                if control != JobControl.RUN:
                    # stop between files: what is still running finishes, nothing new starts
                    for future in in_flight:
                        future.cancel()
                    in_flight = {f for f in in_flight if not f.cancelled()}
        if finished:
            recorder.record(finished)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    if control == JobControl.RUN:
        control = ctx.checkpoint()
        # files added while we ran (a browser still uploading) are taken up now
        if control == JobControl.RUN and _pending(job.id, 0, 1):
            return process(ctx)
    return control


def _cancel_rest(job: Job) -> None:
    db.session.execute(
        update(File)
        .where(File.job_id == job.id, File.status == FileStatus.PENDING)
        .values(status=FileStatus.SKIPPED, error="Not imported: the import was cancelled before this file")
    )
    db.session.commit()


@jobs.handler(JobKind.IMPORT)
def run_import(ctx: jobs.JobContext) -> str:
    job = ctx.job
    if job.phase == "discover":
        discover(ctx)
        if job.phase == "discover":
            control = ctx.checkpoint()
            if control == JobControl.CANCEL:
                _cancel_rest(job)
            # discovery stopped early: RUN here means the checkpoint passed after its stop
            return jobs.stopped(JobControl.INTERRUPT if control == JobControl.RUN else control)
    if job.phase == "process":
        control = process(ctx)
        _refresh_counts(job)
        db.session.commit()
        if control != JobControl.RUN:
            if control == JobControl.CANCEL:
                _cancel_rest(job)
                _refresh_counts(job)
                db.session.commit()
            return jobs.stopped(control)
        job.phase = "finish"
        db.session.commit()
    if job.phase == "finish":
        from . import duplicates

        duplicates.after_import(job, ctx.settings)
        job.phase = "done"
        db.session.commit()
    return JobStatus.COMPLETED


def summary(job: Job) -> dict:
    counts = dict(
        db.session.execute(select(File.status, func.count()).where(File.job_id == job.id).group_by(File.status)).all()
    )
    return {str(k): v for k, v in counts.items()}
