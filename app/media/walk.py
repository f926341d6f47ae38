"""Walking a folder to import, whatever is in it. Pure: paths in, entries out.

Names are bytes on Linux; Python hands undecodable bytes over as surrogate escapes, and they
stay that way in `Entry.path` (the path opens the file). Every entry that is not a file to
analyze comes with a status and a sentence: a link that leads out of the folder or back to
itself, a folder MediaParser may not read or whose path is too long for the system, a named
pipe, a socket, a device, a hidden file or folder. The walk never follows a link to a folder
(so it cannot loop) and never opens anything but folders (a pipe would block it).

Hidden things: what computers leave behind by themselves (.DS_Store, ._ AppleDouble files,
Thumbs.db, thumbnail caches such as .thumbnails and a NAS's @eaDir) are left out quietly:
they are not anybody's photos, and hundreds of lines about them would hide the problems
that matter. Anything else hidden (a dot in front of its name) gets one line, because it
may hold real photos a person hid on purpose; a trash folder gets one line too (its files
were deleted, so they are not brought back)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from ..vocab import FileStatus

PATH_MAX = os.pathconf("/", "PC_PATH_MAX") if hasattr(os, "pathconf") else 4096

# Left out without a word (compared in lower case).
JUNK_FILES = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".picasa.ini", "icon\r", ".localized"})
JUNK_FOLDERS = frozenset(
    {
        ".thumbnails", ".thumbs", "@eadir", ".spotlight-v100", ".fseventsd", ".temporaryitems",
        ".documentrevisions-v100", ".appledouble", "__macosx", ".caches", ".@__thumb",
    }
)  # fmt: skip
OWN_TRASH = ".mediaparser-trash"  # pipeline/trash.py: originals moved aside after a verified export
TRASH_FOLDERS = frozenset({".trash", ".trashes", "$recycle.bin", "#recycle", ".recycle", ".recycle.bin"})


@dataclass(frozen=True)
class Entry:
    path: str  # absolute; undecodable bytes as surrogate escapes
    folder: bool = False
    status: FileStatus | None = None  # None: a file to analyze; else SKIPPED or ERROR, with `reason`
    reason: str | None = None
    size: int | None = None
    mtime: float | None = None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


JUNK = Entry("", status=FileStatus.SKIPPED, reason="left out quietly")


def _is_trash(name: str) -> bool:
    lower = name.lower()
    return lower in TRASH_FOLDERS or lower.startswith(".trash-")


def _hidden_folder(path: str, name: str) -> Entry | None:
    """None to walk into it; an Entry to report instead; JUNK to leave it out."""
    if name == OWN_TRASH:
        return Entry(
            path,
            True,
            FileStatus.SKIPPED,
            "MediaParser's own trash (originals moved there after an export): not imported",
        )
    if _is_trash(name):
        return Entry(path, True, FileStatus.SKIPPED, "A trash folder: its files were deleted, so they are not imported")
    if name.lower() in JUNK_FOLDERS:
        return JUNK
    if name.startswith("."):
        return Entry(
            path,
            True,
            FileStatus.SKIPPED,
            "A hidden folder (its name starts with a dot): not imported. "
            "Rename it without the dot to import what is in it",
        )
    return None


def _folder_problem(path: str, exc: OSError) -> Entry:
    if exc.errno == errno.ENAMETOOLONG or len(os.fsencode(path)) >= PATH_MAX:
        reason = (
            f"This folder's path is longer than the system allows ({PATH_MAX:,} bytes), so its files cannot "
            "be read. Move the folder closer to the top and import it again"
        )
    elif isinstance(exc, PermissionError):
        reason = "MediaParser may not read this folder (permission denied), so its files were not imported"
    elif exc.errno == errno.ELOOP:
        reason = "A link that leads back to itself (a loop): not followed"
    else:
        reason = f"This folder cannot be read ({exc.strerror or exc}), so its files were not imported"
    return Entry(path, True, FileStatus.ERROR, reason)


_SPECIAL = (
    (stat.S_ISFIFO, "A named pipe (FIFO), not a file: skipped"),
    (stat.S_ISSOCK, "A socket, not a file: skipped"),
    (stat.S_ISCHR, "A device, not a file: skipped"),
    (stat.S_ISBLK, "A device, not a file: skipped"),
)


def _special(mode: int) -> str | None:
    for test, reason in _SPECIAL:
        if test(mode):
            return reason
    return None if stat.S_ISREG(mode) else "Not a regular file: skipped"


def _link(path: str, root: str) -> Entry:
    """A symbolic link found in the folder: followed only to a file inside the folder."""
    try:
        target = os.path.realpath(path, strict=True)
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Entry(path, False, FileStatus.SKIPPED, "A link that leads back to itself (a loop): not followed")
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return Entry(path, False, FileStatus.SKIPPED, "A link to something that does not exist: not followed")
        return Entry(path, False, FileStatus.ERROR, f"This link cannot be followed ({exc.strerror or exc})")
    if stat.S_ISDIR(st.st_mode):
        return Entry(
            path, True, FileStatus.SKIPPED, "A link to a folder: not followed (import that folder itself to add it)"
        )
    if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
        return Entry(path, False, FileStatus.SKIPPED, "Link to a file outside the imported folder: not followed")
    special = _special(st.st_mode)
    if special:
        return Entry(path, False, FileStatus.SKIPPED, special)
    return Entry(path, size=st.st_size, mtime=st.st_mtime)


def _file(entry: os.DirEntry, root: str) -> Entry | None:
    name, path = entry.name, entry.path
    if name.lower() in JUNK_FILES or name.startswith("._"):
        return None
    try:
        if entry.is_symlink():
            return _link(path, root)
        st = entry.stat(follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG or len(os.fsencode(path)) >= PATH_MAX:
            reason = f"This file's path is longer than the system allows ({PATH_MAX:,} bytes), so it cannot be read"
        else:
            reason = f"The file cannot be read ({exc.strerror or exc})"
        return Entry(path, False, FileStatus.ERROR, reason)
    special = _special(st.st_mode)
    if special:
        return Entry(path, False, FileStatus.SKIPPED, special)
    if name.startswith("."):
        return Entry(
            path,
            False,
            FileStatus.SKIPPED,
            "A hidden file (its name starts with a dot): not imported. Rename it without the dot to import it",
        )
    return Entry(path, size=st.st_size, mtime=st.st_mtime)


def _scan(folder: str) -> tuple[list[os.DirEntry], list[os.DirEntry]] | OSError:
    """(files, folders) of one folder, sorted by name; or the error that kept it closed."""
    files, folders = [], []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                try:
                    is_folder = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_folder = False
                (folders if is_folder else files).append(entry)
    except OSError as exc:
        return exc
    return sorted(files, key=lambda e: e.name), sorted(folders, key=lambda e: e.name)


def walk(root: str | os.PathLike) -> Iterator[Entry]:
    """Every entry under `root`, depth first, sorted by name within each folder (a stable
    order): files to analyze, and one Entry with a reason for each thing that is not."""
    root = os.path.abspath(os.fspath(root))
    real_root = os.path.realpath(root)
    stack: list[str | Entry] = [root]  # folders to walk, and folder lines to give in their turn
    while stack:
        item = stack.pop()
        if isinstance(item, Entry):
            yield item
            continue
        found = _scan(item)
        if isinstance(found, OSError):
            yield _folder_problem(item, found)
            continue
        files, folders = found
        for entry in files:
            line = _file(entry, real_root)
            if line is not None:
                yield line
        for entry in reversed(folders):
            hidden = _hidden_folder(entry.path, entry.name)
            if hidden is None:
                stack.append(entry.path)
            elif hidden is not JUNK:
                stack.append(hidden)
