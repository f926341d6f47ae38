"""The import's process phase: pending files analyzed by the analysis processes, recorded in
batches.

The phase is shared by every worker that helps (pipeline/batches.py): each takes batches of
the import's pending files and streams them through one pool of analysis processes of its
own (MEDIAPARSER_WORKERS of them, sized for its machine), the next batch taken before the
last one's files are done, so the processes never wait for a hand-off. Files that arrive
while it runs (a browser still uploading) are planned into new batches and taken up by the
same loop and the same pool. When an analysis process dies (the kernel's out-of-memory
killer, a crash in a decoder library), the file it was reading fails with a sentence, a new
process takes its place, and once the batch's other files are done that file is tried once
more alone, in a fresh process of its own.

`analyze_files()` analyzes a given share of an import's files by itself."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from sqlalchemy import func, select

from ..media import batch
from ..models import File, FileStatus, JobControl, JobKind, db
from ..wording import size_text
from . import batches, jobs
from .recorder import Recorder

log = logging.getLogger(__name__)

BATCH_SECONDS = 0.5  # commit at least this often, so progress and pauses are prompt
BATCH_FILES = 64
PREFETCH = 256  # pending files read per query

CRASHED = "The analysis process ran out of memory or crashed while reading this file"
CRASHED_AGAIN = CRASHED + ", also when it was tried again on its own"
TIMED_OUT = f"Reading this file did not finish within {batch.TASK_SECONDS // 60} minutes, so it was stopped"


@dataclass
class Importing:
    """What one worker's part of the phase shares: the job, the analysis processes' set-up,
    the writer, and the batches it streams (None: a given share of files)."""

    ctx: jobs.JobContext | batches.BatchContext
    setup: batch.Setup
    workers: int
    recorder: Recorder
    peak_memory: int = 0  # the most memory one analysis process held, in bytes
    crashes_in_a_row: int = 0
    stream: Stream | None = None


def prepare(ctx: jobs.JobContext | batches.BatchContext) -> Importing:
    settings = ctx.settings
    sha_owner = dict(
        db.session.execute(
            select(File.sha256, func.min(File.id))
            .where(File.sha256.is_not(None), File.exact_of_id.is_(None), File.status != FileStatus.PENDING)
            .group_by(File.sha256)
        ).all()
    )
    workers, memory = batch.plan(settings.workers, settings.worker_memory_mb, batch.available_memory())
    setup = batch.Setup(
        known=frozenset(sha_owner),
        zone=settings.timezone,
        thumb_root=str(settings.thumbnails_dir),
        max_image_pixels=settings.max_image_pixels,
        memory_bytes=memory,
        parent_pid=os.getpid(),
    )
    log.info("import %s: %d analysis processes, %s of memory each", ctx.job.id, workers, size_text(memory))
    return Importing(ctx, setup, workers, Recorder(ctx, settings.zone, sha_owner))


@contextlib.contextmanager
def _pool(run: Importing, size: int) -> Iterator[batch.AnalysisPool]:
    """A pool of `size` analysis processes for the block; processes that cannot be started make
    the job stop with a reason (it can be resumed: nothing is lost)."""
    try:
        with batch.AnalysisPool(run.setup, size) as pool:
            yield pool
            run.peak_memory = max(run.peak_memory, pool.peak_memory)
    except batch.PoolBroken as exc:
        raise jobs.JobError(f"{exc}. Nothing was lost: resume the import to go on.") from exc


def _log_peak(run: Importing) -> None:
    log.info("import %s: analysis processes held at most %s", run.ctx.job.id, size_text(run.peak_memory))


# --- which files --------------------------------------------------------------------------------


def _tasks(rows) -> list[batch.Task]:
    return [batch.Task(r.id, r.path, r.original_name, r.relative_dir, r.mtime) for r in rows]


def _select_pending(job_id: int):
    return select(File.id, File.path, File.original_name, File.relative_dir, File.mtime).where(
        File.job_id == job_id, File.status == FileStatus.PENDING
    )


def pending_ids(job_id: int) -> list[int]:
    """The import's pending files, for planning its batches."""
    query = select(File.id).where(File.job_id == job_id, File.status == FileStatus.PENDING).order_by(File.id)
    ids = list(db.session.execute(query).scalars())
    db.session.commit()
    return ids


