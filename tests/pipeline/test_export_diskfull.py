"""A disk that fills up in the middle of an export, on a real (small, tmpfs) file system:
the job stops with a sentence for people; the manifest and the tree agree at once (what
was written is complete and recorded, nothing is half-written); after space is freed a
re-run completes exactly the archive an uninterrupted export gives, byte for byte.

Mounting needs root; elsewhere the test is skipped and says why."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from app.models import db
from app.pipeline import export_batch, export_plan, exporter, importer, jobs
from tests.export_helpers import assert_archive_agrees, comparable, noisy, photo, run_export, tree, write

FILES = 40


@pytest.fixture
def small_disk(tmp_path):
    """A 96 MB tmpfs (the export plans to keep 64 MB free, so it starts), unmounted after."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root (and mount): the disk-full test cannot run here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, keep: int) -> Path:
    """Take all but `keep` bytes of the disk with one file (another program filling it)."""
    ballast = disk / f"ballast-{uuid.uuid4().hex}"
    free = shutil.disk_usage(disk).free
    with open(ballast, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, max(0, free - keep))
    return ballast


@pytest.fixture
def photos(app, tmp_path):
    root = tmp_path / "photos"
    for i in range(FILES):
        if i % 4 == 0:  # a dated JPEG (its EXIF is rewritten), the rest plain copies with a tag
            write(root / "Trip" / f"IMG_{i:03d}.jpg", photo((i * 5 % 256, 9, 9), f"2020:07:01 09:{i:02d}:00"))
        else:
            write(root / "Trip" / f"scan_{i:03d}.jpg", noisy(i))
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    return root


# how much space the other program leaves: none, less than the files in flight need (so the
# manifest could not grow without the space the export held back), or a few files' worth
@pytest.mark.parametrize("keep", [0, 40_000, 300_000])
def test_disk_full_mid_export_then_a_rerun_gives_the_same_archive(app, photos, small_disk, tmp_path, monkeypatch, keep):
    reference = tmp_path / "reference"
    assert run_export(app, reference).status == "completed"
    output = small_disk / "archive"
    monkeypatch.setattr(export_batch, "BATCH_FILES", 4)
    job = exporter.start_export(output, app.config["MEDIAPARSER"])
    ballast: list[Path] = []

    def disk_fills_up(j):  # once the export has planned, another program takes the space
        if not ballast:
            ballast.append(fill(small_disk, keep=keep))

    jobs.run(job.id, on_progress=disk_fills_up)
    db.session.refresh(job)
    assert job.status == "failed"
    assert "The disk is full" in job.message and "Free some space and run the export again" in job.message
    partial = tree(output)
    print(f"disk full after {len(partial)} of {FILES} files: {job.message}")
    assert len(partial) < FILES
    assert_archive_agrees(output)  # right after the failure: the manifest and the tree agree

    ballast[0].unlink()  # space is freed
    again = run_export(app, output)
    assert again.status == "completed", again.message
    assert tree(output) == tree(reference)  # same names, same bytes, same file times
    assert comparable(export_plan.read_manifest(output)) == comparable(export_plan.read_manifest(reference))
    assert_archive_agrees(output)
