"""Serving originals and thumbnails without being tricked into serving something else.

A stored path says where a file was when it was imported; what is there now may be a link
to /etc/passwd, a FIFO that blocks every reader forever, a device, or another file. So an
original is served only when
- its real path (links resolved) lies in the folder its import job read from, in an import
  root, or, for uploads, in MediaParser's own store;
- it is a regular file before it is opened (lstat), and is opened without following a link
  in the last component (O_NOFOLLOW) and without waiting (O_NONBLOCK), then checked again
  (fstat) to be that same regular file;
- its size and inode still match what the import recorded.
Anything else is a 404 (or 403 when the file may not be read) with a sentence for people.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from flask import current_app, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import wrap_file

from ..config import Settings
from ..models import File, FileSource, Job, db
from .security import ApiError

THUMB_NAME = re.compile(r"^[0-9a-f]{2}/(?:[0-9a-f]{2}/)?[0-9a-f]{64}-[sl]\.jpg$")  # thumbnails.thumb_key, old or new
THUMB_MAX_AGE = 31536000  # content-addressed: a thumbnail never changes under its name

CHANGED = (
    "This file has changed or moved since it was imported, so MediaParser does not show it. "
    "If it was replaced on purpose, import its folder again."
)
GONE = "The original file is no longer where it was imported from (it was moved, renamed or deleted)."
UNREADABLE = "MediaParser may not read this file (permission denied). Whoever runs MediaParser can give it read access."
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def allowed_bases(file: File, settings: Settings) -> list[str]:
    """Folders the file's real path must lie in."""
    if file.source == FileSource.UPLOAD:
        bases = [settings.originals_dir]
    else:
        bases = list(settings.import_roots)
        job = db.session.get(Job, file.job_id) if file.job_id else None
        params = (job.params if job else None) or {}
        # A command-line import may name any folder: that folder is the job's own root.
        root = params.get("root") or params.get("path")
        if root:
            bases.append(Path(root))
    return [os.path.realpath(b) for b in bases]


def _inside(path: str, bases: list[str]) -> bool:
    return any(path == b or path.startswith(b.rstrip("/") + "/") for b in bases)


def open_regular(path: str | Path) -> tuple[BinaryIO, os.stat_result]:
    """Open a regular file for reading, never a link, FIFO or device; ApiError otherwise."""
    try:
        # lstat first: opening some devices has effects (a watchdog, a tape) even without reading
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode):
            raise ApiError(CHANGED, 404)
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        raise ApiError(GONE, 404) from None
    except PermissionError:
        raise ApiError(UNREADABLE, 403) from None
    except (OSError, ValueError):  # ELOOP: a link after all; ValueError: a NUL in the path
        raise ApiError(CHANGED, 404) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise ApiError(CHANGED, 404)  # swapped between the two looks
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), st


def open_original(file: File, settings: Settings) -> tuple[BinaryIO, os.stat_result]:
    try:
        real = os.path.realpath(file.path)
    except (OSError, ValueError):
        raise ApiError(CHANGED, 404) from None
    if not _inside(real, allowed_bases(file, settings)):
        raise ApiError(CHANGED, 404)
    fh, st = open_regular(real)
    if (file.size is not None and st.st_size != file.size) or (file.inode is not None and st.st_ino != file.inode):
        fh.close()
        raise ApiError(CHANGED, 404)
    return fh, st


def content_disposition(name: str, attachment: bool) -> str:
    """`inline`/`attachment` with an ASCII `filename` and the exact UTF-8 `filename*`
    (RFC 6266/5987). Control characters (a newline in a name) and undecodable bytes become
    "_": they would break the header, and no browser would save them anyway."""
    clean = "".join(ch if ch.isprintable() else "_" for ch in name).strip() or "file"
    ascii_name = unicodedata.normalize("NFKD", clean).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace("\\", "_").replace('"', "'").strip() or "file"
    encoded = quote(clean.encode("utf-8"), safe="!#$&+-.^_`|~")
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def _respond(fh: BinaryIO, st: os.stat_result, mimetype: str):
    """A streamed answer with ranges (video seeking) and revalidation."""
    response = current_app.response_class(wrap_file(request.environ, fh), mimetype=mimetype, direct_passthrough=True)
    response.content_length = st.st_size
    response.last_modified = st.st_mtime
    response.set_etag(f"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}")
    try:
        return response.make_conditional(request.environ, accept_ranges=True, complete_length=st.st_size)
    except RequestedRangeNotSatisfiable:
        fh.close()
        raise


def send_original(file: File, settings: Settings, download: bool):
    fh, st = open_original(file, settings)
    response = _respond(fh, st, file.mime or "application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition(file.original_name or "file", download)
    response.cache_control.no_cache = True
    return response


def send_thumbnail(folder: Path, name: str):
    if not THUMB_NAME.match(name):
        raise ApiError("There is no such preview.", 404)
    try:
        fh, st = open_regular(folder / name)
    except ApiError:
        raise ApiError("There is no such preview.", 404) from None
    response = _respond(fh, st, "image/jpeg")
    response.headers["Cache-Control"] = f"private, max-age={THUMB_MAX_AGE}, immutable"
    return response
