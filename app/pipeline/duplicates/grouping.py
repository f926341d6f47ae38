"""Building groups from verified pairs: new files join the live group whose representative
they match, the rest form stars (every member verified against the centre), and the
groups' kind, largest distance and recommended keeper are refreshed from their members."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import case, delete, func, select, update

from ...media import similarity
from ...models import Duplicate, DuplicateGroup, File, db, utcnow
from ...vocab import GroupKind, GroupStatus
from ..sql import chunks
from . import describe
from .library import Library, LibraryGroup
from .matching import Edge, Verifier


class Writer:
    """Creates groups and adds members. Membership (`File.group_id`) and evidence
    (`Duplicate` rows) are collected and written in bulk by `flush()`."""

    def __init__(self, lib: Library):
        self.lib = lib
        self.touched: set[int] = set()
        self.file_groups: dict[int, int | None] = {}
        self.matches: dict[tuple[int, int], dict] = {}  # (file, representative) -> row values
        self.created: dict[int, DuplicateGroup | None] = {}  # new groups by a temporary (negative) id

    def new_group(self, kind: GroupKind, rep_file: int) -> int:
        """A new group, known by a temporary id until `flush()` inserts them all at once."""
        temp_id = -(len(self.created) + 1)
        self.created[temp_id] = DuplicateGroup(kind=kind, representative_id=rep_file, status=GroupStatus.OPEN)
        self.lib.groups[temp_id] = LibraryGroup(temp_id, kind, GroupStatus.OPEN, rep_file)
        self._set_group(rep_file, temp_id)
        self.touched.add(temp_id)
        return temp_id

    def _set_group(self, file_id: int, group_id: int | None) -> None:
        self.lib.set_group(file_id, group_id)
        self.file_groups[file_id] = group_id

    def members(self, group_id: int) -> list[int]:
        return sorted(self.lib.group_members.get(group_id, ()))

    def add(
        self, group_id: int, file_id: int, kind: str, distance: int, score: float | None, edge: Edge | None = None
    ) -> bool:
        """Add a file to a group unless people said it is not a duplicate of a member. A
        version's `edge` says how its picture is turned from the representative's."""
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
            transform=edge.transform if edge is not None and kind == GroupKind.VERSION else None,
            angle=edge.angle if edge is not None and kind == GroupKind.VERSION else None,
            crop=edge.crop if edge is not None and kind == GroupKind.VERSION and edge.crop != 1.0 else None,
            created_at=utcnow(),
        )
        if group.status == GroupStatus.RESOLVED:  # a new copy of a decided picture: people decide again
            group.status = GroupStatus.OPEN
            db.session.execute(
                update(DuplicateGroup)
                .where(DuplicateGroup.id == group_id)
                .values(status=GroupStatus.OPEN, resolved_at=None)
            )
        self.touched.add(group_id)
        return True

    def add_node(self, group_id: int, node: int, kind: GroupKind, edge: Edge | None) -> None:
        """Add a node's files; `edge` (told from the representative: node = turn(rep)) may
        make them versions."""
        rep_sha = self.lib.sha256(self.lib.groups[group_id].representative_id)
        if edge is not None and edge.kind == GroupKind.VERSION:
            kind = GroupKind.VERSION
        for fid in self.lib.node_files(node):
            if self.lib.live_group(fid) is None:
                if self.lib.sha256(fid) == rep_sha:
                    self.add(group_id, fid, GroupKind.EXACT, 0, None)
                else:
                    self.add(group_id, fid, kind, edge.distance if edge else 0, edge.score if edge else None, edge)

    def star(self, kind: GroupKind, center: int, members: list[int], verifier: Verifier | None) -> None:
        files = [f for f in self.lib.node_files(center) if self.lib.live_group(f) is None]
        if not files:
            return
        group_id = self.new_group(kind, files[0])
        for fid in files[1:]:
            self.add(group_id, fid, GroupKind.EXACT, 0, None)
        edges = {m: verifier.relation(center, m) for m in members} if verifier else {}
        for m in sorted(members, key=lambda m: -edges[m].score):
            self.add_node(group_id, m, kind, edges[m])
        if len(self.members(group_id)) < 2:  # everything else was vetoed
            self._drop(group_id)

    def leave(self, group_id: int, node: int) -> None:
        """The node's files leave the group; a group left without its representative (whose
        members were verified against it alone) or with one file is taken apart."""
        files = set(self.lib.node_files(node)) & set(self.members(group_id))
        rest = set(self.members(group_id)) - files
        if self.lib.groups[group_id].representative_id in files or len(rest) < 2:
            self._drop(group_id)
            return
        for fid in files:
            self._set_group(fid, None)
        self.matches = {k: v for k, v in self.matches.items() if v["file_id"] not in files}
        db.session.execute(delete(Duplicate).where(Duplicate.group_id == group_id, Duplicate.file_id.in_(files)))
        self.touched.add(group_id)

    def _drop(self, group_id: int) -> None:
        for fid in self.members(group_id):
            self._set_group(fid, None)
        self.matches = {k: v for k, v in self.matches.items() if v["group_id"] != group_id}
        if group_id in self.created:
            self.created[group_id] = None  # never written
        else:
            db.session.execute(delete(Duplicate).where(Duplicate.group_id == group_id))
            db.session.execute(DuplicateGroup.__table__.delete().where(DuplicateGroup.id == group_id))
        del self.lib.groups[group_id]
        self.touched.discard(group_id)

    def flush(self) -> None:
        """Write the new groups, the membership and the evidence in bulk."""
        self._insert_created()
        if self.file_groups:
            db.session.execute(update(File), [{"id": f, "group_id": g} for f, g in self.file_groups.items()])
        if self.matches:
            insert = _dialect_insert()
            stmt = insert(Duplicate)
            stmt = stmt.on_conflict_do_update(
                index_elements=["file_id", "duplicate_of_id"],
                set_={
                    c: stmt.excluded[c]
                    for c in ("group_id", "kind", "distance", "similarity", "transform", "angle", "crop", "created_at")
                },
            )
            db.session.execute(stmt, list(self.matches.values()))
        self.file_groups, self.matches = {}, {}

    def _insert_created(self) -> None:
        """Insert the new groups and swap their temporary ids for the real ones everywhere."""
        rows = {temp: row for temp, row in self.created.items() if row is not None}
        self.created = {}
        if not rows:
            return
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
            self.lib.group_of.update(dict.fromkeys(self.lib.group_members[gid], gid))


def _dialect_insert():
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def join_existing(w: Writer, nodes: Iterable[int], verifier: Verifier, kinds: Iterable[GroupKind]) -> None:
    """A new node that matches the representative of a live group of `kinds` joins the
    group it matches best."""
    lib = w.lib
    kinds = tuple(kinds)
    for node in sorted(nodes):
        if lib.node_group(node) is not None:
            continue
        options = []
        for other in verifier.neighbours.get(node, ()):
            gid = lib.node_group(other)
            if gid is None or lib.groups[gid].kind not in kinds:
                continue
            rep = lib.groups[gid].representative_id
            if lib.contains(rep) and lib.node_of(rep) == other:
                edge = verifier.relation(other, node)
                if edge is not None:
                    options.append((edge.score, -gid, gid, edge))
        if options:
            _, _, gid, edge = max(options)
            w.add_node(gid, node, verifier.kind, edge)


def release_from_similar(w: Writer, nodes: Iterable[int], verifier: Verifier) -> None:
    """The same picture comes before one moment: a file in an undecided group of similar shots
    that a new file copies or versions leaves that group, to be grouped with its copy."""
    lib = w.lib
    for node in sorted(nodes):
        if lib.node_group(node) is not None:
            continue
        for other in sorted(verifier.neighbours.get(node, ())):
            gid = lib.node_group(other)
            if gid is None or lib.groups[gid].kind != GroupKind.SIMILAR or lib.groups[gid].status != GroupStatus.OPEN:
                continue
            if verifier.edge(node, other) is not None:
                w.leave(gid, other)


def star_pass(w: Writer, kind: GroupKind, verifier: Verifier, *, verify_all: bool = False) -> None:
    """New groups among nodes in no live group: stars verified centre to member.
    Near: the largest picture leads and only centre-member pairs are verified (families of
    copies can be large). Similar (`verify_all`): the few pairs in a time window are all
    verified first, so the shot most alike to the others is the centre."""
    free = {n for n in verifier.neighbours if w.lib.is_free(n)}  # (every neighbour is a key too)
    graph = {n: verifier.neighbours[n] & free for n in verifier.neighbours if n in free}
    order = None  # similar: the shot most alike to the others leads
    if verify_all:
        graph = {n: {m for m in ms if verifier.edge(n, m) is not None} for n, ms in graph.items()}
    else:
        order = _copy_order(w.lib, graph)
    for center, members in similarity.star_groups(graph, lambda a, b: verifier.edge(a, b) is not None, order):
        w.star(kind, center, members, verifier)


def _copy_order(lib: Library, graph: dict[int, set[int]]):
    """Which copy should lead a group: one of the shape most of its candidates have (not a
    stretched or squashed version, which the others may be too far from); then the largest
    (usually the original, uncropped); among equally large ones, the one whose brightness is
    most typical of its candidates (not the brightened or darkened copy, which would stretch
    the group's brightness range)."""

    def brightness(n: int) -> float:
        return math.log((lib.facts(n).luminance or 0.0) + 8)

    def shape(n: int) -> float:  # turned pictures have the same shape
        return abs(math.log(lib.facts(n).aspect or 1.0))

    def typical(value, n: int) -> float:
        levels = sorted(value(m) for m in (n, *graph[n]))
        return abs(value(n) - levels[len(levels) // 2])

    def key(n: int) -> tuple:
        odd_shape = typical(shape, n) > math.log(similarity.MAX_ASPECT_RATIO)
        return (odd_shape, -lib.pixels_of(n), round(typical(brightness, n), 3))

    return key


# --- what the groups say about themselves ---------------------------------------------------


def refresh(group_ids: Iterable[int], thumbnails_dir: Path | None = None) -> None:
    """Kind, largest distance and recommended keeper of each group, from its members (the
    thumbnails tell a version's colours)."""
    for chunk in chunks(sorted(group_ids)):
        groups = db.session.execute(select(DuplicateGroup).where(DuplicateGroup.id.in_(chunk))).scalars().all()
        files: dict[int, list[File]] = defaultdict(list)
        for f in db.session.execute(select(File).where(File.group_id.in_(chunk)).order_by(File.id)).scalars():
            files[f.group_id].append(f)
        stats = {
            gid: (largest, has_near, has_version)
            for gid, largest, has_near, has_version in db.session.execute(
                select(
                    Duplicate.group_id,
                    func.max(Duplicate.distance),
                    func.max(case((Duplicate.kind == GroupKind.NEAR, 1), else_=0)),
                    func.max(case((Duplicate.kind == GroupKind.VERSION, 1), else_=0)),
                )
                .where(Duplicate.group_id.in_(chunk))
                .group_by(Duplicate.group_id)
            )
        }
        for group in groups:
            largest, has_near, has_version = stats.get(group.id, (0, False, False))
            if group.kind != GroupKind.SIMILAR:
                group.kind = GroupKind.VERSION if has_version else GroupKind.NEAR if has_near else GroupKind.EXACT
            group.max_distance = largest or 0
            if files[group.id]:
                group.recommended_id, group.recommended_reason = describe.recommend(
                    group, files[group.id], thumbnails_dir
                )
