"""One import, three workers, on PostgreSQL + Redis (make test-scale): the web server (run.py,
no embedded worker) and three `worker.py` processes import one folder together, started
through the web API. Each worker takes some of the job's batches; one that has done a batch
is killed with SIGKILL while it holds another. Then: every file once, no lease taken from a
living worker, the same dates, confidences and duplicate groups as the same import on
SQLite, and no process left behind. Skipped where no PostgreSQL and Redis are set up."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app import create_app
from app.database import upgrade
from app.models import DuplicateGroup, File, db
from app.pipeline import importer, jobs
from tests.conftest import TEST_REDIS_URL, make_settings, postgres_or_skip
from tests.process_helpers import alive, descendants, free_port, start, wait_for, worker_env

PHOTOS = 96
COPIES = 12  # exact copies of some of them, in another folder
WORKERS = 3
REDIS_DB = 7  # a database of its own on the test server: nothing else's tasks reach these workers
COMPARED = (
    File.status,
    File.taken_at,
    File.taken_local,
    File.taken_offset,
    File.taken_precision,
    File.taken_source,
    File.confidence,
    File.needs_review,
    File.sha256,
)


@pytest.fixture
def photos(tmp_path) -> Path:
    """Camera-like JPEGs, most with a date, some only with one in their name, and exact copies."""
    root = tmp_path / "Family"
    folder = root / "2021 Summer"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(13)
    base = np.asarray(Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).resize((1280, 960)))
    for i in range(PHOTOS):
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 80D"
        name = f"IMG_{i:04d}.jpg"
        if i % 6:
            exif.get_ifd(0x8769)[0x9003] = f"2021:07:{1 + i % 28:02d} {8 + i % 12:02d}:{i % 60:02d}:00"
        else:
            name = f"IMG_202107{1 + i % 28:02d}_1200{i % 60:02d}.jpg"
        Image.fromarray(np.roll(base, i * 17, axis=1)).save(folder / name, "JPEG", quality=80, exif=exif)
    copies = root / "2021 Summer (copy)"
    copies.mkdir()
    for source in sorted(folder.iterdir())[:COPIES]:
        shutil.copy2(source, copies / source.name)
    return root


def _redis_url() -> str:
    url = TEST_REDIS_URL or pytest.skip("needs Redis: set MEDIAPARSER_TEST_REDIS_URL (make test-scale does)")
    return re.sub(r"/\d*$", "", url.rstrip("/")) + f"/{REDIS_DB}"


def _flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _start_import(port: int, folder: str) -> int:
    """The import as the browser starts it: a page for the CSRF token, then the API."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(f"http://127.0.0.1:{port}/import", timeout=30).read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)[1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/imports",
        data=json.dumps({"root": 0, "path": folder}).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
        method="POST",
    )
    return json.loads(opener.open(request, timeout=30).read())["job_id"]


def _pid(owner: str | None) -> int | None:
    """The process id in a lease owner's name (host:pid:nonce)."""
    return int(owner.split(":")[-2]) if owner else None


def _rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def _victim(engine, job_id: int, workers: dict[int, subprocess.Popen]):
    """A helper (not the job's lead) that has finished a batch and holds another now."""
    lead = _pid(_rows(engine, "SELECT lease_owner FROM job WHERE id = :j", j=job_id)[0][0])
    done = {
        _pid(o)
        for (o,) in _rows(engine, "SELECT done_by FROM job_batch WHERE job_id = :j AND status = 'done'", j=job_id)
    }
    holding = _rows(
        engine,
        "SELECT lease_owner FROM job_batch WHERE job_id = :j AND status = 'pending' AND lease_owner IS NOT NULL",
        j=job_id,
    )
    for (owner,) in holding:
        pid = _pid(owner)
        if pid in workers and pid != lead and pid in done:
            return pid
    return None


def _results(engine, job_id: int) -> dict:
    """Per file (by path): what the import decided, and its duplicate group's kind and members
    (read through the models' column types: the same values on either database)."""
    with engine.connect() as conn:
        files = conn.execute(select(File.path, File.group_id, *COMPARED).where(File.job_id == job_id)).all()
        kinds = dict(conn.execute(select(DuplicateGroup.id, DuplicateGroup.kind)).all())
    members: dict[int, set[str]] = {}
    for f in files:
        if f.group_id is not None:
            members.setdefault(f.group_id, set()).add(f.path)
    return {
        f.path: (tuple(f[2:]), (kinds[f.group_id], frozenset(members[f.group_id])) if f.group_id else None)
        for f in files
    }


