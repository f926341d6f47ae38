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
from .library import Library
from .probes import CENTRE_COL, QUERY_START


@dataclass(frozen=True)
class Edge:
    score: float  # aligned correlation; 1.0 for identical pixels
    distance: int  # Hamming distance of the closest probe pair (pHash or dHash)
    kind: GroupKind = GroupKind.NEAR  # near (a copy), version (edited) or similar (one moment)
    transform: int = versions.IDENTITY  # a version: the higher node's picture is the lower's ...
    angle: float = 0.0  # ... turned/mirrored by this code, then turned by this many degrees (left)
    crop: float = 1.0  # ... or the share of the lower's picture the higher shows (a crop: < 1)

    def seen_from(self, low: int, high: int, node: int) -> Edge:
        """The edge with the turn told from `node`'s side (stored as high = turn(low))."""
        if node == high or self.kind != GroupKind.VERSION:
            return self
        back = versions.inverse(self.transform)
        angle = -self.angle * (-1 if versions.mirrors(back) else 1)
        return replace(self, transform=back, angle=angle, crop=1 / self.crop)


@dataclass
class Hint:
    """Why a pair (low, high) is a candidate: its closest probe distance, and which turns and
    mirrors, or small turns, of the lower node's picture look like the higher's."""

    distance: int = 64
    codes: set[int] = field(default_factory=set)
    turns: set[float] = field(default_factory=set)
    crop: bool = False  # one may be a crop of the other to a common shape


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
    index = lib.probes.nodes
    if not len(index):
        return {}
    new_idx = lib.probes.positions(new_nodes)
    pairs: Pairs = {}
    cropped = _crop_mask(lib.aspect[np.searchsorted(lib.ids, index)]) if with_versions else None
    everyone = len(new_idx) == len(index)
    for h in (0, 1):  # pHash, then dHash
        probes = lib.probes.rows[:, h]  # (nodes, N_STORED), a view
        full = probes[:, 0]
        searches = [(new_idx, EVERY)] if everyone else [(new_idx, EVERY), (EVERY, new_idx)]
        for q_idx, t_idx in searches:
            qi, tj, dist, _ = similarity.probe_pairs(full[q_idx], probes[t_idx, : similarity.N_PROBES])
            for a, b, d in zip(_nodes(index, q_idx, qi), _nodes(index, t_idx, tj), dist.tolist(), strict=True):
                _hint(pairs, a, b, d)
        if with_versions and len(new_idx):
            _version_candidates(pairs, index, new_idx, probes, everyone=everyone, centres=h == 0)
            _crop_candidates(pairs, index, new_idx, probes, cropped)
    return pairs


EVERY = slice(None)  # every node of the table: a view, not a copy of 100,000 rows


def _nodes(index: np.ndarray, idx: np.ndarray | slice, found: np.ndarray) -> list[int]:
    """The node ids of positions `found` within the `idx` part of the table."""
    return index[found if isinstance(idx, slice) else idx[found]].tolist()


def _crop_mask(aspects: np.ndarray) -> np.ndarray:
    """(nodes, N_CROPS): which crop windows each node's shape (width / height) has
    (versions.crop_windows; worked out once per shape, not per node)."""
    shapes = np.round(aspects, 2)
    kinds, where = np.unique(shapes, return_inverse=True)
    table = np.array([[w is not None for w in versions.crop_windows(float(a))] for a in kinds], dtype=bool)
    return table[where].reshape(len(aspects), versions.N_CROPS)


def _crop_candidates(
    pairs: Pairs, index: np.ndarray, new_idx: np.ndarray, probes: np.ndarray, used: np.ndarray
) -> None:
    """Crops to a common shape: the new nodes' crops against every whole-picture hash (the
    old one is the crop), every node's crops against the new whole-picture hashes (the new
    one is). `used` says which of each node's crop windows exist."""
    first = QUERY_START + versions.CROP_START
    searches = [(new_idx, EVERY)]
    if len(new_idx) < len(index):
        searches.append((EVERY, new_idx))
    for q_idx, t_idx in searches:
        queries = probes[q_idx, first : first + versions.N_CROPS]
        valid = used[q_idx].reshape(-1)
        rows = np.flatnonzero(valid)
        qi, tj, dist = similarity.radius_pairs(queries.reshape(-1)[rows], probes[t_idx, 0], versions.VERSION_RADIUS)
        owners = rows[qi] // versions.N_CROPS
        for a, b, d in zip(_nodes(index, q_idx, owners), _nodes(index, t_idx, tj), dist.tolist(), strict=True):
            hint = _hint(pairs, a, b, d)
            if hint is not None:
                hint.crop = True


