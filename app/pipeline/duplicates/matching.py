"""Which pairs of nodes match: candidates from the probe-hash index (near) or from capture
times (similar), checked on demand against the facts, the camera's metadata and the
fingerprints (the matching itself is app/media/similarity.py, pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from sqlalchemy import select

from ...media import similarity, versions
from ...media.timestamps import parse_datetime
from ...models import File, db
from ...vocab import GroupKind, has_time_of_day
from ..sql import chunks
from .library import CENTRE_COL, QUERY_START, Library


@dataclass(frozen=True)
class Edge:
    score: float  # aligned correlation; 1.0 for identical pixels
    distance: int  # Hamming distance of the closest probe pair (pHash or dHash)
    kind: GroupKind = GroupKind.NEAR  # near (a copy), version (edited) or similar (one moment)
    transform: int = versions.IDENTITY  # a version: the higher node's picture is the lower's ...
    angle: float = 0.0  # ... turned/mirrored by this code, then turned by this many degrees (left)

    def seen_from(self, low: int, high: int, node: int) -> Edge:
        """The edge with the turn told from `node`'s side (stored as high = turn(low))."""
        if node == high or self.kind != GroupKind.VERSION:
            return self
        back = versions.inverse(self.transform)
        return replace(self, transform=back, angle=-self.angle * (-1 if versions.mirrors(back) else 1))


@dataclass
class Hint:
    """Why a pair (low, high) is a candidate: its closest probe distance, and which turns and
    mirrors, or small turns, of the lower node's picture look like the higher's."""

    distance: int = 64
    codes: set[int] = field(default_factory=set)
    turns: set[float] = field(default_factory=set)


Pairs = dict[tuple[int, int], Hint]


def _hint(pairs: Pairs, a: int, b: int, distance: int) -> Hint | None:
    if a == b:
        return None
    hint = pairs.setdefault((min(a, b), max(a, b)), Hint())
    hint.distance = min(hint.distance, distance)
    return hint


def candidates(lib: Library, new_nodes: set[int], with_versions: bool = True) -> Pairs:
    """Pairs of nodes (low, high) that may show the same picture, with their probe distance:
    every new node against the whole library, in both directions (either may be the crop),
    then (`with_versions`) every new node's turns, mirrors and small turns against it."""
    nodes = [n for n in lib.node_files if n in lib.probes]
    if not nodes:
        return {}
    index = np.array(nodes)
    new_idx = np.array([k for k, n in enumerate(nodes) if n in new_nodes], dtype=np.int64)
    pairs: Pairs = {}
    for h in (0, 1):  # pHash, then dHash
        probes = np.stack([lib.probes[n][h] for n in nodes])
        full = probes[:, 0]
        searches = [(new_idx, np.arange(len(nodes)))]
        if len(new_idx) < len(nodes):
            searches.append((np.arange(len(nodes)), new_idx))
        for q_idx, t_idx in searches:
            qi, tj, dist, _ = similarity.probe_pairs(full[q_idx], probes[t_idx][:, : similarity.N_PROBES])
            for a, b, d in zip(index[q_idx[qi]].tolist(), index[t_idx[tj]].tolist(), dist.tolist(), strict=True):
                _hint(pairs, a, b, d)
        if with_versions and len(new_idx):
            _version_candidates(pairs, index, new_idx, probes)
    return pairs


