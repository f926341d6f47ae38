"""The library as the duplicate finder sees it, read from the database: every file's facts,
its byte-identical copies (a *node* is the lowest file id with those bytes), the live groups,
people's "not duplicates" decisions, and the fingerprints and probe hashes (missing probes
are computed here and saved)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select, update

from ...media import similarity, thumbnails, versions
from ...media.confidence import CAPTURE_SOURCES
from ...models import DuplicateGroup, File, FileFingerprint, UserDecision, db
from ...vocab import LIVE_GROUP_STATES, DecisionKind, FileStatus, Precision
from ..sql import chunks

PROBES_VERSION = 2  # bump when similarity.WINDOWS, versions' probes or the hash definitions change
# Capture times good enough to say two shots were taken together (file dates are not).
SHOT_TIME_SOURCES = CAPTURE_SOURCES | {"video:creation_time", "gps"}

# A stored row of probe hashes: the crop windows (window 0 is the whole picture), the centre,
# then what finds the picture's versions (versions.query_hashes).
CENTRE_COL = similarity.N_PROBES
QUERY_START = CENTRE_COL + 1
N_STORED = QUERY_START + versions.N_QUERIES
Probes = tuple[np.ndarray, np.ndarray]  # (pHash row, dHash row), N_STORED hashes each


# --- fingerprints and probe hashes ----------------------------------------------------------


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


def stored_probes(file_ids: set[int]) -> dict[int, Probes]:
    """The current probe hashes of those of `file_ids` that have them, read in one pass over
    the covering index (ix_file_fingerprint_probes): never the fingerprints' pixels."""
    rows = (
        db.session.connection()
        .execute(
            select(FileFingerprint.file_id, FileFingerprint.probes).where(
                FileFingerprint.probes_version == PROBES_VERSION, FileFingerprint.probes.is_not(None)
            )
        )
        .all()
    )
    rows = [(fid, probes) for fid, probes in rows if probes and fid in file_ids]
    if not rows:
        return {}
    ids = [fid for fid, _ in rows]
    blob = b"".join(probes for _, probes in rows)
    both = np.frombuffer(blob, dtype="<u8").reshape(len(ids), 2, N_STORED)
    return {fid: (both[k, 0], both[k, 1]) for k, fid in enumerate(ids)}


def load_probes_for_nodes(lib: Library, nodes: list[int]) -> dict[int, Probes]:
    """Probe hashes per node (from whichever of its files holds the fingerprint)."""
    owner = {fid: n for n in nodes for fid in lib.node_files[n]}
    out: dict[int, Probes] = {}
    found = stored_probes(set(owner)) if len(owner) > BULK else {}
    rest = sorted(set(owner) - set(found))  # missing or out of date: made from the pixels now
    found.update(load_probes(rest, {fid: lib.files[fid].facts.aspect for fid in rest}))
    for fid in sorted(found):
        out.setdefault(owner[fid], found[fid])
    return out


def backfill_fingerprints(lib: Library, thumbnails_dir: Path) -> int:
    """Files analysed before fingerprints existed get one from their small thumbnail (the
    same upright reduced picture), so they take part in the search without a re-decode."""
    have = set(db.session.execute(select(FileFingerprint.file_id)).scalars())
    lacking = [n for n, files in lib.node_files.items() if not have.intersection(files)]
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


# --- files, nodes, groups -------------------------------------------------------------------


@dataclass
class LibraryFile:
    id: int
    sha256: str
    group_id: int | None
    media_kind: str
    width: int | None
    height: int | None
    mean_color: int | None
    contrast: float | None
    duration: float | None
    taken_at: datetime | None
    taken_source: str | None
    taken_precision: str | None
    camera_model: str | None

    @cached_property  # a picture's facts do not change during a scan
    def facts(self) -> similarity.Facts:
        return similarity.Facts(
            self.width or 0, self.height or 0, self.mean_color, self.contrast, self.media_kind, self.duration
        )

    @property
    def shot_time(self) -> datetime | None:
        """The capture time, when it comes from the camera (not from a file date or a name)."""
        if self.taken_at is None or self.taken_precision != Precision.SECOND:
            return None
        source = self.taken_source or ""
        if source in SHOT_TIME_SOURCES or source.startswith("filename"):
            return self.taken_at
        return None


@dataclass
class LibraryGroup:
    id: int
    kind: str
    status: str
    representative_id: int | None


