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
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from ..media import analyze as media
from ..models import File, FileStatus, FileTag, Job, JobKind, JobStatus, Tag, db, insert_ignore, utcnow
from . import jobs

log = logging.getLogger(__name__)

BATCH_SECONDS = 0.5  # commit at least this often, so progress and pauses are prompt
BATCH_FILES = 64
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
    return jobs.create(JobKind.IMPORT, {"source": "folder", "path": str(folder), "root": str(root)})


# --- discover ---------------------------------------------------------------------------


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
            "relative_dir": path.parent.relative_to(base).as_posix().strip("."),
            "source": "folder",
            "status": FileStatus.PENDING,
            "created_at": utcnow(),
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
            if ctx.checkpoint() != "run":
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

_WORKER: dict = {}


def _init_worker(known: frozenset[str], zone: str, thumb_root: str, max_pixels: int) -> None:
    _WORKER.update(known=known, zone=ZoneInfo(zone), thumb_root=Path(thumb_root), max_pixels=max_pixels)


@dataclass(frozen=True)
class _Task:
    file_id: int
    path: str
    name: str
    relative_dir: str
    mtime: datetime | None


def _analyze_task(task: _Task) -> tuple[int, media.Analysis]:
    return task.file_id, media.analyze(
        task.path,
        zone=_WORKER["zone"],
        name=task.name,
        relative_dir=task.relative_dir,
        mtime=task.mtime,
        thumb_root=_WORKER["thumb_root"],
        known_sha256=_WORKER["known"],
        max_image_pixels=_WORKER["max_pixels"],
    )


class _InlineExecutor:
    """Runs tasks in this process: for one worker, and where processes cannot be started."""

    def __init__(self, initargs):
        _init_worker(*initargs)

    def submit(self, fn, arg) -> Future:
        future: Future = Future()
        future.set_result(fn(arg))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def _executor(workers: int, initargs):
    if workers <= 1:
        return _InlineExecutor(initargs)
    # spawn: the worker's threads (web server, queue) must not be forked into the children
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=initargs,
    )


class _Recorder:
    """Writes analysis results into File rows; the one writer of the import."""

    def __init__(self, ctx: jobs.JobContext, zone: ZoneInfo):
        self.ctx = ctx
        self.zone = zone
        self.tag_ids: dict[str, int] = {}
        self.sha_owner: dict[str, int] = {}

    def canonical(self, sha: str, file_id: int) -> int | None:
        """The library's first file with these bytes, other than `file_id`."""
        if sha in self.sha_owner and self.sha_owner[sha] != file_id:
            return self.sha_owner[sha]
        owner = db.session.execute(
            select(File.id)
            .where(
                File.sha256 == sha, File.id != file_id, File.exact_of_id.is_(None), File.status != FileStatus.PENDING
            )
            .order_by(File.id)
            .limit(1)
        ).scalar()
        if owner is not None:
            self.sha_owner[sha] = owner
        return owner

    def record(self, results: list[tuple[int, media.Analysis]]) -> None:
        counts = {"done": 0, "errors": 0, "skipped": 0, "duplicates": 0}
        for file_id, result in results:
            row = db.session.get(File, file_id)
            if row is None or row.status != FileStatus.PENDING:
                continue  # recorded by an earlier run: exactly once
            status = result.status
            original = self.canonical(result.sha256, file_id) if result.sha256 else None
            if original is not None:
                self._record_duplicate(row, result, db.session.get(File, original))
                counts["duplicates"] += 1
            elif status == "duplicate":
                # known when the pool started, but its owner is gone since: analyze it next run
                continue
            else:
                self._record_analysis(row, result)
                if result.sha256:
                    self.sha_owner.setdefault(result.sha256, file_id)
                if status == "error":
                    counts["errors"] += 1
                elif status == "skipped":
                    counts["skipped"] += 1
            counts["done"] += 1
        self.ctx.add(**counts)
        db.session.commit()

    def _record_analysis(self, row: File, a: media.Analysis) -> None:
        row.status = {"done": FileStatus.DONE, "error": FileStatus.ERROR, "skipped": FileStatus.SKIPPED}[a.status]
        row.error = a.error or ("; ".join(a.warnings) if a.warnings else None)
        row.size, row.sha256, row.mime, row.media_kind, row.ext = a.size, a.sha256, a.mime, a.kind, a.ext
        row.width, row.height, row.orientation, row.duration = a.width, a.height, a.orientation, a.duration
        row.camera_make, row.camera_model = a.meta.get("make"), a.meta.get("model")
        row.meta = {**a.meta, **({"video": a.video} if a.video else {})} or None
        row.phash, row.dhash, row.mean_color, row.contrast = a.phash, a.dhash, a.mean_color, a.contrast
        row.thumb_key = a.thumb_key
        if a.fingerprint:
            from .duplicates import store_fingerprint

            store_fingerprint(row.id, a.fingerprint)
        if a.mtime and row.mtime is None:
            row.mtime = a.mtime
        if a.mime:
            apply_time(row, a.candidates, a.choice)
            self._add_tags(row, a.tags)
        row.processed_at = utcnow()

    def _record_duplicate(self, row: File, a: media.Analysis, original: File) -> None:
        """Same bytes as `original`: take its content facts, keep this copy's own name,
        folder and file time (they are evidence too), and do not decode again."""
        for column in (
            "size",
            "sha256",
            "mime",
            "media_kind",
            "ext",
            "width",
            "height",
            "orientation",
            "duration",
            "camera_make",
            "camera_model",
            "meta",
            "phash",
            "dhash",
            "mean_color",
            "contrast",
            "thumb_key",
        ):
            setattr(row, column, getattr(original, column))
        row.status = FileStatus.DUPLICATE
        row.exact_of_id = original.id
        row.error = None
        mtime = row.mtime or a.mtime
        meta = original.meta or {}
        candidates, choice = media.redetect_time(
            meta, meta.get("video") or {}, row.original_name, row.relative_dir, mtime, self.zone
        )
        apply_time(row, candidates, choice)
        self._add_tags(row, media.tags.tags_for(row.original_name, row.relative_dir))
        row.processed_at = utcnow()

    def _add_tags(self, row: File, found: dict[str, str]) -> None:
        for name, source in found.items():
            tag_id = self.tag_ids.get(name)
            if tag_id is None:
                db.session.execute(insert_ignore(Tag).values(name=name, created_at=utcnow()))
                tag_id = db.session.execute(select(Tag.id).where(Tag.name == name)).scalar_one()
                self.tag_ids[name] = tag_id
            db.session.execute(insert_ignore(FileTag).values(file_id=row.id, tag_id=tag_id, source=source))


