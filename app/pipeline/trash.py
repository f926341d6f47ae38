"""Optional clean-up after a verified export: exported originals move into a trash folder
— never deleted — and a command puts them back.

Where things go: `<import folder>/.mediaparser-trash/export-<job>/<same relative path>`.
The trash sits on the same disk as the originals, so a move is a rename: instant, atomic,
no copy and no unlink. Each trash folder holds a `manifest.jsonl` (one line per moved
file, written before the move), and OUTPUT/.mediaparser/trash.jsonl lists the trash
folders an archive's clean-ups made, so `flask export-restore OUTPUT` finds them all.

A file is moved only when
  - it came from a folder import (uploads live in MediaParser's content-addressed store,
    which rows, thumbnails and re-processing depend on; the person still has the file they
    uploaded, so there is nothing to tidy up there),
  - its exact bytes are in the archive: the archive copy still hashes to what the
    manifest recorded, and the original still hashes to what was imported,
  - its import folder is not one of MEDIAPARSER_IMPORT_ROOTS, which MediaParser treats as
    read-only unless the `cleanup_import_roots` setting allows it,
  - the move can be a rename (same disk, folder writable).
Everything else is left where it is, with the reason recorded.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from pathlib import Path

from sqlalchemy import select

from ..media import archive_copy
from ..models import File, JobItem, db, utcnow
from ..vocab import FileSource, FileStatus, JobControl
from . import jobs
from .export_plan import SETTING_CLEANUP_IMPORT_ROOTS, append_jsonl, manifest_index, meta_dir, read_jsonl, setting

log = logging.getLogger(__name__)

TRASH_DIR = ".mediaparser-trash"
TRASH_MANIFEST = "manifest.jsonl"
TRASH_INDEX = "trash.jsonl"
BATCH_SECONDS = 0.5


def _trash_paths(index: Path) -> list[str]:
    """The trash folders an archive's index lists (damaged lines left out)."""
    return [r["trash"] for r in read_jsonl(index) if isinstance(r.get("trash"), str)]


def _import_root(row: File) -> Path:
    params = (row.job.params if row.job else None) or {}
    path = Path(row.path)
    for key in ("root", "path"):
        if params.get(key) and path.is_relative_to(params[key]):
            return Path(params[key])
    return path.parent


class _Cleaner:
    def __init__(self, ctx: jobs.JobContext, output: Path):
        self.ctx = ctx
        self.output = output
        self.index = manifest_index(output)
        self.settings = ctx.settings
        self.allow_roots = setting(SETTING_CLEANUP_IMPORT_ROOTS)
        self.archive_ok: dict[str, bool] = {}
        self.registered: set[Path] = {Path(p) for p in _trash_paths(meta_dir(output) / TRASH_INDEX)}

    def _archive_copy_intact(self, sha: str) -> bool:
        if sha not in self.archive_ok:
            record = self.index[sha]
            path = self.output / record["output"]
            try:
                self.archive_ok[sha] = archive_copy.sha256_of(path)[0] == record.get("output_sha256")
            except OSError:
                self.archive_ok[sha] = False
        return self.archive_ok[sha]

    def _trash_dir(self, root: Path) -> Path:
        folder = self._trash_dir_path(root)
        if folder not in self.registered:
            folder.mkdir(parents=True, exist_ok=True)
            append_jsonl(
                meta_dir(self.output) / TRASH_INDEX,
                [{"trash": str(folder), "job": self.ctx.job.id, "created_at": utcnow().isoformat(timespec="seconds")}],
            )
            self.registered.add(folder)
        return folder

    def handle(self, row: File) -> dict:
        """Move one original to the trash, or say why it stays."""
        if row.source != FileSource.FOLDER:
            return {"left": "uploaded file: MediaParser's stored copy is kept"}
        if (
            row.status not in (FileStatus.DONE, FileStatus.DUPLICATE, FileStatus.COMPANION)
            or row.sha256 not in self.index
        ):
            return {"left": "not in the archive"}
        if not self._archive_copy_intact(row.sha256):
            return {"left": f"the archive copy {self.index[row.sha256]['output']} is missing or changed"}
        source = Path(row.path)
        root = _import_root(row)
        if not self.allow_roots and any(source.is_relative_to(r) for r in self.settings.import_roots):
            return {"left": "in an import folder MediaParser treats as read-only (a setting allows clean-up there)"}
        trash = self._trash_dir_path(root) / source.relative_to(root)
        if not source.exists():
            if trash.exists():
                return {"trash": str(trash)}  # moved by a run that was interrupted before recording it
            return {"left": "the original is no longer there"}
        if not os.access(source.parent, os.W_OK):
            return {"left": "its folder is read-only"}
        try:
            sha, size = archive_copy.sha256_of(source)
        except OSError as exc:
            return {"left": f"cannot be read ({exc.strerror or exc})"}
        if sha != row.sha256:
            return {"left": "the original changed since it was imported"}
        if trash.exists():
            return {"left": f"{trash} already exists"}
        try:
            folder = self._trash_dir(root)
            trash.parent.mkdir(parents=True, exist_ok=True)
            st = source.stat()
            # the line comes first: a move without a line could not be undone by the command
            append_jsonl(
                folder / TRASH_MANIFEST,
                [
                    {
                        "original": str(source),
                        "trash": str(trash),
                        "sha256": sha,
                        "size": size,
                        "mtime_ns": st.st_mtime_ns,
                        "exported_as": self.index[row.sha256]["output"],
                        "archive": str(self.output),
                        "file_id": row.id,
                        "moved_at": utcnow().isoformat(timespec="seconds"),
                    }
                ],
            )
            os.rename(source, trash)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return {"left": "its import folder spans several disks: a move would be a copy"}
            return {"left": f"cannot be moved ({exc.strerror or exc})"}
        archive_copy.fsync_dir(source.parent)
        archive_copy.fsync_dir(trash.parent)
        return {"trash": str(trash)}

    def _trash_dir_path(self, root: Path) -> Path:
        return root / TRASH_DIR / f"export-{self.ctx.job.id}"


