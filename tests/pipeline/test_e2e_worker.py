"""End to end with real processes: `worker.py` runs a Huey consumer on a SQLite queue;
it is killed with SIGKILL in the middle of importing a copy of the corpus, started again,
and must finish the job with every file processed exactly once. `run.py` serves on the
configured address and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.process_helpers import free_port as _free_port
from tests.process_helpers import query as _query
from tests.process_helpers import start as _start
from tests.process_helpers import wait_for as _wait_for
from tests.process_helpers import worker_env as _env

pytestmark = pytest.mark.e2e


def test_killed_worker_resumes_and_processes_every_file_once(corpus, tmp_path):
    source = tmp_path / "photos"
    shutil.copytree(corpus, source)
    expected = sorted(str(p) for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))
    data = tmp_path / "data"
    env = _env(data)
    log = tmp_path / "worker.log"
    db = data / "mediaparser.db"

    worker = _start("worker.py", env, log)
    try:
        _wait_for(lambda: "worker is running" in log.read_text(), 60, "the worker to start", log)
        queued = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "import", str(source)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert "queued" in queued.stdout

        def mid_job():
            rows = _query(db, "SELECT id, status, done, total FROM job")
            return rows and rows[0][1] == "running" and 20 <= rows[0][2] < rows[0][3] - 40 and rows[0]

        job_id, *_ = _wait_for(mid_job, 120, "the import to be under way", log)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)

    status, done, total = _query(db, "SELECT status, done, total FROM job WHERE id = ?", job_id)[0]
    pending = _query(db, "SELECT count(*) FROM file WHERE status = 'pending'")[0][0]
    print(f"killed with SIGKILL at {done}/{total} files ({pending} pending)")
    assert status == "running" and pending > 0  # killed mid-job, lease left behind

    worker = _start("worker.py", env, log)
    try:
        _wait_for(
            lambda: _query(db, "SELECT status FROM job WHERE id = ?", job_id)[0][0] == "completed",
            180,
            "the restarted worker to finish the job",
            log,
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0  # SIGTERM stops it cleanly
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)

    rows = _query(db, "SELECT path, status, error FROM file WHERE job_id = ? ORDER BY path", job_id)
    assert sorted(r[0] for r in rows) == expected  # every file once: none lost, none twice
    assert not [r for r in rows if r[1] == "pending"]
    done, total, errors, duplicates = _query(
        db, "SELECT done, total, errors, duplicates FROM job WHERE id = ?", job_id
    )[0]
    # counters are bumped in the transaction that records each file: recording a file
    # twice would push them past the row counts
    assert done == total == len(rows)
    assert errors == sum(r[1] == "error" for r in rows)
    assert duplicates == sum(r[1] == "duplicate" for r in rows) == 1  # the byte-identical corpus pair
    assert all(r[2] for r in rows if r[1] == "error")
    integrity = _query(db, "PRAGMA integrity_check")[0][0]
    assert integrity == "ok"
    assert "resuming jobs" in log.read_text()


def test_run_py_serves_on_the_configured_address_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    log = tmp_path / "run.log"
    server = _start("run.py", _env(tmp_path / "data", MEDIAPARSER_PORT=str(port)), log)
    try:
        _wait_for(lambda: "MediaParser is running" in log.read_text(), 60, "run.py to start", log)
        assert f"http://localhost:{port}/" in log.read_text()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            assert conn.recv(64).startswith(b"HTTP/1.")
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
        assert "Stopping MediaParser" in log.read_text()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
