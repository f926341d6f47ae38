"""Database engine set-up shared by the web app, the workers and the CLI."""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from .config import REPO_ROOT

log = logging.getLogger(__name__)

MIGRATIONS_DIR = REPO_ROOT / "migrations"
BUSY_TIMEOUT_MS = 30_000

T = TypeVar("T")
# PostgreSQL: deadlock_detected, serialization_failure. SQLite: SQLITE_BUSY_SNAPSHOT, a WAL
# reader whose snapshot went stale before it could write (it must start again).
RETRYABLE_SQLSTATES = {"40P01", "40001"}
SQLITE_BUSY_SNAPSHOT = 517
RETRY_ATTEMPTS = 5


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
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith(("postgresql", "postgres")):
        # TCP keepalives: the server notices a worker whose machine vanished, and ends its
        # transaction, within about a minute instead of hours.
        options["connect_args"] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}
    return options


def clock(conn: Connection) -> datetime:
    """Now, as the database's clock says (aware UTC): leases written by workers on several
    machines are compared on one clock. SQLite lives on one machine: its clock is ours."""
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)
    return datetime.now(UTC)


def retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction lost a race and may be run again."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return getattr(orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT


def retrying(work: Callable[[], T], rollback: Callable[[], None], attempts: int = RETRY_ATTEMPTS) -> T:
    """Run `work` (one whole transaction, committed by itself) again after a deadlock or
    serialization failure, at most `attempts` times, with a short random pause between;
    `rollback` undoes the failed attempt. Other errors, and the last failure, go up."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not retryable(exc) or attempt == attempts:
                raise
            rollback()
            log.info("transaction lost a race with another writer (%s); trying again", type(exc.orig).__name__)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        return Path(database_url.removeprefix("sqlite:///"))
    return None


def ensure_sqlite_dir(database_url: str) -> None:
    path = sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


# pg_advisory_lock key: the web app and several workers starting together upgrade in turn
UPGRADE_LOCK = 0x6D65646961  # "media"


def upgrade(app: Flask) -> None:
    """Bring the database schema to the newest migration (creates it when new)."""
    from flask_migrate import upgrade as alembic_upgrade

    from .models import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            alembic_upgrade(directory=str(MIGRATIONS_DIR))
            return
        # A session lock on a connection of its own: released when we are done, or when
        # this process dies; the next one then finds the schema up to date.
        with db.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK})
            try:
                alembic_upgrade(directory=str(MIGRATIONS_DIR))
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK})
                conn.commit()


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
