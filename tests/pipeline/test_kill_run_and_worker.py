"""kill -9 of `worker.py` and of `run.py` (its embedded worker) in the middle of an import:
no process they started outlives them (analysis processes, the fork server, exiftool,
ffmpeg), and after a restart every file is processed exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO
from tests.process_helpers import alive, children, descendants, free_port, query, start, wait_for, worker_env

pytestmark = pytest.mark.e2e

PHOTOS = 160


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> Path:
    """Camera-like JPEGs with a make and model but no date: MediaParser asks exiftool about
    each (it keeps one running per analysis process), plus two short videos (ffprobe, ffmpeg)."""
    folder = tmp_path_factory.mktemp("kill") / "photos"
    folder.mkdir()
    rng = np.random.default_rng(7)
    coarse = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((1600, 1200), Image.Resampling.BILINEAR))
    for i in range(PHOTOS):
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 80D"
        shifted = np.roll(base, i * 11, axis=1)
        Image.fromarray(shifted).save(folder / f"IMG_{i:04d}.jpg", "JPEG", quality=85, exif=exif)
    for i in range(2):
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=10:duration={2 + i}",
             "-pix_fmt", "yuv420p", str(folder / f"clip{i}.mp4")],
            check=True, timeout=60,
        )  # fmt: skip
    return folder


def _queue_import(source: Path, env: dict) -> None:
    queued = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "import", str(source)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "queued" in queued.stdout


def _kill_mid_import(process: subprocess.Popen, db: Path, log: Path) -> tuple[int, set[int]]:
    """SIGKILL `process` (only it: not its process group) once the import is under way;
    returns the job and the processes that were running below it."""

    def mid_job():
        rows = query(db, "SELECT id, status, done, total FROM job") if db.exists() else []
        return rows and rows[0][1] == "running" and 20 <= rows[0][2] < rows[0][3] - 70 and rows[0]

    job_id, *_ = wait_for(mid_job, 180, "the import to be under way", log)
    below = descendants(process.pid)
    grandchildren = [p for p in below if p not in children(process.pid)]
    assert grandchildren, f"no analysis processes below {process.pid}: {below}"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    return job_id, set(below)


def _assert_nothing_left(pids: set[int], log: Path) -> None:
    deadline = time.monotonic() + 10
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive(pids)
    names = {p: Path(f"/proc/{p}/cmdline").read_bytes()[:120] for p in left}
    for p in left:  # do not leave them to the next test
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes outlived their parent: {names}"


def _finish_and_check(script: str, env: dict, db: Path, log: Path, job_id: int, source: Path) -> None:
    restarted = start(script, env, log)
    try:
        wait_for(
            lambda: query(db, "SELECT status FROM job WHERE id = ?", job_id)[0][0] == "completed",
            240,
            "the restarted worker to finish the import",
            log,
        )
        below = set(descendants(restarted.pid))
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(60) == 0
        _assert_nothing_left(below, log)
    finally:
        if restarted.poll() is None:
            os.killpg(restarted.pid, signal.SIGKILL)
    rows = query(db, "SELECT path, status, error FROM file WHERE job_id = ? ORDER BY path", job_id)
    assert sorted(r[0] for r in rows) == sorted(str(p) for p in source.iterdir())  # each once
    assert not [r for r in rows if r[1] != "done"], [r for r in rows if r[1] != "done"]
    done, total, errors = query(db, "SELECT done, total, errors FROM job WHERE id = ?", job_id)[0]
    assert done == total == len(rows) and errors == 0


@pytest.mark.parametrize("script", ["worker.py", "run.py"])
def test_kill_9_leaves_no_process_behind_and_the_import_finishes_once(script, photos, tmp_path):
    source = tmp_path / "photos"
    shutil.copytree(photos, source)
    data = tmp_path / "data"
    env = worker_env(data, MEDIAPARSER_PORT=str(free_port()))
    log = tmp_path / f"{script}.log"
    db = data / "mediaparser.db"
    ready = "worker is running" if script == "worker.py" else "MediaParser is running"

    process = start(script, env, log)
    try:
        wait_for(lambda: ready in log.read_text(), 60, f"{script} to start", log)
        _queue_import(source, env)
        job_id, below = _kill_mid_import(process, db, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    _assert_nothing_left(below, log)
    pending = query(db, "SELECT count(*) FROM file WHERE status = 'pending'")[0][0]
    assert pending > 0  # it was killed in the middle
    _finish_and_check(script, env, db, log, job_id, source)
