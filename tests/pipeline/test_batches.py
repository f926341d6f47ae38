"""Batches (pipeline/batches.py): a job's items in job_batch rows that workers take under a
lease, a dead worker's batch taken over and its late writes refused, and a job's batches
shared by its lead and a helper, each item done once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from app.models import Job, JobBatch, JobItem, db
from app.pipeline import batches, jobs, leases, reprocess
from app.vocab import ItemStatus, JobKind, JobStatus
from tests.time_helpers import make_exif, write_image


def test_workers_take_different_batches_and_a_dead_ones_is_taken_over(app):
    job = Job(kind=JobKind.REPROCESS, status=JobStatus.RUNNING, params={})
    db.session.add(job)
    db.session.commit()
    made, items = batches.plan(job.id, list(range(1, 41)))
    assert (made, items) == (10, list(range(1, 41)))  # 40 items: 10 batches of 4
    assert batches.plan(job.id, list(range(1, 41))) == (0, [])  # open batches cover them all

    a = batches.claim(job.id, "a", 30)
    b = batches.claim(job.id, "b", 30)
    assert a.id != b.id and (a.first_id, a.last_id) == (1, 4)
    batches.finish(b)
    assert batches.done_by(job.id) == {"b": 1}

    dead = batches.claim(job.id, "dead", -1)  # a worker whose lease ran out (it died)
    taker = batches.claim(job.id, "taker", 30)
    assert taker.id == dead.id
    assert db.session.get(JobBatch, dead.id).claims == 2
    with pytest.raises(leases.LeaseLost):  # what the dead worker had not committed is refused
        dead.lease.fence(db.session.connection())
    db.session.rollback()
    batches.release(a)
    assert batches.claim(job.id, "c", 30).id == a.id  # let go of: taken at once
    assert batches.counts(job.id, "c") == (9, 7, 1)  # open, free now, held by others (taker)


@pytest.fixture
def photos(app, tmp_path):
    from app.pipeline import importer

    root = tmp_path / "photos"
    for i in range(12):
        write_image(
            root / f"IMG_{i}.jpg",
            make_exif(f"2019:06:1{i % 10} 10:00:00", make="Canon", model="X"),
            color=(i * 20, 0, 0),
        )
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    return root


class ThreadHelpers:
    """A job's helpers as threads of this process, started when the lead asks for help (at
    most `at_most` of them), with reprocess reading each file through `read` in batches of 2.
    A worker process helps one job at a time; threads of one process are let help anyway."""

    def __init__(self, app, monkeypatch, read, at_most: int | None = None):
        self.app, self.at_most = app, at_most
        self.threads: list[threading.Thread] = []
        self.results: list[bool] = []  # what each batches.help() returned
        monkeypatch.setattr(reprocess, "redetect_file", read)
        monkeypatch.setattr(reprocess, "BATCH", 2)
        working_on = batches._working_on
        monkeypatch.setattr(batches, "_working_on", lambda job_id, lead: working_on(job_id, True))

    def __call__(self, job_id: int, count: int) -> None:
        if self.at_most is not None and len(self.threads) >= self.at_most:
            return
        self.threads.append(threading.Thread(target=self._work, args=(job_id,)))
        self.threads[-1].start()

    def _work(self, job_id: int) -> None:
        with self.app.app_context():
            self.results.append(batches.help(job_id, self.app.config["MEDIAPARSER"]))
            db.session.remove()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(30)


def test_lead_and_helper_share_a_reprocess_each_file_once(app, photos, monkeypatch):
    calls = Counter()
    original = reprocess.redetect_file

    def slow(f, zone, now=None):
        calls[f.id] += 1
        time.sleep(0.1)  # long enough for the helper to start while the lead works
        return original(f, zone, now)

    helpers = ThreadHelpers(app, monkeypatch, slow)
    job = reprocess.start(everything=True)
    assert jobs.run(job.id, helpers=helpers) == "completed"
    helpers.join()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    items = db.session.execute(select(JobItem).where(JobItem.job_id == job.id)).scalars().all()
    assert len(items) == 12 and all(i.status == ItemStatus.DONE for i in items)
    assert (job.done, job.total) == (12, 12) and set(calls.values()) == {1}
    assert len(batches.done_by(job.id)) == 2  # both the lead and the helper finished batches


def test_a_help_request_a_busy_worker_cannot_take_is_handed_back(tmp_path):
    """The job's own worker often takes the requests for help first (a free queue thread);
    it works on batches already, so it must hand each back for another worker, not drop it."""
    from app import create_app
    from app.database import upgrade
    from app.tasks import HAND_BACK_SECONDS, queue_of
    from tests.conftest import make_settings

    data = tmp_path / "data"
    app = create_app(make_settings(data, MEDIAPARSER_QUEUE=f"sqlite:///{data / 'queue.db'}"))
    upgrade(app)
    with app.app_context():
        job = Job(kind=JobKind.REPROCESS, status=JobStatus.RUNNING, params={})
        db.session.add(job)
        db.session.commit()
        batches.plan(job.id, list(range(1, 9)))
        queue = queue_of(app)
        huey = queue.huey

        def asked_while_busy() -> None:
            queue.ask_for_help(job.id, 1)
            with batches._working_on(job.id, lead=True):  # this worker leads the job already
                huey.execute(huey.dequeue())

        asked_while_busy()
        (handed_back,) = huey.pending()  # back in the queue, for when its time comes
        assert handed_back.name.endswith("run_batches") and handed_back.args == (job.id,)
        assert handed_back.eta is not None and HAND_BACK_SECONDS > 0
        huey.flush()
        while (b := batches.claim(job.id, "w", 30)) is not None:
            batches.finish(b)
        asked_while_busy()  # no batch left that another worker could take: not handed back
        assert huey.pending() == []


@pytest.mark.parametrize("stop", ["pause", "cancel"])
def test_a_pause_or_cancel_stops_the_lead_and_its_helper(app, photos, monkeypatch, stop):
    """A job worked on by a lead and a helper: a pause stops both after the file each is
    reading, and neither keeps a batch (a resume finishes the rest, each file once); a cancel
    stops both for good."""
    calls = Counter()
    readers: set[str] = set()  # the threads that read files before the stop
    original = reprocess.redetect_file
    job_id = 0

    stopped = threading.Event()
    lock = threading.Lock()

    def slow(f, zone, now=None):
        with lock:
            calls[f.id] += 1
            readers.add(threading.current_thread().name)
            stop_now = len(calls) >= 5 and not stopped.is_set()  # both are at work by now
            if stop_now:
                stopped.set()
        if stop_now:  # from outside, as a person's click would
            jobs.pause(job_id) if stop == "pause" else jobs.cancel(job_id)
        time.sleep(0.1)
        return original(f, zone, now)

    helpers = ThreadHelpers(app, monkeypatch, slow, at_most=1)
    job = reprocess.start(everything=True)
    job_id = job.id
    outcome = jobs.run(job.id, helpers=helpers)
    helpers.join()
    assert helpers.threads and not any(t.is_alive() for t in helpers.threads) and helpers.results == [True]
    assert len(readers) == 2  # both worked on the job before it was stopped
    assert outcome == ("paused" if stop == "pause" else "cancelled")
    db.session.expire_all()
    held = db.session.execute(select(JobBatch).where(JobBatch.job_id == job.id, JobBatch.lease_owner.is_not(None)))
    assert held.scalars().all() == []  # both let go of their batches
    assert sum(calls.values()) < 12  # neither went on to the end
    if stop == "cancel":
        assert db.session.get(Job, job.id).status == JobStatus.CANCELLED
        return
    assert jobs.resume(job.id)
    assert jobs.run(job.id, helpers=helpers) == "completed"
    items = db.session.execute(select(JobItem).where(JobItem.job_id == job.id)).scalars().all()
    assert len(items) == 12 and all(i.status == ItemStatus.DONE for i in items)
    assert set(calls.values()) == {1}  # each file once, across both runs and both workers
