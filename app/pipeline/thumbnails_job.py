"""The THUMBNAILS job: make the preview pictures again (after a crash, a deleted
thumbnails folder, or a change in how they are made). Originals are only read.

params: {"file_ids": [...]} or {"all": true}. Per-file state lives in JobItem rows, worked
on in batches that every helping worker takes (pipeline/batches.py), so a stopped job
continues with the files it had not done yet, and a finished file is never done twice.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select, update

from ..media import (
    analyze,  # also registers the HEIC opener
    probe,
    raw,
    thumbnails,
    video,
)
from ..models import File, FileStatus, ItemStatus, JobItem, JobKind, MediaKind, db, insert_ignore
from . import batches, jobs
from .sql import chunks

BATCH = 20


class PreviewError(Exception):
    """No preview can be made of this file; the message says why, for people."""


def make_thumbnails(file: File, root: Path) -> str:
    """Write the thumbnails of `file` (a detail preview made on view is removed, to be made
    again when next opened); returns its thumb key. Raises PreviewError."""
    if not file.sha256:
        raise PreviewError("This file has not been read yet")
    if not Path(file.path).is_file():
        raise PreviewError("The original file is missing (moved or deleted since it was imported)")
    key = thumbnails.thumb_key(file.sha256)
    if file.media_kind == MediaKind.VIDEO:
        frame = video.poster_frame(file.path, file.duration)
        if frame is None:
            raise PreviewError("No picture could be taken from this video")
        thumbnails.write_thumbnails(root, key, frame)
        return key
    if file.mime in probe.RAW_MIMES:  # a raw file's picture is its embedded preview
        upright = raw.upright_preview(file.path, file.mime)
        if upright is None:
            raise ValueError("This raw file holds no preview picture that can be shown")
        thumbnails.write_thumbnails(root, key, upright)
        return key
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(file.path) as image:
                upright = thumbnails.decode_reduced(image, thumbnails.import_size(file.mime, image.size))
        except PermissionError:
            raise PreviewError("Permission denied: MediaParser may not read the original file") from None
        except Exception as exc:  # noqa: BLE001 - Pillow and plugins raise many types
            raise PreviewError(analyze.decode_error_text(exc, file.mime)) from exc
    on_view = thumbnails.large_on_view(file.mime)
    thumbnails.write_thumbnails(root, key, upright, large=not on_view)
    if on_view:
        thumbnails.thumb_path(root, key, "l").unlink(missing_ok=True)
    return key


def _discover(ctx: jobs.JobContext) -> None:
    job = ctx.job
    params = job.params or {}
    if params.get("all"):
        ids = db.session.execute(
            select(File.id)
            .where(File.status.in_([FileStatus.DONE, FileStatus.DUPLICATE]), File.exact_of_id.is_(None))
            .order_by(File.id)
        ).scalars()
    else:
        ids = sorted({int(i) for i in params.get("file_ids") or []})
    for part in chunks(ids):
        if not params.get("all"):  # files removed from the library since they were chosen
            part = db.session.execute(select(File.id).where(File.id.in_(part)).order_by(File.id)).scalars().all()
        rows = [{"job_id": job.id, "file_id": file_id, "status": ItemStatus.PENDING} for file_id in part]
        if rows:
            db.session.execute(insert_ignore(JobItem), rows)
    job.total = db.session.execute(select(func.count()).where(JobItem.job_id == job.id)).scalar_one()
    job.phase = "process"
    db.session.commit()


def _cancel_rest(job_id: int) -> None:
    db.session.execute(
        update(JobItem)
        .where(JobItem.job_id == job_id, JobItem.status == ItemStatus.PENDING)
        .values(status=ItemStatus.SKIPPED, message="Not done: the job was cancelled")
    )
    db.session.commit()


def _make(crew: batches.BatchContext, items: list[JobItem]) -> None:
    """Previews of one chunk of a batch's items; counted and committed together."""
    root = crew.settings.thumbnails_dir
    errors = 0
    for item in items:
        file = db.session.get(File, item.file_id)
        try:
            key = make_thumbnails(file, root)
        except Exception as exc:  # noqa: BLE001 - one file never stops the job
            reason = exc if isinstance(exc, PreviewError) else f"unexpected problem ({type(exc).__name__}: {exc})"
            item.status, item.message = ItemStatus.ERROR, f"No preview could be made: {reason}"
            errors += 1
            continue
        item.status = ItemStatus.DONE
        # exact copies share the picture, so they share the thumbnail key too
        db.session.execute(update(File).where(File.sha256 == file.sha256).values(thumb_key=key))
    crew.add(done=len(items), errors=errors)
    db.session.commit()


# every worker that helps runs the same rounds (pipeline/batches.py)
batches.worker(JobKind.THUMBNAILS, batches.pending_items)(batches.item_rounds(_make, lambda: BATCH))


@jobs.handler(JobKind.THUMBNAILS)
def run_thumbnails(ctx: jobs.JobContext) -> str:
    return batches.run_item_job(ctx, _discover, on_cancel=_cancel_rest)
