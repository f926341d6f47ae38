"""Fingerprints and probe hashes: stored per file, read for a scan as one array in node order
(a `ProbeTable`), missing ones computed from the fingerprints' pixels and saved, and
fingerprints made from thumbnails for files analysed before fingerprints existed."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from sqlalchemy import select, update

from ...media import similarity, thumbnails, versions
from ...models import File, FileFingerprint, db
from ..sql import chunks

if TYPE_CHECKING:
    from .library import Library

PROBES_VERSION = 2  # bump when similarity.WINDOWS, versions' probes or the hash definitions change

# A stored row of probe hashes: the crop windows (window 0 is the whole picture), the centre,
# then what finds the picture's versions (versions.query_hashes).
CENTRE_COL = similarity.N_PROBES
QUERY_START = CENTRE_COL + 1
N_STORED = QUERY_START + versions.N_QUERIES
Probes = tuple[np.ndarray, np.ndarray]  # (pHash row, dHash row), N_STORED hashes each


def store_fingerprint(file_id: int, pixels: bytes) -> None:
    """Record (or replace) a file's fingerprint; probe hashes are made at the next scan."""
    row = db.session.get(FileFingerprint, file_id)
    if row is None:
        db.session.add(FileFingerprint(file_id=file_id, pixels=pixels))
    else:
        row.pixels, row.probes, row.probes_version = pixels, None, None


def load_pixels(file_ids: Iterable[int]) -> dict[int, bytes]:
    out = {}
    for chunk in chunks(file_ids):
        out.update(
            db.session.execute(
                select(FileFingerprint.file_id, FileFingerprint.pixels).where(FileFingerprint.file_id.in_(chunk))
            ).all()
        )
    return out


