"""The scan: one at a time (a lock in the database), the library loaded once, then four passes (copies of
grouped files, near duplicates, exact copies, similar shots) and one bulk write. Also the
entry points the importer, the CLI and the job queue call."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from threadpoolctl import threadpool_limits

from ...config import Settings
from ...database import retrying
from ...media import similarity
from ...models import Duplicate, DuplicateGroup, File, Job, db
from ...vocab import SAME_PICTURE_KINDS, GroupKind, GroupStatus, JobKind, JobStatus
from .. import jobs, locks
from ..sql import chunks
from .grouping import Writer, join_existing, refresh, release_from_similar, star_pass
from .library import load_library
from .matching import Edge, Verifier, candidates, similar_pairs
from .probes import load_probe_table

log = logging.getLogger(__name__)

LOCK_NAME = "duplicates-scan"  # a library_lock row (pipeline/locks.py)


@dataclass
class ScanReport:
    new_files: int = 0
    candidates: int = 0
    near_pairs: int = 0
    similar_pairs: int = 0
    groups_touched: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"{self.new_files} files compared, {self.candidates} candidate pairs, {self.near_pairs} near and "
            f"{self.similar_pairs} similar matches, {self.groups_touched} groups new or changed "
            f"({self.seconds:.1f} s)"
        )


@contextlib.contextmanager
def _one_scan_at_a_time(settings: Settings):
    """Two scans at once (two imports finishing together, on one machine or several) would
    group the same files twice: scans take turns. The lock is a row in the database, held
    under a lease its heartbeat renews; a scanner that dies frees it when the lease runs out."""
    db.session.commit()  # the lock is written in a transaction of its own
    with locks.hold(LOCK_NAME, seconds=settings.lease_seconds):
        try:
            db.session.commit()  # read what the previous scan wrote
            yield
        except BaseException:
            db.session.rollback()  # nothing of ours may hold the database while the lock goes
            raise


def scan(settings: Settings, new_file_ids: Iterable[int] | None = None) -> ScanReport:
    """Compare `new_file_ids` (None: every file) with the whole library and group what matches."""
    ids = None if new_file_ids is None else list(new_file_ids)
    with _one_scan_at_a_time(settings):
        # a deadlock with a person's action on the same groups: the scan starts over
        return retrying(lambda: _scan(settings, ids), db.session.rollback)


# The scan's matrices are small (a few hundred fingerprints at a time): BLAS threads would
# only wait for each other, and on a busy machine cost ten times the work they share.
@threadpool_limits.wrap(limits=1, user_api="blas")
def _scan(settings: Settings, new_file_ids: Iterable[int] | None) -> ScanReport:
    started = time.monotonic()
    lib = load_library(complete=new_file_ids is None)
    lib.thumbnails_dir = settings.thumbnails_dir
    new_files = set(lib.ids.tolist()) if new_file_ids is None else {f for f in new_file_ids if lib.contains(f)}
    report = ScanReport(new_files=len(new_files))
    new_nodes = {lib.node_of(f) for f in new_files}
    lib.load_files(new_nodes)
    w = Writer(lib)
    t = _thresholds()

    _join_groups_of_their_copies(w, new_files)
    _near_pass(w, new_nodes, t, report)
    _exact_pass(w, new_nodes)
    _similar_pass(w, new_nodes, t, report)

    w.flush()
    refresh(w.touched, settings.thumbnails_dir)
    db.session.commit()
    report.groups_touched = len(w.touched)
    report.seconds = time.monotonic() - started
    log.info("duplicates: %s", report)
    return report


def _join_groups_of_their_copies(w: Writer, new_files: set[int]) -> None:
    """1. A new copy of a file that is already in a live group joins that group."""
    lib = w.lib
    for fid in sorted(new_files):
        node = lib.node_of(fid)
        gid = lib.node_group(node)
        if gid is None or lib.live_group(fid) is not None:
            continue
        rep = lib.groups[gid].representative_id
        row = db.session.execute(
            select(
                Duplicate.kind,
                Duplicate.distance,
                Duplicate.similarity,
                Duplicate.transform,
                Duplicate.angle,
                Duplicate.crop,
            ).where(Duplicate.group_id == gid, Duplicate.file_id.in_(lib.node_files(node)))
        ).first()
        if not lib.contains(rep):
            continue  # the representative is gone: the group cannot take new files
        if lib.sha256(fid) == lib.sha256(rep) or row is None:
            w.add(gid, fid, GroupKind.EXACT, 0, None)
        else:
            edge = Edge(
                row.similarity or 0.0, row.distance, row.kind, row.transform or 0, row.angle or 0.0, row.crop or 1.0
            )
            w.add(gid, fid, row.kind, row.distance, row.similarity, edge)


def _near_pass(w: Writer, new_nodes: set[int], t: similarity.Thresholds, report: ScanReport) -> None:
    """2. Near duplicates: candidates from the probe index, verified on the fingerprints
    (files analysed before fingerprints existed get one from their thumbnail first)."""
    lib = w.lib
    lib.probes = load_probe_table(lib, lib.thumbnails_dir)
    found = candidates(lib, new_nodes)
    near = Verifier(lib, found, GroupKind.NEAR, t)
    release_from_similar(w, new_nodes, near)
    join_existing(w, new_nodes, near, SAME_PICTURE_KINDS)
    star_pass(w, GroupKind.NEAR, near)
    report.candidates, report.near_pairs = len(found), near.verified()


def _exact_pass(w: Writer, new_nodes: set[int]) -> None:
    """3. Exact copies that matched nothing else."""
    lib = w.lib
    for node in sorted(new_nodes):
        files = [f for f in lib.node_files(node) if lib.live_group(f) is None]
        if len(files) >= 2:
            w.star(GroupKind.EXACT, node, [], None)


def _similar_pass(w: Writer, new_nodes: set[int], t: similarity.Thresholds, report: ScanReport) -> None:
    """4. Similar shots among files in no other group."""
    lib = w.lib
    free_new = {n for n in new_nodes if lib.is_free(n)}
    similar = Verifier(lib, similar_pairs(lib, free_new, t.similar_seconds), GroupKind.SIMILAR, t)
    join_existing(w, free_new, similar, (GroupKind.SIMILAR,))
    star_pass(w, GroupKind.SIMILAR, similar, verify_all=True)
    report.similar_pairs = similar.verified()


def _thresholds() -> similarity.Thresholds:
    """The settings page's duplicate sensitivity (normal unless a person changed it)."""
    from ..settings_store import duplicate_sensitivity

    return similarity.SENSITIVITY[duplicate_sensitivity()]