def tasks_between(job_id: int, first_id: int, last_id: int) -> Iterator[batch.Task]:
    """The pending files of a batch, in id order, read a page at a time."""
    last = first_id - 1
    while True:
        query = _select_pending(job_id).where(File.id > last, File.id <= last_id).order_by(File.id).limit(PREFETCH)
        rows = db.session.execute(query).all()
        db.session.commit()  # no read transaction left open while the files are analyzed
        if not rows:
            return
        last = rows[-1].id
        yield from _tasks(rows)
        if len(rows) < PREFETCH:
            return  # the batch's last page


def crashed_between(job_id: int, first_id: int, last_id: int) -> list[int]:
    """Files of a batch whose analysis process crashed in an earlier run: tried again."""
    query = select(File.id).where(
        File.job_id == job_id,
        File.status == FileStatus.ERROR,
        File.id.between(first_id, last_id),
        File.error == CRASHED,
    )
    return list(db.session.execute(query).scalars())


def tasks_for(job_id: int, file_ids: Iterable[int]) -> Iterator[batch.Task]:
    """The pending ones among `file_ids` (a queue task's share of an import)."""
    ids = sorted(set(file_ids))
    for start in range(0, len(ids), PREFETCH):
        chunk = ids[start : start + PREFETCH]
        yield from _tasks(db.session.execute(_select_pending(job_id).where(File.id.in_(chunk)).order_by(File.id)))


# --- the loop -----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Held:
    claimed: batches.Claimed
    waiting: set[int] = field(default_factory=set)  # fed to the pool, not recorded yet
    crashed: list[int] = field(default_factory=list)  # to try once more, alone
    fed: bool = False  # every pending file of it went to the pool


class Stream:
    """The files of the batches this worker takes, fed to the analysis processes one batch
    after the other without a pause: the next batch is taken when the last one's files are
    all handed out. A batch is finished once each file it fed is recorded; one that held a
    crashed file is finished after that file was tried again, when the stream ends."""

    def __init__(self, crew: batches.BatchContext, first: batches.Claimed):
        self.crew = crew
        self.first: batches.Claimed | None = first
        self.held: dict[int, _Held] = {}
        self.batch_of: dict[int, int] = {}  # file id -> batch id

    def tasks(self) -> Iterator[batch.Task]:
        while True:
            claimed, self.first = self.first or self.crew.claim(), None
            if claimed is None:
                return
            held = self.held[claimed.id] = _Held(claimed)
            for task in tasks_between(self.crew.job_id, claimed.first_id, claimed.last_id):
                held.waiting.add(task.file_id)
                self.batch_of[task.file_id] = claimed.id
                yield task
            held.fed = True
            held.crashed += crashed_between(self.crew.job_id, claimed.first_id, claimed.last_id)
            self._finish_ready()

    def settled(self, file_ids: Iterable[int], crashed: bool = False) -> None:
        """These files are recorded (or failed: `crashed` ones are tried again later)."""
        for file_id in file_ids:
            held = self.held.get(self.batch_of.pop(file_id, -1))
            if held is not None:
                held.waiting.discard(file_id)
                if crashed:
                    held.crashed.append(file_id)
        self._finish_ready()

    def _finish_ready(self) -> None:
        for held in list(self.held.values()):
            if held.fed and not held.waiting and not held.crashed:
                self.crew.finish(held.claimed)
                del self.held[held.claimed.id]

    def close(self, run: Importing) -> JobControl:
        """The stream ran dry: retry the crashed files of the batches it still holds, then
        finish them."""
        for held in list(self.held.values()):
            if not held.fed or held.waiting:
                continue  # stopped early: let go of it (drive() does)
            control = retry_crashed(run, held.crashed)
            if control != JobControl.RUN:
                return control
            self.crew.finish(held.claimed)
            del self.held[held.claimed.id]
        return JobControl.RUN


def process(ctx: jobs.JobContext) -> JobControl:
    """The job's runner: analyze every pending file of the import, and the files added while
    it runs, with every worker that helps."""
    return batches.lead(ctx)


@batches.worker(JobKind.IMPORT, pending_ids)
def work(crew: batches.BatchContext) -> JobControl:
    """What every worker on an import runs: batches through one pool of its own, opened
    with its first batch (a worker that finds none starts no processes)."""
    with contextlib.ExitStack() as stack:
        opened: list[tuple[Importing, batch.AnalysisPool]] = []

        def round_(crew: batches.BatchContext) -> JobControl:
            first = crew.claim()
            if first is None:
                return JobControl.RUN
            if not opened:
                run = prepare(crew)
                opened.append((run, stack.enter_context(_pool(run, run.workers))))
            run, pool = opened[0]
            run.stream = stream = Stream(crew, first)
            control = analyze(run, pool, stream.tasks())
            return stream.close(run) if control == JobControl.RUN else control

        control = batches.drive(crew, round_)
    if opened:  # after the pool closed: its processes' peak is known then
        _log_peak(opened[0][0])
    return control