def _sqlite_result(photos: Path, data: Path) -> tuple[dict, int]:
    """The same import on SQLite, run to its end in this process by one worker."""
    app = create_app(make_settings(data, MEDIAPARSER_WORKERS=2))
    upgrade(app)
    with app.app_context():
        job = importer.start_folder_import(photos, roots=None)
        assert jobs.run(job.id) == "completed"
        result = _results(db.engine, job.id)
        db.session.remove()
        db.engine.dispose()
    return result, len(result)


def _stop(process: subprocess.Popen) -> set[int]:
    """SIGTERM, as a service manager stops it; returns what ran below it."""
    below = set(descendants(process.pid))
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    return below


def test_three_workers_share_one_import_and_survive_a_kill(photos, database_url, tmp_path):
    postgres_or_skip()
    queue = _redis_url()
    _flush(queue)
    expected, count = _sqlite_result(photos, tmp_path / "sqlite")
    port = free_port()
    env = worker_env(
        tmp_path / "data",
        DATABASE_URL=database_url,
        MEDIAPARSER_QUEUE=queue,
        MEDIAPARSER_EMBEDDED_WORKER="0",
        MEDIAPARSER_IMPORT_ROOTS=str(photos),
        MEDIAPARSER_PORT=str(port),
        MEDIAPARSER_WORKERS="1",
        MEDIAPARSER_LEASE_SECONDS="4",
    )
    engine = create_engine(make_url(database_url), poolclass=NullPool)
    logs = {name: tmp_path / f"{name}.log" for name in ("web", *(f"worker{i}" for i in range(WORKERS)))}
    processes: list[subprocess.Popen] = []
    try:
        web = start("run.py", env, logs["web"])
        processes.append(web)
        wait_for(lambda: "MediaParser is running" in logs["web"].read_text(), 90, "run.py to start", logs["web"])
        workers = {}
        for i in range(WORKERS):
            p = start("worker.py", env, logs[f"worker{i}"])
            processes.append(p)
            workers[p.pid] = p
        for i in range(WORKERS):
            log = logs[f"worker{i}"]
            wait_for(lambda log=log: "worker is running" in log.read_text(), 90, f"worker {i} to start", log)

        job_id = _start_import(port, "")
        killed = wait_for(
            lambda: _victim(engine, job_id, workers), 90, "a helper holding its second batch", logs["web"]
        )
        below_killed = set(descendants(killed))
        os.kill(killed, signal.SIGKILL)
        workers.pop(killed).wait(10)

        def finished():
            return _rows(engine, "SELECT status FROM job WHERE id = :j", j=job_id)[0][0] == "completed"

        wait_for(finished, 120, "the import to finish", logs["worker0"])
        below = set().union(below_killed, *(_stop(p) for p in processes if p.poll() is None))
    finally:
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        _flush(queue)

    # every file once, every one recorded, the counters bumped once per file
    total, done = _rows(engine, "SELECT total, done FROM job WHERE id = :j", j=job_id)[0]
    files = _rows(engine, "SELECT path, status FROM file WHERE job_id = :j", j=job_id)
    assert len({p for p, _ in files}) == len(files) == total == done == PHOTOS + COPIES
    assert not [p for p, s in files if s == "pending"]
    # each worker took batches of the first import (the killed one before it died)
    batches = _rows(engine, "SELECT done_by, claims FROM job_batch WHERE job_id = :j", j=job_id)
    by_worker = {_pid(owner) for owner, _ in batches}
    assert killed in by_worker and len(by_worker) == WORKERS, batches
    # no lease taken from a living worker: the only take-overs are of the killed worker's batches
    text_of = "\n".join(log.read_text() for log in logs.values())
    taken_from = {int(pid) for pid in re.findall(r"the lease of [^:\s]+:(\d+):\w+ ran out", text_of)}
    assert taken_from <= {killed}, text_of[-3000:]
    assert sum(claims - 1 for _, claims in batches) == len(
        re.findall(rf"batch \d+ of job {job_id}: the lease", text_of)
    )
    assert "lost its lease" not in text_of
    # the same result as on SQLite
    found = _results(engine, job_id)
    assert len(found) == count == PHOTOS + COPIES
    assert found == expected
    # no process left behind
    deadline = time.monotonic() + 10
    while alive(below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(below), {p: Path(f"/proc/{p}/cmdline").read_bytes()[:120] for p in alive(below)}
    engine.dispose()