def _dissolve_open_groups() -> int:
    """Undo the grouping of near and similar groups nobody has decided yet, so a re-scan
    groups them afresh (after the sensitivity changed). Decided groups stay as they are."""
    ids = (
        db.session.execute(
            select(DuplicateGroup.id).where(
                DuplicateGroup.status == GroupStatus.OPEN,
                DuplicateGroup.kind.in_((GroupKind.NEAR, GroupKind.VERSION, GroupKind.SIMILAR)),
            )
        )
        .scalars()
        .all()
    )
    for chunk in chunks(ids):
        db.session.execute(update(File).where(File.group_id.in_(chunk)).values(group_id=None))
        db.session.execute(delete(Duplicate).where(Duplicate.group_id.in_(chunk)))
        db.session.execute(delete(DuplicateGroup).where(DuplicateGroup.id.in_(chunk)))
    db.session.commit()
    return len(ids)


# --- entry points ---------------------------------------------------------------------------


def after_import(job: Job, settings: Settings, file_ids: Iterable[int] | None = None) -> None:
    """The import job's finish phase: this job's files (`file_ids`, when the caller has them)
    against the whole library."""
    if file_ids is None:
        file_ids = db.session.execute(select(File.id).where(File.job_id == job.id)).scalars().all()
    report = scan(settings, file_ids)
    if report.groups_touched:
        note = f"Duplicates: {report.groups_touched} groups found or grown."
        job.message = f"{job.message} {note}" if job.message else note
        db.session.commit()


def scan_library(settings: Settings, regroup: bool = False) -> ScanReport:
    """Every file against every other; groups people decided are kept as they are. With
    `regroup`, undecided near and similar groups are formed afresh (new sensitivity)."""
    with _one_scan_at_a_time(settings):
        if regroup:
            _dissolve_open_groups()
        return retrying(lambda: _scan(settings, None), db.session.rollback)


@jobs.handler(JobKind.DUPLICATES)
def run_duplicates_job(ctx: jobs.JobContext) -> str:
    """A re-scan of the whole library, run by a worker (e.g. from a page's button)."""
    report = scan_library(ctx.settings, regroup=bool(ctx.job.params.get("regroup")))
    ctx.job.message = str(report)
    db.session.commit()
    return JobStatus.COMPLETED
