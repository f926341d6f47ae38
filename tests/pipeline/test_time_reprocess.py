"""The re-detection job: resumable per file, re-reads files that are still there, and the
`flask redetect` command."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import File, ItemStatus, Job, JobItem, db
from app.pipeline import importer, jobs, reprocess
from tests.time_helpers import make_exif, write_image, write_takeout


@pytest.fixture
def imported(app, tmp_path):
    root = tmp_path / "photos"
    for i in range(7):
        write_image(
            root / f"IMG_{i}.jpg", make_exif(f"2019:06:1{i} 10:00:00", make="Canon", model="X"), color=(i * 30, 0, 0)
        )
    write_image(root / "nodate.jpg", color="white")
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    return root, {f.original_name: f for f in db.session.execute(select(File)).scalars()}


def test_job_resumes_where_it_stopped_and_does_each_file_once(imported, monkeypatch):
    _, files = imported
    calls = Counter()
    original = reprocess.redetect_file

    def counting(f, zone, now=None):
        calls[f.id] += 1
        if sum(calls.values()) == 3:
            jobs.SHUTDOWN.set()  # the worker is told to stop (SIGTERM) in the middle of a batch
        return original(f, zone, now)

    monkeypatch.setattr(reprocess, "redetect_file", counting)
    monkeypatch.setattr(reprocess, "BATCH", 2)
    job = reprocess.start(everything=True)
    try:
        assert jobs.run(job.id) == "interrupted"
    finally:
        jobs.SHUTDOWN.clear()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "pending" and job.phase == "process"
    items = db.session.execute(select(JobItem).where(JobItem.job_id == job.id)).scalars().all()
    assert len(items) == len(files) == job.total
    done_first = {i.file_id for i in items if i.status == ItemStatus.DONE}
    assert 0 < len(done_first) < len(files)

    assert jobs.run(job.id) == "completed"
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.status, job.done, job.errors) == ("completed", len(files), 0)
    assert set(calls) == {f.id for f in files.values()}
    assert all(calls[fid] == 1 for fid in done_first), "a file finished before the stop was processed again"


def test_redetect_rereads_the_file_and_keeps_stored_facts_when_it_is_gone(imported):
    root, files = imported
    nodate, moved = files["nodate.jpg"], files["IMG_0.jpg"]
    assert nodate.taken_source == "mtime"
    # A Takeout sidecar appears beside one file; another file is moved away.
    taken = int(datetime(2018, 5, 1, 10, 0, tzinfo=UTC).timestamp())
    write_takeout(root, "nodate.jpg.json", "nodate.jpg", taken)
    (root / "IMG_0.jpg").rename(root.parent / "elsewhere.jpg")
    job = reprocess.start([nodate.id, moved.id])
    assert jobs.run(job.id) == "completed"
    db.session.expire_all()
    nodate, moved = db.session.get(File, nodate.id), db.session.get(File, moved.id)
    assert (nodate.taken_source, nodate.taken_local) == ("takeout:photoTakenTime", "2018-05-01T12:00:00")
    assert nodate.meta["sidecar"]["photo_taken"] == taken
    assert moved.taken_local == "2019-06-10T10:00:00"  # from the stored EXIF
    results = {
        i.file_id: i.result for i in db.session.execute(select(JobItem).where(JobItem.job_id == job.id)).scalars()
    }
    assert results[nodate.id]["reread"] and results[nodate.id]["changed"]
    assert not results[moved.id]["reread"] and not results[moved.id]["changed"]


def test_redetect_command(app, imported):
    _, files = imported
    runner = app.test_cli_runner()
    result = runner.invoke(args=["redetect", "--all", "--wait"])
    assert result.exit_code == 0, result.output
    assert "Re-detection job" in result.output and f"{len(files)} re-detected" in result.output
    ids = [str(f.id) for f in list(files.values())[:2]]
    result = runner.invoke(args=["redetect", "--file-id", ids[0], "--file-id", ids[1], "--wait"])
    assert result.exit_code == 0 and "2 re-detected" in result.output
    result = runner.invoke(args=["redetect"])
    assert result.exit_code != 0 and "--all" in result.output
    result = runner.invoke(args=["redetect", "--all"])  # queued; the memory queue runs it at once
    assert result.exit_code == 0 and "queued" in result.output
    last = db.session.execute(select(Job).order_by(Job.id.desc())).scalars().first()
    assert (last.kind, last.status) == ("reprocess", "completed")


def test_start_refuses_nothing():
    with pytest.raises(ValueError):
        reprocess.start([])
