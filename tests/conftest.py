"""Shared fixtures: a real SQLite database (WAL) per test, made by the real migrations,
and the media corpus, found through MEDIAPARSER_CORPUS (default ../shared/corpus)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app import create_app
from app.config import Settings
from app.database import upgrade
from app.models import db

REPO = Path(__file__).resolve().parent.parent

CORPUS = Path(os.environ.get("MEDIAPARSER_CORPUS") or REPO.parent / "shared" / "corpus").resolve()
REQUIRE_CORPUS = os.environ.get("MEDIAPARSER_REQUIRE_CORPUS", "") not in ("", "0", "false")
ARTIFACTS = REPO / "test-artifacts"


def corpus_or_skip() -> Path:
    if (CORPUS / "manifest.csv").is_file():
        return CORPUS
    message = f"media corpus not found at {CORPUS} (set MEDIAPARSER_CORPUS)"
    if REQUIRE_CORPUS:
        pytest.fail(message + "; MEDIAPARSER_REQUIRE_CORPUS is set, so this is a failure")
    pytest.skip(message)


@pytest.fixture(scope="session")
def corpus() -> Path:
    return corpus_or_skip()


def manifest_rows(corpus: Path) -> list[dict[str, str]]:
    """manifest.csv: one row per corpus file, with what ExifTool reads from it."""
    import csv

    with open(corpus / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def make_settings(data_dir: Path, **env) -> Settings:
    """Settings for a test: its own data folder, tasks run inline (memory queue) unless a
    test starts a real consumer, one analysis process. Nothing comes from os.environ."""
    base = {
        "MEDIAPARSER_DATA_DIR": str(data_dir),
        "MEDIAPARSER_TIMEZONE": "Europe/Berlin",
        "MEDIAPARSER_QUEUE": "memory",
        "MEDIAPARSER_WORKERS": "1",
        "SECRET_KEY": "test-secret",
    }
    base.update({k: str(v) for k, v in env.items()})
    return Settings.from_env(env=base)


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory) -> Path:
    """One database made by the real migrations; each test gets a copy (fast, and real)."""
    data = tmp_path_factory.mktemp("template")
    app = create_app(make_settings(data))
    upgrade(app)
    with app.app_context():
        db.engine.dispose()
    return data / "mediaparser.db"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def app(settings, _template_db):
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(_template_db, settings.instance_dir / "mediaparser.db")
    app = create_app(settings)
    app.config["TESTING"] = True
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()
