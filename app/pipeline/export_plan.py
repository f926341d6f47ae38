"""What an export would do, decided before anything is written: the plan (also the dry run)
that brings the archive in step with the library.

Every file in the library gets a fate:
  export   new in the archive: written under its name
  update   in the archive, but its date, tags or name changed since: rewritten (or, when
           its bytes stay the same, renamed and given a new sidecar); the old copy moves to
           the archive's trash, so its old name is gone from the dated tree
  retire   in the archive, but now left out: its copy moves to the archive's trash
  skip     nothing to do, with the reason a person can read (up to date, left out,
           waiting for review, changed in the archive by someone else, ...)

Exact copies are exported once, speaking with the most trusted capture time among them
and carrying the union of their tags. A companion set (a Live Photo, RAW + JPEG, an edit, a
sidecar) is written together under one name (export_sets.py). A picture a person turned
carries the turn as its copy's orientation. What a copy states about its date follows
media/archive_dates.py. The manifest (export_manifest.py) says what the archive holds; a
copy whose bytes no longer match it was changed by someone else and is never overwritten.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..media import archive_copy, archive_dates, naming
from ..media.metadata_writer import Stamp
from ..models import File, FileTag, Tag, db
from ..vocab import CompanionRole, Confidence, FileStatus
from . import export_sets, settings_store
from .decisions import export_orientation
from .export_checks import ExportRefused, check_output, existing_ancestor
from .export_manifest import (  # noqa: F401 - the archive's records, re-exported for callers
    MANIFEST,
    META_DIR,
    append_jsonl,
    append_manifest,
    manifest_index,
    meta_dir,
    read_jsonl,
    read_manifest,
)

OVERHEAD_PER_FILE = 16 * 1024  # sidecar, grown metadata, manifest line: a generous estimate
SPACE_MARGIN = 64 * 1024 * 1024  # never plan to fill a disk to the last byte
MAX_LISTED = 50  # conflicts and renames kept in a job's summary (the dry run lists them all)
JPEG_MIMES = ("image/jpeg", "image/mpo")  # an MPF JPEG is a JPEG: its metadata can be written in

# Settings keys (settings_store.FLAGS; the export page changes them).
SETTING_ONLY_REVIEWED = "export_only_reviewed"  # files still needing review wait
SETTING_CLEANUP_IMPORT_ROOTS = "cleanup_import_roots"  # clean-up may move files out of import roots

# Why a file is not exported (codes for pages and tests; messages are for people).
SKIP_REASONS = {
    "already_exported": "already in the archive, up to date",
    "same_content": "same content as another file (exported once)",
    "discarded": "left out (by you, or as a duplicate)",
    "waiting_review": "waiting for review",
    "changed_in_archive": "changed in the archive by someone else (left as it is)",
    "unreadable": "could not be read when imported",
    "not_imported": "not imported (not a photo/video, or the import did not get to it)",
    "cancelled": "export cancelled before this file",
    "in_sidecar": "carried in its photo's sidecar, with the date and tags added",
}
ACTIONS = ("export", "update", "retire")  # what the job does; everything else is a skip


def setting(key: str) -> bool:
    """An on/off setting from the settings store (the export page changes them)."""
    return settings_store.flag(key)


@dataclass
class PlannedFile:
    file_id: int
    source: str  # path read (the original, or the stored upload)
    display: str  # the name and folder people know it by
    sha256: str | None
    size: int
    mime: str | None
    action: str  # export | update | retire | skip
    reason: str | None = None  # skip code (SKIP_REASONS)
    message: str | None = None  # for people
    target: str | None = None  # relative to the archive (posix)
    method: str | None = None  # embed | sidecar | copy
    # What the copy states (archive_dates.stated): wall clock, offset, precision, its instant
    local: str | None = None
    offset: int | None = None
    precision: str | None = None
    utc: str | None = None
    stated: str = "none"  # time | date | none
    # The library's date it was exported with
    time_source: str | None = None
    confidence: str | None = None
    tags: list[str] = field(default_factory=list)
    alternates: list[str] = field(default_factory=list)  # other paths with the same bytes
    also: list[str] = field(default_factory=list)  # other names of the same picture (for the manifest)
    # An update or retirement: the archive copy it replaces (output, sidecar, hashes)
    previous: dict[str, Any] | None = None
    changes: list[str] = field(default_factory=list)  # date | tags | name | turn | sidecar
    reuse: bool = False  # the archive copy's bytes are the new copy's: only its name or sidecar change
    orientation: int | None = None  # EXIF orientation the copy carries: a person turned it (None: not)
    # A companion part (export_sets.py): its main file's content and what it is in the set
    companion_of: str | None = None
    role: str | None = None
    content_sha256: str | None = None  # a sidecar's own bytes (its `sha256` is its manifest key)
    sidecar_from: list[str] | None = None  # [path, sha256] of the person's sidecar its sidecar carries over

    def stamp(self) -> Stamp:
        local = datetime.fromisoformat(self.local) if self.local else None
        return Stamp(
            local=local,
            offset=self.offset,
            precision=self.precision,
            tags=tuple(self.tags),
            orientation=self.orientation,
        )

    @property
    def sidecar(self) -> str | None:
        return f"{self.target}{archive_copy.SIDECAR_SUFFIX}" if self.method == "sidecar" and self.target else None

    @property
    def renamed(self) -> str | None:
        """'old → new' for an update that changes the name."""
        if self.action == "update" and self.previous and self.previous["output"] != self.target:
            return f"{self.previous['output']} → {self.target}"
        return None

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
        """Every file the job works on (new, updated, retired)."""
        return [f for f in self.files if f.action in ACTIONS]

    @property
    def enough_space(self) -> bool:
        return self.bytes_needed + SPACE_MARGIN <= self.bytes_free

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for f in self.files:
            counts[f.action if f.action in ACTIONS else f.reason] += 1
        return dict(counts)

    def in_step(self) -> str:
        """ "N new, M updated, K retired": what the button that brings the archive up to
        date does, exactly."""
        c = self.counts()
        return f"{c.get('export', 0):,} new, {c.get('update', 0):,} updated, {c.get('retire', 0):,} retired"

    def summary(self) -> dict:
        methods: dict[str, int] = defaultdict(int)
        for f in self.files:
            if f.action in ("export", "update"):
                methods[f.method] += 1
        renames = [f.renamed for f in self.files if f.renamed]
        return {
            "output": str(self.output),
            "counts": self.counts(),
            "in_step": self.in_step(),
            "methods": dict(methods),
            "undated": sum(1 for f in self.files if f.action in ("export", "update") and f.local is None),
            "renames": renames[:MAX_LISTED],
            "rename_count": len(renames),
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
        File.media_kind,
        File.orientation,
        File.rotation,
        File.companion_of,
        File.companion_role,
    )


class _Planner:
    """Builds a plan: one fate per file, names for what is written."""

    def __init__(self, output: Path, settings):
        self.output = output
        self.zone = settings.zone
        self.only_reviewed = setting(SETTING_ONLY_REVIEWED)
        self.tags = _tags_by_file()
        self.index = manifest_index(output)
        self.known = {r["output"].casefold() for r in self.index.values() if r.get("output")}
        self.plan = Plan(output=output, files=[])
        self.to_name: list[tuple[PlannedFile, naming.NameRequest]] = []
        self.items: dict[str, PlannedFile] = {}  # content -> the item speaking for it
        self.requests: dict[int, naming.NameRequest] = {}
        self.reserved: set[str] = set()  # names companions keep (casefolded)

    def build(self) -> Plan:
        rows = db.session.execute(select(*_columns()).order_by(File.id)).all()
        self.sets = export_sets.Sets(rows)
        for sha, group in self._content_groups(rows).items():
            if not self.sets.owns(sha, group):
                self._plan_group(sha, group)
        disk = _DiskNames(self.output)
        parts = export_sets.plan_parts(self, disk)
        self._name_exports(disk)
        export_sets.place_parts(self, parts)
        plan = self.plan
        plan.files.sort(key=lambda f: f.file_id)
        plan.bytes_needed = sum(
            f.size + OVERHEAD_PER_FILE for f in plan.files if f.action in ("export", "update") and not f.reuse
        )
        plan.bytes_free = shutil.disk_usage(existing_ancestor(self.output)).free
        return plan

    def _skipped(self, row, reason: str, message: str) -> PlannedFile:
        return PlannedFile(
            row.id, row.path, _display(row), row.sha256, row.size or 0, row.mime, "skip", reason, message
        )

    def _content_groups(self, rows) -> dict[str, list]:
        """Imported files by content (sha256); the rest are skipped, with the reason."""
        groups: dict[str, list] = defaultdict(list)
        files = self.plan.files
        for row in rows:
            if row.status in (FileStatus.DONE, FileStatus.DUPLICATE) and row.sha256 and row.mime:
                groups[row.sha256].append(row)
            elif row.status == FileStatus.COMPANION:
                continue  # planned with its set (export_sets.py)
            elif row.status == FileStatus.ERROR:
                message = f"Could not be read when imported: {row.error or 'unknown error'}"
                files.append(self._skipped(row, "unreadable", message))
            elif row.status == FileStatus.PENDING:
                files.append(self._skipped(row, "not_imported", "Not imported yet: its import has not finished"))
            else:
                message = f"Not imported: {row.error or 'not a photo or video'}"
                files.append(self._skipped(row, "not_imported", message))
        return groups

    def _plan_group(self, sha: str, group: list) -> None:
        """The fate of every copy of one content: one exported, updated or retired (or
        skipped as a whole), the others skipped."""
        kept = [r for r in group if not r.discarded]
        previous = self.index.get(sha)
        left_out = [r for r in group if r.discarded]
        retiring = left_out[0] if not kept and previous is not None else None
        for row in left_out:
            if row is not retiring:
                self.plan.files.append(
                    self._skipped(row, "discarded", "Left out of the archive (by you, or as a duplicate): not exported")
                )
        if retiring is not None:
            self.items[sha] = self._retire(retiring, previous)
        if not kept:
            return
        rep = min(kept, key=_representative_key)
        for row in kept:
            if row is not rep:
                message = f"Same picture as {_display(rep)}: exported once"
                self.plan.files.append(self._skipped(row, "same_content", message))
        tags = {t for r in kept for t in self.tags.get(r.id, [])}
        tags.update(t for part in self.sets.of(sha) for t in self.tags.get(part.row.id, []))  # the set's tags
        item = self._planned(sha, rep, group, sorted(tags))
        self.plan.files.append(item)
        self.items[sha] = item
        carried = self.sets.carried(sha)
        if carried is not None:
            item.sidecar_from = [carried.row.path, carried.row.sha256]
        request = self._request(item, rep)
        if self.only_reviewed and not _is_reviewed(rep):
            item.action, item.reason = "skip", "waiting_review"
            item.message = "Waiting for review: only reviewed files are exported (a setting)"
            if previous is not None:
                item.message += f"; the archive keeps its earlier copy {previous['output']}"
            return
        if previous is not None and not self._against_archive(item, previous, naming.fits(previous["output"], request)):
            return
        self.writes(item, previous, request)

    def writes(self, item: PlannedFile, previous: dict | None, request: naming.NameRequest | None) -> None:
        """How a file that needs writing is written; one without a name yet gets one."""
        if item.role == CompanionRole.SIDECAR:
            item.method = "copy"  # an .AAE or .xmp is copied as it is
        elif item.sidecar_from:
            item.method = "sidecar"  # the person's sidecar, brought up to date
        else:
            item.method = ("embed" if item.mime in JPEG_MIMES else "sidecar") if item.stamp().needs_writing else "copy"
        if item.previous is not None:
            # the archive copy is the original's bytes with the same file time: linked, not copied
            item.reuse = (
                item.method != "embed"
                and item.previous.get("output_sha256") == (item.content_sha256 or item.sha256)
                and (previous.get("capture") or {}).get("utc") == item.utc
            )
        if item.target is None and request is not None:
            self.to_name.append((item, request))

    def rename(self, item: PlannedFile) -> bool:
        """A copy that keeps its name, given a new one (its set needs names that are free)."""
        request, previous = self.requests.get(item.file_id), self.index.get(item.sha256)
        if request is None or previous is None or item.reason not in (None, "already_exported"):
            return False
        if item.action == "skip":
            item.action, item.reason, item.message, item.changes = "update", None, None, []
            item.previous = _previous(previous)
        item.changes.append("name")
        item.target = None
        self.writes(item, previous, request)
        return True

    def _planned(self, sha: str, rep, group: list, tags: list[str]) -> PlannedFile:
        """`rep` speaking for all copies in `group`, with the copies' tags together, and
        what its copy states about its date."""
        said = archive_dates.stated(
            rep.taken_local, rep.taken_offset, rep.taken_precision, rep.taken_source, rep.confidence, rep.time_decided
        )
        utc = None
        if said.kind == "time" and rep.taken_at is not None:
            utc = rep.taken_at.isoformat()
        elif said.kind == "date":
            utc = said.local.replace(tzinfo=self.zone).astimezone(UTC).isoformat()
        return PlannedFile(
            orientation=export_orientation(rep.orientation, rep.rotation),
            file_id=rep.id,
            source=rep.path,
            display=_display(rep),
            sha256=sha,
            size=rep.size or 0,
            mime=rep.mime,
            action="export",
            local=said.local.isoformat() if said.local else None,
            offset=said.offset,
            precision=str(said.precision) if said.precision else None,
            utc=utc,
            stated=said.kind,
            time_source=rep.taken_source,
            confidence=rep.confidence,
            tags=tags,
            alternates=sorted({r.path for r in group if r.path != rep.path}),
            also=sorted({_display(r) for r in group if r is not rep}),
        )

    def _request(self, item: PlannedFile, rep) -> naming.NameRequest:
        request = naming.NameRequest(
            key=item.file_id,
            ext=naming.archive_ext(rep.mime, rep.ext, rep.original_name),
            local=datetime.fromisoformat(item.local) if item.local else None,
            precision=item.precision,
            original_name=rep.original_name,
            sha256=item.sha256,
            companions=self.sets.tails(item.sha256),
        )
        self.requests[item.file_id] = request
        return request

    def _against_archive(self, item: PlannedFile, previous: dict, name_fits: bool) -> bool:
        """Compare the file with its copy in the archive: up to date (skipped), changed
        (an update), changed by someone else (reported, left), or gone (written again).
        Returns whether the file still needs writing."""
        path = self.output / previous["output"]
        if not path.exists():
            self.plan.conflicts.append(
                f"{item.display} was exported before as {previous['output']}, which is no longer in the archive: "
                "it is exported again"
            )
            return True
        changes = _changes(previous, item, name_fits)
        if not changes:
            item.action, item.reason, item.target = "skip", "already_exported", previous["output"]
            item.message = f"Already in the archive as {previous['output']}"
            if path.stat().st_size != previous.get("output_size"):
                self.plan.conflicts.append(f"{previous['output']} was changed after it was exported: left as it is")
            return False
        problem = archive_copy.changed_since(self.output, previous)
        if problem:
            item.action, item.reason, item.target = "skip", "changed_in_archive", previous["output"]
            item.message = f"{problem}: left as it is, so its new {' and '.join(changes)} are not written"
            self.plan.conflicts.append(f"{item.display}: {item.message}")
            return False
        item.action, item.changes, item.previous = "update", changes, _previous(previous)
        if "name" not in changes:
            item.target = previous["output"]
        return True

    def _retire(self, row, previous: dict, key: str | None = None) -> PlannedFile:
        """A left-out file whose copy is in the archive: the copy moves to the archive's trash."""
        item = self._skipped(row, "discarded", "")
        item.sha256 = key or item.sha256
        item.target = previous["output"]
        gone = not (self.output / previous["output"]).exists()
        problem = None if gone else archive_copy.changed_since(self.output, previous)
        if gone:
            item.message = f"Left out; its copy {previous['output']} is no longer in the archive"
        elif problem:
            item.reason = "changed_in_archive"
            item.message = f"Left out, but {problem}: left as it is"
            self.plan.conflicts.append(f"{item.display}: {item.message}")
        else:
            item.action, item.reason, item.previous = "retire", None, _previous(previous)
            item.message = f"Left out: its copy {previous['output']} moves to the archive's trash"
        self.plan.files.append(item)
        return item

    def _name_exports(self, disk: _DiskNames) -> None:
        """Archive names for new and renamed copies; a name that is taken by a file this
        archive did not write is a conflict people are told about."""
        names = naming.assign(
            [request for _item, request in self.to_name], lambda p: disk.taken(p) or p.casefold() in self.reserved
        )
        for item, request in self.to_name:
            item.target = names[item.file_id]
            if not disk.names(item.target.split("/", 1)[0]):
                continue  # a new folder: nothing there to conflict with
            folder, stem = naming.base_name(request)
            plain = f"{folder}/{stem}.{request.ext}"
            if item.target != plain and disk.taken(plain) and plain.casefold() not in self.known:
                self.plan.conflicts.append(
                    f"{plain} already exists in the archive (not written by this export): "
                    f"{item.display} goes to {item.target} instead"
                )


