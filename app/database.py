"""Database engine set-up shared by the web app, the workers and the CLI."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import REPO_ROOT

MIGRATIONS_DIR = REPO_ROOT / "migrations"
BUSY_TIMEOUT_MS = 30_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL (readers never block the writer), foreign keys, and a busy timeout on every
    SQLite connection: web requests, workers and the CLI share one database file."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # up to 32 MB of pages per connection (SQLite's default is 2 MB): a grid page that looks
        # up thousands of rows (duplicates to sort out, a tag's date range) reads them from memory
        cur.execute("PRAGMA cache_size=-32000")
        cur.close()


def engine_options(database_url: str) -> dict:
    if database_url.startswith("sqlite"):
        # check_same_thread: connections come from a pool shared by waitress/huey threads
        return {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        return Path(database_url.removeprefix("sqlite:///"))
    return None


def ensure_sqlite_dir(database_url: str) -> None:
    path = sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def upgrade(app: Flask) -> None:
    """Bring the database schema to the newest migration (creates it when new)."""
    from flask_migrate import upgrade as alembic_upgrade

    with app.app_context():
        alembic_upgrade(directory=str(MIGRATIONS_DIR))


def schema_problem(app: Flask) -> str | None:
    """Why the library's database cannot be read as it is, in words for people; None when
    it can. Creates and changes nothing: for commands that only read."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .models import db

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return (
            f"There is no MediaParser library at {path} yet: nothing has been imported. "
            "Check MEDIAPARSER_DATA_DIR, or import a folder first (flask --app app import PATH)."
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with app.app_context(), db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if not current:
        return "The library's database is empty: import a folder first (flask --app app import PATH)."
    if current != heads:
        return (
            "The library's database was made by another version of MediaParser. Start MediaParser "
            "once (make run, or run.py), which brings it up to date, then try again."
        )
    return None
