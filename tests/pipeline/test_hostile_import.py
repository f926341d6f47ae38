"""The hostile-input suite: a folder of everything that has broken imports before (odd names,
links out and in loops, pipes, unreadable and too-deep folders, hidden things, decompression
bombs, truncated and lying containers) is imported by a real `worker.py` (Huey consumer,
analysis processes). The job completes, every good file arrives, every bad one has a
sentence for people, and no analysis process holds more memory than it is given."""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from tests.conftest import REPO
from tests.hostile_helpers import (
    broken_mp4s,
    build_deep_tree,
    jpeg,
    jpeg_bytes,
    jpeg_huge_header,
    png_bomb,
    truncated,
)
from tests.process_helpers import descendants, peak_memory, query, start, wait_for, worker_env

pytestmark = pytest.mark.e2e

pillow_heif.register_heif_opener()
MB = 1024 * 1024
BUDGET_MB = 640  # each analysis process's memory ceiling in this test


def _video(path: Path, seconds: int = 2) -> bytes:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=10:duration={seconds}",
         "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path.read_bytes()


def _good(root: Path) -> set[str]:
    """Files that must arrive, relative to `root`."""
    good = {
        "ok/plain.jpg": jpeg(root / "ok" / "plain.jpg", (200, 30, 30)),
        os.fsdecode(b"M\xfcnchen \xff.jpg"): jpeg(root / os.fsdecode(b"M\xfcnchen \xff.jpg"), (30, 200, 30)),
        "new\nline.jpg": jpeg(root / "new\nline.jpg", (30, 30, 200)),
        os.fsdecode(b"Sommer \xe9t\xe9/x.jpg"): jpeg(root / os.fsdecode(b"Sommer \xe9t\xe9") / "x.jpg", (90, 9, 90)),
    }
    png_bomb(root / "ok" / "zip_bomb_like.png", 8000, 5000)  # 40 megapixels in ~100 KB: fits the memory
    Image.new("RGB", (320, 240), (12, 120, 200)).save(root / "ok" / "fine.heic", "HEIF")
    _video(root / "ok" / "fine.mp4")
    return {*good, "ok/zip_bomb_like.png", "ok/fine.heic", "ok/fine.mp4"}


def _bad(root: Path) -> set[str]:
    """Things that must each get one line with a sentence, relative to `root`."""
    bad = root / "bad"
    bad.mkdir()
    (bad / "loop_a").symlink_to("loop_b")
    (bad / "loop_b").symlink_to("loop_a")
    (bad / "up").symlink_to("..", target_is_directory=True)
    (bad / "passwd.jpg").symlink_to("/etc/passwd")
    os.mkfifo(bad / "pipe.jpg")
    (bad / ".hidden.jpg").write_bytes(jpeg_bytes())
    (bad / ".private").mkdir()
    (bad / ".private" / "p.jpg").write_bytes(jpeg_bytes())
    # pictures that lie about their size
    png_bomb(bad / "bomb_177mp.png", 15_400, 11_500, complete=False)  # the 0.7 MB, 177-megapixel kind
    png_bomb(bad / "bomb_alpha.png", 15_400, 11_500, colour_type=6, complete=False)
    jpeg_huge_header(bad / "huge_header.jpg")
    # cut off
    picture = io.BytesIO()
    Image.effect_noise((640, 480), 60).convert("RGB").save(picture, "PNG")
    truncated(bad / "cut.png", picture.getvalue())
    truncated(bad / "cut.jpg", jpeg_bytes(size=(640, 480)))
    heic = io.BytesIO()
    Image.effect_noise((640, 480), 60).convert("RGB").save(heic, "HEIF")
    truncated(bad / "cut.heic", heic.getvalue())
    for kind in ("mp4", "mov"):
        whole = _video(root / f"whole.{kind}", 4)
        (root / f"whole.{kind}").unlink()
        truncated(bad / f"cut.{kind}", whole, 0.3)
    for name, data in broken_mp4s().items():
        (bad / name).write_bytes(data)
    noise = random.Random(5).randbytes(64_000)
    (bad / "noise.avi").write_bytes(b"RIFF" + (len(noise) + 4).to_bytes(4, "little") + b"AVI " + noise)
    (bad / "noise.mkv").write_bytes(bytes.fromhex("1a45dfa3") + noise)
    names = {f"bad/{p.name}" for p in bad.iterdir()}
    if os.geteuid() != 0:  # root reads every folder whatever its mode
        (bad / "locked").mkdir()
        (bad / "locked" / "x.jpg").write_bytes(jpeg_bytes())
        (bad / "locked").chmod(0)
        names.add("bad/locked")
    return names


class PeakWatch(threading.Thread):
    """The highest resident memory any process below `pid` reached (their VmHWM, read until
    they end)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peaks, self.stop = pid, {}, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            for child in descendants(self.pid):
                self.peaks[child] = max(self.peaks.get(child, 0), peak_memory(child))


def test_a_hostile_folder_imports_through_a_real_worker(tmp_path):
    root = tmp_path / "hostile"
    root.mkdir()
    good, bad = _good(root), _bad(root)
    build_deep_tree(root / "deep")
    data = tmp_path / "data"
    env = worker_env(data, MEDIAPARSER_WORKER_MEMORY_MB=str(BUDGET_MB))
    log = tmp_path / "worker.log"
    db = data / "mediaparser.db"
    worker = start("worker.py", env, log)
    watch = PeakWatch(worker.pid)
    try:
        wait_for(lambda: "worker is running" in log.read_text(), 60, "the worker to start", log)
        watch.start()
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "import", str(root)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        wait_for(
            lambda: db.exists() and query(db, "SELECT status FROM job")[0][0] in ("completed", "failed"),
            240,
            "the import to end",
            log,
        )
        watch.stop.set()
        watch.join()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        if (root / "bad" / "locked").exists():
            (root / "bad" / "locked").chmod(0o755)

    for path, state, error in query(db, "SELECT path, status, error FROM file ORDER BY path"):
        print(f"{state:9} {path_bytes(path)[len(str(root)) :][:60]!r:64} {error}")
    status, message = query(db, "SELECT status, message FROM job")[0]
    assert status == "completed", message
    rows = {
        os.fsdecode(path_bytes(path)).removeprefix(str(root) + "/"): (state, error)
        for path, state, error in query(db, "SELECT path, status, error FROM file")
    }
    assert good <= set(rows), good - set(rows)
    for name in good:
        assert rows[name][0] == "done", (name, rows[name])
    deep = [name for name in rows if name.startswith("deep/")]
    assert len(deep) == 1 and "longer than the system allows" in rows[deep[0]][1]
    for name in bad:
        state, error = rows[name]
        assert error and len(error) > 20 and error[0].isupper(), (name, state, error)
    assert "megapixels" in rows["bad/bomb_177mp.png"][1] and "memory" in rows["bad/bomb_177mp.png"][1]
    assert "megapixels" in rows["bad/huge_header.jpg"][1]
    assert set(rows) == good | bad | set(deep), set(rows) - good - bad - set(deep)
    # memory: every analysis process stayed within its ceiling (the bombs were never decoded)
    assert watch.peaks and max(watch.peaks.values()) < BUDGET_MB * MB, {p: v // MB for p, v in watch.peaks.items()}
    shutil.rmtree(root / "deep", ignore_errors=True)


def path_bytes(stored: str) -> bytes:
    """The exact bytes of a path as the database holds it (app/models.py FsText)."""
    from app.models import load_fs_text

    return os.fsencode(load_fs_text(stored))
