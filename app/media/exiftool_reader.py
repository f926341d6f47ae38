"""ExifTool as the reader of last resort: for the dates, sizes and previews MediaParser's own
readers do not find (maker-note dates, raw flavours without a reader of their own).

One persistent process per worker process (`-stay_open`, through pyexiftool): about 5 ms a
question instead of the 150+ ms of starting perl for every file. It is asked only about the
few files the other readers leave without an answer, never about every file. Where exiftool
or pyexiftool is not installed every function answers "nothing found".
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import threading
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()  # one question at a time through the pipe
_state: dict[str, Any] = {"et": None, "pid": None, "broken": False}
# Groups whose dates MediaParser already reads itself; the rest are maker notes and
# vendor segments (MakerNotes:Reconyx, MakerNotes:Casio, APP12:PictureInfo, APP1:FLIR, ...).
_OWN_GROUPS = ("EXIF", "XMP", "IPTC", "File", "System", "Composite", "ICC_Profile", "PNG", "QuickTime", "Photoshop")


@cache
def available() -> bool:
    if shutil.which("exiftool") is None:
        return False
    try:
        import exiftool  # noqa: F401
    except ImportError:
        return False
    return True


def _process():
    """The running exiftool of this process (a forked worker starts its own)."""
    et = _state["et"]
    if et is not None and _state["pid"] == os.getpid() and et.running:
        return et
    import exiftool

    # -charset filename=UTF8: non-ASCII paths; the process keeps its own stdin (the protocol)
    et = exiftool.ExifTool(common_args=["-charset", "filename=UTF8"])
    et.run()
    _state.update(et=et, pid=os.getpid())
    return et


def _askable(arg: str) -> bool:
    """A newline would end the question early; a name's undecodable bytes cannot be sent as
    text (and would stop exiftool for the whole process): such files are not asked about."""
    return "\n" not in arg and (arg.isascii() or not any(0xD800 <= ord(c) <= 0xDFFF for c in arg))


def _ask(*args: str, raw: bool = False):
    if not available() or _state["broken"] or not all(_askable(a) for a in args):
        return None
    with _lock:
        try:
            return _process().execute(*args, raw_bytes=raw)
        except Exception as exc:  # noqa: BLE001 - a broken exiftool must never stop an import
            log.warning("exiftool did not answer (%s); it is not asked again in this process", exc)
            _state["broken"] = True
            return None


def _json(*args: str) -> dict[str, Any]:
    out = _ask("-j", *args)
    try:
        found = json.loads(out) if out else []
    except ValueError:
        return {}
    return found[0] if found and isinstance(found[0], dict) else {}


# JPEG segments that hold no capture date of a camera's own: what a stripped copy keeps.
_PLAIN_SEGMENTS = (
    (0xE0, b"JFIF"),
    (0xE0, b"JFXX"),
    (0xE1, b"http://ns.adobe.com/xap"),
    (0xE2, b"ICC_PROFILE"),
    (0xED, b"Photoshop"),
    (0xEE, b"Adobe"),
)


def worth_asking(data: bytes, mime: str, meta: dict[str, Any]) -> bool:
    """Whether a picture without a standard capture date may have one in maker notes or a
    vendor segment: a camera wrote it (EXIF, a Make) or it carries segments a messaging
    app would have stripped. Keeps exiftool away from the thousands of stripped copies."""
    if not available():
        return False
    if meta.get("make") or meta.get("model"):
        return True
    if not data.startswith(b"\xff\xd8"):
        return False
    pos = 2
    for _ in range(64):
        if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] in (0xDA, 0xD9):
            return False
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        body = data[pos + 4 : pos + 4 + 32]
        if 0xE0 <= marker <= 0xEF and not any(marker == m and body.startswith(p) for m, p in _PLAIN_SEGMENTS):
            return True
        pos += 2 + length
    return False


def maker_dates(path: str | Path) -> dict[str, str]:
    """{"MakerNotes:Reconyx:DateTimeOriginal": "2020:03:16 10:00:00", ...}: capture dates
    found outside EXIF/XMP/IPTC (maker notes, vendor segments)."""
    found = _json("-G0:1", "-a", "-DateTimeOriginal", "-CreateDate", str(path))
    return {
        key: str(value)
        for key, value in found.items()
        if key != "SourceFile" and not key.startswith(_OWN_GROUPS) and isinstance(value, str | int)
    }


def raw_facts(path: str | Path) -> dict[str, Any]:
    """Camera, dates, orientation and picture size of a raw file, as ExifTool reads them."""
    found = _json(
        "-n",
        "-Make",
        "-Model",
        "-DateTimeOriginal",
        "-SubSecTimeOriginal",
        "-OffsetTimeOriginal",
        "-CreateDate",
        "-Orientation",
        "-ImageSize",
        str(path),
    )
    return {k: v for k, v in found.items() if k != "SourceFile"}


def preview(path: str | Path) -> bytes | None:
    """The largest embedded JPEG (JpgFromRaw, PreviewImage, ThumbnailImage), or None."""
    for tag in ("JpgFromRaw", "PreviewImage", "ThumbnailImage"):
        out = _ask("-b", f"-{tag}", str(path), raw=True)
        if out and out.startswith(b"\xff\xd8"):
            return bytes(out)
    return None


def close() -> None:
    with _lock:
        et = _state["et"]
        if et is not None and _state["pid"] == os.getpid() and et.running:
            et.terminate()
        _state.update(et=None, pid=None)


atexit.register(close)