@dataclass
class Library:
    files: dict[int, LibraryFile]
    node_files: dict[int, list[int]]  # node (lowest file id with those bytes) -> file ids
    node_of: dict[int, int]
    groups: dict[int, LibraryGroup]  # live groups
    vetoes: dict[int, set[int]]  # file id -> ids of "not duplicates" decisions it is part of
    probes: dict[int, Probes] = field(default_factory=dict)  # node -> hashes
    pixel_cache: dict[int, bytes] = field(default_factory=dict)
    colour_cache: dict[int, versions.Colour | None] = field(default_factory=dict)
    thumbnails_dir: Path | None = None  # where colours are measured when a pair needs them
    group_members: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def __post_init__(self) -> None:
        for f in self.files.values():
            if f.group_id is not None:
                self.group_members[f.group_id].add(f.id)

    def set_group(self, file_id: int, group_id: int | None) -> None:
        old = self.files[file_id].group_id
        if old is not None:
            self.group_members[old].discard(file_id)
        self.files[file_id].group_id = group_id
        if group_id is not None:
            self.group_members[group_id].add(file_id)

    def live_group(self, file_id: int) -> int | None:
        gid = self.files[file_id].group_id
        return gid if gid in self.groups else None

    def node_group(self, node: int) -> int | None:
        for fid in self.node_files[node]:
            gid = self.live_group(fid)
            if gid is not None:
                return gid
        return None

    def free_nodes(self) -> set[int]:
        """Nodes none of whose files is in a live group."""
        busy = {self.node_of[f] for gid in self.groups for f in self.group_members.get(gid, ())}
        return set(self.node_files) - busy

    def pixels_of(self, node: int) -> int:
        f = self.files[node]
        return (f.width or 0) * (f.height or 0)

    def vetoed(self, a: int, b: int) -> bool:
        """People said these two files are not duplicates."""
        return bool(self.vetoes.get(a, set()) & self.vetoes.get(b, set()))

    def nodes_vetoed(self, x: int, y: int) -> bool:
        return any(self.vetoed(a, b) for a in self.node_files[x] for b in self.node_files[y])

    def pixels(self, nodes: Iterable[int]) -> dict[int, bytes]:
        wanted = [n for n in nodes if n not in self.pixel_cache]
        if wanted:
            # any file of a node may hold its fingerprint (copies share it)
            owner = {fid: n for n in wanted for fid in self.node_files[n]}
            for fid, px in load_pixels(owner).items():
                self.pixel_cache.setdefault(owner[fid], px)
        return {n: self.pixel_cache[n] for n in nodes if n in self.pixel_cache}

    def colours(self, nodes: Iterable[int]) -> dict[int, versions.Colour | None]:
        """How colourful each node's picture is (None: unknown, no thumbnail)."""
        wanted = [n for n in nodes if n not in self.colour_cache]
        if wanted:
            self.colour_cache.update(load_colours(wanted, self.node_files, self.thumbnails_dir))
        return {n: self.colour_cache.get(n) for n in nodes}


def load_colours(
    nodes: list[int], node_files: dict[int, list[int]], thumbnails_dir: Path | None
) -> dict[int, versions.Colour | None]:
    """Colours of the nodes' pictures: stored, or measured from the small thumbnail and stored."""
    owner = {fid: n for n in nodes for fid in node_files[n]}
    out: dict[int, versions.Colour | None] = dict.fromkeys(nodes)
    rows = db.session.execute(
        select(
            FileFingerprint.file_id,
            FileFingerprint.colour_chroma,
            FileFingerprint.colour_residual,
            FileFingerprint.colour_hue,
            File.thumb_key,
        )
        .join(File, File.id == FileFingerprint.file_id)
        .where(FileFingerprint.file_id.in_(sorted(owner)))
    ).all()
    for fid, chroma, residual, hue, key in rows:
        node = owner[fid]
        if out[node] is not None:
            continue
        if chroma is not None:
            out[node] = versions.Colour(chroma, residual, hue)
        elif key and thumbnails_dir is not None:
            out[node] = measure_colour(fid, key, thumbnails_dir)
    return out


def measure_colour(file_id: int, thumb_key: str, thumbnails_dir: Path) -> versions.Colour | None:
    """A picture's colours from its small thumbnail, stored on its fingerprint row."""
    try:
        with Image.open(thumbnails.thumb_path(thumbnails_dir, thumb_key, "s")) as im:
            colour = versions.colour_of(im.convert("RGB"))
    except OSError:
        return None  # no thumbnail: the colours stay unknown
    db.session.execute(
        update(FileFingerprint)
        .where(FileFingerprint.file_id == file_id)
        .values(colour_chroma=colour.chroma, colour_residual=colour.residual, colour_hue=colour.hue)
    )
    return colour


def _active_dismissals() -> list[UserDecision]:
    undone = select(UserDecision.undoes_id).where(
        UserDecision.kind == DecisionKind.UNDO, UserDecision.undoes_id.is_not(None)
    )
    return list(
        db.session.execute(
            select(UserDecision).where(UserDecision.kind == DecisionKind.NOT_DUPLICATE, UserDecision.id.not_in(undone))
        ).scalars()
    )


def load_library() -> Library:
    # Core, not the ORM: plain rows, several times faster at 100,000 files
    rows = (
        db.session.connection()
        .execute(
            select(
                File.id,
                File.sha256,
                File.group_id,
                File.media_kind,
                File.width,
                File.height,
                File.mean_color,
                File.contrast,
                File.duration,
                File.taken_at,
                File.taken_source,
                File.taken_precision,
                File.camera_model,
            )
            .where(
                File.status.in_((FileStatus.DONE, FileStatus.DUPLICATE)),
                File.sha256.is_not(None),
                File.media_kind.is_not(None),
            )
            .order_by(File.id)
        )
        .all()
    )
    files = {r.id: LibraryFile(*r) for r in rows}
    node_files: dict[int, list[int]] = {}
    first_of_sha: dict[str, int] = {}
    node_of = {}
    for f in files.values():
        node = first_of_sha.setdefault(f.sha256, f.id)
        node_files.setdefault(node, []).append(f.id)
        node_of[f.id] = node
    groups = {
        g.id: LibraryGroup(g.id, g.kind, g.status, g.representative_id)
        for g in db.session.execute(
            select(DuplicateGroup).where(DuplicateGroup.status.in_(LIVE_GROUP_STATES))
        ).scalars()
    }
    vetoes: dict[int, set[int]] = defaultdict(set)
    for decision in _active_dismissals():
        for fid in decision.payload.get("file_ids", []):
            vetoes[fid].add(decision.id)
    return Library(files, node_files, node_of, groups, dict(vetoes))
