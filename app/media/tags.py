"""Tags a person already gave, in folder names and in `{tag1,tag2}` file-name syntax."""

from __future__ import annotations

import re
from pathlib import PurePath

_BRACES = re.compile(r"\{([^{}]*)\}")
# Folder names that say where a file came from, not what it shows.
_GENERIC = {
    "dcim",
    "camera",
    "pictures",
    "photos",
    "images",
    "image",
    "img",
    "videos",
    "video",
    "movies",
    "download",
    "downloads",
    "screenshots",
    "whatsapp",
    "whatsapp images",
    "whatsapp video",
    "sent",
    "private",
    "media",
    "my pictures",
    "my photos",
    "camera roll",
    "camera uploads",
    "google photos",
    "takeout",
    "icloud photos",
    "export",
    "import",
    "upload",
    "uploads",
    "new folder",
    "misc",
    "other",
    "unsorted",
    "backup",
    "phone",
    "desktop",
    "documents",
    "tmp",
    "temp",
}
_DATE_PREFIX = re.compile(r"^(?:(?:19|20)\d{2}(?:[-_. ]\d{1,2}){0,2})[-_. ]*")
_CAMERA_FOLDER = re.compile(r"^\d{3}[A-Z_]{5}$|^\d{3}_\d{4}$|^\d+$", re.IGNORECASE)  # 100APPLE, 100_0101
MAX_TAG_LENGTH = 100


def normalize(tag: str) -> str | None:
    """One spelling per tag: trimmed, inner spaces collapsed, lower case; None if empty."""
    text = " ".join(tag.strip().split()).lower()
    return text[:MAX_TAG_LENGTH] or None


def from_filename(name: str) -> list[str]:
    """'beach {holiday, Anna}.jpg' -> ['holiday', 'anna']."""
    tags = []
    for group in _BRACES.findall(PurePath(name).stem):
        tags += [t for t in (normalize(part) for part in group.split(",")) if t]
    return list(dict.fromkeys(tags))


def from_folders(relative_dir: str) -> list[str]:
    """'Family/2019-06 Summer at the lake/DCIM' -> ['family', 'summer at the lake']."""
    tags = []
    for part in PurePath(relative_dir).parts:
        if part in ("/", ".", ".."):
            continue
        tags += from_filename(part + ".x")  # '{tag1,tag2}' works in folder names too
        text = _DATE_PREFIX.sub("", _BRACES.sub("", part)).strip(" -_.")
        if not text or _CAMERA_FOLDER.match(text) or text.lower() in _GENERIC:
            continue
        tag = normalize(text)
        if tag:
            tags.append(tag)
    return list(dict.fromkeys(tags))


def tags_for(name: str, relative_dir: str) -> dict[str, str]:
    """{tag: source} with source 'filename' or 'folder'."""
    found = {t: "folder" for t in from_folders(relative_dir)}
    found.update({t: "filename" for t in from_filename(name)})
    return found
