"""Job lifecycle, leases and the runner that every kind of job shares.

    pending -> running -> paused <-> running -> completed | failed | cancelled

People (pages, CLI) change a job's status; the worker running it notices at its next
checkpoint, between files. A worker holds a *lease* on the job while it runs it, renewed
by a heartbeat thread (app/pipeline/leases.py) whatever the handler is doing; a lease whose
worker died (killed, power cut, machine gone) runs out and is taken over, so a job always
finishes, and because per-file state lives in the database, no file is processed twice.
A runner that lost its lease stops at its next checkpoint, and the transactions it still
tries to commit (progress counts, changes to its job row) fail instead of clobbering the
new owner's work.

A job handler is registered in HANDLERS by its kind with `@handler(JobKind.X)`:

    def run_x(ctx: JobContext) -> str

It gets everything through `ctx`: `ctx.job` (its row), `ctx.settings` (the one Settings
object the job runs with, given to `run()`; never read from Flask), `ctx.checkpoint()`
between files and `ctx.add()` for progress. It returns its outcome: JobStatus.COMPLETED,
or `stopped(control)` when a checkpoint said to stop (paused, cancelled or interrupted).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from itertools import chain

from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session

from ..config import Settings
from ..database import clock
from ..models import ACTIVE_JOB_STATES, Job, JobControl, JobKind, JobStatus, db, utcnow
from . import leases
from .settings_store import effective

log = logging.getLogger(__name__)

HOST = leases.HOST
# session.info key: {job id: Lease} of the jobs this session's thread runs
SESSION_LEASES = "mediaparser.job_leases"

# Set when this process is asked to stop (SIGTERM, Ctrl-C): jobs pause at their next
# checkpoint and are taken up again when a worker starts.
SHUTDOWN = threading.Event()

HANDLERS: dict[str, Callable[[JobContext], str]] = {}

# A job's outcome: a JobStatus, or this one, which is not a status: the process is stopping,
# so the job goes back to pending and a worker takes it up again.
INTERRUPTED = "interrupted"
_STOPPED = {
    JobControl.PAUSE: JobStatus.PAUSED,
    JobControl.CANCEL: JobStatus.CANCELLED,
    JobControl.INTERRUPT: INTERRUPTED,
}


def handler(kind: str):
    def register(fn):
        HANDLERS[kind] = fn
        return fn

    return register


class JobError(Exception):
    """A job cannot go on; the message is shown to people as the job's reason."""


# --- what people do --------------------------------------------------------------------


def create(kind: JobKind | str, params: dict | None = None, phase: str = "discover") -> Job:
    job = Job(kind=str(kind), params=params or {}, status=JobStatus.PENDING, phase=phase)
    db.session.add(job)
    db.session.commit()
    return job


def _transition(job_id: int, from_states, to_state: str, **values) -> bool:
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_([str(s) for s in from_states]))
        .values(status=to_state, **values)
    )
    db.session.commit()
    return result.rowcount == 1


def pause(job_id: int) -> bool:
    return _transition(job_id, ACTIVE_JOB_STATES, JobStatus.PAUSED)


def resume(job_id: int, failed_too: bool = False) -> bool:
    """Back to pending; the caller enqueues it (tasks.enqueue_job). With `failed_too`, a
    failed job too (an import: its per-file state lets it continue where it stopped)."""
    if _transition(job_id, (JobStatus.PAUSED,), JobStatus.PENDING):
        return True
    return failed_too and _transition(job_id, (JobStatus.FAILED,), JobStatus.PENDING, finished_at=None, message=None)


def cancel(job_id: int) -> bool:
    job = db.session.get(Job, job_id)
    if job is None:
        return False
    running = job.status == JobStatus.RUNNING and _lease_alive(job)
    # A running job finishes its own bookkeeping at the next checkpoint; others end here.
    values = {} if running else {"finished_at": utcnow()}
    return _transition(job_id, (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.PAUSED), JobStatus.CANCELLED, **values)


def _lease_alive(job: Job) -> bool:
    return job.lease_owner is not None and job.lease_until is not None and job.lease_until >= _now()


def _now():
    return clock(db.session.connection())


def _lease_ran_out(now):
    return or_(Job.lease_owner.is_(None), Job.lease_until.is_(None), Job.lease_until < now)


def recoverable_ids() -> list[int]:
    """Jobs that should be running but whose worker's lease ran out: to enqueue again."""
    now = _now()
    active = Job.status.in_([str(s) for s in ACTIVE_JOB_STATES])
    return list(db.session.execute(select(Job.id).where(active, _lease_ran_out(now)).order_by(Job.id)).scalars())


def settle_abandoned_cancels() -> int:
    """Jobs cancelled while a worker ran them, whose worker then died before it could end
    them: ended now that its lease ran out. Returns how many."""
    now = _now()
    ended = db.session.execute(
        update(Job)
        .where(Job.status == JobStatus.CANCELLED, Job.finished_at.is_(None), Job.lease_until < now)
        .values(finished_at=now, lease_owner=None, lease_until=None, resumed_at=None)
    )
    db.session.commit()
    return ended.rowcount


