"""`flask set-date PATH WHEN` (one JSON line, a decision like the page's, undoable) and
`flask export-folder PATH` (the export folder's rules, each refusal naming its rule)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import select

from app.models import File, UserDecision, db
from app.pipeline import importer, jobs, settings_store, timefix
from tests.conftest import REPO
from tests.export_helpers import photo, write
from tests.web_helpers import add_file


@pytest.fixture
def imported(app, tmp_path):
    root = tmp_path / "photos"
    write(root / "Trip" / "DSCN0001.JPG", photo("red", "2008:11:22 12:00:00"))
    write(root / "scan.jpg", photo("blue"))
    assert jobs.run(importer.start_folder_import(root, roots=None).id) == "completed"
    return root


def set_date(app, *args):
    result = app.test_cli_runner().invoke(args=["set-date", *args])
    return result, (json.loads(result.output) if result.exit_code == 0 else None)


def test_set_date_by_path_prints_json_and_records_a_decision(app, imported):
    path = imported / "Trip" / "DSCN0001.JPG"
    result, data = set_date(app, str(path), "4 July 2015 10:00")
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == 1  # one JSON line
    assert (data["date"], data["offset"], data["confidence"], data["precision"]) == (
        "2015-07-04T10:00:00+02:00",  # Europe/Berlin in July
        "+02:00",
        "high",
        "minute",
    )
    [decision] = db.session.execute(select(UserDecision).where(UserDecision.batch == data["batch"])).scalars()
    assert decision.kind == "timestamp" and decision.payload["action"] == "set"
    assert decision.payload["old"]["taken_local"] == "2008-11-22T12:00:00"  # self-describing: before and after
    assert decision.payload["new"]["taken_local"] == "2015-07-04T10:00:00"
    assert timefix.undo(data["batch"]) == 1  # undone like the page's action
    db.session.expire_all()
    assert db.session.get(File, data["file_ids"][0]).taken_local == "2008-11-22T12:00:00"


def test_set_date_accepts_what_the_date_box_accepts(app, imported):
    path = str(imported / "scan.jpg")
    assert set_date(app, path, "2015-07")[1]["date"] == "2015-07-01T00:00:00"
    assert set_date(app, path, "2015-07")[1]["offset"] is None  # a month has no offset
    assert set_date(app, path, "15.06.2019 14:30 +05:30")[1]["offset"] == "+05:30"
    result, _ = set_date(app, path, "32/13/2019")
    assert result.exit_code != 0 and "neither 32 nor 13 is a month" in result.output
    result, _ = set_date(app, str(imported / "nope.jpg"), "2019")
    assert result.exit_code != 0 and "No file in the library is called" in result.output


def test_set_date_by_uploaded_name_and_by_file_id(app):
    add_file(name="holiday.jpg", source="upload", path="/store/ab/cd", sha256="a" * 64)
    twin = add_file(name="IMG_0001.jpg", source="upload", path="/store/1", sha256="b" * 64)
    add_file(name="IMG_0001.jpg", source="upload", path="/store/2", sha256="c" * 64)
    db.session.commit()
    result, data = set_date(app, "holiday.jpg", "24.12.2010 18:00")
    assert result.exit_code == 0 and data["date"] == "2010-12-24T18:00:00+01:00"
    result, _ = set_date(app, "IMG_0001.jpg", "2010")
    assert result.exit_code != 0 and "2 different files match" in result.output and "--file-id" in result.output
    result, data = set_date(app, "--file-id", str(twin.id), "2010")
    assert result.exit_code == 0 and data["file_ids"] == [twin.id] and data["precision"] == "year"


def test_set_date_as_a_real_command(app, imported, tmp_path):
    """The installed command, as a household admin's script runs it."""
    settings = app.config["MEDIAPARSER"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAPARSER_")}
    env.update(MEDIAPARSER_DATA_DIR=str(settings.instance_dir), MEDIAPARSER_TIMEZONE="Europe/Berlin")
    db.session.remove()
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "set-date", str(imported / "scan.jpg"), "4 July 2015 10:00"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["date"] == "2015-07-04T10:00:00+02:00"


# --- the export folder ---------------------------------------------------------------------


def export_folder(app, *args):
    return app.test_cli_runner().invoke(args=["export-folder", *args])


def test_export_folder_rules_each_name_what_failed(app, imported, tmp_path):
    settings = app.config["MEDIAPARSER"]
    result = export_folder(app, "/proc/nope")
    assert result.exit_code != 0 and "a folder of the operating system" in result.output
    result = export_folder(app, "/etc/photos")
    assert result.exit_code != 0 and "/etc" in result.output
    result = export_folder(app, str(imported / "Archive"))
    assert result.exit_code != 0 and "a folder photos are imported from" in result.output
    result = export_folder(app, str(settings.instance_dir / "elsewhere"))
    assert result.exit_code != 0 and "data folder" in result.output
    result = export_folder(app, str(settings.storage_dir / "x"))
    assert result.exit_code != 0 and "storage" in result.output
    assert settings_store.stored().get("output_dir") is None  # nothing was saved

    good = tmp_path / "Family archive"
    result = export_folder(app, str(good))
    assert result.exit_code == 0 and f"Export folder set: {good}" in result.output
    assert settings_store.stored()["output_dir"] == str(good)
    shown = export_folder(app)
    assert shown.exit_code == 0 and str(good) in shown.output


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="a read-only mount needs root")
def test_export_folder_must_be_writable(app, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(locked)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mounting is not permitted here: {done.stderr.decode().strip()}")
    try:
        result = export_folder(app, str(locked / "archive"))
        assert result.exit_code != 0 and "read-only" in result.output
    finally:
        subprocess.run(["umount", "-l", str(locked)], check=False)
