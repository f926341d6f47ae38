"""Shared fixtures: a real SQLite database (WAL) per test, made by the real migrations,
and the media corpus, found through MEDIAPARSER_CORPUS (default ../shared/corpus).

Pointed at PostgreSQL (MEDIAPARSER_TEST_DATABASE_URL=postgresql+psycopg://user@host:port/db,
a database the tests may create databases from; `make test-scale` starts one), the `app`
fixture gets a fresh PostgreSQL database per test instead, cloned from one the migrations
made. MEDIAPARSER_TEST_REDIS_URL adds Redis to the queue backends the queue tests run on.
"""

from __future__ import annotations

import itertools
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
TEST_DATABASE_URL = os.environ.get("MEDIAPARSER_TEST_DATABASE_URL", "").strip()
TEST_REDIS_URL = os.environ.get("MEDIAPARSER_TEST_REDIS_URL", "").strip()


def on_postgres() -> bool:
    return TEST_DATABASE_URL.startswith(("postgresql", "postgres"))


def pytest_collection_modifyitems(config, items):
    if on_postgres():
        skip = pytest.mark.skip(reason="checks what only SQLite has; this run is on PostgreSQL")
        for item in items:
            if item.get_closest_marker("sqlite"):
                item.add_marker(skip)


def postgres_or_skip() -> str:
    """The PostgreSQL server the scale tests use; skipped (not failed) where none is set up."""
    if not on_postgres():
        pytest.skip("needs PostgreSQL: set MEDIAPARSER_TEST_DATABASE_URL (make test-scale does)")
    return TEST_DATABASE_URL


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


class PostgresDatabases:
    """Databases on the test server: one template the migrations made, and clones of it."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
        self.prefix = f"mp_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self._numbers = itertools.count(1)

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _sql(self, statement: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(statement))

    def make_template(self, data: Path) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._sql(f'CREATE DATABASE "{self.template}"')
        app = create_app(make_settings(data, DATABASE_URL=self.url_of(self.template)))
        upgrade(app)
        with app.app_context():
            db.engine.dispose()

    def clone(self) -> str:
        name = f"{self.prefix}_{next(self._numbers)}"
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def drop(self, name: str) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _null_pool():
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def postgres_databases(tmp_path_factory):
    """The PostgreSQL test server's databases (None when the suite runs on SQLite)."""
    if not on_postgres():
        yield None
        return
    databases = PostgresDatabases(TEST_DATABASE_URL)
    databases.make_template(tmp_path_factory.mktemp("pg-template"))
    yield databases
    databases.drop(databases.template)
    databases.admin.dispose()


@pytest.fixture
def database_url(postgres_databases):
    """A fresh database for one test: a PostgreSQL clone of the migrated template, or None
    (the `app` fixture then copies the SQLite template)."""
    if postgres_databases is None:
        yield None
        return
    name = postgres_databases.clone()
    yield postgres_databases.url_of(name)
    postgres_databases.drop(name)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return make_settings(tmp_path / "data", **({"DATABASE_URL": database_url} if database_url else {}))


@pytest.fixture
def app(settings, _template_db, database_url):
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    if database_url is None:
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
