"""Detail previews made on first view (thumbnails.LARGE_ON_VIEW says which and why).

A missing `<key>-l.jpg` of such a picture is made from its original, once, and kept under its
content address like every thumbnail. The original must still be the file that was imported:
served by the same checks as `/files/<id>/original`, and its bytes must hash to the name.
Where no such original is left (a reformatted card, a moved folder), the grid thumbnail
answers instead, without the year-long caching, so the real preview appears once the
original is back.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from sqlalchemy import select

from ..config import Settings
from ..media import thumbnails
from ..models import File, db
from . import serving
from .security import ApiError

LARGE_SUFFIX = "-l.jpg"
# Bounds on what one preview may cost the web app: the original's bytes in memory, the
# decoded pixels (256 MB: the 1/4-scale decode of a JPEG of about a gigapixel), and how many
# are decoded at once (a duplicate group's page asks for several together).
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_DECODE_BYTES = 256 * 1024 * 1024
_MAKING = threading.BoundedSemaphore(2)
FALLBACK_MAX_AGE = 300


def send(settings: Settings, name: str):
    """The thumbnail `name`, making a detail preview that is not made yet."""
    folder = settings.thumbnails_dir
    try:
        return serving.send_thumbnail(folder, name)
    except ApiError:
        if not name.endswith(LARGE_SUFFIX) or not serving.THUMB_NAME.match(name):
            raise
    key = name.removesuffix(LARGE_SUFFIX)
    if make(settings, key):
        return serving.send_thumbnail(folder, name)
    response = serving.send_thumbnail(folder, key + "-s.jpg")  # 404 when there is none either
    response.headers["Cache-Control"] = f"private, max-age={FALLBACK_MAX_AGE}"
    return response


def has_large(settings: Settings, key: str) -> bool:
    """Whether the detail preview of `key` is on disk, made now if it can be."""
    return thumbnails.thumb_path(settings.thumbnails_dir, key, "l").exists() or make(settings, key)


def large_path(settings: Settings, key: str) -> Path:
    """Where the detail preview of `key` is; the grid thumbnail's path when there is none."""
    return thumbnails.thumb_path(settings.thumbnails_dir, key, "l" if has_large(settings, key) else "s")


def only_small(settings: Settings, file: File) -> bool:
    """True when a photo whose detail preview is made on view can show only its grid
    thumbnail (made now if it can be: the page's picture then comes from disk)."""
    return bool(file.thumb_key) and thumbnails.large_on_view(file.mime) and not has_large(settings, file.thumb_key)


def make(settings: Settings, key: str) -> bool:
    """Make the detail preview of `key` from an original that is still as imported; False
    when none is (or the preview is one made during imports, and lost)."""
    sha256 = key.rsplit("/", 1)[-1]
    files = db.session.execute(
        select(File).where(File.sha256 == sha256, File.thumb_key == key).order_by(File.id).limit(5)
    ).scalars()
    for file in files:
        if not thumbnails.large_on_view(file.mime):
            continue
        data = _original_bytes(file, settings)
        if data is None:
            continue
        with _MAKING:
            try:
                picture = thumbnails.large_from_bytes(data, MAX_DECODE_BYTES)
            except Exception:  # noqa: BLE001 - it decoded during its import; now it does not
                continue
        try:
            thumbnails.write_large(settings.thumbnails_dir, key, picture)
        except OSError:  # a full disk or a read-only folder: the grid thumbnail will do
            return False
        return True
    return False


def _original_bytes(file: File, settings: Settings) -> bytes | None:
    """The original's bytes when it is still the very file that was imported."""
    try:
        fh, st = serving.open_original(file, settings)
    except ApiError:
        return None
    with fh:
        if st.st_size > MAX_FILE_BYTES:
            return None
        try:
            data = fh.read()
        except OSError:
            return None
    return data if hashlib.sha256(data).hexdigest() == file.sha256 else None
