"""Batches: one job's per-file work shared by every worker on every machine.

A job that works file by file (import, re-detection, thumbnails, the export's copies) is cut
into *batches*: `job_batch` rows, each a range of item ids (File ids for an import, JobItem
ids otherwise) whose pending items one worker works on at a time. The worker that runs the
job, its *lead* (it holds the job's lease), plans the batches, asks the queue for help (a
`run_batches` task per batch, which idle workers anywhere take) and works on batches itself;
a *helper* takes batches of the same job until none is left.

A batch is taken with a lease on its row (leases.Lease), renewed by the worker's heartbeat,
and every transaction that records its items `fence()`s that lease first: a worker killed
mid-batch stops renewing, another takes the batch over once the lease has run out and does
what is still pending, and whatever the killed worker had not committed is refused. Per-item
state stays where it was (File.status, JobItem.status), so each item is done exactly once.

Pause and cancel stay the job's: every worker stops at its next checkpoint, and the lead
waits for the helpers to let go of their batches before it ends the job. The steps after the
last batch (an import's duplicate scan and summary) run once, by the lead, after every batch
is done: the job's lease is their lock. A lead that dies is replaced by a helper that finds
its lease run out (or by the queue's recovery), and the new lead finishes the job.

Sizes: a job is cut into about SPREAD batches of MIN_ITEMS..MAX_ITEMS, so that a small
import still spreads over several machines and a large one hands off rarely. A worker
process helps one job at a time: its analysis processes (MEDIAPARSER_WORKERS) are sized
for its machine, and a second job helped at once would put twice as many on the same cores.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, or_, select, update

from ..config import Settings
from ..database import clock
from ..models import Job, JobBatch, JobItem, db
from ..vocab import ACTIVE_JOB_STATES, ItemStatus, JobControl, JobStatus
from . import jobs, leases

log = logging.getLogger(__name__)

SPREAD = 16
MIN_ITEMS = 4
MAX_ITEMS = 64
WAIT_SECONDS = 0.5  # how often a worker with nothing to take looks again
MAX_HELP = 32  # helper tasks asked for at once (more would only be taken by busy workers)
CANDIDATES = 8  # batches looked at per claim: when another worker wins one, the next is tried

# kind -> what a worker runs on a job's batches (the lead and helpers alike), and the kind's
# pending item ids (what the lead plans batches for)
WORKERS: dict[str, Callable[[BatchContext], str]] = {}
PENDING: dict[str, Callable[[int], list[int]]] = {}

_registry = threading.Lock()
_working: dict[int, int] = {}  # job id -> threads of this process working on its batches


def worker(kind: str, pending_ids: Callable[[int], list[int]]):
    """Register `fn(crew) -> JobControl`, what every worker runs on batches of `kind`."""

    def register(fn):
        WORKERS[str(kind)] = fn
        PENDING[str(kind)] = pending_ids
        return fn

    return register


def size_for(pending: int) -> int:
    return max(MIN_ITEMS, min(MAX_ITEMS, -(-pending // SPREAD)))


# --- the rows ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Claimed:
    """A batch this worker holds: its items are the pending ones from first_id to last_id."""

    id: int
    first_id: int
    last_id: int
    lease: leases.Lease


def _runs(fresh: list[int], open_ranges: list[tuple[int, int]]) -> Iterator[list[int]]:
    """`fresh` ids (sorted, none inside an open range) in runs that no open range splits: a
    batch's range never reaches over another open batch's items."""
    starts = [first for first, _ in open_ranges]
    run: list[int] = []
    gap = None
    for item in fresh:
        here = bisect.bisect_right(starts, item)
        if run and here != gap:
            yield run
            run = []
        gap = here
        run.append(item)
    if run:
        yield run


def plan(job_id: int, pending_ids: list[int], fence: leases.Lease | None = None) -> tuple[int, list[int]]:
    """Batches for the pending items that no open batch covers: all of them at the start,
    later the files that arrived meanwhile. Returns (batches made, the items in them)."""
    open_ranges = sorted(
        (first, last)
        for first, last in db.session.execute(
            select(JobBatch.first_id, JobBatch.last_id).where(
                JobBatch.job_id == job_id, JobBatch.status == ItemStatus.PENDING
            )
        )
    )
    starts = [first for first, _ in open_ranges]

    def covered(item: int) -> bool:
        k = bisect.bisect_right(starts, item) - 1
        return k >= 0 and open_ranges[k][1] >= item

    fresh = [item for item in sorted(set(pending_ids)) if not covered(item)]
    if not fresh:
        db.session.commit()
        return 0, []
    size = size_for(len(fresh))
    rows = []
    for run in _runs(fresh, open_ranges):
        for start in range(0, len(run), size):
            part = run[start : start + size]
            rows.append(
                {
                    "job_id": job_id,
                    "first_id": part[0],
                    "last_id": part[-1],
                    "size": len(part),
                    "status": ItemStatus.PENDING,
                    "claims": 0,
                }
            )
    if fence is not None:
        fence.fence(db.session.connection())
    db.session.execute(insert(JobBatch), rows)
    db.session.commit()
    log.info("job %s: %d items in %d batches", job_id, len(fresh), len(rows))
    return len(rows), fresh


def _free(now):
    return or_(JobBatch.lease_owner.is_(None), JobBatch.lease_until < now)


def claim(job_id: int, owner: str, seconds: float) -> Claimed | None:
    """Take the job's first batch nobody holds (or whose holder's lease ran out)."""
    now = clock(db.session.connection())
    candidates = db.session.execute(
        select(JobBatch.id, JobBatch.first_id, JobBatch.last_id, JobBatch.lease_owner)
        .where(JobBatch.job_id == job_id, JobBatch.status == ItemStatus.PENDING, _free(now))
        .order_by(JobBatch.id)
        .limit(CANDIDATES)
    ).all()
    db.session.commit()  # the claim below starts a transaction of its own (SQLite: no stale snapshot)
    for row in candidates:
        # Compare-and-set: of two workers racing for a batch one wins, and a lease renewed
        # meanwhile is not taken.
        taken = db.session.execute(
            update(JobBatch)
            .where(JobBatch.id == row.id, JobBatch.status == ItemStatus.PENDING, _free(now))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds), claims=JobBatch.claims + 1)
        )
        db.session.commit()
        if taken.rowcount == 1:
            if row.lease_owner is not None:
                log.warning(
                    "batch %s of job %s: the lease of %s ran out; %s takes it over",
                    row.id,
                    job_id,
                    row.lease_owner,
                    owner,
                )
            lease = leases.Lease(
                JobBatch.__table__, {"id": row.id}, owner, seconds, what=f"batch {row.id} of job {job_id}"
            )
            return Claimed(row.id, row.first_id, row.last_id, lease)
    return None


def finish(batch: Claimed) -> None:
    """The batch is done: every item it held is recorded (fenced: not when it was taken over)."""
    batch.lease.fence(db.session.connection())
    now = clock(db.session.connection())
    db.session.execute(
        update(JobBatch)
        .where(JobBatch.id == batch.id, JobBatch.lease_owner == batch.lease.owner)
        .values(status=ItemStatus.DONE, done_by=batch.lease.owner, finished_at=now, lease_owner=None, lease_until=None)
    )
    db.session.commit()
    log.info("%s: done by %s", batch.lease.what, batch.lease.owner)


def release(batch: Claimed) -> None:
    """Let go of a batch before it is done (a pause, a stop): others may take it at once."""
    db.session.rollback()
    db.session.execute(
        update(JobBatch)
        .where(JobBatch.id == batch.id, JobBatch.lease_owner == batch.lease.owner)
        .values(lease_owner=None, lease_until=None)
    )
    db.session.commit()


def counts(job_id: int, owner: str | None = None) -> tuple[int, int, int]:
    """(open batches, of which free to take now, of which held by others with a live lease)."""
    now = clock(db.session.connection())
    rows = db.session.execute(
        select(JobBatch.lease_owner, JobBatch.lease_until).where(
            JobBatch.job_id == job_id, JobBatch.status == ItemStatus.PENDING
        )
    ).all()
    db.session.commit()
    free = sum(1 for r in rows if r.lease_owner is None or r.lease_until < now)
    held = sum(1 for r in rows if r.lease_owner not in (None, owner) and r.lease_until >= now)
    return len(rows), free, held


def wanting_help() -> list[int]:
    """Active jobs with batches nobody holds: a worker that is free should help them."""
    now = clock(db.session.connection())
    ids = db.session.execute(
        select(JobBatch.job_id)
        .join(Job, Job.id == JobBatch.job_id)
        .where(
            Job.status.in_([str(s) for s in ACTIVE_JOB_STATES]),
            JobBatch.status == ItemStatus.PENDING,
            _free(now),
        )
        .group_by(JobBatch.job_id)
    ).scalars()
    return sorted(ids)


def done_by(job_id: int) -> dict[str, int]:
    """{worker: batches it finished} (for the log and the tests)."""
    rows = db.session.execute(
        select(JobBatch.done_by, func.count())
        .where(JobBatch.job_id == job_id, JobBatch.status == ItemStatus.DONE)
        .group_by(JobBatch.done_by)
    ).all()
    return dict(rows)


# --- a worker on a job's batches ------------------------------------------------------------


class BatchContext:
    """What a worker on a job's batches uses, the lead and helpers alike: `job`,
    `settings`, `checkpoint()` and `add()` (as a JobContext), and the batches it holds:
    `claim()`, `finish()`. Its progress counts are fenced by the batches' leases."""

    def __init__(
        self,
        job: Job,
        owner: str,
        settings: Settings,
        beat: leases.Heartbeat,
        lead: jobs.JobContext | None = None,
    ):
        self.job = job
        self.job_id = job.id
        self.owner = owner
        self.settings = settings
        self.heartbeat = beat
        self.lead = lead
        self.held: dict[int, Claimed] = {}
        self.planned: Counter[int] = Counter()  # the lead: how often each item was planned in this run

    # what a JobContext offers
    def checkpoint(self) -> JobControl:
        if jobs.SHUTDOWN.is_set() or any(b.lease.lost.is_set() for b in self.held.values()):
            return JobControl.INTERRUPT
        if self.lead is not None:
            return self.lead.checkpoint()
        status = db.session.execute(select(Job.status).where(Job.id == self.job_id)).scalar()
        if status == JobStatus.PAUSED:
            return JobControl.PAUSE
        if status == JobStatus.CANCELLED:
            return JobControl.CANCEL
        return JobControl.RUN if status in ACTIVE_JOB_STATES else JobControl.INTERRUPT

    def add(self, done: int = 0, errors: int = 0, skipped: int = 0, duplicates: int = 0) -> None:
        """Count finished items, inside the transaction that records them: refused
        (LeaseLost) when another worker holds one of this worker's batches now."""
        conn = db.session.connection()
        for held in self.held.values():
            held.lease.fence(conn)
        if self.lead is not None:
            self.lead.add(done, errors, skipped, duplicates)
            return
        db.session.execute(
            update(Job)
            .where(Job.id == self.job_id)
            .values(
                done=Job.done + done,
                errors=Job.errors + errors,
                skipped=Job.skipped + skipped,
                duplicates=Job.duplicates + duplicates,
            )
        )

    # batches
    def claim(self) -> Claimed | None:
        """The next batch to work on (the lead plans new ones for files that arrived)."""
        batch = claim(self.job_id, self.owner, self.settings.lease_seconds)
        if batch is None and self.lead is not None and self.plan():
            batch = claim(self.job_id, self.owner, self.settings.lease_seconds)
        if batch is not None:
            self.held[batch.id] = batch
            self.heartbeat.track(batch.lease)
        return batch

    def plan(self) -> int:
        """The lead: batches for pending items not in one yet (each item at most twice in a
        run: one that a finished batch left pending is tried once more, not for ever), and
        help asked for them. Returns how many batches were made."""
        pending = [i for i in PENDING[self.job.kind](self.job_id) if self.planned[i] < 2]
        made, items = plan(self.job_id, pending, self.lead.lease if self.lead else None)
        self.planned.update(items)
        if made and self.lead is not None:
            self.lead.ask_for_help(min(made, MAX_HELP))
        return made

    def finish(self, batch: Claimed) -> None:
        self._drop(batch)  # no renewal after the batch is let go of (it would find the row not ours)
        finish(batch)

    def _drop(self, batch: Claimed) -> None:
        self.held.pop(batch.id, None)
        self.heartbeat.untrack(batch.lease)

    def let_go(self) -> None:
        """Release every batch still held (others take them at once); batches whose lease
        was lost are left to their new holder."""
        for batch in list(self.held.values()):
            self._drop(batch)
            if not batch.lease.lost.is_set():
                try:
                    release(batch)
                except Exception as exc:  # noqa: BLE001 - its lease runs out anyway
                    log.warning("%s: could not be released (%s); its lease runs out", batch.lease.what, exc)
                    db.session.rollback()

    def lead_gone(self) -> bool:
        """The job's lead died (its lease ran out) while the job should still run."""
        row = db.session.execute(
            select(Job.status, Job.lease_owner, Job.lease_until).where(Job.id == self.job_id)
        ).one()
        now = clock(db.session.connection())
        db.session.commit()
        return row.status in ACTIVE_JOB_STATES and (row.lease_owner is None or row.lease_until < now)

    def next_round(self) -> JobControl | None:
        """After a round found nothing to take: wait while other workers hold the job's
        last batches (taking over any whose lease runs out). RUN: there is something to
        take; None: nothing is left (or, for a helper, the lead is gone); else stop."""
        while True:
            if self.lead is not None:
                self.plan()
            total, free, held = counts(self.job_id, self.owner)
            if free:
                return JobControl.RUN
            if not total or (self.lead is None and self.lead_gone()):
                return None
            control = self.checkpoint()
            if control != JobControl.RUN:
                return control
            time.sleep(WAIT_SECONDS)

    def wait_for_helpers(self) -> None:
        """The lead, before it ends a paused or cancelled job: until no other worker holds
        a batch (they stop at their next checkpoint)."""
        while counts(self.job_id, self.owner)[2]:
            if jobs.SHUTDOWN.is_set() or (self.lead is not None and self.lead.lease.lost.is_set()):
                return
            time.sleep(WAIT_SECONDS)


