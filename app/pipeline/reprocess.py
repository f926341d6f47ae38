"""The re-detection job (JobKind.REPROCESS): capture times recomputed for chosen files or
the whole library, e.g. after an upgrade taught MediaParser new sources or rules.

    params {"file_ids": [1, 2, ...]}  or  {"all": true}

Phases: "discover" writes one pending JobItem per file (idempotent), "process" works
through the pending items in batches that every helping worker takes (pipeline/batches.py);
an item is done when the transaction that records its result commits, so a killed worker
leaves it pending and whoever takes its batch over does it — once.

Per file: the metadata is re-read from the file when it is still there and unchanged in
size (new readers find new dates), else the stored facts (File.meta) are used; then the
candidates and choice are recomputed. A time a person decided (File.time_decided) is never
overridden: its candidate list is refreshed for the review page, nothing else.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from ..media import analyze as media
from ..media.companion_names import content_id
from ..models import File, Job, JobItem, db, insert_ignore, utcnow
from ..vocab import FileStatus, ItemStatus, JobKind
from . import batches, jobs
from .importer import apply_time

BATCH = 64
DISCOVER_CHUNK = 1000
REDETECTABLE = (FileStatus.DONE, FileStatus.DUPLICATE, FileStatus.ERROR)


def start(file_ids: list[int] | None = None, everything: bool = False) -> Job:
    if everything:
        params: dict[str, Any] = {"all": True}
    else:
        ids = sorted({int(i) for i in (file_ids or [])})
        if not ids:
            raise ValueError("Choose files to re-detect, or all of them.")
        params = {"file_ids": ids}
    return jobs.create(JobKind.REPROCESS, params)


def _target_ids(params: dict[str, Any]):
    query = select(File.id).where(File.status.in_([str(s) for s in REDETECTABLE]), File.mime.is_not(None))
    if not params.get("all"):
        ids = [int(i) for i in params.get("file_ids") or []]
        for start_at in range(0, len(ids), DISCOVER_CHUNK):
            chunk = ids[start_at : start_at + DISCOVER_CHUNK]
            yield from db.session.execute(query.where(File.id.in_(chunk)).order_by(File.id)).scalars()
        return
    yield from db.session.execute(query.order_by(File.id)).scalars()


def discover(ctx: jobs.JobContext) -> None:
    job = ctx.job
    batch: list[dict] = []
    for file_id in list(_target_ids(job.params or {})):
        batch.append({"job_id": job.id, "file_id": file_id, "status": ItemStatus.PENDING})
        if len(batch) >= DISCOVER_CHUNK:
            db.session.execute(insert_ignore(JobItem).values(batch))
            batch.clear()
    if batch:
        db.session.execute(insert_ignore(JobItem).values(batch))
    job.total = db.session.execute(
        select(func.count()).select_from(JobItem).where(JobItem.job_id == job.id)
    ).scalar_one()
    job.phase = "process"
    db.session.commit()


def _fresh_meta(f: File) -> dict[str, Any] | None:
    """Metadata re-read from the file, or None when it is gone or changed."""
    try:
        if not os.path.isfile(f.path) or (f.size is not None and os.path.getsize(f.path) != f.size):
            return None
        return media.read_time_facts(f.path, f.mime, f.original_name)
    except OSError:
        return None


def redetect_file(f: File, zone, now: datetime | None = None) -> dict[str, Any]:
    """Recompute one file's capture time; returns what happened (for the JobItem).
    Everything is computed before the row is touched, so a failure changes nothing."""
    meta = dict(f.meta or {})
    fresh = _fresh_meta(f)
    if fresh is not None:
        # The file's current metadata wins; facts only the stored copy has (a sidecar that
        # has since been deleted, the video details) are kept.
        meta.update(fresh)
    candidates, choice = media.redetect_time(
        meta, meta.get("video") or {}, f.original_name, f.relative_dir or "", f.mtime, zone, now
    )
    before = (f.taken_local, f.taken_offset, f.taken_precision, f.taken_source, f.confidence)
    if fresh is not None:
        f.meta = meta
        f.content_id = content_id(meta)  # a video's is re-read with its metadata
        if not f.camera_make and not f.camera_model and (meta.get("make") or meta.get("model")):
            f.camera_make, f.camera_model = meta.get("make"), meta.get("model")
    apply_time(f, candidates, choice)
    after = (f.taken_local, f.taken_offset, f.taken_precision, f.taken_source, f.confidence)
    return {
        "reread": fresh is not None,
        "decided": bool(f.time_decided),
        "changed": before != after,
        "before": {"local": before[0], "offset": before[1], "source": before[3], "confidence": str(before[4])},
        "after": {"local": after[0], "offset": after[1], "source": after[3], "confidence": str(after[4])},
    }


def _redetect(crew: batches.BatchContext, items: list[JobItem]) -> None:
    """Re-detect one chunk of a batch's items; counted and committed together."""
    zone = crew.settings.zone
    errors = skipped = 0
    now = datetime.now(UTC)
    for item in items:
        f = db.session.get(File, item.file_id)
        if f is None:
            item.status, item.message = ItemStatus.SKIPPED, "The file is no longer in the library"
            skipped += 1
            continue
        try:
            item.result = redetect_file(f, zone, now)
            item.status = ItemStatus.DONE
            f.processed_at = utcnow()
        except Exception as exc:  # noqa: BLE001 - one odd file never stops the job
            item.status = ItemStatus.ERROR
            item.message = f"Could not re-detect the time: {type(exc).__name__}: {str(exc)[:200]}"
            errors += 1
    crew.add(done=len(items), errors=errors, skipped=skipped)
    db.session.commit()


# every worker that helps runs the same rounds (pipeline/batches.py)
batches.worker(JobKind.REPROCESS, batches.pending_items)(batches.item_rounds(_redetect, lambda: BATCH))


@jobs.handler(JobKind.REPROCESS)
def run_reprocess(ctx: jobs.JobContext) -> str:
    return batches.run_item_job(ctx, discover, after=_relink)


def _relink(ctx: jobs.JobContext) -> None:
    from . import companions

    companions.link(ctx.settings)  # new times may pair files (or part them)


def summary(job: Job) -> dict[str, int]:
    counts = dict(
        db.session.execute(
            select(JobItem.status, func.count()).where(JobItem.job_id == job.id).group_by(JobItem.status)
        ).all()
    )
    changed = 0
    for (result,) in db.session.execute(
        select(JobItem.result).where(JobItem.job_id == job.id, JobItem.status == ItemStatus.DONE)
    ):
        changed += bool(result and result.get("changed"))
    return {**{str(k): v for k, v in counts.items()}, "changed": changed}
