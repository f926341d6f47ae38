"""The export's copy step: prepare copies on every core, then record them in batches.

Each batch goes   intent (database) -> names (renames, old copies to the archive's trash)
                  -> manifest lines -> database,
so a worker killed at any point leaves either a temporary file (removed at the next start)
or a copy whose final name and hash the database already knows (recognised and recorded by
the next run, never written twice). An update's old copy is moved aside before the new one
takes its name when the two share it, and after the new one is in place otherwise.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from pathlib import Path

from ..media import archive_copy
from ..media.metadata_writer import open_writer
from ..models import JobItem, db, utcnow
from ..vocab import ItemStatus, JobControl
from . import batches, locks
from .export_manifest import append_manifest, trash_path
from .export_plan import PlannedFile

log = logging.getLogger(__name__)

BATCH_SECONDS = 0.5
BATCH_FILES = 64
BATCH_BYTES = 512 * 1024 * 1024


def writer_label(writer) -> str:
    return f"exiftool {writer.version}" if writer.name == "exiftool" else "python"


def manifest_record(job_id: int, item: PlannedFile, placed: dict) -> dict:
    """The manifest line of a copy written or rewritten (export_manifest.py)."""
    return {
        "v": 2,
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
        "sidecar_sha256": placed.get("sidecar_sha256"),
        "method": placed["method"],
        "writer": placed.get("writer") if placed["method"] == "embed" else None,
        "capture": {"local": item.local, "offset": item.offset, "precision": item.precision, "utc": item.utc},
        "stated": item.stated,
        "time_source": item.time_source,
        "confidence": item.confidence,
        "tags": item.tags,
        "replaces": placed.get("replaces"),
        "notes": placed.get("notes") or [],
        "orientation": item.orientation,  # a person's turn (None: the original's own)
        # a companion part: its set's main content and its role; a sidecar's own bytes
        "companion_of": item.companion_of,
        "role": item.role,
        "content_sha256": item.content_sha256,
        "sidecar_from": item.sidecar_from,
    }


def recorded_already(known: dict | None, record: dict) -> bool:
    """Whether the manifest's latest record of a content (`known`) is already this copy: the
    same name and bytes, sidecar included (a killed run may have written the line)."""
    keys = ("output", "output_sha256", "sidecar_sha256")
    return known is not None and all(known.get(k) == record.get(k) for k in keys)


def retired_record(job_id: int, item: PlannedFile, moved: dict) -> dict:
    """The manifest line of a copy moved to the archive's trash (its file was left out)."""
    return {
        "v": 2,
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "job": job_id,
        "file_id": item.file_id,
        "source_name": item.display,
        "sha256": item.sha256,
        "retired": True,
        "output": item.previous["output"],
        "trash": moved.get("copy"),
        "sidecar_trash": moved.get("sidecar"),
        "reason": "left out",
    }


def placed_copy_present(output: Path, placed: dict) -> bool:
    """Whether a copy (and its sidecar) is under its final name with the recorded bytes."""
    try:
        for name, sha, size in (
            (placed["target"], placed["out_sha256"], placed["out_size"]),
            (placed.get("sidecar"), placed.get("sidecar_sha256"), None),
        ):
            if not name or not sha:
                continue
            path = output / name
            if size is not None and path.stat().st_size != size:
                return False
            if archive_copy.sha256_of(path)[0] != sha:
                return False
    except OSError:
        return False
    return True


def old_paths(planned: PlannedFile) -> list[str]:
    """The archive paths of the copy (and sidecar) an update or retirement replaces."""
    previous = planned.previous or {}
    return [p for p in (previous.get("output"), previous.get("sidecar")) if p]


