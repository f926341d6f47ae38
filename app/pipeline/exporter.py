"""The export job: copy the library into a clean, dated archive — verified, idempotent,
resumable; originals are only ever read.

What goes where is decided first (export_plan.py); this module carries it out.

Phases (stored on the job, so a resumed job continues where it stopped):
  plan     decide every file's fate and name (see `build_plan`), one JobItem per file
  copy     write each new or changed file (archive_copy: temporary name, fsync, verify,
           rename), move retired copies to the archive's trash, in batches that every
           helping worker takes (pipeline/batches.py), each recorded in steps:
           intent -> renames -> fsync folders -> manifest lines -> commit
  cleanup  optional: move exported originals to a trash folder (trash.py)

What was exported is recorded in OUTPUT/.mediaparser/manifest.jsonl (export_manifest.py);
it is what makes a re-run bring the archive up to date instead of copying everything
again. A batch records its intent (final name, sha256 of the copy) in the database before
renaming, so a copy renamed by a worker that was then killed is recognised — by its hash —
and adopted, never duplicated (export_batch.py). A full disk stops the export with what was
written recorded: space held back at the start is given back so the manifest can grow.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import select, update

from ..media import archive_copy
from ..models import Job, JobItem, db, insert_ignore
from ..vocab import FINISHED_JOB_STATES, ItemStatus, JobControl, JobKind, JobStatus
from ..wording import plural, size_text
from . import batches, jobs, locks
from .export_batch import (
    Batch,
    CopyRun,
    WriterPool,
    finish_replacing,
    manifest_record,
    placed_copy_present,
    recorded_already,
    retire_old,
    retired_record,
)
from .export_manifest import (
    META_DIR,
    append_manifest,
    hold_reserve,
    manifest_index,
    meta_dir,
    read_manifest,
    release_reserve,
)
from .export_plan import (
    ACTIONS,
    SKIP_REASONS,
    ExportRefused,
    Plan,
    PlannedFile,
    build_plan,
    check_output,
    dry_run,
)

log = logging.getLogger(__name__)

RESERVE_BYTES = 4 * 1024 * 1024  # room for the manifest lines of the batches in flight


@contextmanager
def output_lock(output: Path, job_id: int, settings):
    """One export job at a time writes into an archive folder, wherever its workers run: a
    lock in the database (its holder's heartbeat renews it; a holder that died frees it when
    its lease runs out). The job's own helpers write alongside it."""
    try:
        meta_dir(output).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise jobs.JobError(f"Cannot create the archive folder {output}: {exc.strerror or exc}") from None
    db.session.commit()  # the lock is written in a transaction of its own
    with locks.hold(locks.lock_name("export", str(output)), seconds=settings.lease_seconds, wait=False) as held:
        if held is None:
            raise jobs.JobError(f"Another export is writing into {output} right now")
        log.info("export %s holds the archive %s", job_id, output)
        yield


# --- the plan -----------------------------------------------------------------------------


def unfinished_export(output: Path) -> Job | None:
    for job in db.session.execute(
        select(Job).where(Job.kind == str(JobKind.EXPORT), Job.status.not_in([str(s) for s in FINISHED_JOB_STATES]))
    ).scalars():
        if job.params.get("output") == str(output):
            return job
    return None


def start_export(output: str | Path, settings, cleanup: bool = False) -> Job:
    output = check_output(output, settings)
    other = unfinished_export(output)
    if other is not None:
        raise ExportRefused(
            f"Export job {other.id} into {output} is {other.status}: let it finish, resume or cancel it first"
        )
    return jobs.create(JobKind.EXPORT, {"output": str(output), "cleanup": bool(cleanup)}, phase="plan")


# --- the job -------------------------------------------------------------------------------


def _remove_stale_temporaries(output: Path) -> int:
    removed = 0
    for dirpath, dirnames, filenames in os.walk(output):
        dirnames[:] = [d for d in dirnames if d != META_DIR]  # the archive's trash is only renamed into
        for name in filenames:
            if archive_copy.is_tmp_name(name):
                Path(dirpath, name).unlink(missing_ok=True)
                removed += 1
    return removed


def _finished_jobs(output: Path) -> list[int]:
    return [
        j.id
        for j in db.session.execute(
            select(Job).where(Job.kind == str(JobKind.EXPORT), Job.status.in_([str(s) for s in FINISHED_JOB_STATES]))
        ).scalars()
        if j.params.get("output") == str(output)
    ]


