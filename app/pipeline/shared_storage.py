"""The web app and every worker must see the same files: uploads, thumbnails and the
archive live in the data folder (MEDIAPARSER_DATA_DIR), and a worker on another machine
reads and writes them there. A worker that looks at a folder of its own would import
nothing it can find and make thumbnails nobody sees.

So the web app, each time it starts, writes a fresh random token into the database and into
a marker file in its storage folder; a worker, when it starts, reads both and refuses to
run when its storage folder does not hold the same token. Then it is not looking at the
web app's files (another folder, a share that is not mounted, a different data folder).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from ..config import Settings
from ..models import AppSetting, db, utcnow

MARKER = ".mediaparser-storage"
KEY = "storage_token"  # in app_setting; not one of the settings page's keys
WAIT_SECONDS = 10.0  # the web app may be starting at the same moment, or a share be slow to show it


def _marker(settings: Settings) -> Path:
    return settings.storage_dir / MARKER


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _stored_token() -> str | None:
    token = db.session.execute(select(AppSetting.value).where(AppSetting.key == KEY)).scalar()
    db.session.commit()  # read afresh next time
    return token


def mark(app: Flask) -> str:
    """The web app starting: a new token in the storage folder, then in the database."""
    settings: Settings = app.config["MEDIAPARSER"]
    token = uuid.uuid4().hex
    path = _marker(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{MARKER}.{token}.part")
    part.write_text(token + "\n")
    os.replace(part, path)
    with app.app_context():
        db.session.merge(AppSetting(key=KEY, value=token, updated_at=utcnow()))
        db.session.commit()
    return token


def problem(app: Flask, wait: float = WAIT_SECONDS) -> str | None:
    """Why this worker cannot see the web app's files, in words for people; None when it can.
    The first process of a new library (no token yet) marks the storage itself."""
    settings: Settings = app.config["MEDIAPARSER"]
    path = _marker(settings)
    deadline = time.monotonic() + wait
    with app.app_context():
        while True:
            expected = _stored_token()
            if expected is None:
                mark(app)
                return None
            seen = _read(path)
            if seen == expected:
                return None
            if time.monotonic() >= deadline:
                break
            time.sleep(1.0)
    found = (
        "finds no MediaParser marker there" if seen is None else "finds the marker of another MediaParser library there"
    )
    return (
        f"This worker cannot see the files the web app stores. It looks for them in {settings.storage_dir} "
        f"and {found} ({MARKER}). Uploads, thumbnails and the archive must be in one data folder that the web "
        "app and every worker reach: mount the web app's data folder on this machine (a network share) and "
        "point MEDIAPARSER_DATA_DIR at it, then start the worker again."
    )


def require(app: Flask, wait: float = WAIT_SECONDS) -> None:
    """A worker starting: go on when it sees the web app's files, else stop with the reason."""
    reason = problem(app, wait)
    if reason:
        raise SystemExit(reason)