def apply_time(row: File, candidates, choice) -> None:
    """Store the detected capture time on the row — unless a person already decided it."""
    row.time_candidates = [c.to_dict() for c in candidates]
    if row.time_decided:
        return
    row.taken_at = choice.utc
    row.taken_local = choice.local.isoformat() if choice.local else None
    row.taken_offset = choice.offset
    row.taken_precision = choice.precision
    row.taken_source = choice.source
    row.confidence = choice.confidence
    row.time_notes = choice.notes
    row.needs_review = choice.confidence in ("low", "none")


def _pending(job_id: int, after_id: int, limit: int) -> list[_Task]:
    rows = db.session.execute(
        select(File.id, File.path, File.original_name, File.relative_dir, File.mtime)
        .where(File.job_id == job_id, File.status == FileStatus.PENDING, File.id > after_id)
        .order_by(File.id)
        .limit(limit)
    ).all()
    return [_Task(r.id, r.path, r.original_name, r.relative_dir, r.mtime) for r in rows]


def process(ctx: jobs.JobContext) -> str:
    settings = ctx.settings
    job = ctx.job
    known = frozenset(
        db.session.execute(select(File.sha256).where(File.sha256.is_not(None), File.exact_of_id.is_(None))).scalars()
    )
    initargs = (known, settings.timezone, str(settings.thumbnails_dir), settings.max_image_pixels)
    recorder = _Recorder(ctx, settings.zone)
    executor = _executor(settings.workers, initargs)
    in_flight: set[Future] = set()
    window = max(2, settings.workers * 4)
    last_id, exhausted, control = 0, False, "run"
    finished: list[tuple[int, media.Analysis]] = []
    last_flush = time.monotonic()
    try:
        while True:
            while control == "run" and not exhausted and len(in_flight) < window:
                tasks = _pending(job.id, last_id, window - len(in_flight))
                if not tasks:
                    exhausted = True
                    break
                last_id = tasks[-1].file_id
                in_flight |= {executor.submit(_analyze_task, t) for t in tasks}
            if not in_flight:
                break
            done, in_flight = wait(in_flight, timeout=BATCH_SECONDS, return_when=FIRST_COMPLETED)
            finished += [f.result() for f in done]
            if finished and (len(finished) >= BATCH_FILES or time.monotonic() - last_flush >= BATCH_SECONDS):
                recorder.record(finished)
                finished, last_flush = [], time.monotonic()
                control = ctx.checkpoint()
                if control != "run":
                    # stop between files: what is still running finishes, nothing new starts
                    for future in in_flight:
                        future.cancel()
                    in_flight = {f for f in in_flight if not f.cancelled()}
        if finished:
            recorder.record(finished)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    if control == "run":
        control = ctx.checkpoint()
        # files added while we ran (a browser still uploading) are taken up now
        if control == "run" and _pending(job.id, 0, 1):
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
    outcome_for = {"pause": "paused", "cancel": "cancelled", "interrupt": "interrupted"}
    if job.phase == "discover":
        discover(ctx)
        if job.phase == "discover":
            control = ctx.checkpoint()
            if control == "cancel":
                _cancel_rest(job)
            return outcome_for.get(control, "interrupted")
    if job.phase == "process":
        control = process(ctx)
        _refresh_counts(job)
        db.session.commit()
        if control != "run":
            if control == "cancel":
                _cancel_rest(job)
                _refresh_counts(job)
                db.session.commit()
            return outcome_for[control]
        job.phase = "finish"
        db.session.commit()
    if job.phase == "finish":
        from . import duplicates

        duplicates.after_import(job)
        job.phase = "done"
        db.session.commit()
    return "completed"


def summary(job: Job) -> dict:
    counts = dict(
        db.session.execute(select(File.status, func.count()).where(File.job_id == job.id).group_by(File.status)).all()
    )
    return {str(k): v for k, v in counts.items()}


def status_is_final(job: Job) -> bool:
    return job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