def cleanup_phase(ctx: jobs.JobContext, output: Path) -> str:
    cleaner = _Cleaner(ctx, output)
    last_id, started = 0, time.monotonic()
    while True:
        items = db.session.execute(
            select(JobItem, File)
            .join(File, File.id == JobItem.file_id)
            .where(JobItem.job_id == ctx.job.id, JobItem.id > last_id)
            .order_by(JobItem.id)
            .limit(200)
        ).all()
        if not items:
            break
        for job_item, row in items:
            last_id = job_item.id
            if "cleanup" in (job_item.result or {}):
                continue
            job_item.result = {**(job_item.result or {}), "cleanup": cleaner.handle(row)}
            if time.monotonic() - started >= BATCH_SECONDS:
                db.session.commit()
                started = time.monotonic()
                control = ctx.checkpoint()
                if control != JobControl.RUN:
                    return control
        db.session.commit()
    return JobControl.RUN


def cleanup_counts(job_id: int) -> dict[str, int]:
    moved, left = 0, 0
    for (result,) in db.session.execute(select(JobItem.result).where(JobItem.job_id == job_id)):
        outcome = (result or {}).get("cleanup") or {}
        moved += "trash" in outcome
        left += "left" in outcome
    return {"moved": moved, "left": left}


# --- putting things back ---------------------------------------------------------------------


def trash_folders(path: Path) -> list[Path]:
    """The trash folders behind `path`: an archive (all its clean-ups) or one trash folder."""
    path = path.expanduser().resolve()
    if (path / TRASH_MANIFEST).exists():
        return [path]
    index = meta_dir(path) / TRASH_INDEX
    if index.exists():
        return [Path(p) for p in _trash_paths(index)]
    if (path / TRASH_DIR).is_dir():  # an import folder: every clean-up that used it
        return sorted(p for p in (path / TRASH_DIR).iterdir() if (p / TRASH_MANIFEST).exists())
    raise FileNotFoundError(f"{path} is neither an archive with clean-ups nor a MediaParser trash folder")


def restore(path: Path) -> dict[str, list[str]]:
    """Move trashed originals back where they were. Idempotent: what is already back, or
    whose place is taken by another file, is reported and left alone."""
    report: dict[str, list[str]] = {"restored": [], "already_back": [], "left": []}
    for folder in trash_folders(path):
        for record in read_jsonl(folder / TRASH_MANIFEST):
            outcome, text = _restore_one(record, folder)
            report[outcome].append(text)
        _remove_empty_dirs(folder)
    return report


def _restore_one(record: dict, folder: Path) -> tuple[str, str]:
    """("restored" | "already_back" | "left", what to tell people) for one manifest line."""
    if not (isinstance(record.get("original"), str) and isinstance(record.get("trash"), str)):
        return "left", f"{folder / TRASH_MANIFEST}: a line without the original's place (damaged): skipped"
    original, trash = Path(record["original"]), Path(record["trash"])
    if not os.path.lexists(trash):
        if os.path.lexists(original):
            return "already_back", str(original)
        return "left", f"{original}: not in the trash any more"
    if os.path.lexists(original):
        if _same_file(original, trash):  # a restore stopped between its two steps
            trash.unlink()
            return "already_back", str(original)
        return "left", f"{original}: another file is there now; the trashed one stays at {trash}"
    if trash.stat().st_size != record.get("size"):
        return "left", f"{trash}: its size changed in the trash; left there"
    try:
        original.parent.mkdir(parents=True, exist_ok=True)
        _move_back(trash, original)
    except FileExistsError:
        return "left", f"{original}: another file appeared there; the trashed one stays at {trash}"
    except OSError as exc:
        return "left", f"{original}: cannot be moved back ({exc.strerror or exc})"
    archive_copy.fsync_dir(original.parent)
    return "restored", str(original)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _move_back(trash: Path, original: Path) -> None:
    """Rename without ever replacing a file that appeared at `original` meanwhile: a hard
    link fails if the name exists; then the trash name is removed."""
    try:
        os.link(trash, original, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        # file systems without hard links (FAT, exFAT, some network shares)
        if os.path.lexists(original):
            raise FileExistsError(errno.EEXIST, "exists", str(original)) from None
        os.rename(trash, original)
        return
    trash.unlink()


def _remove_empty_dirs(folder: Path) -> None:
    """Empty folders the trash left behind (files are never removed here)."""
    for dirpath, _dirnames, _filenames in sorted(os.walk(folder), key=lambda t: -len(t[0])):
        if Path(dirpath) != folder:
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)  # only succeeds on an empty folder