def analyze_files(ctx: jobs.JobContext, file_ids: Iterable[int]) -> JobControl:
    """Analyze and record the pending ones among `file_ids`, then retry alone those whose
    analysis process crashed: what a queue task running a share of an import calls."""
    ids = list(file_ids)
    run = prepare(ctx)
    with _pool(run, run.workers) as pool:
        control = analyze(run, pool, tasks_for(ctx.job.id, ids))
    if control == JobControl.RUN:
        control = retry_crashed(run, ids)
    _log_peak(run)
    return control


def analyze(run: Importing, pool: batch.AnalysisPool, tasks: Iterator[batch.Task]) -> JobControl:
    """Feed `tasks` to the pool, record results in batches, stop between files when a
    checkpoint says so (what is running finishes, nothing new starts)."""
    control, more = JobControl.RUN, True
    finished: list[batch.Finished] = []
    last_flush = time.monotonic()
    while True:
        while control == JobControl.RUN and more and pool.has_room():
            task = next(tasks, None)
            more = task is not None
            if more:
                pool.submit(task)
        if not pool.in_flight and not finished:
            break
        for end in pool.collect(BATCH_SECONDS) if pool.in_flight else ():
            if end.crashed is None:
                finished.append(end)
                run.crashes_in_a_row = 0
            else:
                _crashed(run, end)
        last = not pool.in_flight  # the last results: recorded now (a flush may hand files back to the pool)
        if finished and (last or len(finished) >= BATCH_FILES or time.monotonic() - last_flush >= BATCH_SECONDS):
            _flush(run, pool, finished)
            finished, last_flush = [], time.monotonic()
            control = run.ctx.checkpoint()
    return control


def _flush(run: Importing, pool: batch.AnalysisPool, finished: list[batch.Finished]) -> None:
    tasks = {end.task.file_id: end.task for end in finished}
    again = run.recorder.record([(end.task.file_id, end.analysis) for end in finished])
    for file_id in again:
        pool.submit(replace(tasks[file_id], use_known=False))
    if run.stream is not None:
        run.stream.settled(set(tasks) - set(again))


def _crashed(run: Importing, end: batch.Finished) -> None:
    if jobs.SHUTDOWN.is_set():
        return  # this process is being stopped, and its helpers with it: the file stays pending
    run.crashes_in_a_row += 1
    if run.crashes_in_a_row > 2 * run.workers + 3:
        raise jobs.JobError(
            "The analysis processes keep stopping, file after file (the last one: "
            f"{end.crashed}). Nothing was lost: resume the import when the computer has more free memory."
        )
    timed_out = end.crashed == "timed out"
    run.recorder.mark_failed(end.task.file_id, TIMED_OUT if timed_out else CRASHED)
    if run.stream is not None:
        run.stream.settled([end.task.file_id], crashed=not timed_out)


def retry_crashed(run: Importing, file_ids: Iterable[int] | None = None) -> JobControl:
    """Each file whose analysis process crashed, once more, alone, in a fresh process."""
    query = select(File.id).where(File.job_id == run.ctx.job.id, File.status == FileStatus.ERROR, File.error == CRASHED)
    ids = list(db.session.execute(query.order_by(File.id)).scalars())
    if file_ids is not None:
        wanted = set(file_ids)
        ids = [i for i in ids if i in wanted]
    if not ids:
        return JobControl.RUN
    with _pool(run, 1) as pool:
        for file_id in ids:
            control = run.ctx.checkpoint()
            if control != JobControl.RUN:
                return control
            if not run.recorder.reopen(file_id, CRASHED):
                continue
            task = next(tasks_for(run.ctx.job.id, [file_id]), None)
            if task is None:
                continue
            pool.submit(task)
            while pool.in_flight:
                for end in pool.collect(BATCH_SECONDS):
                    if end.crashed is None:
                        _flush(run, pool, [end])
                    elif not jobs.SHUTDOWN.is_set():
                        run.recorder.mark_failed(file_id, CRASHED_AGAIN)
    return JobControl.RUN