def retire_old(output: Path, job_id: int, planned: PlannedFile, *, before: bool, placed: dict | None) -> dict:
    """Move the old copy and sidecar of an update (or a retirement) to the archive's trash.
    `before`: only those whose names the new copy takes (done before it is placed);
    otherwise the rest. A renamed copy (its bytes linked under the new name) loses only its
    old name. Returns {"copy"/"sidecar": trash path}. Raises ChangedInArchive."""
    previous = planned.previous or {}
    new = {placed["target"], placed.get("sidecar")} if placed else set()
    moved: dict[str, str] = {}
    for key, sha_key in (("output", "output_sha256"), ("sidecar", "sidecar_sha256")):
        old = previous.get(key)
        if not old or (old in new) != before:
            continue
        if placed and old == placed["target"] and planned.reuse:
            continue  # the same bytes under the same name: it simply stays
        keep = output / placed["target"] if placed and key == "output" and planned.reuse else None
        trash = trash_path(job_id, old)
        outcome = archive_copy.retire(output / old, output / trash, previous.get(sha_key), keep=keep)
        if outcome == "moved":
            moved["copy" if key == "output" else "sidecar"] = trash
    return moved


def finish_replacing(output: Path, job_id: int, planned: PlannedFile, placed: dict) -> dict:
    """A copy a killed run renamed into place, before it could record it: the old copy and
    sidecar it replaces go to the archive's trash now if they had not yet. Returns `placed`
    with what it replaced, as the uninterrupted run would have recorded it (an old copy
    whose name the new one took was set aside before the rename: its trash path is there)."""
    if not planned.previous:
        return placed
    try:
        moved = retire_old(output, job_id, planned, before=False, placed=placed)
    except archive_copy.ChangedInArchive:
        moved = {}
    taken = {placed["target"], placed.get("sidecar")}
    for key, side in (("output", "copy"), ("sidecar", "sidecar")):
        old = planned.previous.get(key)
        if old in taken and os.path.lexists(output / trash_path(job_id, old)):
            moved[side] = trash_path(job_id, old)
    replaces = dict(placed.get("replaces") or {"output": planned.previous["output"]})
    if moved:
        replaces["trash"] = {**(replaces.get("trash") or {}), **moved}
    return {**placed, "replaces": replaces}