def _previous(record: dict) -> dict[str, Any]:
    keys = ("output", "sidecar", "output_sha256", "output_size", "sidecar_sha256", "method")
    return {k: record.get(k) for k in keys}


def _changes(previous: dict, item: PlannedFile, name_fits: bool) -> list[str]:
    """What differs between the archive copy (its manifest record) and what it should be."""
    capture = previous.get("capture") or {}
    was = (capture.get("local"), capture.get("offset"), capture.get("precision") if capture.get("local") else None)
    changes = []
    if was != (item.local, item.offset, item.precision):
        changes.append("date")
    if sorted(previous.get("tags") or []) != sorted(item.tags):
        changes.append("tags")
    if not name_fits:
        changes.append("name")
    if previous.get("orientation") != item.orientation:
        changes.append("turn")
    if (previous.get("sidecar_from") or [None, None])[1] != (item.sidecar_from or [None, None])[1]:
        changes.append("sidecar")
    return changes


def build_plan(output: Path, settings) -> Plan:
    """What an export into `output` would do, file by file. Reads the database, the
    manifest and folder listings (and hashes copies it would replace); writes nothing
    (this is also the dry run)."""
    return _Planner(output, settings).build()


def dry_run(output: str | Path, settings) -> Plan:
    return build_plan(check_output(output, settings), settings)


__all__ = ["ExportRefused", "Plan", "PlannedFile", "build_plan", "check_output", "dry_run", "read_manifest"]
