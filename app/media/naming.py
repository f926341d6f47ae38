"""Names in the archive: `YYYY/YYYYMMDD_HHMMSS.ext` from the local capture time.

The name says exactly what is known, and nothing more:

    second   2019/20190615_143000.jpg
    minute   2019/20190615_1430.jpg            (no seconds were recorded)
    day      2019/20190615_IMG-WA0001.jpg      (date only: the original name instead of a
    month    2019/201906_scan_004.jpg           made-up time of day, which "000000" would be)
    year     2019/2019_scan_004.jpg
    undated  undated/IMG_1234.jpg               (original name; never a made-up date)

Companion files (a Live Photo's video, a RAW beside its JPEG, an edit, an .AAE or .xmp
sidecar) share their main file's name and differ only in what follows it:

    2019/20190615_143000.heic   2019/20190615_143000.mov   2019/20190615_143000.aae
    2019/20190615_143000.jpg    2019/20190615_143000.cr2   2019/20190615_143000.cr2.xmp
    2019/20190615_143000-edited.heic

Files that would get the same name are told apart by a suffix: their milliseconds when
the capture time has them (`20190615_143000_120.jpg`), else a counter (`_1`, `_2`). A set
takes one suffix for all its files (a free name for each of them), so a pair is never split. Who
gets the plain name and who a suffix depends only on the files themselves (sorted by
exact time, then content hash) and on names already taken in the archive — never on the
order files are processed — so a re-run or a resumed export names everything the same.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from ..vocab import Precision

UNDATED = "undated"
MAX_STEM_BYTES = 180  # room for a suffix, ".xmp" and the ".NAME.mptmp" temporary name within 255
# Characters FAT/exFAT/NTFS refuse (family archives often live on USB disks).
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


@dataclass(frozen=True)
class NameRequest:
    key: object  # whatever identifies the file to the caller
    ext: str  # lower case, without the dot
    local: datetime | None  # wall-clock capture time; None = undated
    precision: str | None
    original_name: str
    sha256: str
    # The set's other files: (key, what follows the shared name: ".mov", "-edited.heic", ".aae")
    companions: tuple[tuple[object, str], ...] = ()

    @property
    def tails(self) -> tuple[str, ...]:
        return (f".{self.ext}", *(tail for _key, tail in self.companions))


def companion_path(main_path: str, tail: str) -> str:
    """A companion's archive path beside its main file's: "2019/X_1.heic" -> "2019/X_1.mov"."""
    return main_path.rpartition(".")[0] + tail


# Extensions people's programs open, by the real type: the first is the one a copy gets, the
# others are kept when the original already uses them. A JPEG that carries an MPF index (most
# phone JPEGs: a depth map or a preview) is a JPEG: ".mpo" opens almost nowhere.
_TYPE_EXTENSIONS = {
    "image/jpeg": ("jpg", "jpeg", "jpe"),
    "image/mpo": ("jpg", "jpeg", "jpe"),
    "image/heic": ("heic", "heif"),
    "image/heif": ("heic", "heif"),
    "image/tiff": ("tif", "tiff"),
    "video/quicktime": ("mov", "qt"),
    "video/mp4": ("mp4",),
    "video/3gpp": ("3gp", "3gpp"),
}


def archive_ext(mime: str | None, ext: str | None, original_name: str) -> str:
    """The extension of a copy (lower case, no dot): the original's own when it names the
    real type (`IMG_1.JPEG` -> "jpeg"), else the one people's programs open for that type
    (`.mpo` JPEGs -> "jpg", HEIF stills -> "heic"); camcorder and raw extensions, which
    the import keeps as they are (`.mts`, `.mod`, `.nef`), stay."""
    stored = (ext or "bin").lower()
    names = _TYPE_EXTENSIONS.get(mime or "")
    if names is None:
        return stored
    own = original_name.rpartition(".")[2].lower() if "." in original_name else ""
    return own if own in names else names[0]


def clean_stem(name: str) -> str:
    """A file-name stem safe on every file system: no separators, control or reserved
    characters, no leading dot (a hidden file would vanish from view), not too long."""
    stem = PurePosixPath(name.replace("\\", "/")).name
    if "." in stem.lstrip("."):
        stem = stem[: stem.rfind(".")]
    stem = unicodedata.normalize("NFC", _FORBIDDEN.sub("_", stem)).strip(" .")
    while len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        stem = stem[:-1]
    return stem or "unnamed"


def base_name(req: NameRequest) -> tuple[str, str]:
    """(folder, stem) before any suffix."""
    if req.local is None:
        return UNDATED, clean_stem(req.original_name)
    t, p = req.local, Precision.of(req.precision)
    year = f"{t.year:04d}"
    if p == Precision.SECOND:
        return year, t.strftime("%Y%m%d_%H%M%S")
    if p == Precision.MINUTE:
        return year, t.strftime("%Y%m%d_%H%M")
    date = {Precision.MONTH: t.strftime("%Y%m"), Precision.YEAR: year}.get(p, t.strftime("%Y%m%d"))
    original = clean_stem(req.original_name)
    if original.startswith(date):  # "20190615_x" stays "20190615_x", not "20190615_20190615_x"
        return year, original
    return year, f"{date}_{original}"


def _order(req: NameRequest) -> tuple:
    exact = req.local.isoformat() if req.local else ""
    return (exact, req.original_name.casefold(), req.sha256)


def _millis(req: NameRequest) -> str | None:
    if req.local is None or Precision.of(req.precision) != Precision.SECOND or not req.local.microsecond:
        return None
    return f"{req.local.microsecond // 1000:03d}"


def assign(requests: Iterable[NameRequest], is_taken: Callable[[str], bool]) -> dict[object, str]:
    """Relative archive paths (posix) for every request, none of them taken.

    `is_taken(path)` says whether a relative path is already used in the archive (by an
    earlier export or by any other file); names are compared case-insensitively, as
    FAT/exFAT/NTFS and macOS disks do."""
    groups: dict[tuple[str, str, str], list[tuple[NameRequest, str]]] = {}
    for req in requests:
        folder, stem = base_name(req)
        groups.setdefault((folder, stem.casefold(), req.ext), []).append((req, stem))
    used: set[str] = set()
    result: dict[object, str] = {}

    def free(path: str) -> bool:
        return path.casefold() not in used and not is_taken(path)

    for (folder, _, _ext), members in sorted(groups.items(), key=lambda kv: kv[0]):
        members.sort(key=lambda member: _order(member[0]))
        for req, stem in members:
            candidates = [f"{folder}/{stem}"]
            if _millis(req):
                candidates.append(f"{folder}/{stem}_{_millis(req)}")
            base = next((c for c in candidates if all(free(c + tail) for tail in req.tails)), None)
            counter = 1
            while base is None:
                candidate = f"{folder}/{stem}_{counter}"
                base = candidate if all(free(candidate + tail) for tail in req.tails) else None
                counter += 1
            used.update((base + tail).casefold() for tail in req.tails)
            result[req.key] = base + req.tails[0]
            result.update((key, base + tail) for key, tail in req.companions)
    return result


def fits(path: str, req: NameRequest) -> bool:
    """Whether an archive path is a name `assign` could give this request: its base name,
    or the base name with a suffix (milliseconds, a counter). A copy already under such a
    name keeps it when the archive is brought up to date (names never shuffle)."""
    folder, stem = base_name(req)
    head, _, name = path.rpartition("/")
    if head != folder or not name.casefold().endswith(f".{req.ext}".casefold()):
        return False
    own = name[: -len(req.ext) - 1]
    if own.casefold() == stem.casefold():
        return True
    base, _, suffix = own.rpartition("_")
    return base.casefold() == stem.casefold() and suffix.isdigit()
