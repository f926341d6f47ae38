"""The THUMBNAILS job: make the preview pictures again (after a crash, a deleted
thumbnails folder, or a change in how they are made). Originals are only read.

params: {"file_ids": [...]} or {"all": true}. Per-file state lives in JobItem rows, so a
stopped job continues with the files it had not done yet.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select, update

from ..media import (
    analyze,  # noqa: F401 - registers the HEIC opener
    probe,
    raw,
    thumbnails,
    video,
)
from ..models import File, FileStatus, ItemStatus, JobItem, JobKind, db, insert_ignore
from . import jobs

BATCH = 20
INSERT_BATCH = 1000


def make_thumbnails(file: File, root: Path) -> str:
    """Write both thumbnails of `file`; returns its thumb key. Raises with a message."""
    if not file.sha256:
        raise ValueError("This file has not been read yet")
    key = thumbnails.thumb_key(file.sha256)
    if file.media_kind == "video":
        frame = video.poster_frame(file.path, file.duration)
        if frame is None:
            raise ValueError("No picture could be taken from this video")
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
        with Image.open(file.path) as image:
            upright = thumbnails.decode_reduced(image)
    thumbnails.write_thumbnails(root, key, upright)
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
        ids = iter(sorted({int(i) for i in params.get("file_ids") or []}))
    batch: list[dict] = []
    for file_id in ids:
        batch.append({"job_id": job.id, "file_id": file_id, "status": ItemStatus.PENDING})
        if len(batch) >= INSERT_BATCH:
            db.session.execute(insert_ignore(JobItem), batch)
            batch.clear()
    if batch:
        db.session.execute(insert_ignore(JobItem), batch)
    job.total = db.session.execute(select(func.count()).where(JobItem.job_id == job.id)).scalar_one()
    job.phase = "process"
    db.session.commit()


@jobs.handler(JobKind.THUMBNAILS)
def run_thumbnails(ctx: jobs.JobContext) -> str:
    job = ctx.job
    if job.phase == "discover":
        _discover(ctx)
    root = ctx.settings.thumbnails_dir
    outcome = {"pause": "paused", "cancel": "cancelled", "interrupt": "interrupted"}
    while True:
        control = ctx.checkpoint()
        if control != "run":
            if control == "cancel":
                db.session.execute(
                    update(JobItem)
                    .where(JobItem.job_id == job.id, JobItem.status == ItemStatus.PENDING)
                    .values(status=ItemStatus.SKIPPED, message="Not done: the job was cancelled")
                )
                db.session.commit()
            return outcome[control]
        items = list(
            db.session.execute(
                select(JobItem)
                .where(JobItem.job_id == job.id, JobItem.status == ItemStatus.PENDING)
                .order_by(JobItem.id)
                .limit(BATCH)
            ).scalars()
        )
        if not items:
            break
        errors = 0
        for item in items:
            file = db.session.get(File, item.file_id)
            try:
                key = make_thumbnails(file, root)
            except Exception as exc:  # noqa: BLE001 - one file never stops the job
                item.status, item.message = ItemStatus.ERROR, f"No preview could be made: {exc}"
                errors += 1
                continue
            item.status = ItemStatus.DONE
            # exact copies share the picture, so they share the thumbnail key too
            db.session.execute(update(File).where(File.sha256 == file.sha256).values(thumb_key=key))
        ctx.add(done=len(items), errors=errors)
        db.session.commit()
    job.phase = "done"
    db.session.commit()
    return "completed"
