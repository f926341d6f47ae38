"""A worker refuses to start when it cannot see the files the web app stores (its data
folder is not the web app's): the web app marks its storage folder and the database with
one token at each start, the worker compares them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app import create_app
from app.pipeline import shared_storage
from tests.conftest import REPO, on_postgres


def _worker_app(app, tmp_path, name="elsewhere"):
    """The same database, another data folder: a worker on a machine where the share is not mounted."""
    settings = app.config["MEDIAPARSER"]
    other = settings.with_overrides(storage_dir=tmp_path / name / "storage", instance_dir=tmp_path / name)
    return create_app(other)


def test_a_worker_that_shares_the_web_apps_folder_starts(app):
    shared_storage.mark(app)
    assert shared_storage.problem(app, wait=0) is None
    shared_storage.require(app, wait=0)


def test_a_worker_looking_at_another_folder_refuses_and_says_why(app, tmp_path):
    shared_storage.mark(app)
    worker = _worker_app(app, tmp_path)
    reason = shared_storage.problem(worker, wait=0)
    assert reason and str(tmp_path / "elsewhere" / "storage") in reason and "MEDIAPARSER_DATA_DIR" in reason
    assert "finds no MediaParser marker" in reason
    with pytest.raises(SystemExit, match="cannot see the files the web app stores"):
        shared_storage.require(worker, wait=0)


def test_a_folder_the_web_app_left_behind_is_not_taken_for_its_own(app, tmp_path):
    """The web app moved to another folder (or another library's share is mounted): the
    marker there is an old one."""
    worker = _worker_app(app, tmp_path)
    shared_storage.mark(worker)  # this folder was the web app's once ...
    shared_storage.mark(app)  # ... it starts elsewhere now
    assert "another MediaParser library" in shared_storage.problem(worker, wait=0)


def test_the_first_process_of_a_new_library_marks_it(app):
    assert shared_storage.problem(app, wait=0) is None  # a worker started before the web app ever did
    assert (app.config["MEDIAPARSER"].storage_dir / shared_storage.MARKER).is_file()


@pytest.mark.e2e
def test_worker_py_refuses_to_start_without_the_web_apps_files(app, tmp_path):
    """The real worker process, pointed at the web app's database but a data folder of its own."""
    if on_postgres():
        database_url = app.config["MEDIAPARSER"].database_url
    else:
        database_url = f"sqlite:///{app.config['MEDIAPARSER'].instance_dir / 'mediaparser.db'}"
    shared_storage.mark(app)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAPARSER_")}
    env.update(
        MEDIAPARSER_DATA_DIR=str(tmp_path / "worker-data"),
        DATABASE_URL=database_url,
        MEDIAPARSER_QUEUE="memory",
        MEDIAPARSER_TIMEZONE="Europe/Berlin",
    )
    done = subprocess.run(
        [sys.executable, str(REPO / "worker.py")], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "This worker cannot see the files the web app stores" in done.stderr
    assert "worker is running" not in done.stdout