def leased_until() -> dict[int, object]:
    """Active jobs whose lease is still running: {job id: when it runs out}. A worker that
    starts cannot tell whether their holder is alive; it looks again when the lease ends."""
    now = _now()
    rows = db.session.execute(
        select(Job.id, Job.lease_until).where(
            Job.status.in_([str(s) for s in ACTIVE_JOB_STATES]), Job.lease_owner.is_not(None), Job.lease_until >= now
        )
    ).all()
    return dict(rows)


# --- what the worker does --------------------------------------------------------------


def stopped(control: JobControl) -> str:
    """The outcome a handler returns when a checkpoint told it to stop."""
    return _STOPPED[control]


def job_settings(base: Settings) -> Settings:
    """What a job starting now runs with: the app's settings with the settings page's
    changes (time zone, output folder) applied. A change applies from the next job."""
    return effective(base)


class JobContext:
    """What a handler uses: its job row, its settings, a checkpoint between files, progress
    counters; `lease` and `heartbeat` for work that leases more (batches, locks)."""

    def __init__(
        self,
        job: Job,
        owner: str,
        settings: Settings,
        on_progress: Callable[[Job], None] | None = None,
        lease: leases.Lease | None = None,
        heartbeat: leases.Heartbeat | None = None,
        helpers: Callable[[int, int], None] | None = None,
    ):
        self.job = job
        self.owner = owner
        self.settings = settings
        self._on_progress = on_progress
        self.lease = lease or job_lease(job.id, owner, settings.lease_seconds)
        self.heartbeat = heartbeat
        self._helpers = helpers

    def ask_for_help(self, count: int) -> None:
        """Ask the queue for `count` helpers on this job's batches (pipeline/batches.py);
        nothing when the job was not started by a queue (tests, the command line)."""
        if self._helpers is not None and count > 0:
            self._helpers(self.job.id, count)

    def checkpoint(self) -> JobControl:
        """Commit-safe point between files: RUN, PAUSE, CANCEL or INTERRUPT.

        Reads the status people may have changed. INTERRUPT also when this runner lost its
        lease: the job goes on elsewhere, so this one stops here."""
        if SHUTDOWN.is_set() or self.lease.lost.is_set():
            return JobControl.INTERRUPT
        if self._on_progress:
            self._on_progress(self.job)
        status, owner = db.session.execute(select(Job.status, Job.lease_owner).where(Job.id == self.job.id)).one()
        if owner != self.owner:
            self.lease.mark_lost(f"the job is now held by {owner or 'nobody'}")
            return JobControl.INTERRUPT
        return {JobStatus.PAUSED: JobControl.PAUSE, JobStatus.CANCELLED: JobControl.CANCEL}.get(status, JobControl.RUN)

    def add(self, done: int = 0, errors: int = 0, skipped: int = 0, duplicates: int = 0) -> None:
        """Count finished items; call inside the transaction that records them. Raises
        LeaseLost (and so the transaction fails) when another worker holds the job now."""
        result = db.session.execute(
            update(Job)
            .where(Job.id == self.job.id, Job.lease_owner == self.owner)
            .values(
                done=Job.done + done,
                errors=Job.errors + errors,
                skipped=Job.skipped + skipped,
                duplicates=Job.duplicates + duplicates,
            )
        )
        if result.rowcount != 1:
            self.lease.mark_lost("another worker holds the job now")
            raise leases.LeaseLost(f"job {self.job.id}: another worker took it over; this one stops")


def job_lease(job_id: int, owner: str, seconds: float = leases.LEASE_SECONDS) -> leases.Lease:
    return leases.Lease(Job.__table__, {"id": job_id}, owner, seconds, what=f"job {job_id}")


@event.listens_for(Session, "before_flush")
def _fence_job_rows(session: Session, _context, _instances) -> None:
    """A runner's changes to its own job row (phase, totals, message) are written only while
    it holds the job's lease."""
    held = session.info.get(SESSION_LEASES)
    if not held:
        return
    for obj in chain(session.dirty, session.deleted):
        if isinstance(obj, Job) and obj.id in held and session.is_modified(obj):
            held[obj.id].fence(session.connection())


def _acquire(job_id: int, owner: str, seconds: float) -> Job | None:
    """Take the job when nobody holds it or its holder's lease ran out."""
    job = db.session.get(Job, job_id)
    if job is None or job.status not in ACTIVE_JOB_STATES:
        return None
    now = _now()
    previous = job.lease_owner
    if previous is not None and job.lease_until is not None and job.lease_until >= now:
        return None
    db.session.commit()  # the claim below reads afresh (SQLite: no stale snapshot to write from)
    # Compare-and-set on the lease having run out: two workers racing for a job, one wins,
    # and a lease renewed meanwhile is not taken.
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_([str(s) for s in ACTIVE_JOB_STATES]), _lease_ran_out(now))
        .values(
            status=JobStatus.RUNNING,
            lease_owner=owner,
            lease_until=now + timedelta(seconds=seconds),
            started_at=func.coalesce(Job.started_at, now),
            resumed_at=now,
            done_at_resume=Job.done,
        )
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return None
    if previous is not None:
        log.warning("job %s: the lease of %s ran out; %s takes the job over", job_id, previous, owner)
    db.session.refresh(job)
    return job