def _version_candidates(
    pairs: Pairs, index: np.ndarray, new_idx: np.ndarray, probes: np.ndarray, everyone: bool, centres: bool
) -> None:
    """The new nodes' other turns and mirrors against every whole-picture hash (a turn is
    exact both ways: one direction finds every pair), then (`centres`: pHashes only) small
    turns of centres both ways: the new nodes' against every centre and, unless every node is
    new, every node's against the new centres (a straightened picture hashes closer from one
    side than from the other). A centre's dHash is left out: smooth centres (sky, a wall) give
    many the same dHash, and the lookups would multiply without finding more."""
    turns = QUERY_START + versions.N_TURNS
    searches = [(new_idx, EVERY, QUERY_START, versions.N_TURNS, 0)]
    if centres:
        searches.append((new_idx, EVERY, turns, len(versions.TURN_PROBES), CENTRE_COL))
    if centres and not everyone:
        searches.append((EVERY, new_idx, turns, len(versions.TURN_PROBES), CENTRE_COL))
    for q_idx, t_idx, first, count, target_col in searches:
        queries = probes[q_idx, first : first + count]  # (queries, count)
        qi, tj, dist = similarity.radius_pairs(queries.reshape(-1), probes[t_idx, target_col], versions.VERSION_RADIUS)
        which = (qi % count).tolist()
        for a, b, d, k in zip(
            _nodes(index, q_idx, qi // count), _nodes(index, t_idx, tj), dist.tolist(), which, strict=True
        ):
            hint = _hint(pairs, a, b, d)
            if hint is None:
                continue
            if target_col == 0:  # b looks like a turned and mirrored by this code
                code = k + 1
                hint.codes.add(code if a < b else versions.inverse(code))
            else:  # b looks like a turned a few degrees
                angle = versions.TURN_PROBES[k][0]
                hint.turns.add(angle if a < b else -angle)


def similar_pairs(lib: Library, new_nodes: set[int], seconds: int) -> list[tuple[int, int]]:
    """Pairs of free nodes whose camera capture times are at most `seconds` apart, at least
    one of them new (`new_nodes`, all free): a sweep over the times of the new nodes and of
    those taken near them (no all-pairs; in an import, not the whole library)."""
    near = set(new_nodes).union(lib.taken_near(new_nodes, seconds))
    timed = sorted(
        (t, n) for n in near if (t := lib.file(n).shot_time) is not None and lib.probes.has(n) and lib.is_free(n)
    )
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
        pa, pb = lib.probes.of(a)[h], lib.probes.of(b)[h]
        best = min(best, int(np.bitwise_count(pa[0] ^ pb).min()), int(np.bitwise_count(pb[0] ^ pa).min()))
    return best


COLOUR_REASONS = ("different colours", "different brightness")
# Copies that match closer than this are not looked at as straightened pictures (a turn of
# 2 degrees or more brings the whole-picture match below it).
STRAIGHT_SCORE = 0.985


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
        lib.load_files(nodes)
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
        fa, fb = lib.facts(a), lib.facts(b)
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
        pa, pb = similarity.as_array(pixels[a]), similarity.as_array(pixels[b])
        if not refused:
            match = similarity.compare(pa, pb, self.t)
            if match.is_near(self.t):
                return self._copy_or_version(a, b, match, pa, pb)
        return self._version(a, b, refused, pa, pb)

    def _copy_or_version(self, a: int, b: int, match: similarity.Match, pa: np.ndarray, pb: np.ndarray) -> Edge:
        """A pair that matches as copies may still be a version: black-and-white beside colour,
        or turned a few degrees."""
        distance = probe_distance(self.lib, a, b)
        toned = self._toned(a, b)
        if toned and toned[0] != toned[1]:
            return Edge(round(match.score, 4), distance, GroupKind.VERSION)
        edge = self._straightened(a, b, match, versions.IDENTITY, pa, pb)
        if edge.angle:
            return replace(edge, distance=distance)
        return Edge(round(match.score, 4), distance, GroupKind.NEAR)

    def _toned(self, a: int, b: int) -> tuple[bool, bool] | None:
        """Which of the two pictures is black-and-white, sepia or toned (None: unknown)."""
        colours = self.lib.colours((a, b))
        if colours[a] is None or colours[b] is None:
            return None
        return colours[a].monochrome, colours[b].monochrome

    def _version(self, a: int, b: int, refused: str | None, pa: np.ndarray, pb: np.ndarray) -> Edge | None:
        """b as an edited version of a: turned or mirrored (the hinted codes), stretched or
        black-and-white (refused as a copy for its shape or colours), straightened."""
        hint = self.hints.get((a, b), Hint())
        fa, fb = self.lib.facts(a), self.lib.facts(b)
        toned = None
        if fa.why_not_version(fb, False) in COLOUR_REASONS or fa.why_not_version(fb, True) in COLOUR_REASONS:
            toned = self._toned(a, b)  # a black-and-white or sepia copy may differ there
        best: tuple[similarity.Match, int] | None = None
        for code in sorted(hint.codes | ({versions.IDENTITY} if refused else set())):
            if fa.why_not_version(fb, versions.swaps_sides(code), toned):
                continue
            match = similarity.compare(np.ascontiguousarray(versions.transform(pa, code)), pb, self.t)
            if match.is_near(self.t) and (best is None or match.score > best[0].score):
                best = (match, code)
        cropped = self._cropped(a, b, pa, pb) if hint.crop else None
        if cropped is not None and (best is None or cropped.score >= best[0].score):
            return cropped  # a crop, rather than a stretch that the crop alignment nearly explains
        if best is not None:
            return self._straightened(a, b, best[0], best[1], pa, pb)
        if not hint.turns or fa.why_not_version(fb, False, toned):
            return None
        turned = self._turned(a, b, versions.IDENTITY, pa, pb)
        if turned is None:
            return None
        return Edge(round(turned.match.score, 4), hint.distance, GroupKind.VERSION, versions.IDENTITY, turned.angle)

    def _cropped(self, a: int, b: int, pa: np.ndarray, pb: np.ndarray) -> Edge | None:
        """One as the centred crop of the other to its shape. The colours are not compared
        (a crop leaves part of the picture out), the cropped part is, as strictly as a copy."""
        fa, fb = self.lib.facts(a), self.lib.facts(b)
        if fa._why_never(fb):
            return None
        distance = self.hints.get((a, b), Hint()).distance
        for big, small, pbig, psmall, flip in ((fa, fb, pa, pb, False), (fb, fa, pb, pa, True)):
            match = versions.match_cropped(pbig, psmall, big.aspect, small.aspect, self.t)
            if match is not None:
                shape = small.aspect / big.aspect
                keep = min(shape, 1 / shape)
                return Edge(round(match.score, 4), distance, GroupKind.VERSION, crop=1 / keep if flip else keep)
        return None

    def _turned(self, a: int, b: int, code: int, pa: np.ndarray, pb: np.ndarray) -> versions.Turned | None:
        """b as a turned a few degrees from a (after `code`): the turn is made in the
        picture's own proportions, a's or b's when one of them is stretched."""
        hint = self.hints.get((a, b), Hint())
        guess = max(hint.turns or {3.0}, key=abs)
        fa, fb = self.lib.facts(a), self.lib.facts(b)
        shape_a = 1 / fa.aspect if versions.swaps_sides(code) else fa.aspect
        source = np.ascontiguousarray(versions.transform(pa, code))
        found = [versions.match_turned(source, pb, shape, guess, self.t) for shape in {shape_a, fb.aspect}]
        return max((t for t in found if t is not None), key=lambda t: t.match.score, default=None)

    def _straightened(self, a: int, b: int, match: similarity.Match, code: int, pa, pb) -> Edge:
        """A pair that matches (after `code`) may be straightened as well: a copy's match is
        closer than a picture turned by two degrees or more."""
        distance = self.hints.get((a, b), Hint()).distance
        if match.score < STRAIGHT_SCORE:
            turned = self._turned(a, b, code, pa, pb)
            if turned is not None:
                return Edge(round(turned.match.score, 4), distance, GroupKind.VERSION, code, turned.angle)
        return Edge(round(match.score, 4), distance, GroupKind.VERSION, code)

    def verified(self) -> int:
        return sum(1 for e in self.results.values() if e is not None)