def pending_items(job_id: int) -> list[int]:
    """The pending JobItem ids of a job (what jobs on existing files plan batches for)."""
    ids = list(
        db.session.execute(
            select(JobItem.id)
            .where(JobItem.job_id == job_id, JobItem.status == ItemStatus.PENDING)
            .order_by(JobItem.id)
        ).scalars()
    )
    db.session.commit()
    return ids


def items_of(job_id: int, batch: Claimed, after_id: int = 0, limit: int = MAX_ITEMS) -> list[JobItem]:
    """A batch's pending JobItems, in id order, after `after_id`."""
    return list(
        db.session.execute(
            select(JobItem)
            .where(
                JobItem.job_id == job_id,
                JobItem.status == ItemStatus.PENDING,
                JobItem.id.between(max(batch.first_id, after_id + 1), batch.last_id),
            )
            .order_by(JobItem.id)
            .limit(limit)
        ).scalars()
    )


def item_rounds(
    work: Callable[[BatchContext, list[JobItem]], None], chunk: Callable[[], int]
) -> Callable[[BatchContext], str]:
    """The round of a job whose items are JobItems: batch after batch, `work(crew, items)`
    on `chunk()` pending items at a time (it records them, counts them with crew.add() and
    commits), a checkpoint between chunks."""

    def round_(crew: BatchContext) -> str:
        while (batch := crew.claim()) is not None:
            last = 0
            while items := items_of(crew.job_id, batch, last, chunk()):
                last = items[-1].id
                work(crew, items)
                control = crew.checkpoint()
                if control != JobControl.RUN:
                    return control
            crew.finish(batch)
        return JobControl.RUN

    return round_