def _adopt_orphans(output: Path, index: dict[str, dict]) -> int:
    """Copies that an earlier, now finished export job renamed into place (or moved to the
    archive's trash) but never got to record — its worker was killed and the job was
    cancelled, or the disk filled up: recorded now, by hash."""
    finished = _finished_jobs(output)
    if not finished:
        return 0
    adopted, records = 0, []
    items = db.session.execute(
        select(JobItem).where(JobItem.job_id.in_(finished), JobItem.status == ItemStatus.PENDING)
    ).scalars()
    for job_item in items:
        record = _orphan_record(output, job_item)
        if record is None:  # settled once, so later exports need not look at it again
            job_item.status, job_item.message = ItemStatus.SKIPPED, "Not exported: the job ended before this file"
            continue
        job_item.status, job_item.message = ItemStatus.DONE, "recorded by a later export"
        sha = record["sha256"]
        if record.get("retired"):
            if sha in index:
                records.append(record)
                index.pop(sha)
        elif not recorded_already(index.get(sha), record):
            records.append(record)
            index[sha] = record
        adopted += 1
    append_manifest(output, records)
    db.session.commit()
    return adopted


def _orphan_record(output: Path, job_item: JobItem) -> dict | None:
    """The manifest line of what an unfinished item did, or None when it did nothing."""
    result = job_item.result or {}
    planned = PlannedFile.from_dict(result)
    placed = result.get("placing")
    job_id = job_item.job_id
    if placed and placed_copy_present(output, placed):
        return manifest_record(job_id, planned, finish_replacing(output, job_id, planned, placed))
    if result.get("retiring") and planned.previous and not (output / planned.previous["output"]).exists():
        try:  # the copy went to the archive's trash: its sidecar goes too if it had not yet
            moved = retire_old(output, job_id, planned, before=False, placed=None)
        except archive_copy.ChangedInArchive:
            moved = {}
        return retired_record(job_id, planned, moved)
    return None


def plan_phase(ctx: jobs.JobContext, output: Path) -> None:
    job = ctx.job
    _adopt_orphans(output, manifest_index(output))
    plan = build_plan(output, ctx.settings)
    if plan.to_export and not plan.enough_space:
        raise jobs.JobError(
            f"Not enough free space in {output}: the export needs {size_text(plan.bytes_needed)} "
            f"and only {size_text(plan.bytes_free)} is free. Free some space or choose another folder."
        )
    rows = []
    for planned in plan.files:
        working = planned.action in ACTIONS
        rows.append(
            {
                "job_id": job.id,
                "file_id": planned.file_id,
                "status": ItemStatus.PENDING if working else ItemStatus.SKIPPED,
                "message": None if working else planned.message,
                "result": asdict(planned),
            }
        )
    for start in range(0, len(rows), 500):
        db.session.execute(insert_ignore(JobItem).values(rows[start : start + 500]))
    skipped = sum(1 for p in plan.files if p.action not in ACTIONS)
    job.total = len(plan.files)
    job.done = skipped
    job.skipped = skipped
    job.message = "; ".join(plan.conflicts[:3]) or None
    job.params = {**job.params, "plan": plan.summary()}
    job.phase = "copy"
    db.session.commit()


def copy_phase(ctx: jobs.JobContext, output: Path) -> str:
    """The copies, in batches that every helping worker takes (pipeline/batches.py). The
    space held back for the manifest is the job's: held by its runner until every batch is done."""
    hold_reserve(output, RESERVE_BYTES)
    try:
        return batches.lead(ctx)
    finally:
        release_reserve(output)  # held only while copies are written


def _copy_rounds(crew: batches.BatchContext) -> str:
    """What every worker on an export runs: batch after batch through writers of its own
    (one per core, each with its own exiftool), opened with its first batch."""
    claimed = crew.claim()
    if claimed is None:
        return JobControl.RUN
    output = Path(crew.job.params["output"])
    workers = max(1, crew.settings.workers)
    pool = WriterPool(workers)
    batch = Batch(crew, output, pool.label, manifest_index(output))
    try:
        while claimed is not None:
            control = _copy_batch(CopyRun(crew, output, pool, batch, workers, claimed))
            if control != JobControl.RUN:
                return control
            crew.finish(claimed)
            claimed = crew.claim()
        return JobControl.RUN
    finally:
        pool.close()


