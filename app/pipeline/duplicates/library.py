"""The library as the duplicate finder sees it, read from the database in columns: every
file's id, its *node* (the lowest file id with the same bytes), kind and size as arrays, the
files in groups, the live groups and people's "not duplicates" decisions. A file's other
facts (capture time, colours, camera) are read only for the files a scan looks at: an
import's new files, its candidates and their groups; a full scan's every file. The probe
hashes are one array in node order (probes.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import func, or_, select, update

from ...media import similarity, thumbnails, versions
from ...media.confidence import CAPTURE_SOURCES
from ...models import DuplicateGroup, File, FileFingerprint, UserDecision, db
from ...vocab import LIVE_GROUP_STATES, DecisionKind, FileStatus, MediaKind, Precision
from ..sql import chunks
from .probes import PROBES_VERSION, ProbeTable, bulk_read, load_pixels, plain_rows, store_fingerprint

__all__ = ["PROBES_VERSION", "SHOT_TIME_SOURCES", "Library", "LibraryFile", "LibraryGroup", "store_fingerprint"]

# Capture times good enough to say two shots were taken together (file dates are not).
SHOT_TIME_SOURCES = CAPTURE_SOURCES | {"video:creation_time", "gps"}
IN_LIBRARY = (
    File.status.in_((FileStatus.DONE, FileStatus.DUPLICATE)),
    File.sha256.is_not(None),
    File.media_kind.is_not(None),
)
FILE_COLUMNS = (
    File.id,
    File.sha256,
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
TIME_SPANS = 200  # capture-time windows per query (two bound values each)


@dataclass
class LibraryFile:
    """What the matching reads of one file besides its fingerprint (not its group: that is
    the library's, which the scan changes)."""

    id: int
    sha256: str
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
    ids: np.ndarray  # every file of the library, ascending
    node: np.ndarray  # per file: its node
    picture: np.ndarray  # per file: a photo or a video (what has a fingerprint)
    aspect: np.ndarray  # per file: width / height (0: unknown)
    area: np.ndarray  # per file: width x height in pixels (0: unknown)
    group_of: dict[int, int]  # file id -> its group (live or not), for files in one
    groups: dict[int, LibraryGroup]  # live groups
    vetoes: dict[int, set[int]]  # file id -> ids of "not duplicates" decisions it is part of
    complete: bool = False  # every file's facts are read (a full scan)
    probes: ProbeTable = field(default_factory=ProbeTable.empty)
    pixel_cache: dict[int, bytes] = field(default_factory=dict)
    colour_cache: dict[int, versions.Colour | None] = field(default_factory=dict)
    thumbnails_dir: Path | None = None  # where colours are measured when a pair needs them
    group_members: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    files: dict[int, LibraryFile] = field(default_factory=dict)  # the facts read so far
    _copies: dict[int, list[int]] = field(default_factory=dict)  # node -> its files, when more than one
    _node_of_copy: dict[int, int] = field(default_factory=dict)  # file -> node, for files not their node

    def __post_init__(self) -> None:
        for fid, gid in self.group_of.items():
            self.group_members[gid].add(fid)
        for k in np.flatnonzero(self.node != self.ids).tolist():
            fid, node = int(self.ids[k]), int(self.node[k])
            self._node_of_copy[fid] = node
            self._copies.setdefault(node, [node]).append(fid)

    # --- files and nodes

    def _position(self, file_id: int) -> int:
        k = int(np.searchsorted(self.ids, file_id))
        return k if k < len(self.ids) and self.ids[k] == file_id else -1

    def contains(self, file_id: int | None) -> bool:
        return file_id is not None and self._position(file_id) >= 0

    def node_of(self, file_id: int) -> int:
        return self._node_of_copy.get(file_id, file_id)

    def nodes_of(self, file_ids: np.ndarray) -> np.ndarray:
        """The node of each of `file_ids` (all in the library)."""
        return self.node[np.searchsorted(self.ids, file_ids)]

    def node_files(self, node: int) -> list[int]:
        return self._copies.get(node) or [node]

    def all_nodes(self) -> list[int]:
        return self.ids[self.node == self.ids].tolist()

    def picture_files(self) -> np.ndarray:
        """Files whose node is a photo or a video (ascending)."""
        return self.ids[self.picture[np.searchsorted(self.ids, self.node)]]

    def nodes_without(self, file_ids: np.ndarray) -> list[int]:
        """Nodes none of whose files is among `file_ids`."""
        among = np.isin(self.ids, file_ids)
        if not self._copies:  # every file is its own node
            return self.ids[~among].tolist()
        nodes = self.ids[self.node == self.ids]
        return nodes[~np.isin(nodes, self.node[among])].tolist()

    def first_file_of_each_node(self, file_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(nodes ascending, where in `file_ids` (ascending) each node's first file is)."""
        if not self._copies:
            return file_ids, np.arange(len(file_ids))
        return np.unique(self.nodes_of(file_ids), return_index=True)

    def aspects_of(self, file_ids: Iterable[int]) -> dict[int, float]:
        return {fid: float(self.aspect[self._position(fid)]) for fid in file_ids}

    def pixels_of(self, node: int) -> int:
        return int(self.area[self._position(node)])

    def load_files(self, file_ids: Iterable[int]) -> None:
        """Read the facts of those of `file_ids` not read yet (one query per 500)."""
        wanted = sorted({f for f in file_ids if f not in self.files})
        for chunk in chunks(wanted):
            for row in db.session.connection().execute(select(*FILE_COLUMNS).where(File.id.in_(chunk))):
                self.files[row.id] = LibraryFile(*row)

    def file(self, file_id: int) -> LibraryFile:
        if file_id not in self.files:
            self.load_files([file_id])
        return self.files[file_id]

    def facts(self, node: int) -> similarity.Facts:
        return self.file(node).facts

    def sha256(self, file_id: int) -> str:
        return self.file(self.node_of(file_id)).sha256

    def taken_near(self, nodes: Iterable[int], seconds: int) -> list[int]:
        """Nodes whose capture time lies within `seconds` (and a second's margin) of one of
        `nodes`' camera capture times: every node in a full scan; else read over the
        capture-time index (ix_file_taken), window by window, never the whole library."""
        if self.complete:
            return self.all_nodes()
        times = sorted(t for n in nodes if (t := self.file(n).shot_time) is not None)
        reach = timedelta(seconds=seconds + 1)
        spans: list[list[datetime]] = []
        for t in times:  # overlapping windows are read once
            if spans and t - reach <= spans[-1][1]:
                spans[-1][1] = t + reach
            else:
                spans.append([t - reach, t + reach])
        found: set[int] = set()
        for k in range(0, len(spans), TIME_SPANS):
            near = or_(*(File.taken_at.between(lo, hi) for lo, hi in spans[k : k + TIME_SPANS]))
            found.update(db.session.connection().execute(select(File.id).where(near)).scalars())
        out = [f for f in sorted(found) if self.contains(f) and self.node_of(f) == f]
        self.load_files(out)
        return out

    # --- groups

    def set_group(self, file_id: int, group_id: int | None) -> None:
        old = self.group_of.pop(file_id, None)
        if old is not None:
            self.group_members[old].discard(file_id)
        if group_id is not None:
            self.group_of[file_id] = group_id
            self.group_members[group_id].add(file_id)

    def live_group(self, file_id: int) -> int | None:
        gid = self.group_of.get(file_id)
        return gid if gid in self.groups else None

    def node_group(self, node: int) -> int | None:
        for fid in self.node_files(node):
            gid = self.live_group(fid)
            if gid is not None:
                return gid
        return None

    def is_free(self, node: int) -> bool:
        """None of the node's files is in a live group."""
        return self.node_group(node) is None

    def vetoed(self, a: int, b: int) -> bool:
        """People said these two files are not duplicates."""
        return bool(self.vetoes.get(a, set()) & self.vetoes.get(b, set()))

    def nodes_vetoed(self, x: int, y: int) -> bool:
        return any(self.vetoed(a, b) for a in self.node_files(x) for b in self.node_files(y))

    # --- pictures

    def pixels(self, nodes: Iterable[int]) -> dict[int, bytes]:
        wanted = [n for n in nodes if n not in self.pixel_cache]
        if wanted:
            # any file of a node may hold its fingerprint (copies share it)
            owner = {fid: n for n in wanted for fid in self.node_files(n)}
            for fid, px in load_pixels(owner).items():
                self.pixel_cache.setdefault(owner[fid], px)
        return {n: self.pixel_cache[n] for n in nodes if n in self.pixel_cache}

    def colours(self, nodes: Iterable[int]) -> dict[int, versions.Colour | None]:
        """How colourful each node's picture is (None: unknown, no thumbnail)."""
        wanted = [n for n in nodes if n not in self.colour_cache]
        if wanted:
            self.colour_cache.update(load_colours(wanted, self, self.thumbnails_dir))
        return {n: self.colour_cache.get(n) for n in nodes}


def load_colours(nodes: list[int], lib: Library, thumbnails_dir: Path | None) -> dict[int, versions.Colour | None]:
    """Colours of the nodes' pictures: stored, or measured from the small thumbnail and stored."""
    owner = {fid: n for n in nodes for fid in lib.node_files(n)}
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


def load_library(complete: bool = False) -> Library:
    """The library in columns; `complete` (a full scan) reads every file's facts as well."""
    picture = File.media_kind.in_((MediaKind.IMAGE, MediaKind.VIDEO))
    size = (func.coalesce(File.width, 0), func.coalesce(File.height, 0))
    columns = (File.id, File.sha256, File.group_id, picture, *size)
    query = select(*columns, *(FILE_COLUMNS if complete else ())).where(*IN_LIBRARY).order_by(File.id)
    files: dict[int, LibraryFile] = {}
    with bulk_read():
        # the facts need SQLAlchemy's conversions (capture times); the columns alone, plain rows
        rows = db.session.connection().execute(query).all() if complete else plain_rows(query)
        if complete:
            files = {r[0]: LibraryFile(*r[len(columns) :]) for r in rows}
        ids, shas, groups, pictures, widths, heights = (
            list(zip(*rows, strict=True))[: len(columns)] if rows else [()] * len(columns)
        )
        del rows  # before the collector runs again: 100,000 tuples it need not walk
        first_of_sha: dict[str, int] = {}
        node = np.array([first_of_sha.setdefault(sha, fid) for sha, fid in zip(shas, ids, strict=True)], np.int64)
        group_of = {fid: gid for fid, gid in zip(ids, groups, strict=True) if gid is not None}
        width, height = np.array(widths, np.float64), np.array(heights, np.float64)
        ids, pictures = np.array(ids, np.int64), np.array(pictures, bool)
        del shas, first_of_sha, groups
    live = select(DuplicateGroup.id, DuplicateGroup.kind, DuplicateGroup.status, DuplicateGroup.representative_id)
    return Library(
        ids=ids,
        node=node,
        picture=pictures,
        aspect=np.divide(width, height, out=np.zeros(len(ids)), where=(width > 0) & (height > 0)),
        area=(width * height).astype(np.int64),
        group_of=group_of,
        groups={
            row[0]: LibraryGroup(*row) for row in plain_rows(live.where(DuplicateGroup.status.in_(LIVE_GROUP_STATES)))
        },
        vetoes=_vetoes(),
        complete=complete,
        files=files,
    )


def _vetoes() -> dict[int, set[int]]:
    vetoes: dict[int, set[int]] = defaultdict(set)
    for decision in _active_dismissals():
        for fid in decision.payload.get("file_ids", []):
            vetoes[fid].add(decision.id)
    return dict(vetoes)
