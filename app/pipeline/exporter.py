"""The export job: copy the library into a clean, dated archive — verified, idempotent,
resumable; originals are only ever read.

What goes where is decided first (export_plan.py); this module carries it out.

Phases (stored on the job, so a resumed job continues where it stopped):
  plan     decide every file's fate and name (see `build_plan`), one JobItem per file
  copy     write each pending file (archive_copy: temporary name, fsync, verify, rename),
           in batches: rename -> fsync folders -> manifest lines -> commit
  cleanup  optional: move exported originals to a trash folder (trash.py)

What was exported is recorded in OUTPUT/.mediaparser/manifest.jsonl, one JSON object per
file; it is what makes a re-run skip what is already there. A batch records its intent
(final name, sha256 of the copy) in the database before renaming, so a copy renamed by a
worker that was then killed is recognised — by its hash — and adopted, never duplicated.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update

from ..media import archive_copy
from ..media.metadata_writer import open_writer
from ..models import Job, JobItem, db, insert_ignore, utcnow
from ..vocab import FINISHED_JOB_STATES, ItemStatus, JobControl, JobKind, JobStatus
from ..wording import size_text
from . import jobs
from .export_plan import (
    META_DIR,
    SKIP_REASONS,
    ExportRefused,
    Plan,
    PlannedFile,
    append_manifest,
    build_plan,
    check_output,
    dry_run,
    manifest_index,
    meta_dir,
    read_manifest,
)

log = logging.getLogger(__name__)

LOCK_FILE = "lock"
BATCH_SECONDS = 0.5
BATCH_FILES = 64
BATCH_BYTES = 512 * 1024 * 1024


@contextmanager
def output_lock(output: Path, job_id: int):
    """One export at a time writes into an archive folder (an OS lock: a killed worker's
    lock goes away with it)."""
    folder = meta_dir(output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise jobs.JobError(f"Cannot create the archive folder {output}: {exc.strerror or exc}") from None
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise jobs.JobError(f"Another export is writing into {output} right now") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"job {job_id} pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


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


def _writer_label(writer) -> str:
    return f"exiftool {writer.version}" if writer.name == "exiftool" else "python"


def _remove_stale_temporaries(output: Path) -> int:
    removed = 0
    for dirpath, dirnames, filenames in os.walk(output):
        dirnames[:] = [d for d in dirnames if d != META_DIR]
        for name in filenames:
            if archive_copy.is_tmp_name(name):
                Path(dirpath, name).unlink(missing_ok=True)
                removed += 1
    return removed


def _manifest_record(job_id: int, item: PlannedFile, placed: dict, writer_label: str | None) -> dict:
    return {
        "v": 1,
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "job": job_id,
        "file_id": item.file_id,
        "source": placed.get("source") or item.source,
        "source_name": item.display,
        "also": item.also,
        "sha256": item.sha256,
        "size": item.size,
        "output": placed["target"],
        "output_sha256": placed["out_sha256"],
        "output_size": placed["out_size"],
        "sidecar": placed.get("sidecar"),
        "method": placed["method"],
        "writer": writer_label if placed["method"] == "embed" else None,
        "capture": {"local": item.local, "offset": item.offset, "precision": item.precision, "utc": item.utc},
        "time_source": item.time_source,
        "confidence": item.confidence,
        "tags": item.tags,
        "notes": placed.get("notes") or [],
    }


def _adopt_orphans(output: Path, index: dict[str, dict]) -> int:
    """Copies that an earlier, now finished export job renamed into place but never got to
    record (its worker was killed, then the job was cancelled): recorded now, by hash."""
    adopted = 0
    records = []
    finished = [
        j.id
        for j in db.session.execute(
            select(Job).where(Job.kind == str(JobKind.EXPORT), Job.status.in_([str(s) for s in FINISHED_JOB_STATES]))
        ).scalars()
        if j.params.get("output") == str(output)
    ]
    if not finished:
        return 0
    items = db.session.execute(
        select(JobItem).where(JobItem.job_id.in_(finished), JobItem.status == ItemStatus.PENDING)
    ).scalars()
    for job_item in items:
        placed = (job_item.result or {}).get("placing")
        present = bool(placed) and _placed_copy_present(output, placed)
        if present:
            planned = PlannedFile.from_dict(job_item.result)
            if planned.sha256 not in index:
                record = _manifest_record(job_item.job_id, planned, placed, placed.get("writer"))
                records.append(record)
                index[planned.sha256] = record
                adopted += 1
            job_item.status, job_item.message = ItemStatus.DONE, "recorded by a later export"
        else:  # settled once, so later exports need not look at it again
            job_item.status, job_item.message = ItemStatus.SKIPPED, "Not exported: the job ended before this file"
    append_manifest(output, records)
    db.session.commit()
    return adopted


def _placed_copy_present(output: Path, placed: dict) -> bool:
    path = output / placed["target"]
    try:
        if path.stat().st_size != placed["out_size"]:
            return False
        return archive_copy.sha256_of(path)[0] == placed["out_sha256"]
    except OSError:
        return False


def plan_phase(ctx: jobs.JobContext, output: Path) -> None:
    job = ctx.job
    settings = ctx.settings
    _adopt_orphans(output, manifest_index(output))
    plan = build_plan(output, settings)
    if plan.to_export and not plan.enough_space:
        raise jobs.JobError(
            f"Not enough free space in {output}: the export needs {size_text(plan.bytes_needed)} "
            f"and only {size_text(plan.bytes_free)} is free. Free some space or choose another folder."
        )
    rows = []
    for planned in plan.files:
        exported = planned.action == "export"
        rows.append(
            {
                "job_id": job.id,
                "file_id": planned.file_id,
                "status": ItemStatus.PENDING if exported else ItemStatus.SKIPPED,
                "message": None if exported else planned.message,
                "result": asdict(planned),
            }
        )
    for start in range(0, len(rows), 500):
        db.session.execute(insert_ignore(JobItem).values(rows[start : start + 500]))
    skipped = sum(1 for p in plan.files if p.action != "export")
    job.total = len(plan.files)
    job.done = skipped
    job.skipped = skipped
    job.message = "; ".join(plan.conflicts[:3]) or None
    job.params = {**job.params, "plan": plan.summary()}
    job.phase = "copy"
    db.session.commit()


class _Batch:
    def __init__(self, ctx: jobs.JobContext, output: Path, writer_label: str, index: dict[str, dict]):
        self.ctx = ctx
        self.output = output
        self.writer_label = writer_label
        self.index = index
        self.prepared: list[tuple[JobItem, PlannedFile, archive_copy.Prepared]] = []
        self.adopted: list[tuple[JobItem, PlannedFile, dict]] = []
        self.errors: list[tuple[JobItem, str]] = []
        self.started = time.monotonic()
        self.bytes = 0

    def due(self) -> bool:
        pending = len(self.prepared) + len(self.adopted) + len(self.errors)
        return pending > 0 and (
            pending >= BATCH_FILES or self.bytes >= BATCH_BYTES or time.monotonic() - self.started >= BATCH_SECONDS
        )

    def _placed(self, planned: PlannedFile, prepared: archive_copy.Prepared, target: str) -> dict:
        return {
            "target": target,
            "out_sha256": prepared.out_sha256,
            "out_size": prepared.out_size,
            "sidecar": f"{target}{archive_copy.SIDECAR_SUFFIX}" if prepared.sidecar_tmp else None,
            "method": prepared.method,
            "notes": prepared.notes,
            "source": str(prepared.source),
            "writer": self.writer_label if prepared.method == "embed" else None,
        }

    def _place(self, prepared: archive_copy.Prepared, target: Path) -> None:
        """Rename into the planned name — unless a file nobody planned appeared there
        meanwhile (it is never replaced): then the next free counter suffix."""
        try:
            archive_copy.commit(prepared, target)
            return
        except archive_copy.NameTaken:
            stem, ext = target.name.rsplit(".", 1)
        for counter in range(1, 10_000):
            candidate = target.with_name(f"{stem}_{counter}.{ext}")
            if not candidate.exists() and not archive_copy.sidecar_path(candidate).exists():
                log.warning("%s was taken meanwhile: using %s", target, candidate.name)
                archive_copy.commit(prepared, candidate)
                return
        raise archive_copy.DestinationProblem(f"No free name for {target}")

    def flush(self) -> None:
        if not (self.prepared or self.adopted or self.errors):
            return
        # 1. intent: the database knows each copy's final name and hash before it exists
        for job_item, planned, prepared in self.prepared:
            job_item.result = {**job_item.result, "placing": self._placed(planned, prepared, planned.target)}
        db.session.commit()
        # 2. final names (a flush retried after an error skips what is already placed)
        placed_items = list(self.adopted)
        folders = set()
        for job_item, planned, prepared in self.prepared:
            if prepared.target is None:
                self._place(prepared, self.output / planned.target)
            target = prepared.target.relative_to(self.output).as_posix()
            placed = self._placed(planned, prepared, target)
            job_item.result = {**job_item.result, "target": target, "placing": placed}
            placed_items.append((job_item, planned, placed))
            folders.add(prepared.target.parent)
        for folder in folders:
            archive_copy.fsync_dir(folder)
        # 3. manifest, then 4. the database
        records = []
        for _job_item, planned, placed in placed_items:
            known = self.index.get(planned.sha256)
            if known is None or known.get("output") != placed["target"]:
                record = _manifest_record(self.ctx.job.id, planned, placed, placed.get("writer"))
                records.append(record)
                self.index[planned.sha256] = record
        try:
            append_manifest(self.output, records)
        except OSError as exc:
            if exc.errno in archive_copy.DISK_FULL:
                raise archive_copy.DiskFull(f"The disk is full: the manifest in {self.output} cannot grow") from None
            raise
        for job_item, _planned, placed in placed_items:
            result = {k: v for k, v in job_item.result.items() if k != "placing"}
            result.update(placed)
            job_item.result = result
            job_item.status = ItemStatus.DONE
            job_item.message = "; ".join(placed.get("notes") or []) or None
        for job_item, message in self.errors:
            job_item.status = ItemStatus.ERROR
            job_item.message = message
        self.ctx.add(done=len(placed_items) + len(self.errors), errors=len(self.errors))
        db.session.commit()
        self.prepared, self.adopted, self.errors = [], [], []
        self.started, self.bytes = time.monotonic(), 0


class _WriterPool:
    """Files are prepared (copied, rewritten, verified) on every core: one thread per
    core, each with its own writer (its own exiftool process). Only the main thread
    touches the database and renames files into place."""

    def __init__(self, workers: int):
        self.local = threading.local()
        self.writers: list = []
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export")
        self.running: set[Future] = set()
        self.label = _writer_label(self._writer())  # started here: a broken install fails early

    def _writer(self):
        writer = getattr(self.local, "writer", None)
        if writer is None:
            writer = self.local.writer = open_writer()
            with self.lock:
                self.writers.append(writer)
        return writer

    def submit(self, request: archive_copy.Request) -> Future:
        future = self.executor.submit(lambda: archive_copy.prepare(request, self._writer()))
        self.running.add(future)
        future.add_done_callback(self.running.discard)
        return future

    def close(self) -> None:
        # Writers stop while their threads live: exiftool is tied to the thread that
        # started it (pyexiftool sets PR_SET_PDEATHSIG), so it would die with the thread.
        wait(list(self.running))
        for writer in self.writers:
            writer.close()
        self.executor.shutdown(wait=True)


def _request(output: Path, planned: PlannedFile) -> archive_copy.Request:
    return archive_copy.Request(
        source=Path(planned.source),
        sha256=planned.sha256,
        mime=planned.mime or "",
        target=output / planned.target,
        method=planned.method,
        stamp=planned.stamp(),
        file_time=datetime.fromisoformat(planned.utc).timestamp() if planned.utc else None,
        alternates=tuple(Path(p) for p in planned.alternates),
    )


def _pending_items(job_id: int, after_id: int, limit: int = 200) -> list[JobItem]:
    return list(
        db.session.execute(
            select(JobItem)
            .where(JobItem.job_id == job_id, JobItem.status == ItemStatus.PENDING, JobItem.id > after_id)
            .order_by(JobItem.id)
            .limit(limit)
        ).scalars()
    )


class _CopyRun:
    """The copy loop: up to two files per worker in flight, their results taken in plan
    order (so what is recorded is always a prefix of the plan) and recorded in batches."""

    def __init__(self, ctx: jobs.JobContext, output: Path, pool: _WriterPool, batch: _Batch, workers: int):
        self.ctx, self.output, self.pool, self.batch = ctx, output, pool, batch
        self.window = 2 * workers
        self.in_flight: deque[tuple[JobItem, PlannedFile, Future]] = deque()
        self.last_id, self.exhausted = 0, False
        self.control: str = JobControl.RUN
        self.fatal: Exception | None = None

    def _running(self) -> bool:
        return self.control == JobControl.RUN and self.fatal is None

    def _refill(self) -> None:
        while self._running() and not self.exhausted and len(self.in_flight) < self.window:
            items = _pending_items(self.ctx.job.id, self.last_id, self.window - len(self.in_flight))
            self.exhausted = not items
            for job_item in items:
                self.last_id = job_item.id
                planned = PlannedFile.from_dict(job_item.result)
                placing = job_item.result.get("placing")
                if placing and _placed_copy_present(self.output, placing):
                    # a killed run renamed this copy into place: it is complete and verified
                    self.batch.adopted.append((job_item, planned, placing))
                else:
                    future = self.pool.submit(_request(self.output, planned))
                    self.in_flight.append((job_item, planned, future))

    def _take_next(self) -> None:
        job_item, planned, future = self.in_flight.popleft()
        try:
            prepared = future.result()
        except archive_copy.SourceProblem as exc:
            self.batch.errors.append((job_item, str(exc)))
        except (archive_copy.DiskFull, archive_copy.DestinationProblem) as exc:
            self.fatal = self.fatal or exc  # let the others finish: what they wrote is complete
        else:
            self.batch.prepared.append((job_item, planned, prepared))
            self.batch.bytes += prepared.out_size

    def run(self) -> str:
        while True:
            self._refill()
            if self.in_flight:
                self._take_next()
            elif self.exhausted or not self._running():
                break
            if self.fatal is None and self.batch.due():
                self.batch.flush()
                self.control = self.ctx.checkpoint()
        self.batch.flush()
        if self.fatal is not None:
            raise self.fatal
        return self.control

    def discard_unrecorded(self) -> None:
        """Temporary copies that never got their final name."""
        for _item, _planned, future in self.in_flight:
            if future.done() and future.exception() is None:
                archive_copy.discard(future.result())
        for _item, _planned, prepared in self.batch.prepared:
            if prepared.target is None:
                archive_copy.discard(prepared)


def copy_phase(ctx: jobs.JobContext, output: Path) -> str:
    workers = max(1, ctx.settings.workers)
    pool = _WriterPool(workers)
    batch = _Batch(ctx, output, pool.label, manifest_index(output))
    run = _CopyRun(ctx, output, pool, batch, workers)
    try:
        return run.run()
    except archive_copy.DiskFull as exc:
        _flush_quietly(batch)
        left = db.session.execute(
            select(JobItem.id).where(JobItem.job_id == ctx.job.id, JobItem.status == ItemStatus.PENDING)
        ).all()
        raise jobs.JobError(
            f"{exc}. The export stopped with {len(left)} files not yet copied; everything already in the "
            "archive is complete and verified. Free some space and run the export again: it continues "
            "where it stopped."
        ) from None
    except archive_copy.DestinationProblem as exc:
        _flush_quietly(batch)
        raise jobs.JobError(
            f"{exc}. The export stopped; run it again once the archive folder can be written."
        ) from None
    finally:
        pool.close()
        run.discard_unrecorded()


def _flush_quietly(batch: _Batch) -> None:
    """After a fatal error: record what is complete; what cannot be recorded stays pending."""
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
    with output_lock(output, job.id):
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
    parts = [f"{counts.get('exported', 0)} files exported"]
    for key, label in (("already_exported", "already in the archive"), ("errors", "could not be exported")):
        if counts.get(key):
            parts.append(f"{counts[key]} {label}")
    job.message = "; ".join(parts)
    db.session.commit()


def result_counts(job: Job) -> dict[str, int]:
    """Per-outcome counts of an export job, for the CLI and the export page."""
    counts: dict[str, int] = defaultdict(int)
    for status, result in db.session.execute(select(JobItem.status, JobItem.result).where(JobItem.job_id == job.id)):
        result = result or {}
        if status == ItemStatus.DONE:
            counts["exported"] += 1
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
