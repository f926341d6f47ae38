"""The job queue: Huey tasks, thin wrappers that run pipeline jobs inside the app.

Each app has one `JobQueue`, made by the factory from the app's Settings; its Huey instance
is built on first use (a SQLite queue creates its file then, so a command that never
enqueues leaves no queue behind). The backend comes from `Settings.queue_url`:
  sqlite:///path/queue.db   default, a file beside the database
  redis://host:port/db      RedisHuey (also rediss:// and unix:// URLs)
  postgresql://...          PostgresHuey; the SQLAlchemy spellings postgresql+psycopg://
                            and postgres:// work too, so DATABASE_URL can be reused as is
  memory                    tasks run at once, in the caller (tests)
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, SqliteHuey, crontab

from . import pipeline  # noqa: F401 - registers every kind's job handler
from .config import Settings
from .models import db, utcnow
from .pipeline import batches, jobs

HAND_BACK_SECONDS = 1  # a help request this worker cannot take waits this long for another

log = logging.getLogger(__name__)

EXTENSION = "mediaparser.queue"


def make_huey(queue_url: str) -> Huey:
    common = {"results": False, "store_none": False, "utc": True}
    if queue_url == "memory":
        return MemoryHuey("mediaparser", immediate=True, **common)
    if queue_url.startswith("sqlite:///"):
        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("mediaparser", filename=str(path), store_intermediate_errors=False, **common)
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        from huey import RedisHuey

        return RedisHuey("mediaparser", url=queue_url, **common)
    dsn = postgres_dsn(queue_url)
    if dsn is not None:
        from huey import PostgresHuey

        return PostgresHuey("mediaparser", dsn=dsn, **common)
    raise ValueError(
        f"MEDIAPARSER_QUEUE={queue_url!r}: use sqlite:///..., redis://..., postgresql://... "
        "(or postgresql+psycopg://...) or memory"
    )


def postgres_dsn(url: str) -> str | None:
    """The libpq URL psycopg connects with, from a PostgreSQL URL in any of the spellings
    people copy (SQLAlchemy's `postgresql+psycopg://`, Heroku's `postgres://`); None for
    other URLs."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        return None
    if "+" in scheme and scheme.split("+", 1)[1] not in ("psycopg", "psycopg2", "psycopg2cffi"):
        return None  # another driver's URL (asyncpg, pg8000): not something psycopg reads
    return f"postgresql://{rest}"


class JobQueue:
    """One app's queue: enqueue jobs, and the tasks a consumer (run.py, worker.py) runs."""

    def __init__(self, app: Flask, settings: Settings):
        self.app = app
        self.settings = settings
        self._huey: Huey | None = None
        self._run_job = None
        self._run_batches = None
        self._lock = threading.Lock()

    @property
    def huey(self) -> Huey:
        self._build_once()
        return self._huey

    def _build_once(self) -> None:
        with self._lock:
            if self._huey is None:
                self._build()

    def _build(self) -> None:
        huey = make_huey(self.settings.queue_url)

        # Registered as "app.tasks.run_job" / "app.tasks.recover_jobs" (module and function
        # name), the names messages already waiting in a queue file carry; "app.tasks.run_batches"
        # asks a worker to help with a job's batches.
        @huey.task()
        def run_job(job_id: int) -> None:
            with self._app_context():
                jobs.run(job_id, self.settings, helpers=self.ask_for_help)

        @huey.task()
        def run_batches(job_id: int) -> None:
            """Help with a job's batches (pipeline/batches.py), wherever this worker runs."""
            with self._app_context():
                helped = batches.help(job_id, self.settings, take_over=self._take_over)
                if not helped and job_id in batches.wanting_help():
                    # This worker is busy with batches already (a free thread of the job's own
                    # worker takes such requests first): hand it back for another worker.
                    db.session.commit()  # no read transaction held while it waits
                    if not huey.immediate:
                        # This thread waits before it can take the next request: a busy
                        # worker's free threads poll the queue more often than an idle worker,
                        # which would otherwise almost never get one of the requests.
                        jobs.SHUTDOWN.wait(HAND_BACK_SECONDS)
                    run_batches.schedule(args=(job_id,), delay=HAND_BACK_SECONDS)

        @huey.periodic_task(crontab(minute="*"))
        def recover_jobs() -> None:
            """Every minute: jobs whose worker died are enqueued again."""
            with self._app_context():
                self.recover(look_again=False)

        self._huey, self._run_job, self._run_batches = huey, run_job, run_batches

    def _app_context(self):
        if has_app_context() and current_app._get_current_object() is self.app:
            return contextlib.nullcontext()  # immediate mode: run in the caller's context and session
        return self.app.app_context()

    def enqueue(self, job_id: int) -> None:
        self._build_once()
        self._run_job(job_id)

    def ask_for_help(self, job_id: int, count: int) -> None:
        """`count` helper tasks for the job's batches: idle workers on any machine take them
        (a worker busy with batches already lets them pass)."""
        self._build_once()
        for _ in range(count):
            self._run_batches(job_id)

    def _take_over(self, job_id: int) -> None:
        jobs.run(job_id, self.settings, helpers=self.ask_for_help)

    def recover(self, look_again: bool = True) -> list[int]:
        """Enqueue jobs that should be running but whose worker's lease ran out (call in an
        app context). With `look_again` (a worker starting), jobs whose lease still runs
        are tried again the moment it runs out: if their worker was this one before a
        restart, they go on within a lease, not a minute later. Returns both."""
        jobs.settle_abandoned_cancels()
        ids = jobs.recoverable_ids()
        for job_id in ids:
            log.info("job %s has no live worker: enqueued again", job_id)
            self.enqueue(job_id)
        for job_id in batches.wanting_help():
            self.ask_for_help(job_id, 1)  # batches nobody holds: a worker that is free takes them
        if not look_again:
            return ids
        later = jobs.leased_until()
        if later:
            self._build_once()
            now = utcnow()
            for job_id, until in later.items():
                delay = max(1.0, (until - now).total_seconds() + 1.0)
                log.info("job %s is leased by a worker until %s: looked at again then", job_id, until)
                self._run_job.schedule(args=(job_id,), delay=delay)
        return ids + list(later)


def init_app(app: Flask, settings: Settings) -> JobQueue:
    queue = app.extensions[EXTENSION] = JobQueue(app, settings)
    return queue


def queue_of(app: Flask) -> JobQueue:
    return app.extensions[EXTENSION]


def enqueue_job(job_id: int) -> None:
    """Enqueue on the current app's queue (pages and commands run inside the app)."""
    queue_of(current_app).enqueue(job_id)
