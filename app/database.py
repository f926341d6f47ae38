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
        cur.close()


def engine_options(database_url: str) -> dict:
    if database_url.startswith("sqlite"):
        # check_same_thread: connections come from a pool shared by waitress/huey threads
        return {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def ensure_sqlite_dir(database_url: str) -> None:
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def upgrade(app: Flask) -> None:
    """Bring the database schema to the newest migration (creates it when new)."""
    from flask_migrate import upgrade as alembic_upgrade

    with app.app_context():
        alembic_upgrade(directory=str(MIGRATIONS_DIR))
