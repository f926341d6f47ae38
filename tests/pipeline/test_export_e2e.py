"""End to end with real processes: `worker.py` runs an export queued by `flask export`; it
is killed with SIGKILL mid-export, started again, and must finish with exactly the archive
and manifest an uninterrupted export makes — nothing half-written under a final name,
nothing twice."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app import create_app, database
from app.media import archive_copy
from app.models import File, Tag, db
from app.pipeline import export_plan, exporter, importer, jobs, timefix
from tests.conftest import REPO, make_settings
from tests.export_helpers import assert_archive_agrees, tree
from tests.export_helpers import comparable as normalised
from tests.pipeline.test_e2e_worker import _env, _query, _start, _wait_for

pytestmark = pytest.mark.e2e

FILES = 300


def make_photos(folder: Path) -> None:
    base = datetime(2020, 7, 1, 9, 0, 0)
    noise = Image.effect_noise((320, 240), 50).convert("RGB")
    for i in range(FILES):
        sub = folder / ("Beach" if i % 3 else "Garden")
        sub.mkdir(parents=True, exist_ok=True)
        image = noise.copy()
        image.putpixel((i % 320, i // 320), (255, 0, 0))
        buf = io.BytesIO()
        if i % 7 == 0:
            image.save(buf, "PNG", compress_level=1)
            (sub / f"Screenshot_{(base + timedelta(seconds=i)).strftime('%Y%m%d-%H%M%S')}.png").write_bytes(
                buf.getvalue()
            )
            continue
        exif = Image.Exif()
        when = base + timedelta(seconds=i // 3)  # three photos per second: suffixes
        exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
        if i % 2:
            exif.get_ifd(0x8769)[0x9291] = f"{i % 100:02d}"
        image.save(buf, "JPEG", quality=85, exif=exif.tobytes())
        (sub / f"IMG_{i:04d}.jpg").write_bytes(buf.getvalue())


def comparable(records: list[dict]) -> list[dict]:
    volatile = {"exported_at", "job"}
    return sorted(({k: v for k, v in r.items() if k not in volatile} for r in records), key=lambda r: r["output"])


def manifest_lines(output: Path) -> int:
    path = output / export_plan.META_DIR / export_plan.MANIFEST
    return path.read_text().count("\n") if path.exists() else 0


def test_killed_export_resumes_to_the_same_archive(tmp_path):
    photos = tmp_path / "photos"
    make_photos(photos)
    data = tmp_path / "data"
    reference, output = tmp_path / "reference", tmp_path / "archive"
    env = _env(data)

    # the library, and an uninterrupted export of it to compare with
    app = create_app(make_settings(data, MEDIAPARSER_WORKERS=2))
    database.upgrade(app)
    with app.app_context():
        job = importer.start_folder_import(photos, roots=None)
        assert jobs.run(job.id) == "completed"
        ref_job = exporter.start_export(reference, app.config["MEDIAPARSER"])
        assert jobs.run(ref_job.id) == "completed"
        db.session.remove()
        db.engine.dispose()
    expected_tree = tree(reference)
    assert len(expected_tree) > FILES  # the copies, and sidecars for the PNGs

    job_id = _kill_then_resume(data, output, env, tmp_path / "worker.log", 20, FILES - 60, expected_tree)

    assert tree(output) == expected_tree  # same names, same bytes, same file times
    assert not list(output.rglob(f"*{archive_copy.TMP_SUFFIX}"))  # temporaries of the killed run are gone
    assert comparable(export_plan.read_manifest(output)) == comparable(export_plan.read_manifest(reference))
    done, total, errors = _query(data / "mediaparser.db", "SELECT done, total, errors FROM job WHERE id = ?", job_id)[0]
    assert done == total and errors == 0


def _kill_then_resume(data: Path, output: Path, env: dict, log: Path, low: int, high: int, *expected: dict) -> int:
    """Queue an export into `output` (flask export), SIGKILL the worker once the manifest
    has between `low` and `high` lines, check that whatever is under a final name is
    complete (a file of one of the `expected` trees), start the worker again and wait
    until the job completes. Returns the job id."""
    db_path = data / "mediaparser.db"
    worker = _start("worker.py", env, log)
    try:
        _wait_for(lambda: "worker is running" in log.read_text(), 60, "the worker to start", log)
        queued = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "export", str(output)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert "queued" in queued.stdout
        _wait_for(lambda: low <= manifest_lines(output) < high, 120, "the export to be under way", log)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)

    [(job_id, status, done, total)] = _query(
        db_path,
        "SELECT id, status, done, total FROM job WHERE kind = 'export' AND params LIKE ? ORDER BY id DESC LIMIT 1",
        f"%{output}%",
    )
    print(f"killed with SIGKILL at {done}/{total} files, {manifest_lines(output)} in the manifest")
    assert status == "running" and done < total
    # whatever is under a final name is complete: as the uninterrupted export wrote it (or,
    # bringing an archive up to date, as the earlier export left it: not reached yet)
    partial = {p: v for p, v in tree(output).items() if not archive_copy.is_tmp_name(p.rsplit("/", 1)[-1])}
    assert partial and all(any(t.get(path) == value for t in expected) for path, value in partial.items())

    worker = _start("worker.py", env, log)
    try:
        _wait_for(
            lambda: _query(db_path, "SELECT status FROM job WHERE id = ?", job_id)[0][0] == "completed",
            180,
            "the restarted worker to finish the export",
            log,
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    return job_id


def test_killed_update_resumes_to_the_same_archive(tmp_path):
    """The archive follows the library, and a kill halfway through bringing it up to date
    changes nothing about the result: dates fixed (renamed and rewritten copies), tags added
    (rewritten in place; for sidecar formats only the sidecar), files left out (retired)."""
    photos = tmp_path / "photos"
    make_photos(photos)
    data = tmp_path / "data"
    reference, output = tmp_path / "reference", tmp_path / "archive"
    env = _env(data)
    app = create_app(make_settings(data, MEDIAPARSER_WORKERS=2))
    database.upgrade(app)
    with app.app_context():
        assert jobs.run(importer.start_folder_import(photos, roots=None).id) == "completed"
        assert jobs.run(exporter.start_export(output, app.config["MEDIAPARSER"]).id) == "completed"
        before, earlier = manifest_lines(output), tree(output)
        _change_the_library(app)
        shutil.copytree(output, reference, symlinks=True)  # the same archive, brought up to date in one go
        plan = export_plan.dry_run(reference, app.config["MEDIAPARSER"])
        changes = len(plan.to_export)
        print(f"bringing the archive up to date: {plan.in_step()}")
        assert jobs.run(exporter.start_export(reference, app.config["MEDIAPARSER"]).id) == "completed"
        db.session.remove()
        db.engine.dispose()
    expected_tree = tree(reference)
    job_id = _kill_then_resume(
        data, output, env, tmp_path / "worker.log", before + 15, before + changes - 30, expected_tree, earlier
    )
    assert tree(output) == expected_tree
    assert not list(output.rglob(f"*{archive_copy.TMP_SUFFIX}"))
    got, want = normalised(export_plan.read_manifest(output)), normalised(export_plan.read_manifest(reference))
    assert got == want, [r for r in got if r not in want] + ["<- got | wanted ->"] + [r for r in want if r not in got]
    assert_archive_agrees(output)
    assert _query(data / "mediaparser.db", "SELECT errors FROM job WHERE id = ?", job_id)[0][0] == 0


def _change_the_library(app) -> None:
    """A person's review after the first export: fixed dates, new tags, files left out."""
    zone = app.config["MEDIAPARSER"].zone
    rows = db.session.execute(select(File).order_by(File.id)).scalars().all()
    timefix.shift_times([f.id for f in rows if f.id % 5 == 0], timedelta(days=1, seconds=7), zone)
    tag = Tag(name="Fixed")
    for f in rows:
        if f.id % 5 == 1:
            f.tags.append(tag)
        if f.id % 11 == 2:
            f.discarded = True
    db.session.commit()
