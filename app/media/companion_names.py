"""What a file's name says about the files it belongs with: the name its companions share, and
whether it is an edited version (pure; pipeline/companions.py pairs the files).

    IMG_1234.HEIC, IMG_1234.MOV, IMG_1234.AAE   one stem: img_1234
    IMG_E1234.heic                              Apple's edit of IMG_1234
    PXL_20230101_101010123-edited.jpg           Google Photos' edit (any export language)
    IMG_1234(1).jpg                             a Takeout copy of IMG_1234.jpg (an edit or a copy)
    IMG_1234.CR2.xmp                            darktable's sidecar of exactly IMG_1234.CR2
    IMG_1234.xmp                                Lightroom's (or digiKam's) sidecar of IMG_1234.*
    IMG_O1234.AAE                               Apple's adjustments of the original IMG_1234
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sidecars import EDITED

APPLE_EDIT = re.compile(r"^(img_)e(\d{4})$")
APPLE_ORIGINAL = re.compile(r"^(img_)o(\d{4})$")  # only .AAE files are named so
TAKEOUT_COPY = re.compile(r"^(.+?) ?\((\d{1,3})\)$")


@dataclass(frozen=True)
class NameKey:
    stem: str  # lower case, what the set's files share ("img_1234")
    edit: str | None  # apple | google | copy: how the name marks an edited version; None: not one


def split(name: str) -> tuple[str, str]:
    """('IMG_1234', 'heic') from 'IMG_1234.HEIC'; a name without a dot has no extension."""
    stem, dot, ext = name.rpartition(".")
    return (stem, ext.lower()) if dot and stem else (name, "")


def name_key(name: str) -> NameKey:
    stem = split(name)[0].lower()
    m = APPLE_EDIT.match(stem)
    if m:
        return NameKey(m[1] + m[2], "apple")
    for marker in EDITED:
        if stem.endswith(marker) and len(stem) > len(marker):
            return NameKey(stem[: -len(marker)], "google")
    m = TAKEOUT_COPY.match(stem)
    if m:
        return NameKey(m[1], "copy")
    return NameKey(stem, None)


def family_key(name: str) -> str:
    """What every file a file may travel with has in common, to find them in a large library
    (stored as `file.companion_key`): the name before its first dot, lower case, without the
    marks of an edit, a copy or Apple's original. IMG_1234.HEIC, IMG_1234.MOV, IMG_E1234.heic,
    IMG_1234(1).jpg, IMG_O1234.AAE and IMG_1234.CR2.xmp all give "img_1234".

    Coarser than the name stem on purpose: two files that may belong together (a shared stem,
    a sidecar and the file it names) always have the same key; files with the same key are
    only candidates."""
    key = name_key(name.lower().split(".", 1)[0]).stem
    m = APPLE_ORIGINAL.match(key)
    return m[1] + m[2] if m else key


def content_id(meta: dict) -> str | None:
    """A Live Photo half's content identifier, from what File.meta holds: the still's own, or
    its video's (stored as `file.content_id`)."""
    return meta.get("content_identifier") or (meta.get("video") or {}).get("content_identifier")


@dataclass(frozen=True)
class SidecarTarget:
    """Which file a sidecar describes: exactly the file called `name` (darktable's
    IMG_1.CR2.xmp), else any file whose stem is `stem` (IMG_1.xmp, IMG_1.AAE; also
    "my.photo.xmp" for "my.photo.jpg")."""

    name: str | None  # lower case; None: the sidecar's name holds no extension of its own
    stem: str  # lower case


def sidecar_target(name: str) -> SidecarTarget:
    stem, ext = split(name)
    lowered = stem.lower()
    if ext == "aae":
        m = APPLE_ORIGINAL.match(lowered)
        return SidecarTarget(None, m[1] + m[2] if m else lowered)
    return SidecarTarget(lowered if split(stem)[1] else None, lowered)