def _version_candidates(pairs: Pairs, index: np.ndarray, new_idx: np.ndarray, probes: np.ndarray) -> None:
    """The new nodes' other turns and mirrors against every whole-picture hash, and their
    centres turned a few degrees against every centre hash (versions.query_hashes)."""
    searches = (
        (QUERY_START, versions.N_TURNS, 0, "code"),
        (QUERY_START + versions.N_TURNS, len(versions.TURN_PROBES), CENTRE_COL, "turn"),
    )
    for first, count, target_col, what in searches:
        queries = probes[new_idx, first : first + count]  # (new, count)
        qi, tj, dist = similarity.radius_pairs(queries.reshape(-1), probes[:, target_col], versions.VERSION_RADIUS)
        which = qi % count
        for a, b, d, k in zip(
            index[new_idx[qi // count]].tolist(), index[tj].tolist(), dist.tolist(), which.tolist(), strict=True
        ):
            hint = _hint(pairs, a, b, d)
            if hint is None:
                continue
            if what == "code":  # b looks like a turned by this code
                code = k + 1
                hint.codes.add(code if a < b else versions.inverse(code))
            else:
                angle = versions.TURN_PROBES[k][0]
                hint.turns.add(angle if a < b else -angle)


def similar_pairs(lib: Library, new_nodes: set[int], free: set[int], seconds: int) -> list[tuple[int, int]]:
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


# --- what the camera wrote ------------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    """What the camera wrote about the moment: its EXIF capture time (as written, with
    sub-seconds when present) and its model."""

    time: datetime | None = None
    subsec: bool = False
    camera: str | None = None


def shots(file_ids: Iterable[int]) -> dict[int, Shot]:
    out = {}
    for chunk in chunks(file_ids):
        for fid, meta, model in db.session.execute(
            select(File.id, File.meta, File.camera_model).where(File.id.in_(chunk))
        ):
            meta = meta or {}
            subsec = str(meta.get("subsec_original") or "").strip()
            parsed = parse_datetime(meta.get("datetime_original"), subsec or None)
            out[fid] = Shot(
                parsed.value if has_time_of_day(parsed.precision) else None,  # no value: no precision either
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


# --- verification ---------------------------------------------------------------------------


def probe_distance(lib: Library, a: int, b: int) -> int:
    """Closest pHash/dHash probe distance between two nodes, either way round."""
    best = 64
    for h in (0, 1):
        pa, pb = lib.probes[a][h], lib.probes[b][h]
        best = min(best, int(np.bitwise_count(pa[0] ^ pb).min()), int(np.bitwise_count(pb[0] ^ pa).min()))
    return best


class Verifier:
    """Checks candidate pairs on demand, each at most once: only what the grouping needs
    (a new file against a group's representative, a star's centre against its neighbours).
    `kind` is GroupKind.NEAR (the same picture: a copy, or with `pairs`' hints an edited
    version) or GroupKind.SIMILAR (one moment)."""

    def __init__(
        self, lib: Library, pairs: Pairs | Iterable[tuple[int, int]], kind: GroupKind, t: similarity.Thresholds
    ):
        self.lib, self.kind, self.t = lib, kind, t
        self.hints: Pairs = pairs if isinstance(pairs, dict) else {}
        self.neighbours: dict[int, set[int]] = defaultdict(set)
        for a, b in pairs:
            if not lib.nodes_vetoed(a, b):
                self.neighbours[a].add(b)
                self.neighbours[b].add(a)
        nodes = list(self.neighbours)
        self.shots = shots(nodes)
        lib.pixels(nodes)  # one batch of queries, not one per pair
        self.results: dict[tuple[int, int], Edge | None] = {}

    def edge(self, a: int, b: int) -> Edge | None:
        key = (min(a, b), max(a, b))
        if key not in self.results:
            self.results[key] = self._check(*key)
        return self.results[key]

    def relation(self, rep: int, node: int) -> Edge | None:
        """The edge between a group's representative and `node`, told as `node` = turn(rep)."""
        edge = self.edge(rep, node)
        return edge.seen_from(min(rep, node), max(rep, node), node) if edge else None

    def _check(self, a: int, b: int) -> Edge | None:
        lib = self.lib
        near = self.kind == GroupKind.NEAR
        fa, fb = lib.files[a].facts, lib.files[b].facts
        shot_a, shot_b = self.shots[a], self.shots[b]
        if near and different_shots(shot_a, shot_b):
            return None
        if not near and shot_a.camera and shot_b.camera and shot_a.camera != shot_b.camera:
            return None  # shots of one moment come from one camera
        refused = fa.why_not(fb, strict=near)
        if refused and not (near and self.hints):
            return None
        pixels = lib.pixels((a, b))
        if len(pixels) < 2:
            return None
        if not near:
            match = similarity.compare(pixels[a], pixels[b], self.t)
            return Edge(round(match.score, 4), 0, GroupKind.SIMILAR) if match.is_similar(self.t) else None
        if not refused:
            match = similarity.compare(pixels[a], pixels[b], self.t)
            if match.is_near(self.t):
                toned = self._toned(a, b)
                kind = GroupKind.VERSION if toned and toned[0] != toned[1] else GroupKind.NEAR
                return Edge(round(match.score, 4), probe_distance(lib, a, b), kind)
        return self._version(a, b, refused, similarity.as_array(pixels[a]), similarity.as_array(pixels[b]))

    def _toned(self, a: int, b: int) -> tuple[bool, bool] | None:
        """Which of the two pictures is black-and-white, sepia or toned (None: unknown)."""
        colours = self.lib.colours((a, b))
        if colours[a] is None or colours[b] is None:
            return None
        return colours[a].monochrome, colours[b].monochrome

    def _version(self, a: int, b: int, refused: str | None, pa: np.ndarray, pb: np.ndarray) -> Edge | None:
        """b as an edited version of a: turned or mirrored (the hinted codes), stretched or
        black-and-white (refused as a copy for its shape or colours), or straightened."""
        hint = self.hints.get((a, b), Hint())
        fa, fb = self.lib.files[a].facts, self.lib.files[b].facts
        toned = self._toned(a, b) if refused in ("different colours", "different brightness") else None
        best: Edge | None = None
        for code in sorted(hint.codes | ({versions.IDENTITY} if refused else set())):
            if fa.why_not_version(fb, versions.swaps_sides(code), toned):
                continue
            match = similarity.compare(np.ascontiguousarray(versions.transform(pa, code)), pb, self.t)
            if match.is_near(self.t) and (best is None or match.score > best.score):
                best = Edge(round(match.score, 4), hint.distance, GroupKind.VERSION, code)
        if best is not None or not hint.turns or fa.why_not_version(fb, False, toned):
            return best
        guess = max(hint.turns, key=abs)
        turned = versions.match_turned(pa, pb, fa.aspect, guess, self.t)
        if turned is None:
            return None
        return Edge(round(turned.match.score, 4), hint.distance, GroupKind.VERSION, versions.IDENTITY, turned.angle)

    def verified(self) -> int:
        return sum(1 for e in self.results.values() if e is not None)