def drive(crew: BatchContext, round_: Callable[[BatchContext], str]) -> str:
    """Work on the job's batches until none is left or a checkpoint says stop: `round_`
    takes batches until it finds none free; then the worker waits for the others' last
    ones. Returns the last checkpoint's word (RUN when the work is done)."""
    try:
        while True:
            control = round_(crew)
            if control != JobControl.RUN:
                return control
            control = crew.next_round()
            if control is None:
                return JobControl.RUN
            if control != JobControl.RUN:
                return control
    finally:
        crew.let_go()


@contextlib.contextmanager
def _working_on(job_id: int, lead: bool) -> Iterator[bool]:
    """Registers this thread's work on the job; a helper is refused (False) while this
    process works on any job's batches already."""
    with _registry:
        allowed = lead or not _working
        if allowed:
            _working[job_id] = _working.get(job_id, 0) + 1
    try:
        yield allowed
    finally:
        if allowed:
            with _registry:
                _working[job_id] -= 1
                if not _working[job_id]:
                    del _working[job_id]


@contextlib.contextmanager
def _beating(ctx: jobs.JobContext) -> Iterator[leases.Heartbeat]:
    if ctx.heartbeat is not None:
        yield ctx.heartbeat
        return
    with leases.heartbeat(db.engine, seconds=ctx.settings.lease_seconds) as beat:
        yield beat


