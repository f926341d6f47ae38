"""Huey tasks: thin wrappers that run pipeline jobs inside a Flask app context.

The queue backend comes from `MEDIAPARSER_QUEUE` (see config.py):
  sqlite:///path/queue.db   default, a file beside the database
  redis://host:port/db      RedisHuey
  postgresql://...          PostgresHuey
  memory                    tasks run at once, in the caller (tests)
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, SqliteHuey, crontab

from .config import Settings

log = logging.getLogger(__name__)


def make_huey(queue_url: str) -> Huey:
    common = {"results": False, "store_none": False, "utc": True}
    if queue_url == "memory":
        return MemoryHuey("mediaparser", immediate=True, **common)
    if queue_url.startswith("sqlite:///"):
        from pathlib import Path

        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("mediaparser", filename=str(path), store_intermediate_errors=False, **common)
    if queue_url.startswith(("redis://", "rediss://")):
        from huey import RedisHuey

        return RedisHuey("mediaparser", url=queue_url, **common)
    if queue_url.startswith(("postgresql://", "postgres://")):
        from huey import PostgresHuey

        return PostgresHuey("mediaparser", dsn=queue_url, **common)
    raise ValueError(f"MEDIAPARSER_QUEUE={queue_url!r}: use sqlite:///..., redis://..., postgresql://... or memory")


huey = make_huey(Settings.from_env().queue_url)

_app: Flask | None = None
_app_lock = threading.Lock()


def bind_app(app: Flask) -> None:
    """The app whose database the worker threads of this process use."""
    global _app
    _app = app


def _worker_app() -> Flask:
    global _app
    if has_app_context():  # immediate mode: run inside the caller's app
        return current_app._get_current_object()
    with _app_lock:
        if _app is None:
            from . import create_app

            _app = create_app()
    return _app


from . import pipeline  # noqa: E402,F401 - registers the job handlers


@huey.task()
def run_job(job_id: int) -> None:
    from .pipeline import jobs

    with _worker_app().app_context():
        jobs.run(job_id)  # importing .pipeline registered every kind's handler


@huey.periodic_task(crontab(minute="*"))
def recover_jobs() -> None:
    """Every minute: jobs whose worker died are enqueued again."""
    with _worker_app().app_context():
        recover()


def recover() -> list[int]:
    from .pipeline import jobs

    ids = jobs.recoverable_ids()
    for job_id in ids:
        log.info("job %s has no live worker: enqueued again", job_id)
        run_job(job_id)
    return ids


def enqueue_job(job_id: int) -> None:
    run_job(job_id)