class Batch:
    def __init__(self, ctx, output: Path, label: str, index: dict[str, dict]):
        self.ctx = ctx
        self.job_id = ctx.job.id  # read once: an expired row would be reloaded mid-batch (and flush our changes)
        self.output = output
        self.writer_label = label
        self.index = index
        self.prepared: list[tuple[JobItem, PlannedFile, archive_copy.Prepared]] = []
        self.adopted: list[tuple[JobItem, PlannedFile, dict]] = []
        self.retiring: list[tuple[JobItem, PlannedFile]] = []
        self.errors: list[tuple[JobItem, str]] = []
        self.started = time.monotonic()
        self.bytes = 0

    @property
    def size(self) -> int:
        return len(self.prepared) + len(self.adopted) + len(self.retiring) + len(self.errors)

    def due(self) -> bool:
        pending = self.size
        return pending > 0 and (
            pending >= BATCH_FILES or self.bytes >= BATCH_BYTES or time.monotonic() - self.started >= BATCH_SECONDS
        )

    def _placed(self, planned: PlannedFile, prepared: archive_copy.Prepared, target: str) -> dict:
        return {
            "target": target,
            "out_sha256": prepared.out_sha256,
            "out_size": prepared.out_size,
            "sidecar": f"{target}{archive_copy.SIDECAR_SUFFIX}" if prepared.sidecar_tmp else None,
            "sidecar_sha256": prepared.sidecar_sha256,
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

    def _name_one(self, job_item: JobItem, planned: PlannedFile, prepared: archive_copy.Prepared):
        """Old copy aside (where the new one takes its name), new copy in place, the rest of
        the old copy aside. Returns the placed facts, or None when the old copy changed."""
        job_id = self.job_id
        placed = self._placed(planned, prepared, planned.target)
        try:
            moved = retire_old(self.output, job_id, planned, before=True, placed=placed)
        except archive_copy.ChangedInArchive as exc:
            archive_copy.discard(prepared)
            self.errors.append((job_item, f"{exc}; its new date and tags were not written"))
            return None
        if prepared.target is None:
            self._place(prepared, self.output / planned.target)
        placed = self._placed(planned, prepared, prepared.target.relative_to(self.output).as_posix())
        try:
            moved.update(retire_old(self.output, job_id, planned, before=False, placed=placed))
        except archive_copy.ChangedInArchive as exc:
            placed["notes"] = [*placed["notes"], f"{exc}: its old copy stays where it is"]
        if planned.previous:
            placed["replaces"] = {"output": planned.previous["output"], **({"trash": moved} if moved else {})}
        return placed

    def _retire_one(self, job_item: JobItem, planned: PlannedFile) -> dict | None:
        try:
            moved = retire_old(self.output, self.job_id, planned, before=False, placed=None)
        except archive_copy.ChangedInArchive as exc:
            self.errors.append((job_item, str(exc)))
            return None
        return {"retired": moved}

    def flush(self) -> None:
        if not self.size:
            return
        # 1. intent: the database knows each copy's final name and hash before it exists
        for job_item, planned, prepared in self.prepared:
            job_item.result = {**job_item.result, "placing": self._placed(planned, prepared, planned.target)}
        for job_item, _planned in self.retiring:
            job_item.result = {**job_item.result, "retiring": True}
        db.session.commit()
        # Nothing is written to the database until step 4: the manifest's lock is taken in
        # a transaction of its own, which on SQLite would wait for ours.
        with db.session.no_autoflush:
            done = self._place_all()
            # 3. manifest, then 4. the database
            self._append(done)
        self._record(done)
        self.prepared, self.adopted, self.retiring, self.errors = [], [], [], []
        self.started, self.bytes = time.monotonic(), 0

    def _place_all(self) -> list[tuple[JobItem, PlannedFile, dict]]:
        """2. final names (a flush retried after an error skips what is already placed)."""
        done: list[tuple[JobItem, PlannedFile, dict]] = list(self.adopted)
        folders = set()
        for job_item, planned, prepared in self.prepared:
            placed = self._name_one(job_item, planned, prepared)
            if placed is not None:
                job_item.result = {**job_item.result, "target": placed["target"], "placing": placed}
                done.append((job_item, planned, placed))
                folders.add(prepared.target.parent)
        for job_item, planned in self.retiring:
            retired = self._retire_one(job_item, planned)
            if retired is not None:
                done.append((job_item, planned, retired))
        for folder in folders:
            archive_copy.fsync_dir(folder)
        return done

    def _append(self, done: list[tuple[JobItem, PlannedFile, dict]]) -> None:
        records = []
        for _job_item, planned, placed in done:
            if "retired" in placed:
                if self.index.pop(planned.sha256, None) is not None:  # not recorded yet (a killed run may have)
                    records.append(retired_record(self.job_id, planned, placed["retired"]))
                continue
            record = manifest_record(self.job_id, planned, placed)
            if not recorded_already(self.index.get(planned.sha256), record):
                records.append(record)
                self.index[planned.sha256] = record
        try:
            # the job's workers on other machines append too: one at a time (a lock in the database)
            if records:
                with locks.hold(locks.lock_name("manifest", str(self.output)), seconds=self.ctx.settings.lease_seconds):
                    append_manifest(self.output, records)
        except OSError as exc:
            if exc.errno in archive_copy.DISK_FULL:
                raise archive_copy.DiskFull(f"The disk is full: the manifest in {self.output} cannot grow") from None
            raise

    def _record(self, done: list[tuple[JobItem, PlannedFile, dict]]) -> None:
        for job_item, _planned, placed in done:
            result = {k: v for k, v in job_item.result.items() if k not in ("placing", "retiring")}
            result.update(placed)
            job_item.result = result
            job_item.status = ItemStatus.DONE
            job_item.message = "; ".join(placed.get("notes") or []) or None
        for job_item, message in self.errors:
            job_item.status = ItemStatus.ERROR
            job_item.message = message
        self.ctx.add(done=len(done) + len(self.errors), errors=len(self.errors))
        db.session.commit()


class WriterPool:
    """Files are prepared (copied, rewritten, verified) on every core: one thread per
    core, each with its own writer (its own exiftool process). Only the main thread
    touches the database and renames files into place."""

    def __init__(self, workers: int):
        self.local = threading.local()
        self.writers: list = []
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export")
        self.running: set[Future] = set()
        self.label = writer_label(self._writer())  # started here: a broken install fails early

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


def request_for(output: Path, planned: PlannedFile) -> archive_copy.Request:
    reuse = output / planned.previous["output"] if planned.reuse and planned.previous else None
    carried = planned.sidecar_from
    return archive_copy.Request(
        source=Path(planned.source),
        sha256=planned.content_sha256 or planned.sha256,
        mime=planned.mime or "",
        target=output / planned.target,
        method=planned.method,
        stamp=planned.stamp(),
        file_time=datetime.fromisoformat(planned.utc).timestamp() if planned.utc else None,
        alternates=tuple(Path(p) for p in planned.alternates),
        reuse=reuse,
        sidecar_base=(Path(carried[0]), carried[1]) if carried else None,
    )


class CopyRun:
    """The copy loop over one batch of the plan (`claimed`, pipeline/batches.py): up to two
    files per writer in flight, their results taken in plan order (so what is recorded is
    always a prefix of the batch) and recorded in batches."""

    def __init__(self, ctx, output: Path, pool: WriterPool, batch: Batch, workers: int, claimed: batches.Claimed):
        self.ctx, self.output, self.pool, self.batch = ctx, output, pool, batch
        self.job_id = batch.job_id
        self.claimed = claimed
        self.window = 2 * workers
        self.in_flight: deque[tuple[JobItem, PlannedFile, Future]] = deque()
        self.last_id, self.exhausted = 0, False
        self.control: str = JobControl.RUN
        self.fatal: Exception | None = None

    def _running(self) -> bool:
        return self.control == JobControl.RUN and self.fatal is None

    def _refill(self) -> None:
        while self._running() and not self.exhausted and len(self.in_flight) < self.window:
            items = batches.items_of(self.job_id, self.claimed, self.last_id, self.window - len(self.in_flight))
            self.exhausted = not items
            for job_item in items:
                self.last_id = job_item.id
                planned = PlannedFile.from_dict(job_item.result)
                placing = job_item.result.get("placing")
                if planned.action == "retire":
                    self.batch.retiring.append((job_item, planned))
                elif placing and placed_copy_present(self.output, placing):
                    # a killed run renamed this copy into place: it is complete and verified
                    placing = finish_replacing(self.output, self.job_id, planned, placing)
                    self.batch.adopted.append((job_item, planned, placing))
                else:
                    future = self.pool.submit(request_for(self.output, planned))
                    self.in_flight.append((job_item, planned, future))

    def _take_next(self) -> None:
        job_item, planned, future = self.in_flight.popleft()
        try:
            prepared = future.result()
        except archive_copy.SourceProblem as exc:
            self.batch.errors.append((job_item, str(exc)))
        except (archive_copy.DiskFull, archive_copy.DestinationProblem) as exc:
            self.fatal = self.fatal or exc  # let the others finish: what they wrote is complete
        else:
            self.batch.prepared.append((job_item, planned, prepared))
            self.batch.bytes += prepared.out_size

    def run(self) -> str:
        while True:
            self._refill()
            if self.in_flight:
                self._take_next()
            elif self.exhausted or not self._running():
                break
            if self.fatal is None and self.batch.due():
                self.batch.flush()
                self.control = self.ctx.checkpoint()
        if self.fatal is not None:
            raise self.fatal
        self.batch.flush()
        return self.control

    def discard_unrecorded(self) -> None:
        """Temporary copies that never got their final name."""
        for _item, _planned, future in self.in_flight:
            if future.done() and future.exception() is None:
                archive_copy.discard(future.result())
        for _item, _planned, prepared in self.batch.prepared:
            if prepared.target is None:
                archive_copy.discard(prepared)
