"""The export job: copy the library into a clean, dated archive — verified, idempotent,
resumable; originals are only ever read.

Phases (stored on the job, so a resumed job continues where it stopped):
  plan     decide every file's fate and name (see `build_plan`), one JobItem per file
  copy     write each pending file (archive_copy: temporary name, fsync, verify, rename),
           in batches: rename -> fsync folders -> manifest lines -> commit
  cleanup  optional: move exported originals to a trash folder (trash.py)

What was exported is recorded in OUTPUT/.mediaparser/manifest.jsonl, one JSON object per
file; it is what makes a re-run skip what is already there. A batch records its intent
(final name, sha256 of the copy) in the database before renaming, so a copy renamed by a
worker that was then killed is recognised — by its hash — and adopted, never duplicated.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ..media import archive_copy, naming
from ..media.metadata_writer import Stamp, open_writer
from ..models import (
    FINISHED_JOB_STATES,
    AppSetting,
    File,
    FileStatus,
    FileTag,
    ItemStatus,
    Job,
    JobItem,
    JobKind,
    Tag,
    db,
    insert_ignore,
    utcnow,
)
from . import jobs

log = logging.getLogger(__name__)

META_DIR = ".mediaparser"
MANIFEST = "manifest.jsonl"
LOCK_FILE = "lock"
BATCH_SECONDS = 0.5
BATCH_FILES = 64
BATCH_BYTES = 512 * 1024 * 1024
OVERHEAD_PER_FILE = 16 * 1024  # sidecar, grown metadata, manifest line: a generous estimate
SPACE_MARGIN = 64 * 1024 * 1024  # never plan to fill a disk to the last byte
MAX_LISTED = 50  # conflicts kept in a job's summary (the dry run lists them all)

# AppSetting keys (people change them on the settings page).
SETTING_ONLY_REVIEWED = "export_only_reviewed"  # bool: files still needing review wait
SETTING_CLEANUP_IMPORT_ROOTS = "cleanup_import_roots"  # bool: clean-up may move files out of import roots

CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2, "none": 3}

# Why a file is not exported (codes for pages and tests; messages are for people).
SKIP_REASONS = {
    "already_exported": "already in the archive",
    "same_content": "same content as another file (exported once)",
    "discarded": "discarded in duplicate review",
    "waiting_review": "waiting for review",
    "unreadable": "could not be read when imported",
    "not_imported": "not imported (not a photo/video, or the import did not get to it)",
    "cancelled": "export cancelled before this file",
}


class ExportRefused(ValueError):
    """An export that cannot start; the message says why."""


def app_setting(key: str, default: Any = None) -> Any:
    row = db.session.get(AppSetting, key)
    return default if row is None or row.value is None else row.value


# --- where the archive goes ---------------------------------------------------------------


def check_output(path: str | Path, settings) -> Path:
    """The archive folder, resolved; refuses places an archive must not go."""
    output = Path(path).expanduser().resolve()
    if output == Path(output.anchor):
        raise ExportRefused("The archive cannot be the root of a disk; choose a folder")
    if output.exists() and not output.is_dir():
        raise ExportRefused(f"{output} is a file, not a folder")
    storage, data = Path(settings.storage_dir).resolve(), Path(settings.instance_dir).resolve()
    if output == storage or output.is_relative_to(storage):
        raise ExportRefused(f"The archive cannot be inside MediaParser's storage ({storage})")
    for inner, what in ((storage, "MediaParser's storage"), (data, "MediaParser's data folder")):
        if inner.is_relative_to(output):
            raise ExportRefused(
                f"The archive cannot be a folder that holds {what} ({inner}); choose a folder of its own"
            )
    return output


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def meta_dir(output: Path) -> Path:
    return output / META_DIR


# --- the manifest -------------------------------------------------------------------------


def read_manifest(output: Path) -> list[dict]:
    """Every manifest record, oldest first; a line cut short by a crash is ignored."""
    path = meta_dir(output) / MANIFEST
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("%s line %d is not complete JSON (cut short by a crash?): ignored", path, number)
    return records


def manifest_index(output: Path) -> dict[str, dict]:
    """sha256 of the original -> its latest manifest record."""
    return {r["sha256"]: r for r in read_manifest(output) if r.get("sha256")}


def append_manifest(output: Path, records: list[dict]) -> None:
    if not records:
        return
    path = meta_dir(output) / MANIFEST
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":  # a line cut short by a full disk: start a fresh one
                text = "\n" + text
        fh.write(text.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


@contextmanager
def output_lock(output: Path, job_id: int):
    """One export at a time writes into an archive folder (an OS lock: a killed worker's
    lock goes away with it)."""
    folder = meta_dir(output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise jobs.JobError(f"Cannot create the archive folder {output}: {exc.strerror or exc}") from None
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise jobs.JobError(f"Another export is writing into {output} right now") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"job {job_id} pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


# --- the plan -----------------------------------------------------------------------------


@dataclass
class PlannedFile:
    file_id: int
    source: str  # path read (the original, or the stored upload)
    display: str  # the name and folder people know it by
    sha256: str | None
    size: int
    mime: str | None
    action: str  # export | skip
    reason: str | None = None  # skip code (SKIP_REASONS)
    message: str | None = None  # for people
    target: str | None = None  # relative to the archive (posix)
    method: str | None = None  # embed | sidecar | copy
    local: str | None = None
    offset: int | None = None
    precision: str | None = None
    utc: str | None = None
    time_source: str | None = None
    confidence: str | None = None
    tags: list[str] = field(default_factory=list)
    alternates: list[str] = field(default_factory=list)  # other paths with the same bytes
    also: list[str] = field(default_factory=list)  # other names of the same picture (for the manifest)

    def stamp(self) -> Stamp:
        local = datetime.fromisoformat(self.local) if self.local else None
        return Stamp(local=local, offset=self.offset, precision=self.precision, tags=tuple(self.tags))

    @property
    def sidecar(self) -> str | None:
        return f"{self.target}{archive_copy.SIDECAR_SUFFIX}" if self.method == "sidecar" and self.target else None

    @classmethod
    def from_dict(cls, data: dict) -> PlannedFile:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Plan:
    output: Path
    files: list[PlannedFile]
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bytes_needed: int = 0
    bytes_free: int = 0

    @property
    def to_export(self) -> list[PlannedFile]:
        return [f for f in self.files if f.action == "export"]

    @property
    def enough_space(self) -> bool:
        return self.bytes_needed + SPACE_MARGIN <= self.bytes_free

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for f in self.files:
            counts[f.action if f.action == "export" else f.reason] += 1
        return dict(counts)

    def summary(self) -> dict:
        methods: dict[str, int] = defaultdict(int)
        for f in self.to_export:
            methods[f.method] += 1
        return {
            "output": str(self.output),
            "counts": self.counts(),
            "methods": dict(methods),
            "undated": sum(1 for f in self.to_export if f.local is None),
            "bytes_needed": self.bytes_needed,
            "bytes_free": self.bytes_free,
            "enough_space": self.enough_space,
            "conflicts": self.conflicts[:MAX_LISTED],
            "conflict_count": len(self.conflicts),
            "warnings": self.warnings,
        }


def _tags_by_file() -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for file_id, name in db.session.execute(select(FileTag.file_id, Tag.name).join(Tag, Tag.id == FileTag.tag_id)):
        found[file_id].append(name)
    return found


def _representative_key(row) -> tuple:
    """Which copy of identical bytes speaks for them: a person's decision first, then the
    most confident date, then the original over later copies."""
    return (
        not row.time_decided,
        CONFIDENCE_RANK.get(row.confidence, 3),
        row.status != FileStatus.DONE,
        row.id,
    )


def _display(row) -> str:
    return f"{row.relative_dir}/{row.original_name}" if row.relative_dir else row.original_name


def _is_reviewed(row) -> bool:
    return bool(row.time_decided or not row.needs_review)


class _DiskNames:
    """Which archive names are taken on disk, case-insensitively (one listing per folder)."""

    def __init__(self, output: Path):
        self.output = output
        self.listings: dict[str, set[str]] = {}

    def names(self, folder: str) -> set[str]:
        if folder not in self.listings:
            try:
                self.listings[folder] = {n.casefold() for n in os.listdir(self.output / folder)}
            except (FileNotFoundError, NotADirectoryError):
                self.listings[folder] = set()
        return self.listings[folder]

    def taken(self, path: str) -> bool:
        folder, _, name = path.rpartition("/")
        names = self.names(folder)
        return name.casefold() in names or (name + archive_copy.SIDECAR_SUFFIX).casefold() in names


def _columns():
    return (
        File.id,
        File.status,
        File.path,
        File.original_name,
        File.relative_dir,
        File.size,
        File.sha256,
        File.mime,
        File.ext,
        File.taken_at,
        File.taken_local,
        File.taken_offset,
        File.taken_precision,
        File.taken_source,
        File.confidence,
        File.needs_review,
        File.time_decided,
        File.discarded,
        File.error,
    )


def build_plan(output: Path, settings) -> Plan:
    """What an export into `output` would do, file by file. Reads the database, the
    manifest and folder listings; writes nothing (this is also the dry run)."""
    only_reviewed = bool(app_setting(SETTING_ONLY_REVIEWED, False))
    rows = db.session.execute(select(*_columns()).order_by(File.id)).all()
    tags = _tags_by_file()
    index = manifest_index(output)
    plan = Plan(output=output, files=[])
    disk = _DiskNames(output)

    def skip(row, reason: str, message: str) -> None:
        plan.files.append(
            PlannedFile(row.id, row.path, _display(row), row.sha256, row.size or 0, row.mime, "skip", reason, message)
        )

    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        if row.status in (FileStatus.DONE, FileStatus.DUPLICATE) and row.sha256 and row.mime:
            groups[row.sha256].append(row)
        elif row.status == FileStatus.ERROR:
            skip(row, "unreadable", f"Could not be read when imported: {row.error or 'unknown error'}")
        elif row.status == FileStatus.PENDING:
            skip(row, "not_imported", "Not imported yet: its import has not finished")
        else:
            skip(row, "not_imported", f"Not imported: {row.error or 'not a photo or video'}")

    to_name: list[tuple[PlannedFile, Any]] = []
    for sha, group in groups.items():
        kept = [r for r in group if not r.discarded]
        for row in group:
            if row.discarded:
                skip(row, "discarded", "Discarded in duplicate review: not exported")
        if not kept:
            continue
        rep = min(kept, key=_representative_key)
        for row in kept:
            if row is not rep:
                skip(row, "same_content", f"Same picture as {_display(rep)}: exported once")
        merged_tags = sorted({t for r in kept for t in tags.get(r.id, [])})
        item = PlannedFile(
            file_id=rep.id,
            source=rep.path,
            display=_display(rep),
            sha256=sha,
            size=rep.size or 0,
            mime=rep.mime,
            action="export",
            local=rep.taken_local,
            offset=rep.taken_offset if rep.taken_local else None,
            precision=(rep.taken_precision or "second") if rep.taken_local else None,
            utc=rep.taken_at.isoformat() if rep.taken_at and rep.taken_local else None,
            time_source=rep.taken_source if rep.taken_local else None,
            confidence=rep.confidence,
            tags=merged_tags,
            alternates=sorted({r.path for r in group if r.path != rep.path}),
            also=sorted({_display(r) for r in group if r is not rep}),
        )
        if only_reviewed and not _is_reviewed(rep):
            item.action, item.reason = "skip", "waiting_review"
            item.message = "Waiting for review: only reviewed files are exported (a setting)"
            plan.files.append(item)
            continue
        previous = index.get(sha)
        if previous and _still_in_archive(output, previous, item, plan):
            item.action, item.reason, item.target = "skip", "already_exported", previous["output"]
            item.message = f"Already in the archive as {previous['output']}"
            plan.files.append(item)
            continue
        stamp = item.stamp()
        is_jpeg = item.mime == "image/jpeg"
        item.method = ("embed" if is_jpeg else "sidecar") if stamp.needs_writing else "copy"
        to_name.append((item, rep))
        plan.files.append(item)

    requests = [
        naming.NameRequest(
            key=item.file_id,
            ext=(rep.ext or "bin").lower(),
            local=datetime.fromisoformat(item.local) if item.local else None,
            precision=item.precision,
            original_name=rep.original_name,
            sha256=item.sha256,
        )
        for item, rep in to_name
    ]
    names = naming.assign(requests, disk.taken)
    for item, _rep in to_name:
        item.target = names[item.file_id]
        base_folder, base_stem = naming.base_name(next(r for r in requests if r.key == item.file_id))
        plain = f"{base_folder}/{base_stem}.{item.target.rsplit('.', 1)[-1]}"
        if item.target != plain and disk.taken(plain):
            plan.conflicts.append(
                f"{plain} already exists in the archive (not written by this export): "
                f"{item.display} goes to {item.target} instead"
            )
    plan.files.sort(key=lambda f: f.file_id)
    plan.bytes_needed = sum(f.size + OVERHEAD_PER_FILE for f in plan.to_export)
    plan.bytes_free = shutil.disk_usage(_existing_ancestor(output)).free
    plan.warnings += _placement_warnings(output, settings)
    return plan


def _still_in_archive(output: Path, previous: dict, item: PlannedFile, plan: Plan) -> bool:
    """Whether the earlier export of these bytes is still there (then it is skipped)."""
    path = output / previous["output"]
    if not path.exists():
        plan.conflicts.append(
            f"{item.display} was exported before as {previous['output']}, which is no longer in the archive: "
            "it is exported again"
        )
        return False
    if path.stat().st_size != previous.get("output_size"):
        plan.conflicts.append(f"{previous['output']} was changed after it was exported: left as it is")
        return True
    capture = previous.get("capture") or {}
    if (capture.get("local"), capture.get("offset"), sorted(previous.get("tags") or [])) != (
        item.local,
        item.offset,
        sorted(item.tags),
    ):
        plan.conflicts.append(
            f"{item.display}: its date or tags changed since it was exported as {previous['output']}; "
            "the archive copy keeps what it had"
        )
    return True


def _placement_warnings(output: Path, settings) -> list[str]:
    warnings = []
    roots = {Path(p).resolve() for (p,) in db.session.execute(select(Job.params["path"].as_string())).all() if p}
    for root in sorted(roots):
        if output == root or output.is_relative_to(root):
            warnings.append(
                f"The archive is inside an imported folder ({root}): importing that folder again would see it"
            )
    return warnings


# --- starting ------------------------------------------------------------------------------


def unfinished_export(output: Path) -> Job | None:
    for job in db.session.execute(
        select(Job).where(Job.kind == str(JobKind.EXPORT), Job.status.not_in([str(s) for s in FINISHED_JOB_STATES]))
    ).scalars():
        if job.params.get("output") == str(output):
            return job
    return None


def start_export(output: str | Path, settings, cleanup: bool = False) -> Job:
    output = check_output(output, settings)
    other = unfinished_export(output)
    if other is not None:
        raise ExportRefused(
            f"Export job {other.id} into {output} is {other.status}: let it finish, resume or cancel it first"
        )
    return jobs.create(JobKind.EXPORT, {"output": str(output), "cleanup": bool(cleanup)}, phase="plan")


# --- the job -------------------------------------------------------------------------------


def _writer_label(writer) -> str:
    return f"exiftool {writer.version}" if writer.name == "exiftool" else "python"


def _remove_stale_temporaries(output: Path) -> int:
    removed = 0
    for dirpath, dirnames, filenames in os.walk(output):
        dirnames[:] = [d for d in dirnames if d != META_DIR]
        for name in filenames:
            if archive_copy.is_tmp_name(name):
                Path(dirpath, name).unlink(missing_ok=True)
                removed += 1
    return removed


def _manifest_record(job_id: int, item: PlannedFile, placed: dict, writer_label: str | None) -> dict:
    return {
        "v": 1,
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "job": job_id,
        "file_id": item.file_id,
        "source": placed.get("source") or item.source,
        "source_name": item.display,
        "also": item.also,
        "sha256": item.sha256,
        "size": item.size,
        "output": placed["target"],
        "output_sha256": placed["out_sha256"],
        "output_size": placed["out_size"],
        "sidecar": placed.get("sidecar"),
        "method": placed["method"],
        "writer": writer_label if placed["method"] == "embed" else None,
        "capture": {"local": item.local, "offset": item.offset, "precision": item.precision, "utc": item.utc},
        "time_source": item.time_source,
        "confidence": item.confidence,
        "tags": item.tags,
        "notes": placed.get("notes") or [],
    }


def _adopt_orphans(output: Path, index: dict[str, dict]) -> int:
    """Copies that an earlier, now finished export job renamed into place but never got to
    record (its worker was killed, then the job was cancelled): recorded now, by hash."""
    adopted = 0
    records = []
    finished = [
        j.id
        for j in db.session.execute(
            select(Job).where(Job.kind == str(JobKind.EXPORT), Job.status.in_([str(s) for s in FINISHED_JOB_STATES]))
        ).scalars()
        if j.params.get("output") == str(output)
    ]
    if not finished:
        return 0
    items = db.session.execute(
        select(JobItem).where(JobItem.job_id.in_(finished), JobItem.status == ItemStatus.PENDING)
    ).scalars()
    for job_item in items:
        placed = (job_item.result or {}).get("placing")
        if not placed:
            continue
        planned = PlannedFile.from_dict(job_item.result)
        if _placed_copy_present(output, placed) and planned.sha256 not in index:
            record = _manifest_record(job_item.job_id, planned, placed, placed.get("writer"))
            records.append(record)
            index[planned.sha256] = record
            adopted += 1
        job_item.status = ItemStatus.DONE if _placed_copy_present(output, placed) else ItemStatus.SKIPPED
    append_manifest(output, records)
    db.session.commit()
    return adopted


def _placed_copy_present(output: Path, placed: dict) -> bool:
    path = output / placed["target"]
    try:
        if path.stat().st_size != placed["out_size"]:
            return False
        return archive_copy.sha256_of(path)[0] == placed["out_sha256"]
    except OSError:
        return False


def plan_phase(ctx: jobs.JobContext, output: Path) -> None:
    job = ctx.job
    settings = ctx.settings
    _adopt_orphans(output, manifest_index(output))
    plan = build_plan(output, settings)
    if plan.to_export and not plan.enough_space:
        raise jobs.JobError(
            f"Not enough free space in {output}: the export needs {_size(plan.bytes_needed)} "
            f"and only {_size(plan.bytes_free)} is free. Free some space or choose another folder."
        )
    rows = []
    for planned in plan.files:
        exported = planned.action == "export"
        rows.append(
            {
                "job_id": job.id,
                "file_id": planned.file_id,
                "status": ItemStatus.PENDING if exported else ItemStatus.SKIPPED,
                "message": None if exported else planned.message,
                "result": asdict(planned),
            }
        )
    for start in range(0, len(rows), 500):
        db.session.execute(insert_ignore(JobItem).values(rows[start : start + 500]))
    skipped = sum(1 for p in plan.files if p.action != "export")
    job.total = len(plan.files)
    job.done = skipped
    job.skipped = skipped
    job.message = "; ".join(plan.conflicts[:3]) or None
    job.params = {**job.params, "plan": plan.summary()}
    job.phase = "copy"
    db.session.commit()


class _Batch:
    def __init__(self, ctx: jobs.JobContext, output: Path, writer_label: str, index: dict[str, dict]):
        self.ctx = ctx
        self.output = output
        self.writer_label = writer_label
        self.index = index
        self.prepared: list[tuple[JobItem, PlannedFile, archive_copy.Prepared]] = []
        self.adopted: list[tuple[JobItem, PlannedFile, dict]] = []
        self.errors: list[tuple[JobItem, str]] = []
        self.started = time.monotonic()
        self.bytes = 0

    def due(self) -> bool:
        pending = len(self.prepared) + len(self.adopted) + len(self.errors)
        return pending > 0 and (
            pending >= BATCH_FILES or self.bytes >= BATCH_BYTES or time.monotonic() - self.started >= BATCH_SECONDS
        )

    def _placed(self, planned: PlannedFile, prepared: archive_copy.Prepared, target: str) -> dict:
        return {
            "target": target,
            "out_sha256": prepared.out_sha256,
            "out_size": prepared.out_size,
            "sidecar": f"{target}{archive_copy.SIDECAR_SUFFIX}" if prepared.sidecar_tmp else None,
            "method": prepared.method,
            "notes": prepared.notes,
            "source": str(prepared.source),
            "writer": self.writer_label if prepared.method == "embed" else None,
        }

    def _place(self, prepared: archive_copy.Prepared, target: Path) -> None:
        """Rename into the planned name — unless a file nobody planned appeared there
        meanwhile (it is never replaced): then the next free counter suffix."""
        try:
            archive_copy.commit(prepared, target)
            return
        except archive_copy.NameTaken:
            stem, ext = target.name.rsplit(".", 1)
        for counter in range(1, 10_000):
            candidate = target.with_name(f"{stem}_{counter}.{ext}")
            if not candidate.exists() and not archive_copy.sidecar_path(candidate).exists():
                log.warning("%s was taken meanwhile: using %s", target, candidate.name)
                archive_copy.commit(prepared, candidate)
                return
        raise archive_copy.DestinationProblem(f"No free name for {target}")

    def flush(self) -> None:
        if not (self.prepared or self.adopted or self.errors):
            return
        # 1. intent: the database knows each copy's final name and hash before it exists
        for job_item, planned, prepared in self.prepared:
            job_item.result = {**job_item.result, "placing": self._placed(planned, prepared, planned.target)}
        db.session.commit()
        # 2. final names (a flush retried after an error skips what is already placed)
        placed_items = list(self.adopted)
        folders = set()
        for job_item, planned, prepared in self.prepared:
            if prepared.target is None:
                self._place(prepared, self.output / planned.target)
            target = prepared.target.relative_to(self.output).as_posix()
            placed = self._placed(planned, prepared, target)
            job_item.result = {**job_item.result, "target": target, "placing": placed}
            placed_items.append((job_item, planned, placed))
            folders.add(prepared.target.parent)
        for folder in folders:
            archive_copy.fsync_dir(folder)
        # 3. manifest, then 4. the database
        records = []
        for _job_item, planned, placed in placed_items:
            known = self.index.get(planned.sha256)
            if known is None or known.get("output") != placed["target"]:
                record = _manifest_record(self.ctx.job.id, planned, placed, placed.get("writer"))
                records.append(record)
                self.index[planned.sha256] = record
        try:
            append_manifest(self.output, records)
        except OSError as exc:
            if exc.errno in archive_copy.DISK_FULL:
                raise archive_copy.DiskFull(f"The disk is full: the manifest in {self.output} cannot grow") from None
            raise
        for job_item, _planned, placed in placed_items:
            result = {k: v for k, v in job_item.result.items() if k != "placing"}
            result.update(placed)
            job_item.result = result
            job_item.status = ItemStatus.DONE
            job_item.message = "; ".join(placed.get("notes") or []) or None
        for job_item, message in self.errors:
            job_item.status = ItemStatus.ERROR
            job_item.message = message
        self.ctx.add(done=len(placed_items) + len(self.errors), errors=len(self.errors))
        db.session.commit()
        self.prepared, self.adopted, self.errors = [], [], []
        self.started, self.bytes = time.monotonic(), 0


class _WriterPool:
    """Files are prepared (copied, rewritten, verified) on every core: one thread per
    core, each with its own writer (its own exiftool process). Only the main thread
    touches the database and renames files into place."""

    def __init__(self, workers: int):
        self.local = threading.local()
        self.writers: list = []
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export")
        self.running: set[Future] = set()
        self.label = _writer_label(self._writer())  # started here: a broken install fails early

    def _writer(self):
        writer = getattr(self.local, "writer", None)
        if writer is None:
            writer = self.local.writer = open_writer()
            with self.lock:
                self.writers.append(writer)
        return writer

    def submit(self, request: archive_copy.Request) -> Future:
        future = self.executor.submit(lambda: archive_copy.prepare(request, self._writer()))
        self.running.add(future)
        future.add_done_callback(self.running.discard)
        return future

    def close(self) -> None:
        # Writers stop while their threads live: exiftool is tied to the thread that
        # started it (pyexiftool sets PR_SET_PDEATHSIG), so it would die with the thread.
        wait(list(self.running))
        for writer in self.writers:
            writer.close()
        self.executor.shutdown(wait=True)


def _request(output: Path, planned: PlannedFile) -> archive_copy.Request:
    return archive_copy.Request(
        source=Path(planned.source),
        sha256=planned.sha256,
        mime=planned.mime or "",
        target=output / planned.target,
        method=planned.method,
        stamp=planned.stamp(),
        file_time=datetime.fromisoformat(planned.utc).timestamp() if planned.utc else None,
        alternates=tuple(Path(p) for p in planned.alternates),
    )


def _pending_items(job_id: int, after_id: int, limit: int = 200) -> list[JobItem]:
    return list(
        db.session.execute(
            select(JobItem)
            .where(JobItem.job_id == job_id, JobItem.status == ItemStatus.PENDING, JobItem.id > after_id)
            .order_by(JobItem.id)
            .limit(limit)
        ).scalars()
    )


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} bytes"


def copy_phase(ctx: jobs.JobContext, output: Path) -> str:
    job = ctx.job
    workers = max(1, ctx.settings.workers)
    pool = _WriterPool(workers)
    batch = _Batch(ctx, output, pool.label, manifest_index(output))
    in_flight: deque[tuple[JobItem, PlannedFile, Future]] = deque()
    last_id, exhausted, control = 0, False, "run"
    fatal: Exception | None = None
    try:
        while True:
            while control == "run" and fatal is None and not exhausted and len(in_flight) < 2 * workers:
                items = _pending_items(job.id, last_id, 2 * workers - len(in_flight))
                exhausted = not items
                for job_item in items:
                    last_id = job_item.id
                    planned = PlannedFile.from_dict(job_item.result)
                    placing = job_item.result.get("placing")
                    if placing and _placed_copy_present(output, placing):
                        # a killed run renamed this copy into place: it is complete and verified
                        batch.adopted.append((job_item, planned, placing))
                    else:
                        in_flight.append((job_item, planned, pool.submit(_request(output, planned))))
            if in_flight:
                # results in submission order: what is recorded is always a prefix of the plan
                job_item, planned, future = in_flight.popleft()
                try:
                    prepared = future.result()
                except archive_copy.SourceProblem as exc:
                    batch.errors.append((job_item, str(exc)))
                except (archive_copy.DiskFull, archive_copy.DestinationProblem) as exc:
                    fatal = fatal or exc  # let the others finish: what they wrote is complete
                else:
                    batch.prepared.append((job_item, planned, prepared))
                    batch.bytes += prepared.out_size
            elif exhausted or control != "run" or fatal is not None:
                break
            if fatal is None and batch.due():
                batch.flush()
                control = ctx.checkpoint()
        batch.flush()
        if fatal is not None:
            raise fatal
    except archive_copy.DiskFull as exc:
        _flush_quietly(batch)
        left = db.session.execute(
            select(JobItem.id).where(JobItem.job_id == job.id, JobItem.status == ItemStatus.PENDING)
        ).all()
        raise jobs.JobError(
            f"{exc}. The export stopped with {len(left)} files not yet copied; everything already in the "
            "archive is complete and verified. Free some space and run the export again: it continues "
            "where it stopped."
        ) from None
    except archive_copy.DestinationProblem as exc:
        _flush_quietly(batch)
        raise jobs.JobError(
            f"{exc}. The export stopped; run it again once the archive folder can be written."
        ) from None
    finally:
        pool.close()
        for _item, _planned, future in in_flight:
            if future.done() and future.exception() is None:
                archive_copy.discard(future.result())
        for _item, _planned, prepared in batch.prepared:
            if prepared.target is None:
                archive_copy.discard(prepared)
    return control


def _flush_quietly(batch: _Batch) -> None:
    """After a fatal error: record what is complete; what cannot be recorded stays pending."""
    try:
        batch.flush()
    except (archive_copy.DiskFull, archive_copy.DestinationProblem, OSError) as exc:
        log.warning("could not record the last batch (%s); the next export adopts it", exc)
        db.session.rollback()


def _cancel_rest(job: Job) -> None:
    count = (
        db.session.execute(
            update(JobItem)
            .where(JobItem.job_id == job.id, JobItem.status == ItemStatus.PENDING)
            .values(status=ItemStatus.SKIPPED, message=SKIP_REASONS["cancelled"])
        ).rowcount
        or 0
    )
    db.session.execute(update(Job).where(Job.id == job.id).values(done=Job.done + count, skipped=Job.skipped + count))
    db.session.commit()


@jobs.handler(JobKind.EXPORT)
def run_export(ctx: jobs.JobContext) -> str:
    job = ctx.job
    output = Path(job.params["output"])
    outcome_for = {"pause": "paused", "cancel": "cancelled", "interrupt": "interrupted"}
    with output_lock(output, job.id):
        removed = _remove_stale_temporaries(output)
        if removed:
            log.info("removed %d temporary files left by an interrupted export", removed)
        if job.phase in ("plan", "discover"):
            plan_phase(ctx, output)
            control = ctx.checkpoint()
            if control != "run":
                if control == "cancel":
                    _cancel_rest(job)
                return outcome_for[control]
        if job.phase == "copy":
            control = copy_phase(ctx, output)
            if control != "run":
                if control == "cancel":
                    _cancel_rest(job)
                return outcome_for[control]
            job.phase = "cleanup" if job.params.get("cleanup") else "done"
            db.session.commit()
        if job.phase == "cleanup":
            from . import trash

            control = trash.cleanup_phase(ctx, output)
            if control != "run":
                return outcome_for[control]
            job.phase = "done"
            db.session.commit()
    _summarise(job)
    return "completed"


def _summarise(job: Job) -> None:
    counts = result_counts(job)
    parts = [f"{counts.get('exported', 0)} files exported"]
    for key, label in (("already_exported", "already in the archive"), ("errors", "could not be exported")):
        if counts.get(key):
            parts.append(f"{counts[key]} {label}")
    job.message = "; ".join(parts)
    db.session.commit()


def result_counts(job: Job) -> dict[str, int]:
    """Per-outcome counts of an export job, for the CLI and the export page."""
    counts: dict[str, int] = defaultdict(int)
    for status, result in db.session.execute(select(JobItem.status, JobItem.result).where(JobItem.job_id == job.id)):
        result = result or {}
        if status == ItemStatus.DONE:
            counts["exported"] += 1
            counts[f"method_{result.get('method')}"] += 1
        elif status == ItemStatus.ERROR:
            counts["errors"] += 1
        elif status == ItemStatus.PENDING:
            counts["pending"] += 1
        else:
            counts[result.get("reason") or "cancelled"] += 1
    return dict(counts)


def dry_run(output: str | Path, settings) -> Plan:
    return build_plan(check_output(output, settings), settings)
