"""Motion photos: a short video kept inside the still (Google Pixel, Samsung and others).

The still and its video are one file, so they travel as one: this module only finds where the
video lies, recorded as a property of the file ({"kind", "offset", "length", "mime",
"complete"}; kind: google, microvideo, samsung or mpvd, after where it was declared):

- Google's format (XMP `GCamera:MotionPhoto` / `Camera:MotionPhoto` = 1): a Container
  directory lists the appended items; the MotionPhoto item's `Item:Length` counts from the
  end of the file;
- the older MicroVideo format (XMP `GCamera:MicroVideo` = 1): `MicroVideoOffset` is the
  video's distance from the end of the file;
- Samsung's trailer (`SEFH` ... `SEFT` at the very end): an entry named
  `MotionPhoto_Data` points at the video (Samsung JPEGs and HEICs carry it);
- a HEIC motion photo keeps the video in a top-level `mpvd` box.

A video is recorded only where the file declares one, and where the bytes at that place start
like an MP4 (an `ftyp` box): a motion photo cut short by a copy is then still found, a stray
flag pointing nowhere is not.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from . import xmp
from .isobmff import boxes

CAMERA_NS = "http://ns.google.com/photos/1.0/camera/"
ITEM_NS = "http://ns.google.com/photos/1.0/container/item/"
SAMSUNG_VIDEO = b"MotionPhoto_Data"
_FLAG = re.compile(rb"(?:Camera:MotionPhoto|Camera:MicroVideo)\s*(?:=\s*[\"']1|>\s*1\s*<)")


def _mp4_at(data: bytes, offset: int) -> bool:
    return offset >= 0 and data[offset + 4 : offset + 8] == b"ftyp"


def _google(packet: bytes, size: int) -> dict[str, Any] | None:
    """The video the XMP declares: (offset, length) counted from the end of the file."""
    try:
        root = xmp.parse_xml(packet)
    except Exception:  # noqa: BLE001 - a damaged packet declares nothing
        return None
    flags: dict[str, str] = {}
    items: list[dict[str, str]] = []
    for element in root.iter():
        values = {**element.attrib, **{child.tag: (child.text or "").strip() for child in element}}
        for key, value in values.items():
            if key.startswith(f"{{{CAMERA_NS}}}"):
                flags[key.rsplit("}", 1)[1]] = value
        item = {k.rsplit("}", 1)[1]: v for k, v in values.items() if k.startswith(f"{{{ITEM_NS}}}")}
        if item:
            items.append(item)
    video = next((i for i in items if i.get("Semantic") == "MotionPhoto"), None)
    if flags.get("MotionPhoto") == "1" and video and str(video.get("Length", "")).isdigit():
        length = int(video["Length"])
        return {"kind": "google", "offset": size - length, "length": length, "mime": video.get("Mime") or "video/mp4"}
    if flags.get("MicroVideo") == "1" and str(flags.get("MicroVideoOffset", "")).isdigit():
        length = int(flags["MicroVideoOffset"])
        return {"kind": "microvideo", "offset": size - length, "length": length, "mime": "video/mp4"}
    return None


def samsung_trailer(data: bytes) -> dict[str, Any] | None:
    """The `MotionPhoto_Data` entry of a Samsung trailer: "SEFH", version, count, then
    entries of (reserved, type, distance back from SEFH, length); the trailer ends with its
    own length and "SEFT". Each data block starts with its name."""
    if len(data) < 20 or data[-4:] != b"SEFT":
        return None
    (directory,) = struct.unpack_from("<I", data, len(data) - 8)
    sefh = len(data) - 8 - directory
    if sefh < 0 or data[sefh : sefh + 4] != b"SEFH":
        return None
    (count,) = struct.unpack_from("<I", data, sefh + 8)
    for n in range(min(count, 64)):
        at = sefh + 12 + 12 * n
        if at + 12 > len(data) - 8:
            break
        _reserved, _kind, back, length = struct.unpack_from("<HHII", data, at)
        start = sefh - back
        if start < 0 or start + 8 > len(data):
            continue
        (name_length,) = struct.unpack_from("<I", data, start + 4)
        if data[start + 8 : start + 8 + name_length] == SAMSUNG_VIDEO:
            offset = start + 8 + name_length
            return {"kind": "samsung", "offset": offset, "length": length - 8 - name_length, "mime": "video/mp4"}
    return None


def _mpvd(data: bytes) -> dict[str, Any] | None:
    """A HEIC motion photo's top-level `mpvd` box (its payload is the MP4)."""
    for kind, start, end in boxes(data, 0, len(data), cut_off_ok=True):
        if kind == b"mpvd":
            return {"kind": "mpvd", "offset": start, "length": end - start, "mime": "video/mp4"}
    return None


def detect(data: bytes, mime: str | None) -> dict[str, Any] | None:
    """Where the video of a motion photo lies in `data` (the whole file), or None."""
    if not data or mime not in ("image/jpeg", "image/mpo", "image/heic", "image/heif"):
        return None
    found = _mpvd(data) if mime in ("image/heic", "image/heif") else None
    if found is None:
        packet = xmp.find_packet(data)
        if packet and _FLAG.search(packet):
            found = _google(packet, len(data))
    if found is None or not _mp4_at(data, found["offset"]):
        found = samsung_trailer(data)
    if found is None or not _mp4_at(data, found["offset"]):
        return None
    found["complete"] = found["offset"] + found["length"] <= len(data)
    return found