def lead(ctx: jobs.JobContext) -> str:
    """The lead's part of a job's per-file phase: plan, ask for help, work on batches with
    the helpers, and on a pause or cancel wait until they let go. Returns the control."""
    round_ = WORKERS[ctx.job.kind]
    with _working_on(ctx.job.id, lead=True), _beating(ctx) as beat:
        crew = BatchContext(ctx.job, ctx.owner, ctx.settings, beat, ctx)
        control = drive(crew, round_)
        if control in (JobControl.PAUSE, JobControl.CANCEL):
            crew.wait_for_helpers()
    return control


def help(job_id: int, settings: Settings, take_over: Callable[[int], object] | None = None) -> bool:
    """A helper task: work on batches of the job until none is left. When the job's lead
    died meanwhile, `take_over(job_id)` runs the job (and so finishes it). False when this
    process had no room (it works on a job's batches already)."""
    with _working_on(job_id, lead=False) as allowed:
        if not allowed:
            return False
        job = db.session.get(Job, job_id)
        if job is None or job.status not in ACTIVE_JOB_STATES or job.kind not in WORKERS:
            db.session.commit()
            return True
        owner = leases.owner_id()
        with leases.heartbeat(db.engine, seconds=settings.lease_seconds) as beat:
            crew = BatchContext(job, owner, jobs.job_settings(settings), beat)
            try:
                control = drive(crew, WORKERS[job.kind])
                log.info("job %s: %s helped (%s)", job_id, owner, control)
            except Exception as exc:  # noqa: BLE001 - the lead meets the same problem and says so
                db.session.rollback()
                log.warning("job %s: %s stops helping (%s: %s)", job_id, owner, type(exc).__name__, exc)
                return True
        gone = crew.lead_gone()
    if gone and take_over is not None:
        log.warning("job %s: its lead is gone; %s takes the job over", job_id, owner)
        take_over(job_id)
    return True


def run_item_job(ctx: jobs.JobContext, discover: Callable, on_cancel: Callable[[int], None] | None = None) -> str:
    """The whole run of a job that is one JobItem per file (re-detection, thumbnails): its
    items written once (`discover`), then the batches with every helper; `on_cancel(job_id)`
    settles what a cancel leaves undone."""
    job = ctx.job
    if job.phase == "discover":
        discover(ctx)
    control = ctx.checkpoint()
    if control == JobControl.RUN:
        control = lead(ctx)
    if control != JobControl.RUN:
        if control == JobControl.CANCEL and on_cancel is not None:
            on_cancel(job.id)
        return jobs.stopped(control)
    job.phase = "done"
    db.session.commit()
    return JobStatus.COMPLETED
