"""Job lifecycle, leases and the runner that every kind of job shares.

    pending -> running -> paused <-> running -> completed | failed | cancelled

People (pages, CLI) change a job's status; the worker running it notices at its next
checkpoint, between files. A worker holds a *lease* on the job while it runs it; a lease
whose worker died (killed, power cut) is taken over, so a job always finishes, and because
per-file state lives in the database, no file is processed twice.

A job handler is registered in HANDLERS by its kind with `@handler(JobKind.X)`:

    def run_x(ctx: JobContext) -> str

It gets everything through `ctx`: `ctx.job` (its row), `ctx.settings` (the one Settings
object the job runs with, given to `run()`; never read from Flask), `ctx.checkpoint()`
between files and `ctx.add()` for progress. It returns its outcome: JobStatus.COMPLETED,
or `stopped(control)` when a checkpoint said to stop (paused, cancelled or interrupted).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update

from ..config import Settings
from ..models import ACTIVE_JOB_STATES, Job, JobControl, JobKind, JobStatus, db, utcnow
from .settings_store import effective

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
RENEW_EVERY = 10
HOST = socket.gethostname()

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


def _owner_id() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_alive(owner: str | None) -> bool:
    """False when the lease holder was a process on this machine that no longer exists."""
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != HOST:
        return True  # another machine: trust its lease until it expires
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


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
    running = job.status == JobStatus.RUNNING and _owner_alive(job.lease_owner)
    # A running job finishes its own bookkeeping at the next checkpoint; others end here.
    values = {} if running else {"finished_at": utcnow()}
    return _transition(job_id, (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.PAUSED), JobStatus.CANCELLED, **values)


def recoverable_ids() -> list[int]:
    """Jobs that should be running but have no live worker: to enqueue again."""
    now = utcnow()
    rows = db.session.execute(
        select(Job.id, Job.lease_owner, Job.lease_until).where(Job.status.in_([str(s) for s in ACTIVE_JOB_STATES]))
    ).all()
    return [
        job_id
        for job_id, owner, until in rows
        if owner is None or until is None or until < now or not _owner_alive(owner)
    ]


# --- what the worker does --------------------------------------------------------------


def stopped(control: JobControl) -> str:
    """The outcome a handler returns when a checkpoint told it to stop."""
    return _STOPPED[control]


def job_settings(base: Settings) -> Settings:
    """What a job starting now runs with: the app's settings with the settings page's
    changes (time zone, output folder) applied. A change applies from the next job."""
    return effective(base)


class JobContext:
    """What a handler uses: its job row, its settings, a checkpoint between files, progress counters."""

    def __init__(self, job: Job, owner: str, settings: Settings, on_progress: Callable[[Job], None] | None = None):
        self.job = job
        self.owner = owner
        self.settings = settings
        self._renewed = time.monotonic()
        self._on_progress = on_progress

    def checkpoint(self) -> JobControl:
        """Commit-safe point between files: RUN, PAUSE, CANCEL or INTERRUPT.

        Renews the lease; reads the status people may have changed."""
        if SHUTDOWN.is_set():
            return JobControl.INTERRUPT
        if self._on_progress:
            self._on_progress(self.job)
        status = db.session.execute(select(Job.status).where(Job.id == self.job.id)).scalar_one()
        if time.monotonic() - self._renewed > RENEW_EVERY:
            db.session.execute(
                update(Job)
                .where(Job.id == self.job.id, Job.lease_owner == self.owner)
                .values(lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS))
            )
            db.session.commit()
            self._renewed = time.monotonic()
        return {JobStatus.PAUSED: JobControl.PAUSE, JobStatus.CANCELLED: JobControl.CANCEL}.get(status, JobControl.RUN)

    def add(self, done: int = 0, errors: int = 0, skipped: int = 0, duplicates: int = 0) -> None:
        """Count finished items; call inside the transaction that records them."""
        db.session.execute(
            update(Job)
            .where(Job.id == self.job.id)
            .values(
                done=Job.done + done,
                errors=Job.errors + errors,
                skipped=Job.skipped + skipped,
                duplicates=Job.duplicates + duplicates,
            )
        )


def _acquire(job_id: int, owner: str) -> Job | None:
    job = db.session.get(Job, job_id)
    if job is None or job.status not in ACTIVE_JOB_STATES:
        return None
    now = utcnow()
    stale = job.lease_owner is None or job.lease_until is None or job.lease_until < now
    if not stale and _owner_alive(job.lease_owner):
        return None
    # Compare-and-set on the previous owner: two workers racing for a job, one wins.
    claimed = db.session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.status.in_([str(s) for s in ACTIVE_JOB_STATES]),
            or_(Job.lease_owner.is_(None), Job.lease_owner == job.lease_owner),
        )
        .values(
            status=JobStatus.RUNNING,
            lease_owner=owner,
            lease_until=now + timedelta(seconds=LEASE_SECONDS),
            started_at=job.started_at or now,
            resumed_at=now,
            done_at_resume=job.done,
        )
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return None
    db.session.refresh(job)
    return job


def _bank_active_time(job: Job) -> float:
    if job.resumed_at is None:
        return job.active_seconds
    return job.active_seconds + (utcnow() - job.resumed_at).total_seconds()


def run(job_id: int, settings: Settings | None = None, on_progress: Callable[[Job], None] | None = None) -> str | None:
    """Run a job to its end (or to a pause); returns the outcome, None if not ours to run.

    `settings` are the app's own (the queue and the command line pass theirs); the job runs
    with `job_settings(settings)`. Left out (tests and benchmarks inside the app), they are
    the current app's."""
    owner = _owner_id()
    job = _acquire(job_id, owner)
    if job is None:
        return None
    log.info("job %s (%s) started by %s", job.id, job.kind, owner)
    fn = HANDLERS.get(job.kind)
    outcome, message = JobStatus.FAILED, None
    try:
        if fn is None:
            raise JobError(f"MediaParser does not know how to run a '{job.kind}' job")
        if settings is None:
            from flask import current_app

            settings = current_app.config["MEDIAPARSER"]
        outcome = fn(JobContext(job, owner, job_settings(settings), on_progress))
    except JobError as exc:
        message = str(exc)
    except Exception as exc:  # noqa: BLE001 - a job must end in a state people can read
        log.exception("job %s failed", job_id)
        message = f"The job stopped because of an unexpected error: {type(exc).__name__}: {exc}"
    finally:
        db.session.rollback()
    _finish(job_id, owner, outcome, message)
    return outcome


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
    db.session.execute(
        update(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.status.in_(statuses)).values(**values)
    )
    db.session.commit()
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