def _copy_batch(run: CopyRun) -> str:
    try:
        return run.run()
    except archive_copy.DiskFull as exc:
        release_reserve(run.output)  # the space held back lets what was written be recorded
        _flush_quietly(run.batch)
        left = db.session.execute(
            select(JobItem.id).where(JobItem.job_id == run.ctx.job.id, JobItem.status == ItemStatus.PENDING)
        ).all()
        raise jobs.JobError(
            f"{exc}. The export stopped with {plural(len(left), 'file')} not yet copied; everything already in the "
            "archive is complete, verified and recorded. Free some space and run the export again: it continues "
            "where it stopped."
        ) from None
    except archive_copy.DestinationProblem as exc:
        _flush_quietly(run.batch)
        raise jobs.JobError(
            f"{exc}. The export stopped; run it again once the archive folder can be written."
        ) from None
    finally:
        run.discard_unrecorded()


batches.worker(JobKind.EXPORT, batches.pending_items)(_copy_rounds)


def _flush_quietly(batch: Batch) -> None:
    """After a fatal error: record what is complete; what cannot be recorded stays pending
    (the next export recognises it by its hash)."""
    try:
        batch.flush()
    except (archive_copy.DiskFull, archive_copy.DestinationProblem, OSError) as exc:
        log.warning("could not record the last batch (%s); the next export adopts it", exc)
        db.session.rollback()


def _cancel_rest(job: Job) -> None:
    count = (
        db.session.execute(
            update(JobItem)
            .where(JobItem.job_id == job.id, JobItem.status == ItemStatus.PENDING)
            .values(status=ItemStatus.SKIPPED, message=SKIP_REASONS["cancelled"])
        ).rowcount
        or 0
    )
    db.session.execute(update(Job).where(Job.id == job.id).values(done=Job.done + count, skipped=Job.skipped + count))
    db.session.commit()


def _stopped(job: Job, control: str) -> str:
    if control == JobControl.CANCEL:
        _cancel_rest(job)
    return jobs.stopped(control)


@jobs.handler(JobKind.EXPORT)
def run_export(ctx: jobs.JobContext) -> str:
    job = ctx.job
    output = Path(job.params["output"])
    with output_lock(output, job.id, ctx.settings):
        removed = _remove_stale_temporaries(output)
        if removed:
            log.info("removed %d temporary files left by an interrupted export", removed)
        if job.phase in ("plan", "discover"):
            plan_phase(ctx, output)
            control = ctx.checkpoint()
            if control != JobControl.RUN:
                return _stopped(job, control)
        if job.phase == "copy":
            control = copy_phase(ctx, output)
            if control != JobControl.RUN:
                return _stopped(job, control)
            job.phase = "cleanup" if job.params.get("cleanup") else "done"
            db.session.commit()
        if job.phase == "cleanup":
            from . import trash

            control = trash.cleanup_phase(ctx, output)
            if control != JobControl.RUN:
                return jobs.stopped(control)
            job.phase = "done"
            db.session.commit()
    _summarise(job)
    return JobStatus.COMPLETED


def _summarise(job: Job) -> None:
    counts = result_counts(job)
    parts = [f"{counts.get('exported', 0)} new, {counts.get('updated', 0)} updated, {counts.get('retired', 0)} retired"]
    for key, label in (
        ("already_exported", "already in the archive"),
        ("changed_in_archive", "changed in the archive by someone else (left as they are)"),
        ("errors", "could not be exported"),
    ):
        if counts.get(key):
            parts.append(f"{counts[key]} {label}")
    job.message = "; ".join(parts)
    db.session.commit()


_DONE_AS = {"export": "exported", "update": "updated", "retire": "retired"}


def result_counts(job: Job) -> dict[str, int]:
    """Per-outcome counts of an export job, for the CLI and the export page: "exported"
    (new copies), "updated", "retired", "errors", "pending" and the skip reasons."""
    counts: dict[str, int] = defaultdict(int)
    for status, result in db.session.execute(select(JobItem.status, JobItem.result).where(JobItem.job_id == job.id)):
        result = result or {}
        if status == ItemStatus.DONE:
            counts[_DONE_AS.get(result.get("action"), "exported")] += 1
            if result.get("method"):
                counts[f"method_{result.get('method')}"] += 1
        elif status == ItemStatus.ERROR:
            counts["errors"] += 1
        elif status == ItemStatus.PENDING:
            counts["pending"] += 1
        else:
            counts[result.get("reason") or "cancelled"] += 1
    return dict(counts)


__all__ = [  # the export's interface for the CLI and the pages
    "ExportRefused",
    "Plan",
    "PlannedFile",
    "SKIP_REASONS",
    "check_output",
    "dry_run",
    "read_manifest",
    "result_counts",
    "start_export",
]
