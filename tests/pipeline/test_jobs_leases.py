"""Leases on jobs: a heartbeat keeps a live runner's job however long a file takes; only a
runner whose heartbeat stopped loses it, and then it stops without clobbering the new
owner's work. Liveness is judged by the lease alone, never by a process id. Runs on SQLite
and, under `make test-scale`, on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from huey import SqliteHuey

from app.models import Job, JobControl, JobStatus, db
from app.pipeline import jobs, leases
from app.tasks import queue_of

KIND = "test_lease"
LEASE = 1.0  # seconds: the heartbeat renews it every 1/6 s
WAIT = 30  # seconds at most for another thread to get somewhere (never reached when all is well)


@pytest.fixture
def short_leases(app, monkeypatch):
    settings = app.config["MEDIAPARSER"].with_overrides(lease_seconds=LEASE)
    monkeypatch.setitem(app.config, "MEDIAPARSER", settings)
    return settings


def _in_thread(app, fn) -> tuple[threading.Thread, list]:
    """Run fn() in a thread with an app context (a session) of its own; its result lands in the list."""
    out: list = []

    def body():
        with app.app_context():
            try:
                out.append(fn())
            finally:
                db.session.remove()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, out


def test_a_handler_that_outlasts_its_lease_keeps_the_job(app, short_leases, monkeypatch):
    """A file that takes longer than the lease (a big video on slow storage): the heartbeat
    keeps the lease alive, so nobody takes the job over, and the work is done once."""
    attempts: list = []
    blocking = threading.Event()
    tried = threading.Event()
    calls: list[str] = []

    def slow(ctx: jobs.JobContext) -> str:
        calls.append(ctx.owner)
        blocking.set()
        # block for several leases while another runner keeps trying to take the job
        assert tried.wait(WAIT)
        ctx.add(done=1)
        db.session.commit()
        return JobStatus.COMPLETED if ctx.checkpoint() == JobControl.RUN else jobs.stopped(JobControl.INTERRUPT)

    monkeypatch.setitem(jobs.HANDLERS, KIND, slow)
    job = jobs.create(KIND)

    def other_runner():
        assert blocking.wait(WAIT)
        deadline = datetime.now(UTC) + timedelta(seconds=4 * LEASE)
        while datetime.now(UTC) < deadline:
            attempts.append(jobs.run(job.id, short_leases))
            threading.Event().wait(LEASE / 4)
        tried.set()

    thread, _ = _in_thread(app, other_runner)
    assert jobs.run(job.id, short_leases) == JobStatus.COMPLETED
    thread.join(WAIT)

    assert attempts and set(attempts) == {None}  # tried for four leases' time, never got it
    assert len(calls) == 1  # the work ran once
    db.session.expire_all()
    done = db.session.get(Job, job.id)
    assert done.status == JobStatus.COMPLETED and done.done == 1 and done.lease_owner is None


def test_a_dead_heartbeat_lets_another_runner_take_over_and_the_old_one_stops(app, short_leases, monkeypatch):
    first_blocked, taken_over, first_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict = {}

    def handler(ctx: jobs.JobContext) -> str:
        if not seen:  # the first runner: its heartbeat dies (as in a stalled machine)
            seen["first"] = ctx.owner
            ctx.heartbeat.stop()
            first_blocked.set()
            assert taken_over.wait(WAIT)
            seen["checkpoint"] = ctx.checkpoint()
            try:
                ctx.add(done=100)  # its last file's count: must not land
            except leases.LeaseLost:
                seen["add"] = "refused"
            db.session.rollback()
            ctx.job.message = "written by the runner that lost the job"
            try:
                db.session.commit()
            except leases.LeaseLost:
                seen["job row"] = "refused"
            db.session.rollback()
            first_done.set()
            return jobs.stopped(seen["checkpoint"])
        seen["second"] = ctx.owner
        taken_over.set()
        assert first_done.wait(WAIT)
        ctx.add(done=1)
        ctx.job.phase = "second's phase"
        db.session.commit()
        return JobStatus.COMPLETED

    monkeypatch.setitem(jobs.HANDLERS, KIND, handler)
    job = jobs.create(KIND)

    def second_runner():
        assert first_blocked.wait(WAIT)
        while (outcome := jobs.run(job.id, short_leases)) is None:  # until the old lease has run out
            threading.Event().wait(LEASE / 4)
        return outcome

    thread, second = _in_thread(app, second_runner)
    first = jobs.run(job.id, short_leases)
    thread.join(WAIT)

    assert first == "interrupted" and second == [JobStatus.COMPLETED]
    assert seen["checkpoint"] == JobControl.INTERRUPT  # stopped at once ...
    assert seen["add"] == seen["job row"] == "refused"  # ... and wrote nothing over the new owner
    db.session.expire_all()
    done = db.session.get(Job, job.id)
    assert done.status == JobStatus.COMPLETED and done.done == 1
    assert done.phase == "second's phase" and done.message is None
    assert done.lease_owner is None


def test_the_heartbeat_marks_a_lease_lost_when_the_row_has_another_owner(app):
    job = jobs.create(KIND)
    db.session.execute(Job.__table__.update().values(status="running", lease_owner="me", lease_until=None))
    db.session.commit()
    mine = jobs.job_lease(job.id, "me", LEASE)
    beat = leases.Heartbeat(db.engine, LEASE / 6)
    beat.track(mine)
    beat.beat()
    assert not mine.lost.is_set()
    db.session.refresh(job)
    assert job.lease_until is not None  # renewed
    db.session.execute(Job.__table__.update().values(lease_owner="someone else"))
    db.session.commit()
    beat.beat()
    assert mine.lost.is_set()


def test_liveness_is_the_lease_alone_never_a_process_id(app):
    """A lease that has not run out is respected even when its owner names no live process
    here (it may be a zombie, or on another machine); one that ran out is taken over even
    when its owner names this very process."""
    held, stale = jobs.create(KIND), jobs.create(KIND)
    future, past = datetime.now(UTC) + timedelta(hours=1), datetime.now(UTC) - timedelta(seconds=1)
    for job, owner, until in ((held, f"{jobs.HOST}:99999999:gone", future), (stale, "other-host:1:x", past)):
        job.status, job.lease_owner, job.lease_until = JobStatus.RUNNING, owner, until
    db.session.commit()
    assert jobs.recoverable_ids() == [stale.id]
    assert jobs.run(held.id) is None
    assert jobs.cancel(held.id) and db.session.get(Job, held.id).finished_at is None  # its runner ends it ...
    db.session.execute(Job.__table__.update().where(Job.id == held.id).values(lease_until=past))
    db.session.commit()
    assert jobs.settle_abandoned_cancels() == 1  # ... unless it died first: ended once its lease ran out
    db.session.expire_all()
    assert db.session.get(Job, held.id).finished_at is not None and db.session.get(Job, held.id).lease_owner is None


def test_a_starting_worker_looks_again_when_a_live_lease_runs_out(app, settings, tmp_path, monkeypatch):
    """A worker restarted after a kill -9 cannot tell whether its old self still runs a job:
    it schedules a look at the moment the lease runs out instead of waiting for the minutely
    recovery."""
    huey = SqliteHuey("test", filename=str(tmp_path / "queue.db"), results=False, utc=True)
    queue = queue_of(app)
    monkeypatch.setattr("app.tasks.make_huey", lambda _url: huey)
    queue._huey = None
    held, free = jobs.create(KIND), jobs.create(KIND)
    held.status, held.lease_owner = JobStatus.RUNNING, "another-worker"
    held.lease_until = datetime.now(UTC) + timedelta(seconds=30)
    db.session.commit()

    assert queue.recover() == [free.id, held.id]
    tasks = [huey.dequeue(), huey.dequeue()]
    assert huey.dequeue() is None
    # the free job runs now; the held one is looked at when its lease runs out
    assert sorted((t.args[0], t.eta is not None) for t in tasks) == sorted([(free.id, False), (held.id, True)])
    assert queue.recover(look_again=False) == [free.id]
