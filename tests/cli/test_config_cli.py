"""Configuration from the environment, the schema made by migrations, and the stable
command-line interfaces (`import --wait`, `inspect`, `jobs`)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from PIL import Image

from app import create_app
from app.config import ConfigError, Settings, ensure_secret_key
from app.database import upgrade
from app.models import db
from app.tasks import queue_of
from tests.conftest import REPO, make_settings


def test_defaults_live_in_the_repository(monkeypatch):
    settings = Settings.from_env(env={})
    assert settings.instance_dir == REPO / "instance" and settings.storage_dir == REPO / "storage"
    assert settings.database_url == f"sqlite:///{REPO / 'instance' / 'mediaparser.db'}"
    assert settings.queue_url == f"sqlite:///{REPO / 'instance' / 'queue.db'}"
    assert (settings.host, settings.port, settings.password) == ("127.0.0.1", 5000, None)


def test_environment_overrides(tmp_path):
    env = {
        "MEDIAPARSER_DATA_DIR": str(tmp_path),
        "MEDIAPARSER_TIMEZONE": "America/New_York",
        "MEDIAPARSER_IMPORT_ROOTS": f"{tmp_path / 'a'}:{tmp_path / 'b'}",
        "MEDIAPARSER_OUTPUT_DIR": str(tmp_path / "out"),
        "MEDIAPARSER_PASSWORD": "secret",
        "MEDIAPARSER_HOST": "0.0.0.0",
        "MEDIAPARSER_PORT": "8080",
        "DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/db",
        "MEDIAPARSER_QUEUE": "redis://127.0.0.1:6379/0",
        "MEDIAPARSER_EMBEDDED_WORKER": "0",
    }
    s = Settings.from_env(env=env)
    assert Settings.from_env(env={}).embedded_worker and not s.embedded_worker
    assert s.instance_dir == tmp_path and s.storage_dir == tmp_path / "storage"
    assert s.import_roots == (tmp_path / "a", tmp_path / "b")
    assert s.output_dir == tmp_path / "out" and s.password == "secret"
    assert (s.host, s.port, s.timezone) == ("0.0.0.0", 8080, "America/New_York")
    assert s.database_url.startswith("postgresql") and s.queue_url.startswith("redis")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MEDIAPARSER_TIMEZONE", "Mars/Olympus", "IANA"),
        ("MEDIAPARSER_PORT", "eighty", "number"),
        ("MEDIAPARSER_PORT", "70000", "outside"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(name, value, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env={name: value})


def test_secret_key_is_generated_once_and_kept(tmp_path):
    settings = Settings.from_env(env={"MEDIAPARSER_DATA_DIR": str(tmp_path)})
    key = ensure_secret_key(settings)
    assert len(key) == 64 and ensure_secret_key(settings) == key
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    assert ensure_secret_key(settings.with_overrides(secret_key="given")) == "given"


def test_migrations_create_exactly_the_models_schema(app):
    """The schema comes from migrations only, and they match the models (no drift)."""
    with db.engine.connect() as conn:
        # the FTS5 name index is not a model (see migrations/versions/0004_name_search.py)
        skip_fts = {"include_name": lambda name, kind, _: not (kind == "table" and name.startswith("file_name_search"))}
        context = MigrationContext.configure(conn, opts={"compare_type": False, **skip_fts})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


# --- command line (real processes, as people and other tools call it) -------------------


def _flask(*args, data: Path, check=True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAPARSER_")}
    env.update(MEDIAPARSER_DATA_DIR=str(data), MEDIAPARSER_TIMEZONE="Europe/Berlin", MEDIAPARSER_QUEUE="memory")
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


def test_import_wait_prints_a_summary_and_jobs_lists_it(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("RGB", (40, 30), "red").save(folder / "IMG_20200101_101010.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    (folder / "readme.txt").write_text("hi")
    out = _flask("import", str(folder), "--wait", data=tmp_path / "data")
    assert "Import job 1: completed" in out.stdout
    assert "done       1" in out.stdout and "error      1" in out.stdout and "skipped    1" in out.stdout
    assert "files/s" in out.stdout
    listing = _flask("jobs", data=tmp_path / "data").stdout
    assert "import" in listing and "completed" in listing and "3/3" in listing
    record = json.loads(_flask("jobs", "--json", data=tmp_path / "data").stdout.splitlines()[0])
    assert record["status"] == "completed" and record["errors"] == 1


def test_import_refuses_a_missing_folder(tmp_path):
    out = _flask("import", str(tmp_path / "nope"), "--wait", data=tmp_path / "data", check=False)
    assert out.returncode != 0 and "Folder not found" in out.stderr


def test_inspect_gives_back_a_name_that_is_not_utf8_exactly(tmp_path):
    """The JSON stays valid UTF-8 (one record per line, a newline in the name included), and the
    undecodable byte comes back exactly: other tools can find the file from it."""
    folder = tmp_path / "in"
    folder.mkdir()
    name = b"M\xfcnchen\nurlaub.jpg"
    Image.new("RGB", (32, 24), "blue").save(os.path.join(os.fsencode(folder), name), "JPEG")
    out = _flask("inspect", str(folder), data=tmp_path / "data")  # decoding the output as UTF-8 must work
    (record,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert os.fsencode(record["path"]) == os.fsencode(folder) + b"/" + name
    assert record["mime"] == "image/jpeg"


def test_inspect_prints_one_json_object_per_media_file(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    image = Image.new("RGB", (64, 48), "green")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2021:03:04 05:06:07"
    image.save(folder / "a.jpg", exif=exif)
    (folder / "notes.txt").write_text("not media")
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = _flask("inspect", str(folder), data=tmp_path / "data")
    records = [json.loads(line) for line in out.stdout.splitlines()]
    by_name = {Path(r["path"]).name: r for r in records}
    assert set(by_name) == {"a.jpg", "bad.png"}  # the text file is not media
    a = by_name["a.jpg"]
    assert set(a) == {
        "path", "mime", "width", "height", "sha256", "phash", "timestamp", "precision",
        "confidence", "source", "candidates", "error",
    }  # fmt: skip
    assert Path(a["path"]).is_absolute() and a["mime"] == "image/jpeg" and (a["width"], a["height"]) == (64, 48)
    assert (
        a["timestamp"] == "2021-03-04T05:06:07"
        and a["precision"] == "second"
        and a["source"] == "exif:DateTimeOriginal"
    )
    assert a["confidence"] in ("high", "medium", "low", "none") and a["error"] is None
    assert {"source", "timestamp", "precision"} <= set(a["candidates"][0])
    assert by_name["bad.png"]["error"]
    assert not (tmp_path / "data" / "mediaparser.db").exists()  # inspect touches no database


def test_each_app_has_the_queue_its_settings_name(tmp_path):
    """The queue comes from the Settings object, not the environment; a SQLite queue file
    is only made when something is enqueued."""
    first = create_app(make_settings(tmp_path / "a", MEDIAPARSER_QUEUE=f"sqlite:///{tmp_path / 'a-queue.db'}"))
    second = create_app(make_settings(tmp_path / "b"))
    assert not (tmp_path / "a-queue.db").exists()
    assert queue_of(first).huey.storage.filename == str(tmp_path / "a-queue.db")
    assert queue_of(second).huey.immediate and queue_of(second).huey is not queue_of(first).huey
    assert "app.tasks.run_job" in queue_of(first).huey._registry._registry  # the name queued messages carry


def test_read_only_commands_never_make_a_database(tmp_path):
    data = tmp_path / "data"
    for command in (["jobs"], ["jobs", "--json"], ["duplicates"], ["duplicates", "--json"]):
        out = _flask(*command, data=data, check=False)
        assert out.returncode == 1, command
        assert "no MediaParser library" in out.stderr and "nothing has been imported" in out.stderr, command
    assert not (data / "mediaparser.db").exists()


def test_read_only_commands_never_upgrade_a_database(tmp_path):
    """A library made by an older MediaParser is left as it is: reading commands say what
    to do; a command that writes (import) upgrades it."""
    data = tmp_path / "data"
    app = create_app(make_settings(data))
    upgrade(app)
    with app.app_context():
        from flask_migrate import downgrade

        downgrade(revision="0003_dups")
        db.engine.dispose()

    def revision() -> str:
        with sqlite3.connect(data / "mediaparser.db") as conn:
            return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]

    for command in (["jobs"], ["duplicates", "--json"]):
        out = _flask(*command, data=data, check=False)
        assert out.returncode == 1 and "another version of MediaParser" in out.stderr, command
        assert revision() == "0003_dups", command
    folder = tmp_path / "in"
    folder.mkdir()
    _flask("import", str(folder), "--wait", data=data)
    assert revision() != "0003_dups"
    assert "No jobs yet." not in _flask("jobs", data=data).stdout


def test_the_command_line_sets_the_pixel_limit_from_settings(tmp_path):
    """`flask` is an entry point: MEDIAPARSER_MAX_IMAGE_PIXELS reaches Pillow there (and only
    there: building an app changes no process-wide state)."""
    limit_before = Image.MAX_IMAGE_PIXELS
    create_app(make_settings(tmp_path / "app", MEDIAPARSER_MAX_IMAGE_PIXELS=1000))
    assert limit_before == Image.MAX_IMAGE_PIXELS
    picture = tmp_path / "big.png"
    Image.new("RGB", (64, 48), "blue").save(picture)  # 3,072 pixels: over twice the limit
    env = {"MEDIAPARSER_MAX_IMAGE_PIXELS": "1000"}
    record = json.loads(_flask("inspect", str(picture), data=tmp_path / "data", env=env).stdout)
    assert "opened safely" in record["error"]
    assert json.loads(_flask("inspect", str(picture), data=tmp_path / "data").stdout)["error"] is None
