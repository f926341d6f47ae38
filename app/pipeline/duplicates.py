"""Duplicates in the library: exact copies, near duplicates (the same picture) and similar
shots (one moment), kept as `DuplicateGroup` + `Duplicate` rows, with `File.group_id` set.

Entry points:
  after_import(job)    the import's finish phase: this job's files against the whole library
  scan_library()       every file again (e.g. after a backfill); decided groups stay as they are
  store_fingerprint()  the importer's hook for a new file's fingerprint

What counts (matching itself is app/media/similarity.py, pure):
  exact    the same bytes (sha256), across the whole library
  near     the same picture: verified on the aligned fingerprints, flat pictures excluded,
           shapes, brightness and colours close, and not two different camera shots
           (both have an EXIF capture time and they differ, or different camera models)
  similar  one moment: a looser picture match and capture times (from the camera, not file
           dates) at most a minute apart (by the sensitivity setting), same camera. Never
           treated as copies.

Groups are stars: every member was verified against the group's representative. A file is
in at most one live group (open or resolved); exact and near groups come first, similar
groups only take files that are in no other live group. Groups people decided are kept; a
new copy of a resolved group's picture joins it and opens it again. Files people said are
"not duplicates" (a dismissed group) are never grouped together again.

Incremental: only pairs that involve a new file are searched and verified; the rest of the
library is read (facts, probe hashes) but not compared again.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import case, delete, func, select, update

from ..media import keeper, similarity
from ..media.confidence import CAPTURE_SOURCES
from ..media.timestamps import parse_datetime
from ..models import (
    Duplicate,
    DuplicateGroup,
    File,
    FileFingerprint,
    FileStatus,
    Job,
    JobKind,
    UserDecision,
    db,
    utcnow,
)
from . import jobs

log = logging.getLogger(__name__)

LIVE = ("open", "resolved")
PROBES_VERSION = 1  # bump when similarity.WINDOWS or the hash definitions change
# Capture times good enough to say two shots were taken together (file dates are not).
SHOT_TIME_SOURCES = CAPTURE_SOURCES | {"video:creation_time", "gps"}
CHUNK = 500  # ids per IN (...) query


# --- fingerprints -------------------------------------------------------------------------


def store_fingerprint(file_id: int, pixels: bytes) -> None:
    """Record (or replace) a file's fingerprint; probe hashes are made at the next scan."""
    row = db.session.get(FileFingerprint, file_id)
    if row is None:
        db.session.add(FileFingerprint(file_id=file_id, pixels=pixels))
    else:
        row.pixels, row.probes, row.probes_version = pixels, None, None


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _load_probes(file_ids: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Probe hashes (pHash row, dHash row) per file id, computing and saving missing ones."""
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    missing: list[int] = []
    for chunk in _chunks(file_ids):
        for fid, probes, version in db.session.execute(
            select(FileFingerprint.file_id, FileFingerprint.probes, FileFingerprint.probes_version).where(
                FileFingerprint.file_id.in_(chunk)
            )
        ):
            if probes and version == PROBES_VERSION:
                both = np.frombuffer(probes, dtype="<u8").reshape(2, similarity.N_PROBES)
                found[fid] = (both[0], both[1])
            else:
                missing.append(fid)
    for chunk in _chunks(missing):
        pixels = _load_pixels(chunk)
        ids = [fid for fid in chunk if fid in pixels]
        if not ids:
            continue
        ph, dh = similarity.probe_hashes(np.stack([similarity.as_array(pixels[fid]) for fid in ids]))
        rows = []
        for k, fid in enumerate(ids):
            found[fid] = (ph[k], dh[k])
            blob = np.stack([ph[k], dh[k]]).astype("<u8").tobytes()
            rows.append({"file_id": fid, "probes": blob, "probes_version": PROBES_VERSION})
        db.session.execute(update(FileFingerprint), rows)
    return found


def _backfill_fingerprints(lib: _Library) -> int:
    """Files analysed before fingerprints existed get one from their small thumbnail (the
    same upright reduced picture), so they take part in the search without a re-decode."""
    from flask import current_app

    from ..media import thumbnails

    have = set(db.session.execute(select(FileFingerprint.file_id)).scalars())
    lacking = [n for n, files in lib.node_files.items() if not have.intersection(files)]
    if not lacking:
        return 0
    root = current_app.config["MEDIAPARSER"].thumbnails_dir
    made = 0
    for chunk in _chunks(lacking):
        for fid, key in db.session.execute(
            select(File.id, File.thumb_key).where(File.id.in_(chunk), File.thumb_key.is_not(None))
        ):
            path = thumbnails.thumb_path(root, key, "s")
            try:
                with Image.open(path) as im:
                    store_fingerprint(fid, similarity.fingerprint(im))
                made += 1
            except OSError:
                continue  # no thumbnail either: this file matches by its bytes only
    db.session.flush()
    return made


def _load_pixels(file_ids: Iterable[int]) -> dict[int, bytes]:
    out = {}
    for chunk in _chunks(file_ids):
        out.update(
            db.session.execute(
                select(FileFingerprint.file_id, FileFingerprint.pixels).where(FileFingerprint.file_id.in_(chunk))
            ).all()
        )
    return out


# --- the library as the matcher sees it ----------------------------------------------------


@dataclass
class _File:
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

    @property
    def facts(self) -> similarity.Facts:
        return similarity.Facts(
            self.width or 0, self.height or 0, self.mean_color, self.contrast, self.media_kind, self.duration
        )

    @property
    def shot_time(self) -> datetime | None:
        """The capture time, when it comes from the camera (not from a file date or a name)."""
        if self.taken_at is None or self.taken_precision != "second":
            return None
        source = self.taken_source or ""
        if source in SHOT_TIME_SOURCES or source.startswith("filename"):
            return self.taken_at
        return None


@dataclass
class _Group:
    id: int
    kind: str
    status: str
    representative_id: int | None


@dataclass
class _Library:
    files: dict[int, _File]
    node_files: dict[int, list[int]]  # node (lowest file id with those bytes) -> file ids
    node_of: dict[int, int]
    groups: dict[int, _Group]  # live groups
    vetoes: dict[int, set[int]]  # file id -> ids of "not duplicates" decisions it is part of
    probes: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # node -> hashes
    pixel_cache: dict[int, bytes] = field(default_factory=dict)
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
            for fid, px in _load_pixels(owner).items():
                self.pixel_cache.setdefault(owner[fid], px)
        return {n: self.pixel_cache[n] for n in nodes if n in self.pixel_cache}


def _active_dismissals() -> list[UserDecision]:
    undone = select(UserDecision.undoes_id).where(UserDecision.kind == "undo", UserDecision.undoes_id.is_not(None))
    return list(
        db.session.execute(
            select(UserDecision).where(UserDecision.kind == "not_duplicate", UserDecision.id.not_in(undone))
        ).scalars()
    )


def _load_library() -> _Library:
    rows = db.session.execute(
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
    ).all()
    files = {r.id: _File(*r) for r in rows}
    node_files: dict[int, list[int]] = {}
    first_of_sha: dict[str, int] = {}
    node_of = {}
    for f in files.values():
        node = first_of_sha.setdefault(f.sha256, f.id)
        node_files.setdefault(node, []).append(f.id)
        node_of[f.id] = node
    groups = {
        g.id: _Group(g.id, g.kind, g.status, g.representative_id)
        for g in db.session.execute(select(DuplicateGroup).where(DuplicateGroup.status.in_(LIVE))).scalars()
    }
    vetoes: dict[int, set[int]] = defaultdict(set)
    for decision in _active_dismissals():
        for fid in decision.payload.get("file_ids", []):
            vetoes[fid].add(decision.id)
    return _Library(files, node_files, node_of, groups, dict(vetoes))


# --- finding and verifying pairs -----------------------------------------------------------


@dataclass(frozen=True)
class _Edge:
    score: float  # aligned correlation; 1.0 for identical pixels
    distance: int  # Hamming distance of the closest probe pair (pHash or dHash)


def _candidates(lib: _Library, new_nodes: set[int]) -> dict[tuple[int, int], int]:
    """Pairs of nodes (low, high) that may show the same picture, with their probe distance:
    every new node against the whole library, in both directions (either may be the crop)."""
    nodes = [n for n in lib.node_files if n in lib.probes]
    if not nodes:
        return {}
    index = np.array(nodes)
    new_idx = np.array([k for k, n in enumerate(nodes) if n in new_nodes], dtype=np.int64)
    pairs: dict[tuple[int, int], int] = {}
    for h in (0, 1):  # pHash, then dHash
        probes = np.stack([lib.probes[n][h] for n in nodes])
        full = probes[:, 0]
        searches = [(new_idx, np.arange(len(nodes)))]
        if len(new_idx) < len(nodes):
            searches.append((np.arange(len(nodes)), new_idx))
        for q_idx, t_idx in searches:
            qi, tj, dist, _ = similarity.probe_pairs(full[q_idx], probes[t_idx])
            for a, b, d in zip(index[q_idx[qi]].tolist(), index[t_idx[tj]].tolist(), dist.tolist(), strict=True):
                if a != b:
                    key = (min(a, b), max(a, b))
                    pairs[key] = min(pairs.get(key, 64), d)
    return pairs


@dataclass(frozen=True)
class Shot:
    """What the camera wrote about the moment: its EXIF capture time (as written, with
    sub-seconds when present) and its model."""

    time: datetime | None = None
    subsec: bool = False
    camera: str | None = None


def _shots(file_ids: Iterable[int]) -> dict[int, Shot]:
    out = {}
    for chunk in _chunks(file_ids):
        for fid, meta, model in db.session.execute(
            select(File.id, File.meta, File.camera_model).where(File.id.in_(chunk))
        ):
            meta = meta or {}
            subsec = str(meta.get("subsec_original") or "").strip()
            parsed = parse_datetime(meta.get("datetime_original"), subsec or None)
            out[fid] = Shot(
                parsed.value if parsed.precision in ("second", "minute") else None,
                subsec.isdigit(),
                (model or "").strip().lower() or None,
            )
    return out


def different_shots(a: Shot, b: Shot) -> str | None:
    """Why two files cannot be copies of one photo, from their camera metadata (or None).
    Copies keep the original's EXIF or lose it; they do not get another capture time or
    camera. Burst frames differ by a second or by their sub-seconds. A whole number of
    quarter hours apart is a clock or time-zone fix, not another shot."""
    if a.camera and b.camera and a.camera != b.camera:
        return "taken with different cameras"
    if a.time is None or b.time is None:
        return None
    ta, tb = a.time.replace(tzinfo=None), b.time.replace(tzinfo=None)  # wall clocks as written
    if a.subsec and b.subsec and ta != tb:
        return "taken at different moments"
    gap = abs((ta.replace(microsecond=0) - tb.replace(microsecond=0)).total_seconds())
    if gap >= 1 and gap % 900 != 0:
        return "taken at different moments"
    return None


def _probe_distance(lib: _Library, a: int, b: int) -> int:
    """Closest pHash/dHash probe distance between two nodes, either way round."""
    best = 64
    for h in (0, 1):
        pa, pb = lib.probes[a][h], lib.probes[b][h]
        best = min(best, int(np.bitwise_count(pa[0] ^ pb).min()), int(np.bitwise_count(pb[0] ^ pa).min()))
    return best


class _Verifier:
    """Checks candidate pairs on demand, each at most once: only what the grouping needs
    (a new file against a group's representative, a star's centre against its neighbours)."""

    def __init__(self, lib: _Library, pairs: Iterable[tuple[int, int]], kind: str, t: similarity.Thresholds):
        self.lib, self.kind, self.t = lib, kind, t
        self.neighbours: dict[int, set[int]] = defaultdict(set)
        for a, b in pairs:
            if not lib.nodes_vetoed(a, b):
                self.neighbours[a].add(b)
                self.neighbours[b].add(a)
        nodes = list(self.neighbours)
        self.shots = _shots(nodes)
        lib.pixels(nodes)  # one batch of queries, not one per pair
        self.results: dict[tuple[int, int], _Edge | None] = {}

    def edge(self, a: int, b: int) -> _Edge | None:
        key = (min(a, b), max(a, b))
        if key not in self.results:
            self.results[key] = self._check(*key)
        return self.results[key]

    def _check(self, a: int, b: int) -> _Edge | None:
        lib = self.lib
        near = self.kind == "near"
        fa, fb = lib.files[a].facts, lib.files[b].facts
        if fa.why_not(fb, strict=near):
            return None
        shot_a, shot_b = self.shots[a], self.shots[b]
        if near and different_shots(shot_a, shot_b):
            return None
        if not near and shot_a.camera and shot_b.camera and shot_a.camera != shot_b.camera:
            return None  # shots of one moment come from one camera
        pixels = lib.pixels((a, b))
        if len(pixels) < 2:
            return None
        match = similarity.compare(pixels[a], pixels[b], self.t)
        if not (match.is_near(self.t) if near else match.is_similar(self.t)):
            return None
        return _Edge(round(match.score, 4), _probe_distance(lib, a, b))

    def verified(self) -> int:
        return sum(1 for e in self.results.values() if e is not None)


def _similar_pairs(lib: _Library, new_nodes: set[int], free: set[int], seconds: int) -> list[tuple[int, int]]:
    """Pairs of free nodes whose camera capture times are at most `seconds` apart,
    at least one of them new (a sweep over the times: no all-pairs)."""
    timed = sorted((lib.files[n].shot_time, n) for n in free if lib.files[n].shot_time is not None and n in lib.probes)
    pairs = []
    start = 0
    for k, (t, n) in enumerate(timed):
        while (t - timed[start][0]).total_seconds() > seconds:
            start += 1
        pairs += [(min(n, m), max(n, m)) for _, m in timed[start:k] if n in new_nodes or m in new_nodes]
    return pairs


# --- building groups ------------------------------------------------------------------------


class _Writer:
    """Creates groups and adds members. Membership (`File.group_id`) and evidence
    (`Duplicate` rows) are collected and written in bulk by `flush()`."""

    def __init__(self, lib: _Library):
        self.lib = lib
        self.touched: set[int] = set()
        self.file_groups: dict[int, int | None] = {}
        self.matches: dict[tuple[int, int], dict] = {}  # (file, representative) -> row values
        self.created: dict[int, DuplicateGroup | None] = {}  # new groups by a temporary (negative) id

    def new_group(self, kind: str, rep_file: int) -> int:
        """A new group, known by a temporary id until `flush()` inserts them all at once."""
        temp_id = -(len(self.created) + 1)
        self.created[temp_id] = DuplicateGroup(kind=kind, representative_id=rep_file, status="open")
        self.lib.groups[temp_id] = _Group(temp_id, kind, "open", rep_file)
        self._set_group(rep_file, temp_id)
        self.touched.add(temp_id)
        return temp_id

    def _set_group(self, file_id: int, group_id: int | None) -> None:
        self.lib.set_group(file_id, group_id)
        self.file_groups[file_id] = group_id

    def members(self, group_id: int) -> list[int]:
        return sorted(self.lib.group_members.get(group_id, ()))

    def add(self, group_id: int, file_id: int, kind: str, distance: int, score: float | None) -> bool:
        """Add a file to a group unless people said it is not a duplicate of a member."""
        group = self.lib.groups[group_id]
        if self.lib.vetoes and any(self.lib.vetoed(file_id, m) for m in self.members(group_id)):
            return False
        self._set_group(file_id, group_id)
        self.matches[(file_id, group.representative_id)] = dict(
            file_id=file_id,
            duplicate_of_id=group.representative_id,
            group_id=group_id,
            kind=kind,
            distance=distance,
            similarity=score,
            created_at=utcnow(),
        )
        if group.status == "resolved":  # a new copy of a decided picture: people decide again
            group.status = "open"
            db.session.execute(
                update(DuplicateGroup).where(DuplicateGroup.id == group_id).values(status="open", resolved_at=None)
            )
        self.touched.add(group_id)
        return True

    def add_node(self, group_id: int, node: int, kind: str, edge: _Edge | None) -> None:
        rep_sha = self.lib.files[self.lib.groups[group_id].representative_id].sha256
        for fid in self.lib.node_files[node]:
            if self.lib.live_group(fid) is None:
                if self.lib.files[fid].sha256 == rep_sha:
                    self.add(group_id, fid, "exact", 0, None)
                else:
                    self.add(group_id, fid, kind, edge.distance if edge else 0, edge.score if edge else None)

    def star(self, kind: str, center: int, members: list[int], verifier: _Verifier | None) -> None:
        files = [f for f in self.lib.node_files[center] if self.lib.live_group(f) is None]
        if not files:
            return
        group_id = self.new_group(kind, files[0])
        for fid in files[1:]:
            self.add(group_id, fid, "exact", 0, None)
        edges = {m: verifier.edge(center, m) for m in members} if verifier else {}
        for m in sorted(members, key=lambda m: -edges[m].score):
            self.add_node(group_id, m, kind, edges[m])
        if len(self.members(group_id)) < 2:  # everything else was vetoed
            self._drop(group_id)

    def _drop(self, group_id: int) -> None:
        for fid in self.members(group_id):
            self._set_group(fid, None)
        self.matches = {k: v for k, v in self.matches.items() if v["group_id"] != group_id}
        if group_id in self.created:
            self.created[group_id] = None  # never written
        else:
            db.session.execute(DuplicateGroup.__table__.delete().where(DuplicateGroup.id == group_id))
        del self.lib.groups[group_id]
        self.touched.discard(group_id)

    def flush(self) -> None:
        """Write the new groups, the membership and the evidence in bulk."""
        rows = {temp: row for temp, row in self.created.items() if row is not None}
        if rows:
            db.session.add_all(rows.values())
            db.session.flush()
            real = {temp: row.id for temp, row in rows.items()}
            self.file_groups = {f: real.get(g, g) for f, g in self.file_groups.items()}
            for values in self.matches.values():
                values["group_id"] = real.get(values["group_id"], values["group_id"])
            self.touched = {real.get(g, g) for g in self.touched}
            for temp, gid in real.items():
                group = self.lib.groups.pop(temp)
                group.id = gid
                self.lib.groups[gid] = group
                self.lib.group_members[gid] = self.lib.group_members.pop(temp, set())
        self.created = {}
        if self.file_groups:
            db.session.execute(update(File), [{"id": f, "group_id": g} for f, g in self.file_groups.items()])
        if self.matches:
            insert = _dialect_insert()
            stmt = insert(Duplicate)
            stmt = stmt.on_conflict_do_update(
                index_elements=["file_id", "duplicate_of_id"],
                set_={c: stmt.excluded[c] for c in ("group_id", "kind", "distance", "similarity", "created_at")},
            )
            db.session.execute(stmt, list(self.matches.values()))
        self.file_groups, self.matches = {}, {}


def _dialect_insert():
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _join_existing(w: _Writer, nodes: Iterable[int], verifier: _Verifier, kinds: tuple[str, ...]) -> None:
    """A new node that matches the representative of a live group of `kinds` joins the
    group it matches best."""
    lib = w.lib
    for node in sorted(nodes):
        if lib.node_group(node) is not None:
            continue
        options = []
        for other in verifier.neighbours.get(node, ()):
            gid = lib.node_group(other)
            if gid is None or lib.groups[gid].kind not in kinds:
                continue
            rep = lib.groups[gid].representative_id
            if rep is not None and lib.node_of.get(rep) == other:
                edge = verifier.edge(node, other)
                if edge is not None:
                    options.append((edge.score, -gid, gid, edge))
        if options:
            _, _, gid, edge = max(options)
            w.add_node(gid, node, verifier.kind, edge)


def _free_nodes(lib: _Library) -> set[int]:
    return {n for n in lib.node_files if lib.node_group(n) is None}


def _star_pass(w: _Writer, kind: str, verifier: _Verifier, *, verify_all: bool = False) -> None:
    """New groups among nodes in no live group: stars verified centre to member.
    Near: the largest picture leads and only centre-member pairs are verified (families of
    copies can be large). Similar (`verify_all`): the few pairs in a time window are all
    verified first, so the shot most alike to the others is the centre."""
    free = _free_nodes(w.lib)
    graph = {n: verifier.neighbours[n] & free for n in verifier.neighbours if n in free}
    order = None  # similar: the shot most alike to the others leads
    if verify_all:
        graph = {n: {m for m in ms if verifier.edge(n, m) is not None} for n, ms in graph.items()}
    else:
        order = _copy_order(w.lib, graph)
    for center, members in similarity.star_groups(graph, lambda a, b: verifier.edge(a, b) is not None, order):
        w.star(kind, center, members, verifier)


def _copy_order(lib: _Library, graph: dict[int, set[int]]):
    """Which copy should lead a group: the largest (usually the original, uncropped); among
    equally large ones, the one whose brightness is most typical of its candidates (not the
    brightened or darkened copy, which would stretch the group's brightness range)."""

    def brightness(n: int) -> float:
        return math.log((lib.files[n].facts.luminance or 0.0) + 8)

    def key(n: int) -> tuple:
        levels = sorted(brightness(m) for m in (n, *graph[n]))
        return (-lib.pixels_of(n), round(abs(brightness(n) - levels[len(levels) // 2]), 3))

    return key


def _refresh(group_ids: Iterable[int]) -> None:
    """Kind, largest distance and recommended keeper of each group, from its members."""
    for chunk in _chunks(sorted(group_ids)):
        groups = db.session.execute(select(DuplicateGroup).where(DuplicateGroup.id.in_(chunk))).scalars().all()
        files: dict[int, list[File]] = defaultdict(list)
        for f in db.session.execute(select(File).where(File.group_id.in_(chunk)).order_by(File.id)).scalars():
            files[f.group_id].append(f)
        stats = {
            gid: (largest, has_near)
            for gid, largest, has_near in db.session.execute(
                select(
                    Duplicate.group_id,
                    func.max(Duplicate.distance),
                    func.max(case((Duplicate.kind == "near", 1), else_=0)),
                )
                .where(Duplicate.group_id.in_(chunk))
                .group_by(Duplicate.group_id)
            )
        }
        for group in groups:
            largest, has_near = stats.get(group.id, (0, False))
            if group.kind != "similar":
                group.kind = "near" if has_near else "exact"
            group.max_distance = largest or 0
            if files[group.id]:
                group.recommended_id, group.recommended_reason = keeper.recommend(
                    [keeper_candidate(f) for f in files[group.id]]
                )


def keeper_candidate(f: File) -> keeper.Candidate:
    return keeper.Candidate(
        id=f.id,
        name=f.original_name,
        relative_dir=f.relative_dir,
        path=f.path,
        width=f.width,
        height=f.height,
        size=f.size,
        ext=f.ext,
        taken_source=f.taken_source,
        camera_make=f.camera_make,
        camera_model=f.camera_model,
        discarded=f.discarded,
    )


# --- the scan -------------------------------------------------------------------------------


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
def _one_scan_at_a_time():
    """Two imports finishing together must not group the same files twice: scans take turns
    (a lock file next to the database; the database itself stays free for other writers)."""
    from flask import current_app

    lock_path = Path(current_app.config["MEDIAPARSER"].instance_dir) / "duplicates-scan.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            db.session.commit()  # read what the previous scan wrote
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def scan(new_file_ids: Iterable[int] | None = None) -> ScanReport:
    """Compare `new_file_ids` (None: every file) with the whole library and group what matches."""
    with _one_scan_at_a_time():
        return _scan(new_file_ids)


def _scan(new_file_ids: Iterable[int] | None) -> ScanReport:
    started = time.monotonic()
    lib = _load_library()
    new_files = set(lib.files) if new_file_ids is None else {f for f in new_file_ids if f in lib.files}
    report = ScanReport(new_files=len(new_files))
    new_nodes = {lib.node_of[f] for f in new_files}
    w = _Writer(lib)

    # 1. a new copy of a file that is already in a live group joins that group
    for fid in sorted(new_files):
        node = lib.node_of[fid]
        gid = lib.node_group(node)
        if gid is not None and lib.live_group(fid) is None:
            rep = lib.files.get(lib.groups[gid].representative_id)
            row = db.session.execute(
                select(Duplicate.kind, Duplicate.distance, Duplicate.similarity).where(
                    Duplicate.group_id == gid, Duplicate.file_id.in_(lib.node_files[node])
                )
            ).first()
            if rep is None:
                continue  # the representative is gone: the group cannot take new files
            if lib.files[fid].sha256 == rep.sha256 or row is None:
                w.add(gid, fid, "exact", 0, None)
            else:
                w.add(gid, fid, row.kind, row.distance, row.similarity)

    # 2. near duplicates: candidates from the probe index, verified on the fingerprints
    _backfill_fingerprints(lib)
    nodes_with_fp = [n for n in lib.node_files if lib.files[n].media_kind in ("image", "video")]
    lib.probes = _load_probes_for_nodes(lib, nodes_with_fp)
    candidates = _candidates(lib, new_nodes)
    t = _thresholds()
    near = _Verifier(lib, candidates, "near", t)
    _join_existing(w, new_nodes, near, ("exact", "near"))
    _star_pass(w, "near", near)
    report.candidates, report.near_pairs = len(candidates), near.verified()

    # 3. exact copies that matched nothing else
    for node in sorted(new_nodes):
        files = [f for f in lib.node_files[node] if lib.live_group(f) is None]
        if len(files) >= 2:
            w.star("exact", node, [], None)

    # 4. similar shots among files in no other group
    free = _free_nodes(lib)
    similar = _Verifier(lib, _similar_pairs(lib, new_nodes & free, free, t.similar_seconds), "similar", t)
    _join_existing(w, new_nodes & free, similar, ("similar",))
    _star_pass(w, "similar", similar, verify_all=True)
    report.similar_pairs = similar.verified()

    w.flush()
    _refresh(w.touched)
    db.session.commit()
    report.groups_touched = len(w.touched)
    report.seconds = time.monotonic() - started
    log.info("duplicates: %s", report)
    return report


def _load_probes_for_nodes(lib: _Library, nodes: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Probe hashes per node (from whichever of its files holds the fingerprint)."""
    owner = {fid: n for n in nodes for fid in lib.node_files[n]}
    by_file = _load_probes(sorted(owner))
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for fid, probes in by_file.items():
        out.setdefault(owner[fid], probes)
    return out


def _thresholds() -> similarity.Thresholds:
    """The settings page's duplicate sensitivity (normal unless a person changed it)."""
    from .settings_store import duplicate_sensitivity

    return similarity.SENSITIVITY[duplicate_sensitivity()]


def _dissolve_open_groups() -> int:
    """Undo the grouping of near and similar groups nobody has decided yet, so a re-scan
    groups them afresh (after the sensitivity changed). Decided groups stay as they are."""
    ids = (
        db.session.execute(
            select(DuplicateGroup.id).where(
                DuplicateGroup.status == "open", DuplicateGroup.kind.in_(("near", "similar"))
            )
        )
        .scalars()
        .all()
    )
    for chunk in _chunks(ids):
        db.session.execute(update(File).where(File.group_id.in_(chunk)).values(group_id=None))
        db.session.execute(delete(Duplicate).where(Duplicate.group_id.in_(chunk)))
        db.session.execute(delete(DuplicateGroup).where(DuplicateGroup.id.in_(chunk)))
    db.session.commit()
    return len(ids)


def after_import(job: Job) -> None:
    """The import job's finish phase: this job's files against the whole library."""
    ids = db.session.execute(select(File.id).where(File.job_id == job.id)).scalars().all()
    report = scan(ids)
    if report.groups_touched:
        note = f"Duplicates: {report.groups_touched} groups found or grown."
        job.message = f"{job.message} {note}" if job.message else note
        db.session.commit()


def scan_library(regroup: bool = False) -> ScanReport:
    """Every file against every other; groups people decided are kept as they are. With
    `regroup`, undecided near and similar groups are formed afresh (new sensitivity)."""
    with _one_scan_at_a_time():
        if regroup:
            _dissolve_open_groups()
        return _scan(None)


@jobs.handler(JobKind.DUPLICATES)
def run_duplicates_job(ctx: jobs.JobContext) -> str:
    """A re-scan of the whole library, run by a worker (e.g. from a page's button)."""
    report = scan_library(regroup=bool(ctx.job.params.get("regroup")))
    ctx.job.message = str(report)
    db.session.commit()
    return "completed"
