"""The THUMBNAILS job (rebuild previews) on a real imported library: missing and damaged
originals get a reason and do not stop the job; a stopped job run again does only the
files it had not done; exact copies share the rebuilt preview."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import delete, select

from app.media import thumbnails
from app.models import File, Job, JobItem, db
from app.pipeline import importer, jobs, thumbnails_job


def _photo(path: Path, colour: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (900, 600), colour)
    image.paste((colour[1], colour[2], colour[0]), (0, 0, 300, 300))
    image.save(path, "JPEG", quality=90)
    return path


@pytest.fixture
def library(app, tmp_path) -> dict[str, File]:
    """Six imported photos (one an exact copy of another); then the previews are lost."""
    folder = tmp_path / "photos"
    for i in range(5):
        _photo(folder / f"p{i}.jpg", (40 * i, 200 - 30 * i, 90))
    shutil.copy(folder / "p0.jpg", folder / "p9_copy_of_p0.jpg")
    job = importer.start_folder_import(folder, roots=None)
    assert jobs.run(job.id, app.config["MEDIAPARSER"]) == "completed"
    shutil.rmtree(app.config["MEDIAPARSER"].thumbnails_dir)
    return {f.original_name: f for f in db.session.execute(select(File)).scalars()}


def _previews(app, file: File) -> tuple[Path, Path]:
    """(grid thumbnail, detail preview): a JPEG's detail preview is made when first opened."""
    root = app.config["MEDIAPARSER"].thumbnails_dir
    key = thumbnails.thumb_key(file.sha256)
    return thumbnails.thumb_path(root, key, "s"), thumbnails.thumb_path(root, key, "l")


def _items(job: Job) -> dict[str, JobItem]:
    rows = db.session.execute(
        select(JobItem, File.original_name).join(File, File.id == JobItem.file_id).where(JobItem.job_id == job.id)
    ).all()
    return {name: item for item, name in rows}


def test_missing_and_damaged_originals_get_a_reason_and_the_rest_is_rebuilt(app, client, library):
    Path(library["p3.jpg"].path).unlink()
    damaged = Path(library["p4.jpg"].path)
    damaged.write_bytes(damaged.read_bytes()[:400])  # cut off, as by an interrupted copy
    job = jobs.create("thumbnails", {"all": True})

    assert jobs.run(job.id, app.config["MEDIAPARSER"]) == "completed"

    db.session.refresh(job)
    items = _items(job)
    assert set(items) == {"p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg", "p4.jpg"}  # the copy shares p0's preview
    assert (job.total, job.done, job.errors) == (5, 5, 2)
    assert items["p3.jpg"].status == "error" and "original file is missing" in items["p3.jpg"].message
    assert items["p4.jpg"].status == "error" and "incomplete" in items["p4.jpg"].message
    for name in ("p0.jpg", "p1.jpg", "p2.jpg"):
        assert items[name].status == "done"
        small, large = _previews(app, library[name])
        with Image.open(small) as s:
            assert max(s.size) == thumbnails.SMALL
        assert not large.exists()  # made when first opened:
        answer = client.get(f"/thumbs/{library[name].thumb_key}-l.jpg")
        assert answer.status_code == 200 and "immutable" in answer.headers["Cache-Control"]
        with Image.open(large) as lg:
            assert max(lg.size) == 900  # never enlarged
    assert not any(p.exists() for p in _previews(app, library["p3.jpg"]))
    assert library["p9_copy_of_p0.jpg"].thumb_key == library["p0.jpg"].thumb_key
    # the jobs page names the two files and says why
    problems = client.get(f"/api/jobs/{job.id}/problems").get_json()["problems"]
    assert sorted(p["name"] for p in problems) == ["photos/p3.jpg", "photos/p4.jpg"]
    assert all(p["reason"].startswith("No preview could be made:") for p in problems)


def test_a_stopped_job_run_again_does_only_what_it_had_not_done(app, library, monkeypatch):
    monkeypatch.setattr(thumbnails_job, "BATCH", 2)
    job = jobs.create("thumbnails", {"all": True})
    checkpoints = []

    def pause_after_the_first_batch(j):
        checkpoints.append(1)
        if len(checkpoints) == 2:
            jobs.pause(j.id)

    settings = app.config["MEDIAPARSER"]
    assert jobs.run(job.id, settings, on_progress=pause_after_the_first_batch) == "paused"
    first = {name: item.status for name, item in _items(job).items()}
    done_first = sorted(name for name, status in first.items() if status == "done")
    assert len(done_first) == 2 and list(first.values()).count("pending") == 3
    written = {name: _previews(app, library[name])[0].stat().st_ino for name in done_first}

    assert jobs.resume(job.id)
    assert jobs.run(job.id, settings) == "completed"

    db.session.refresh(job)
    assert all(item.status == "done" for item in _items(job).values())
    assert job.done == job.total == 5  # each file counted once
    # previews are written to a new file and renamed into place: the same inode means not redone
    assert {name: _previews(app, library[name])[0].stat().st_ino for name in done_first} == written


def test_a_selection_skips_files_no_longer_in_the_library(app, library):
    gone = library["p2.jpg"].id
    db.session.execute(delete(File).where(File.id == gone))
    db.session.commit()
    job = jobs.create("thumbnails", {"file_ids": [library["p1.jpg"].id, gone]})
    assert jobs.run(job.id, app.config["MEDIAPARSER"]) == "completed"
    db.session.refresh(job)
    assert (job.total, job.done, job.errors) == (1, 1, 0)
    assert _previews(app, library["p1.jpg"])[0].exists()


def test_a_cancelled_job_says_which_files_it_did_not_do(app, library):
    job = jobs.create("thumbnails", {"all": True})
    assert jobs.run(job.id, app.config["MEDIAPARSER"], on_progress=lambda j: jobs.cancel(j.id)) == "cancelled"
    db.session.refresh(job)
    assert job.status == "cancelled"
    items = _items(job).values()
    assert all(item.status == "skipped" and "cancelled" in item.message for item in items)