def _bank_active_time(job: Job) -> float:
    if job.resumed_at is None:
        return job.active_seconds
    return job.active_seconds + (utcnow() - job.resumed_at).total_seconds()


def run(
    job_id: int,
    settings: Settings | None = None,
    on_progress: Callable[[Job], None] | None = None,
    helpers: Callable[[int, int], None] | None = None,
) -> str | None:
    """Run a job to its end (or to a pause); returns the outcome, None if not ours to run.

    `settings` are the app's own (the queue and the command line pass theirs); the job runs
    with `job_settings(settings)`. Left out (tests and benchmarks inside the app), they are
    the current app's. `helpers(job_id, n)` asks the queue for n workers to help with the
    job's batches (the queue passes it; without it the job's runner does every batch)."""
    if settings is None:
        from flask import current_app

        settings = current_app.config["MEDIAPARSER"]
    owner = leases.owner_id()
    job = _acquire(job_id, owner, settings.lease_seconds)
    if job is None:
        return None
    log.info("job %s (%s) started by %s", job.id, job.kind, owner)
    lease = job_lease(job.id, owner, settings.lease_seconds)
    with leases.heartbeat(db.engine, lease) as beat:
        ctx = JobContext(job, owner, job_settings(settings), on_progress, lease, beat, helpers)
        outcome, message = _run_handler(job, ctx)
    if lease.lost.is_set():
        log.warning("job %s: %s stopped; the worker that took the job over finishes it", job_id, owner)
        outcome, message = INTERRUPTED, None
    _finish(job_id, owner, outcome, message)  # changes nothing unless the job is still ours
    return outcome


def _run_handler(job: Job, ctx: JobContext) -> tuple[str, str | None]:
    fn = HANDLERS.get(job.kind)
    outcome, message = JobStatus.FAILED, None
    db.session.info.setdefault(SESSION_LEASES, {})[job.id] = ctx.lease
    try:
        if fn is None:
            raise JobError(f"MediaParser does not know how to run a '{job.kind}' job")
        outcome = fn(ctx)
    except JobError as exc:
        message = str(exc)
    except leases.LeaseLost:
        outcome = INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a job must end in a state people can read
        if ctx.lease.lost.is_set():
            outcome = INTERRUPTED  # what failed was writing after the lease was gone
        else:
            log.exception("job %s failed", job.id)
            message = f"The job stopped because of an unexpected error: {type(exc).__name__}: {exc}"
    finally:
        db.session.rollback()  # before the heartbeat stops: a renewal must not wait for us
        db.session.info.get(SESSION_LEASES, {}).pop(job.id, None)
    return outcome, message


def _finish(job_id: int, owner: str, outcome: str, message: str | None) -> None:
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    values: dict = {
        "lease_owner": None,
        "lease_until": None,
        "active_seconds": _bank_active_time(job),
        "resumed_at": None,
    }
    if outcome in (JobStatus.COMPLETED, JobStatus.CANCELLED):
        values.update(status=outcome, finished_at=utcnow())
    elif outcome == JobStatus.FAILED:
        values.update(status=JobStatus.FAILED, finished_at=utcnow(), message=message)
    elif outcome == INTERRUPTED:
        values.update(status=JobStatus.PENDING)  # taken up again when a worker starts
    # paused: the status is already paused; just release the lease.
    if message and outcome != JobStatus.FAILED:
        values["message"] = message
    statuses = [str(s) for s in (*ACTIVE_JOB_STATES, JobStatus.PAUSED, JobStatus.CANCELLED)]
    ended = db.session.execute(
        update(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.status.in_(statuses)).values(**values)
    )
    db.session.commit()
    if ended.rowcount == 1:
        log.info("job %s ended: %s", job_id, outcome)


# --- figures for people -----------------------------------------------------------------


def progress(job: Job) -> dict:
    """done/total, rate (items per second of running time) and ETA in seconds."""
    running = job.status == JobStatus.RUNNING and job.resumed_at is not None
    active = _bank_active_time(job) if running else job.active_seconds
    rate = job.done / active if active > 0.5 and job.done else None
    if running and job.resumed_at is not None:
        since = (utcnow() - job.resumed_at).total_seconds()
        recent = job.done - job.done_at_resume
        if since > 2 and recent > 0:
            rate = recent / since  # the current run's speed is the better predictor
    remaining = max(0, job.total - job.done)
    eta = remaining / rate if rate and job.status in (JobStatus.RUNNING, JobStatus.PENDING) else None
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "phase": job.phase,
        "total": job.total,
        "done": job.done,
        "errors": job.errors,
        "skipped": job.skipped,
        "duplicates": job.duplicates,
        "percent": round(100 * job.done / job.total, 1)
        if job.total
        else (100.0 if job.status == JobStatus.COMPLETED else 0.0),
        "rate": round(rate, 2) if rate else None,
        "eta_seconds": round(eta) if eta is not None else None,
        "message": job.message,
        "params": job.params,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
