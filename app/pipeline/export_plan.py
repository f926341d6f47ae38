"""What an export would do, decided before anything is written: the plan (also the dry
run), the archive folder's checks, and the manifest that records what was exported.

Every file in the library gets a fate: exported (to which name, how its metadata goes in),
or skipped with a reason a person can read. Exact copies are exported once, speaking with
the most trusted capture time among them and carrying the union of their tags; a person's
discards are respected; with the "only export reviewed files" setting, doubtful files wait.
A file whose content the archive's manifest already lists is not exported again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..media import archive_copy, naming
from ..media.metadata_writer import Stamp
from ..models import File, FileTag, Job, Tag, db
from ..vocab import Confidence, FileStatus, Precision
from . import settings_store

log = logging.getLogger(__name__)

META_DIR = ".mediaparser"
MANIFEST = "manifest.jsonl"
OVERHEAD_PER_FILE = 16 * 1024  # sidecar, grown metadata, manifest line: a generous estimate
SPACE_MARGIN = 64 * 1024 * 1024  # never plan to fill a disk to the last byte
MAX_LISTED = 50  # conflicts kept in a job's summary (the dry run lists them all)

# Settings keys (settings_store.FLAGS; the export page changes them).
SETTING_ONLY_REVIEWED = "export_only_reviewed"  # files still needing review wait
SETTING_CLEANUP_IMPORT_ROOTS = "cleanup_import_roots"  # clean-up may move files out of import roots

# Why a file is not exported (codes for pages and tests; messages are for people).
SKIP_REASONS = {
    "already_exported": "already in the archive",
    "same_content": "same content as another file (exported once)",
    "discarded": "left out (by you, or as a duplicate)",
    "waiting_review": "waiting for review",
    "unreadable": "could not be read when imported",
    "not_imported": "not imported (not a photo/video, or the import did not get to it)",
    "cancelled": "export cancelled before this file",
}


class ExportRefused(ValueError):
    """An export that cannot start; the message says why."""


def setting(key: str) -> bool:
    """An on/off setting from the settings store (the export page changes them)."""
    return settings_store.flag(key)


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


def read_jsonl(path: Path) -> list[dict]:
    """Every record of a JSON-lines file MediaParser wrote (the archive manifest, the trash
    manifests), oldest first. Lines end only at "\\n" (a name may hold other line
    separators); a line cut short by a crash, or damaged, is ignored."""
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                record = None
            if isinstance(record, dict):
                records.append(record)
            else:
                log.warning("%s line %d is not a complete record (cut short by a crash?): ignored", path, number)
    return records


def append_jsonl(path: Path, records: list[dict]) -> None:
    """Add records to a JSON-lines file, flushed to the disk before this returns. A name
    that is not valid UTF-8 (Python holds its bytes as lone surrogates) is written as a
    JSON escape, so the file stays UTF-8 and the name reads back as the same bytes."""
    if not records:
        return
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    data = text.encode("utf-8", "backslashreplace")  # only lone surrogates need it: "\\udcXX"
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":  # a line cut short by a full disk: start a fresh one
                data = b"\n" + data
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def read_manifest(output: Path) -> list[dict]:
    """Every manifest record, oldest first; a line cut short by a crash is ignored."""
    return read_jsonl(meta_dir(output) / MANIFEST)


def manifest_index(output: Path) -> dict[str, dict]:
    """sha256 of the original -> its latest manifest record."""
    return {r["sha256"]: r for r in read_manifest(output) if r.get("sha256")}


def append_manifest(output: Path, records: list[dict]) -> None:
    append_jsonl(meta_dir(output) / MANIFEST, records)


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
        -Confidence.of(row.confidence).rank,
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
    only_reviewed = setting(SETTING_ONLY_REVIEWED)
    rows = db.session.execute(select(*_columns()).order_by(File.id)).all()
    tags = _tags_by_file()
    index = manifest_index(output)
    plan = Plan(output=output, files=[])
    to_name: list[tuple[PlannedFile, Any]] = []
    for sha, group in _content_groups(rows, plan).items():
        chosen = _plan_group(sha, group, tags, index, only_reviewed, plan)
        if chosen is not None:
            to_name.append(chosen)
    _name_exports(to_name, plan, _DiskNames(output))
    plan.files.sort(key=lambda f: f.file_id)
    plan.bytes_needed = sum(f.size + OVERHEAD_PER_FILE for f in plan.to_export)
    plan.bytes_free = shutil.disk_usage(_existing_ancestor(output)).free
    plan.warnings += _placement_warnings(output, settings)
    return plan


def _skipped(row, reason: str, message: str) -> PlannedFile:
    return PlannedFile(row.id, row.path, _display(row), row.sha256, row.size or 0, row.mime, "skip", reason, message)


def _content_groups(rows, plan: Plan) -> dict[str, list]:
    """Imported files by content (sha256); the rest are skipped, with the reason."""
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        if row.status in (FileStatus.DONE, FileStatus.DUPLICATE) and row.sha256 and row.mime:
            groups[row.sha256].append(row)
        elif row.status == FileStatus.ERROR:
            plan.files.append(
                _skipped(row, "unreadable", f"Could not be read when imported: {row.error or 'unknown error'}")
            )
        elif row.status == FileStatus.PENDING:
            plan.files.append(_skipped(row, "not_imported", "Not imported yet: its import has not finished"))
        else:
            plan.files.append(_skipped(row, "not_imported", f"Not imported: {row.error or 'not a photo or video'}"))
    return groups


def _plan_group(sha: str, group: list, tags, index, only_reviewed: bool, plan: Plan) -> tuple[PlannedFile, Any] | None:
    """The fate of every copy of one content: one exported (or skipped as a whole), the
    others skipped. Returns (planned export, its row) when it still needs a name."""
    kept = [r for r in group if not r.discarded]
    for row in group:
        if row.discarded:
            plan.files.append(
                _skipped(row, "discarded", "Left out of the archive (by you, or as a duplicate): not exported")
            )
    if not kept:
        return None
    rep = min(kept, key=_representative_key)
    for row in kept:
        if row is not rep:
            plan.files.append(_skipped(row, "same_content", f"Same picture as {_display(rep)}: exported once"))
    item = _planned_export(sha, rep, group, sorted({t for r in kept for t in tags.get(r.id, [])}))
    plan.files.append(item)
    if only_reviewed and not _is_reviewed(rep):
        item.action, item.reason = "skip", "waiting_review"
        item.message = "Waiting for review: only reviewed files are exported (a setting)"
        return None
    previous = index.get(sha)
    if previous and _still_in_archive(plan.output, previous, item, plan):
        item.action, item.reason, item.target = "skip", "already_exported", previous["output"]
        item.message = f"Already in the archive as {previous['output']}"
        return None
    is_jpeg = item.mime == "image/jpeg"
    item.method = ("embed" if is_jpeg else "sidecar") if item.stamp().needs_writing else "copy"
    return item, rep


def _planned_export(sha: str, rep, group: list, tags: list[str]) -> PlannedFile:
    """`rep` speaking for all copies in `group`, with the copies' tags together."""
    dated = bool(rep.taken_local)
    return PlannedFile(
        file_id=rep.id,
        source=rep.path,
        display=_display(rep),
        sha256=sha,
        size=rep.size or 0,
        mime=rep.mime,
        action="export",
        local=rep.taken_local,
        offset=rep.taken_offset if dated else None,
        precision=(rep.taken_precision or Precision.SECOND) if dated else None,
        utc=rep.taken_at.isoformat() if rep.taken_at and dated else None,
        time_source=rep.taken_source if dated else None,
        confidence=rep.confidence,
        tags=tags,
        alternates=sorted({r.path for r in group if r.path != rep.path}),
        also=sorted({_display(r) for r in group if r is not rep}),
    )


def _name_exports(to_name: list[tuple[PlannedFile, Any]], plan: Plan, disk: _DiskNames) -> None:
    """Archive names for the exports; a name that is taken by a file this export did not
    write is a conflict people are told about."""
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
    for (item, _rep), request in zip(to_name, requests, strict=True):
        item.target = names[item.file_id]
        if not disk.names(item.target.split("/", 1)[0]):
            continue  # a new folder: nothing there to conflict with
        folder, stem = naming.base_name(request)
        plain = f"{folder}/{stem}.{request.ext}"
        if item.target != plain and disk.taken(plain):
            plan.conflicts.append(
                f"{plain} already exists in the archive (not written by this export): "
                f"{item.display} goes to {item.target} instead"
            )


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


def dry_run(output: str | Path, settings) -> Plan:
    return build_plan(check_output(output, settings), settings)