def make_probes(fps: np.ndarray, aspects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stored rows (n, N_STORED) of pHashes and dHashes of (n, 64, 64) fingerprints."""
    ph, dh = similarity.probe_hashes(fps)
    cph, cdh = versions.grid_hashes(versions.centre_of(fps))
    qph, qdh = versions.query_hashes(fps, aspects)
    return np.concatenate([ph, cph[:, None], qph], axis=1), np.concatenate([dh, cdh[:, None], qdh], axis=1)


def load_probes(file_ids: list[int], aspects: dict[int, float] | None = None) -> dict[int, Probes]:
    """Probe hashes (pHash row, dHash row) per file id, computing and saving missing ones
    (`aspects`: width / height per file id, for the straightened-picture probes)."""
    found: dict[int, Probes] = {}
    missing: list[int] = []
    for chunk in chunks(file_ids):
        for fid, probes, version in db.session.execute(
            select(FileFingerprint.file_id, FileFingerprint.probes, FileFingerprint.probes_version).where(
                FileFingerprint.file_id.in_(chunk)
            )
        ):
            if probes and version == PROBES_VERSION:
                both = np.frombuffer(probes, dtype="<u8").reshape(2, N_STORED)
                found[fid] = (both[0], both[1])
            else:
                missing.append(fid)
    for chunk in chunks(missing):
        pixels = load_pixels(chunk)
        ids = [fid for fid in chunk if fid in pixels]
        if not ids:
            continue
        shapes = np.array([(aspects or {}).get(fid) or 1.0 for fid in ids])
        ph, dh = make_probes(np.stack([similarity.as_array(pixels[fid]) for fid in ids]), shapes)
        rows = []
        for k, fid in enumerate(ids):
            found[fid] = (ph[k], dh[k])
            blob = np.stack([ph[k], dh[k]]).astype("<u8").tobytes()
            rows.append({"file_id": fid, "probes": blob, "probes_version": PROBES_VERSION})
        db.session.execute(update(FileFingerprint), rows)
    return found


BULK = 5000  # more files than this: one pass over the probes index instead of lookups by id


def _no_rows() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros((0, 2, N_STORED), np.uint64)


def plain_rows(stmt) -> list[tuple]:
    """A bulk read's rows as the database driver gives them: plain tuples, not SQLAlchemy rows
    (those take three times as long at 100,000 rows). For numbers, text and bytes only (no
    type conversions), in the scan's own transaction; the statement's values are written into
    the SQL, so they must be the program's own (no value here comes from people)."""
    connection = db.session.connection()
    sql = str(stmt.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


@contextlib.contextmanager
def bulk_read():
    """Python's cycle collector paused while 100,000 rows become tuples: it would walk the
    growing heap of them again and again (a third of the read's time), and they hold no cycles."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def stored_probe_blobs() -> tuple[np.ndarray, list[bytes]]:
    """Every current probe row, read in one pass over the covering index
    (ix_file_fingerprint_probes), never the fingerprints' pixels: (file ids ascending, blobs)."""
    rows = plain_rows(
        select(FileFingerprint.file_id, FileFingerprint.probes)
        .where(FileFingerprint.probes_version == PROBES_VERSION, FileFingerprint.probes.is_not(None))
        .order_by(FileFingerprint.file_id)
    )
    rows = [(fid, probes) for fid, probes in rows if probes]
    ids, blobs = np.array([fid for fid, _ in rows], np.int64), [probes for _, probes in rows]
    del rows  # before the collector runs again: 100,000 tuples it need not walk
    return ids, blobs


@dataclass
class ProbeTable:
    """Every node's probe hashes in one array, in ascending node order."""

    nodes: np.ndarray  # node ids, ascending
    rows: np.ndarray  # (len(nodes), 2, N_STORED): the pHash row and the dHash row of each

    @classmethod
    def empty(cls) -> ProbeTable:
        return cls(*_no_rows())

    def _position(self, node: int) -> int:
        k = int(np.searchsorted(self.nodes, node))
        return k if k < len(self.nodes) and self.nodes[k] == node else -1

    def has(self, node: int) -> bool:
        return self._position(node) >= 0

    def of(self, node: int) -> Probes:
        row = self.rows[self._position(node)]
        return row[0], row[1]

    def positions(self, nodes: Iterable[int]) -> np.ndarray:
        """Where those of `nodes` that have probes sit in the table, ascending."""
        wanted = np.fromiter(nodes, np.int64)
        return np.flatnonzero(np.isin(self.nodes, wanted))


def load_probe_table(lib: Library, thumbnails_dir: Path | None) -> ProbeTable:
    """The probe hashes of every picture and video node, from whichever of its files holds
    them (the lowest id first). Missing or out-of-date ones are made from the pixels now;
    nodes without a fingerprint get one from their thumbnail first (`backfill_fingerprints`)."""
    wanted = lib.picture_files()
    with bulk_read():
        ids, blobs = stored_probe_blobs() if len(wanted) > BULK else (np.zeros(0, np.int64), [])
    if thumbnails_dir is not None:
        backfill_fingerprints(lib, thumbnails_dir, ids)
    keep = np.flatnonzero(np.isin(ids, wanted))
    rest = np.setdiff1d(wanted, ids[keep]).tolist()
    made = load_probes(rest, lib.aspects_of(rest))
    made_ids = np.array(sorted(made), np.int64)
    blobs += [np.stack(made[fid]).astype("<u8").tobytes() for fid in made_ids.tolist()]
    # every candidate row: its file id and its blob (stored ones first, then the made ones)
    file_ids = np.concatenate([ids[keep], made_ids])
    where = np.concatenate([keep, len(ids) + np.arange(len(made_ids))])
    order = np.argsort(file_ids, kind="stable")
    nodes, first = lib.first_file_of_each_node(file_ids[order])  # first: the lowest file id
    with bulk_read():  # one copy of the hashes, straight into node order
        table = b"".join([blobs[k] for k in where[order[first]].tolist()])
    return ProbeTable(nodes, np.frombuffer(table, dtype="<u8").reshape(len(nodes), 2, N_STORED))


def backfill_fingerprints(lib: Library, thumbnails_dir: Path, with_probes: np.ndarray) -> int:
    """Files analysed before fingerprints existed get one from their small thumbnail (the
    same upright reduced picture), so they take part in the search without a re-decode.
    `with_probes`: files known to have a fingerprint (only the others are looked up)."""
    unsure = lib.nodes_without(with_probes)
    have: set[int] = set()
    for chunk in chunks([f for n in unsure for f in lib.node_files(n)]):
        have.update(
            db.session.execute(select(FileFingerprint.file_id).where(FileFingerprint.file_id.in_(chunk))).scalars()
        )
    lacking = [n for n in unsure if not have.intersection(lib.node_files(n))]
    if not lacking:
        return 0
    made = 0
    for chunk in chunks(lacking):
        for fid, key in db.session.execute(
            select(File.id, File.thumb_key).where(File.id.in_(chunk), File.thumb_key.is_not(None))
        ):
            path = thumbnails.thumb_path(thumbnails_dir, key, "s")
            try:
                with Image.open(path) as im:
                    store_fingerprint(fid, similarity.fingerprint(im))
                made += 1
            except OSError:
                continue  # no thumbnail either: this file matches by its bytes only
    db.session.flush()
    return made
