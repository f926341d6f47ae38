"""Apple's own markers, which pair the halves of a Live Photo and describe an edit:

- a still's maker note ("Apple iOS" + a big-endian IFD whose offsets count from the maker
  note's start) holds the content identifier in tag 0x0011 (MediaGroupUUID to ExifTool);
- the video half carries the same value as `com.apple.quicktime.content.identifier`
  (read by quicktime.py);
- an `.AAE` file is a property list describing the edit Photos made (not a capture time).

Readers only; pairing belongs to whoever groups companion files.
"""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any

from . import jpeg, tiff

MAKER_NOTE = b"Apple iOS\x00"
CONTENT_ID_TAG = 0x0011
SCAN_BYTES = 4 * 1024 * 1024  # the maker note sits in the EXIF block near the start


def content_identifier(data: bytes) -> str | None:
    """The Live Photo content identifier in a JPEG/HEIC still's Apple maker note, or None.

    In a JPEG the maker note is inside the EXIF segment, so only the segments in front of the
    picture data are searched (not megabytes of pixels); a HEIC's EXIF item may sit anywhere
    in the first SCAN_BYTES."""
    end = min(SCAN_BYTES, jpeg.metadata_end(data)) if data.startswith(jpeg.SOI) else SCAN_BYTES
    start = data.find(MAKER_NOTE, 0, end)
    if start < 0 or data[start + 12 : start + 14] not in (b"MM", b"II"):
        return None
    t = tiff.Tiff(data, start, ">" if data[start + 12 : start + 14] == b"MM" else "<")
    ifd, _ = tiff._read_ifd(t, 14, "Apple")  # noqa: SLF001 - the maker note is an IFD without a header
    return t.text(ifd.entries.get(CONTENT_ID_TAG)) if ifd else None


def aae_facts(path: str | Path) -> dict[str, Any] | None:
    """What an .AAE edit file says: the editing app, the format and when the edit was made."""
    try:
        with open(path, "rb") as fh:
            plist = plistlib.load(fh)
    except (OSError, plistlib.InvalidFileException, ValueError):
        return None
    if not isinstance(plist, dict):
        return None
    found = {
        "editor": plist.get("adjustmentEditorBundleID"),
        "format": plist.get("adjustmentFormatIdentifier"),
        "format_version": plist.get("adjustmentFormatVersion"),
        "edited": plist.get("adjustmentTimestamp"),
    }
    if hasattr(found["edited"], "isoformat"):
        found["edited"] = found["edited"].isoformat()
    return {k: v for k, v in found.items() if v is not None} or None
