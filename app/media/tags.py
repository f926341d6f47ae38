"""Tags a person already gave, in folder names and in `{tag1,tag2}` file-name syntax.

A tag keeps the case people wrote ("Anna", "Summer at the lake"); two spellings that differ
only in case are one tag (models.tag_key). Folder names that only say where files were kept
("DCIM", "Camera Roll", "Phone backup 2020", "WhatsApp Images", "Old laptop export") are not
tags: a name is generic when it is in _GENERIC, or when every word of it (dates left out) is
one of _GENERIC_WORDS."""

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
# Words that name a device, an app or a copy, never an event, a place or a person.
_GENERIC_WORDS = {
    "dcim", "camera", "cameras", "roll", "uploads", "upload", "backup", "backups", "back", "up", "export",
    "exports", "exported", "import", "imported", "old", "new", "my", "our", "phone", "phones", "handy",
    "iphone", "ipad", "android", "galaxy", "pixel", "samsung", "laptop", "computer", "pc", "mac", "images",
    "image", "pictures", "picture", "photos", "photo", "fotos", "bilder", "videos", "video", "movies",
    "whatsapp", "telegram", "signal", "media", "sent", "received", "download", "downloads", "sd", "card",
    "cards", "memory", "copy", "copies", "kopie", "sync", "synced", "google", "icloud", "takeout", "onedrive",
    "dropbox", "screenshots", "screenshot", "files", "folder", "misc", "stuff", "other", "unsorted", "sorted",
    "temp", "tmp", "alte", "alter", "altes", "neue", "sicherung", "from", "of", "the", "and", "all", "dump",
    "transfer", "transfers", "archive", "archiv", "documents", "desktop", "private", "shared", "library",
}  # fmt: skip
_DATE_WORD = re.compile(r"^(?:(?:19|20)\d{2}(?:[-_.]\d{1,2}){0,2}|\d{1,2}|\(\d+\))$")
_DATE_PREFIX = re.compile(r"^(?:(?:19|20)\d{2}(?:[-_. ]\d{1,2}){0,2})[-_. ]*")
_CAMERA_FOLDER = re.compile(r"^\d{3}[A-Z_]{5}$|^\d{3}_\d{4}$|^\d+$", re.IGNORECASE)  # 100APPLE, 100_0101
MAX_TAG_LENGTH = 100


def normalize(tag: str) -> str | None:
    """A tag as people wrote it: trimmed, inner spaces collapsed, case kept; None if empty."""
    text = " ".join(str(tag).strip().split())
    return text[:MAX_TAG_LENGTH] or None


def key(tag: str) -> str:
    """What makes two spellings one tag: the same words whatever their case."""
    return " ".join(str(tag).split()).lower()


def split(text: str) -> list[str]:
    """'Anna, Summer at the lake' -> ['Anna', 'Summer at the lake']: a comma separates tags."""
    return [t for t in (normalize(part) for part in str(text).split(",")) if t]


def unique(tags: list[str]) -> list[str]:
    """The first spelling of each tag, in order."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(key(tag), tag)
    return list(seen.values())


def from_filename(name: str) -> list[str]:
    """'beach {Holiday, Anna}.jpg' -> ['Holiday', 'Anna']."""
    tags = []
    for group in _BRACES.findall(PurePath(name).stem):
        tags += split(group)
    return unique(tags)


def is_generic_folder(name: str) -> bool:
    """A folder name that says where files were kept, not what they show."""
    text = _DATE_PREFIX.sub("", _BRACES.sub("", name)).strip(" -_.")
    if not text or _CAMERA_FOLDER.match(text) or text.lower() in _GENERIC:
        return True
    words = [w for w in re.split(r"[\s_\-.,'’&+]+", text.lower()) if w]
    return all(w in _GENERIC_WORDS or _DATE_WORD.match(w) for w in words)


def from_folders(relative_dir: str) -> list[str]:
    """'Family/2019-06 Summer at the lake/DCIM' -> ['Family', 'Summer at the lake']."""
    tags = []
    for part in PurePath(relative_dir).parts:
        if part in ("/", ".", ".."):
            continue
        tags += from_filename(part + ".x")  # '{tag1,tag2}' works in folder names too
        if is_generic_folder(part):
            continue
        tag = normalize(_DATE_PREFIX.sub("", _BRACES.sub("", part)).strip(" -_."))
        if tag:
            tags.append(tag)
    return unique(tags)


def tags_for(name: str, relative_dir: str) -> dict[str, str]:
    """{tag: source} with source 'filename' or 'folder'."""
    found = {t: "folder" for t in from_folders(relative_dir)}
    for tag in from_filename(name):
        found.pop(next((t for t in found if key(t) == key(tag)), tag), None)
        found[tag] = "filename"
    return found
