"""The job queue on each backend a household can choose: SQLite (always), Redis and
PostgreSQL (under `make test-scale`, which starts them). A real consumer (the one run.py and
worker.py start) imports a folder, and takes over a job whose worker was killed as soon as
that worker's lease runs out: no process id is looked at."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from app import create_app
from app.models import File, Job, JobStatus, db
from app.pipeline import importer, jobs
from app.tasks import make_huey, postgres_dsn, queue_of
from app.worker_runtime import start_consumer, stop_consumer
from tests.conftest import TEST_REDIS_URL, on_postgres

BACKENDS = ["sqlite", "redis", "postgresql"]
WAIT = 120


def test_queue_urls_people_copy_are_understood():
    assert postgres_dsn("postgresql+psycopg://u:p@db:5432/media") == "postgresql://u:p@db:5432/media"
    assert postgres_dsn("postgres://u@db/media") == "postgresql://u@db/media"
    assert postgres_dsn("postgresql://u@db/media?sslmode=require") == "postgresql://u@db/media?sslmode=require"
    assert postgres_dsn("postgresql+asyncpg://u@db/media") is None
    assert postgres_dsn("redis://localhost:6379/0") is None
    with pytest.raises(ValueError, match="postgresql\\+psycopg"):
        make_huey("mysql://u@db/media")


@pytest.fixture(params=BACKENDS)
def queue_app(request, settings, _template_db, database_url):
    backend = request.param
    if backend == "redis" and not TEST_REDIS_URL:
        pytest.skip("needs Redis: set MEDIAPARSER_TEST_REDIS_URL (make test-scale does)")
    if backend == "postgresql" and not on_postgres():
        pytest.skip("needs PostgreSQL: set MEDIAPARSER_TEST_DATABASE_URL (make test-scale does)")
    url = {
        "sqlite": f"sqlite:///{settings.instance_dir / 'queue.db'}",
        "redis": TEST_REDIS_URL,
        "postgresql": database_url,  # SQLAlchemy's spelling, as DATABASE_URL has it
    }[backend]
    queue_settings = settings.with_overrides(queue_url=url, lease_seconds=2.0)
    queue_settings.instance_dir.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        shutil.copy(_template_db, queue_settings.instance_dir / "mediaparser.db")
    app = create_app(queue_settings)
    with app.app_context():
        queue_of(app).huey.flush()  # Redis is shared by every test: start empty
        db.session.remove()
    yield app
    with app.app_context():
        queue_of(app).huey.flush()
        db.session.remove()
        db.engine.dispose()


def _photos(folder, n: int, shade: int) -> set[str]:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (64, 48), (i * 30, shade, 200 - i * 20)).save(folder / f"q{i}.jpg")
    return {f"q{i}.jpg" for i in range(n)}


def _wait_until_done(app, job_ids: list[int]) -> dict[int, str]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with app.app_context():
            states = {j: db.session.get(Job, j).status for j in job_ids}
            db.session.remove()
        if all(s in (JobStatus.COMPLETED, JobStatus.FAILED) for s in states.values()):
            return states
        time.sleep(0.2)
    return states


def test_a_consumer_imports_and_takes_over_a_killed_workers_job(queue_app, tmp_path):
    app = queue_app
    fresh_names, left_names = _photos(tmp_path / "fresh", 3, 40), _photos(tmp_path / "left", 3, 160)
    with app.app_context():
        fresh = importer.start_folder_import(tmp_path / "fresh", roots=None)
        # a job a killed worker was running: its lease runs out in a moment, and nothing
        # tells that worker is dead but that
        left = importer.start_folder_import(tmp_path / "left", roots=None)
        left.status, left.lease_owner = JobStatus.RUNNING, "another-machine:4242:killed"
        left.lease_until = datetime.now(UTC) + timedelta(seconds=2)
        db.session.commit()
        queue_of(app).enqueue(fresh.id)
        ids = [fresh.id, left.id]
        db.session.remove()

    consumer = start_consumer(app)  # looks at `left` again when its lease has run out
    try:
        states = _wait_until_done(app, ids)
    finally:
        stop_consumer(consumer)
        jobs.SHUTDOWN.clear()

    assert states == {fresh.id: JobStatus.COMPLETED, left.id: JobStatus.COMPLETED}
    with app.app_context():
        for job_id, names in ((fresh.id, fresh_names), (left.id, left_names)):
            rows = db.session.query(File.original_name, File.status).filter(File.job_id == job_id).all()
            assert sorted(r.original_name for r in rows) == sorted(names)  # each file once
            assert {r.status for r in rows} == {"done"}
        db.session.remove()
