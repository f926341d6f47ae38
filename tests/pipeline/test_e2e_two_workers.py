"""Two `worker.py` processes on one SQLite library share one import. The job's own worker has a
free queue thread that takes the requests for help first; it cannot help itself, so it hands
each back, and the idle worker takes it. Before, those requests were swallowed there and the
second worker never worked; later, the busy worker's free threads (which poll the queue more
often than an idle worker) took nearly every handed-back request again, and in one run in
ten the idle worker got none before the import ended: a thread that hands one back now waits
before it takes the next."""

from __future__ import annotations

import random

import pytest
from PIL import Image

from app import create_app
from app.database import upgrade
from app.models import File, Job, db
from app.pipeline import batches, importer, shared_storage
from app.tasks import queue_of
from app.vocab import FINISHED_JOB_STATES, FileStatus, JobStatus
from tests.conftest import make_settings
from tests.process_helpers import start, wait_for, worker_env

pytestmark = pytest.mark.e2e

PHOTOS = 120


def _photos(folder) -> None:
    """Distinct pictures big enough (1600 x 1200) that the import lasts several seconds."""
    folder.mkdir()
    rng = random.Random(7)
    for i in range(PHOTOS):
        image = Image.effect_noise((400, 300), 40 + i % 50).convert("RGB").resize((1600, 1200))
        image.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)), (0, 0, 400, 300))
        image.save(folder / f"IMG_{i:04d}.jpg", quality=90)


def test_an_idle_worker_takes_the_batches_its_busy_colleague_hands_back(tmp_path):
    _photos(tmp_path / "in")
    data = tmp_path / "data"
    env = worker_env(data, MEDIAPARSER_WORKERS="1")
    settings = make_settings(data, MEDIAPARSER_QUEUE=env["MEDIAPARSER_QUEUE"])
    app = create_app(settings)
    upgrade(app)
    shared_storage.mark(app)
    logs = [tmp_path / f"worker{i}.log" for i in (0, 1)]
    workers = [start("worker.py", env, log) for log in logs]
    try:
        for log in logs:
            wait_for(lambda log=log: "worker is running" in log.read_text(), 60, "a worker to start", log)
        with app.app_context():
            job = importer.start_folder_import(tmp_path / "in", roots=None)
            queue_of(app).enqueue(job.id)

            def finished():
                db.session.expire_all()
                return db.session.get(Job, job.id).status in FINISHED_JOB_STATES

            wait_for(finished, 240, "the import to finish", logs[0])
            assert db.session.get(Job, job.id).status == JobStatus.COMPLETED
            done = db.session.query(File).filter(File.job_id == job.id, File.status == FileStatus.DONE).count()
            assert done == PHOTOS
            by_worker = batches.done_by(job.id)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(60)
    # both workers finished some of the job's batches (if not, their logs show who did what)
    if len(by_worker) != 2:
        for log in logs:
            print(f"--- {log.name}", *log.read_text().splitlines()[-40:], sep="\n")
    assert len(by_worker) == 2, by_worker
