"""The import job: find files, analyze them on every core, record them in batches.

Phases (stored on the job, so a resumed job continues where it stopped):
  discover  walk the folder and insert one `File` row per file (idempotent): pending for a
            file to analyze, or skipped / error with a sentence for what cannot be imported
            (a link out of the folder or in a loop, a folder that cannot be read, a pipe...)
  process   analyze pending files in batches that every helping worker takes, each with a
            pool of analysis processes and a writer (import_process.py, batches.py, recorder.py)
  finish    the steps after the last batch, run once by the job's runner (`after_last_batch`):
            link companion files (companions.py), then find duplicates among the new files
            and the whole library

Per-file state is `File.status`: a file is pending until the transaction that records its
result commits, so a killed worker leaves it pending and whoever takes its batch over does
it — once.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update

from ..media import walk
from ..models import (
    File,
    FileSource,
    FileStatus,
    Job,
    JobControl,
    JobKind,
    JobStatus,
    db,
    insert_ignore,
    utcnow,
)
from ..wording import printable_text
from . import jobs
from .import_process import process
from .recorder import apply_time, time_columns  # noqa: F401 - what other jobs import from here

log = logging.getLogger(__name__)

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


def _relative(folder: str, base: str) -> str:
    rel = os.path.relpath(folder, base)
    return "" if rel == "." else printable_text(rel.replace(os.sep, "/"))


def _discover_rows(job: Job):
    folder = str(job.params["path"])
    root = str(job.params.get("root") or folder)
    # Folder names are evidence (dates, tags): keep the path below the import root, and the
    # imported folder's own name ("2019-06 Holiday/IMG_1.jpg") when it is the root itself.
    base = os.path.dirname(folder) if folder == root else root
    for entry in walk.walk(folder):
        yield {
            "job_id": job.id,
            "path": entry.path,  # exact, undecodable bytes included; names are shown readably
            "original_name": printable_text(entry.name),
            "relative_dir": _relative(os.path.dirname(entry.path), base),
            "source": FileSource.FOLDER,
            "status": entry.status or FileStatus.PENDING,
            "error": entry.reason,
            "size": entry.size,
            "mtime": datetime.fromtimestamp(entry.mtime, UTC) if entry.mtime is not None else None,
            "meta": {"folder": True} if entry.folder else None,
            "created_at": utcnow(),
        }  # every row has every key: a multi-row INSERT takes its columns from the rows


def discover(ctx: jobs.JobContext) -> None:
    job = ctx.job
    folder = Path(job.params["path"])
    if not folder.is_dir():
        raise jobs.JobError(f"The folder {printable_text(str(folder))} is no longer there")
    rows: list[dict] = []

    def flush():
        if rows:
            # Idempotent: a resumed discovery re-walks and only adds what is missing.
            db.session.execute(insert_ignore(File), rows)
            db.session.commit()
            rows.clear()

    for row in _discover_rows(job):
        rows.append(row)
        if len(rows) >= DISCOVER_BATCH:
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
        after_last_batch(ctx)
        job.phase = "done"
        db.session.commit()
    return JobStatus.COMPLETED


def after_last_batch(ctx: jobs.JobContext) -> None:
    """What an import does once, after its last batch, by the job's runner alone (whoever
    holds the job's lease then; its lease is the lock): library-wide steps over its files."""
    from . import companions, duplicates

    new_files = db.session.execute(select(File.id).where(File.job_id == ctx.job.id)).scalars().all()
    # before the duplicate scan: parts of one set are never its duplicates
    companions.link(ctx.settings, new_files)
    duplicates.after_import(ctx.job, ctx.settings, new_files)


def summary(job: Job) -> dict:
    counts = dict(
        db.session.execute(select(File.status, func.count()).where(File.job_id == job.id).group_by(File.status)).all()
    )
    return {str(k): v for k, v in counts.items()}
