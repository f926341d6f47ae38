"""An analysis process killed in the middle of a file, as the kernel's out-of-memory killer
does: the import goes on with a new process, the file fails with a sentence, is tried once
more alone, and every file is recorded exactly once. A real pool, a real SIGKILL."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pytest
from sqlalchemy import func, select

from app import create_app
from app.media import batch
from app.models import DuplicateGroup, File, db
from app.pipeline import import_process, importer, jobs
from tests.conftest import make_settings
from tests.hostile_helpers import jpeg, png_bomb
from tests.process_helpers import children, descendants

BIG_RSS = 180 * 1024 * 1024  # only a process decoding the big picture gets here


class OomKiller(threading.Thread):
    """Kills, up to `times` times, a descendant of this process that holds more than BIG_RSS."""

    def __init__(self, times: int):
        super().__init__(daemon=True)
        self.times, self.killed, self.seen = times, [], set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.01):
            for pid, rss in descendants(os.getpid()).items():
                self.seen.add(pid)
                if rss > BIG_RSS and len(self.killed) < self.times and pid not in self.killed:
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)


@pytest.fixture
def pool_app(tmp_path, _template_db):
    settings = make_settings(tmp_path / "data", MEDIAPARSER_WORKERS=2, MEDIAPARSER_WORKER_MEMORY_MB=1024)
    settings.instance_dir.mkdir(parents=True)
    shutil.copy(_template_db, settings.instance_dir / "mediaparser.db")
    app = create_app(settings)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _folder(tmp_path):
    source = tmp_path / "photos"
    for i in range(24):
        jpeg(source / f"p{i:02d}.jpg", (i * 10, 200 - i * 5, 40))
    png_bomb(source / "p05_big.png", 8000, 6000)  # 48 megapixels: about 200 MB to decode
    return source


def _import(source, times: int):
    killer = OomKiller(times)
    killer.before = set(descendants(os.getpid()))  # e.g. a browser other tests left open
    killer.start()
    try:
        job = importer.start_folder_import(source, roots=None)
        outcome = jobs.run(job.id)
    finally:
        killer.stop.set()
        killer.join()
    return job, outcome, killer


def _assert_each_file_once(job, source) -> dict[str, File]:
    rows = db.session.execute(select(File).where(File.job_id == job.id)).scalars().all()
    assert sorted(r.original_name for r in rows) == sorted(p.name for p in source.iterdir())
    db.session.refresh(job)
    assert job.status == "completed" and not [r for r in rows if r.status == "pending"]
    assert job.done == job.total == len(rows) and job.errors == sum(r.status == "error" for r in rows)
    return {r.original_name: r for r in rows}


def _assert_nothing_left(killer: OomKiller) -> None:
    """The pool's processes all ended with the job: what stays below this process are its own
    children, the fork server and multiprocessing's resource tracker, kept for the next import."""
    time.sleep(0.2)
    below = set(descendants(os.getpid())) - killer.before
    assert below - children(os.getpid()) == set(), "analysis processes outlived the import"
    assert not below & set(killer.killed)


def test_a_killed_analysis_process_fails_nothing_and_the_file_is_retried_alone(pool_app, tmp_path):
    source = _folder(tmp_path)
    job, outcome, killer = _import(source, times=1)
    assert outcome == "completed" and len(killer.killed) == 1
    rows = _assert_each_file_once(job, source)
    assert rows["p05_big.png"].status == "done"  # the lone retry got through
    assert all(r.status == "done" for r in rows.values())
    _assert_nothing_left(killer)

    # the same folder imported again: the same files, not copies of themselves
    groups = db.session.execute(select(func.count()).select_from(DuplicateGroup)).scalar()
    again = importer.start_folder_import(source, roots=None)
    assert jobs.run(again.id) == "completed"
    second = db.session.execute(select(File).where(File.job_id == again.id)).scalars().all()
    assert {r.status for r in second} == {"skipped"} and all("this very file" in r.error for r in second)
    assert db.session.execute(select(func.count()).select_from(DuplicateGroup)).scalar() == groups


def test_a_file_that_kills_its_process_twice_stays_failed_with_a_sentence(pool_app, tmp_path):
    source = _folder(tmp_path)
    job, outcome, killer = _import(source, times=2)
    assert outcome == "completed" and len(killer.killed) == 2
    rows = _assert_each_file_once(job, source)
    big = rows.pop("p05_big.png")
    assert big.status == "error" and big.error == import_process.CRASHED_AGAIN
    assert "ran out of memory or crashed" in big.error
    assert all(r.status == "done" for r in rows.values())
    _assert_nothing_left(killer)
    assert jobs.resume(job.id, failed_too=True) is False  # completed: nothing to resume


def test_a_file_that_never_finishes_is_given_up_and_its_process_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "TASK_SECONDS", 0.0)  # every file takes "too long"
    jpeg(tmp_path / "slow.jpg")
    setup = batch.Setup(frozenset(), "UTC", str(tmp_path / "thumbs"), parent_pid=os.getpid())
    with batch.AnalysisPool(setup, 1) as pool:
        before = pool.pids()
        pool.submit(batch.Task(1, str(tmp_path / "slow.jpg"), "slow.jpg", "", None))
        ends = []
        while pool.in_flight:
            ends += pool.collect(1)
        assert [end.crashed for end in ends] == ["timed out"]
        assert pool.pids() != before and pool.started == 2
