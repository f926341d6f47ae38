"""Which pairs of nodes match: candidates from the probe-hash index (near) or from capture
times (similar), checked on demand against the facts, the camera's metadata and the
fingerprints (the matching itself is app/media/similarity.py, pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select

from ...media import similarity
from ...media.timestamps import parse_datetime
from ...models import File, db
from ...vocab import GroupKind, has_time_of_day
from ..sql import chunks
from .library import Library


@dataclass(frozen=True)
class Edge:
    score: float  # aligned correlation; 1.0 for identical pixels
    distance: int  # Hamming distance of the closest probe pair (pHash or dHash)


def candidates(lib: Library, new_nodes: set[int]) -> dict[tuple[int, int], int]:
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
    `kind` is GroupKind.NEAR (the same picture) or GroupKind.SIMILAR (one moment)."""

    def __init__(self, lib: Library, pairs: Iterable[tuple[int, int]], kind: GroupKind, t: similarity.Thresholds):
        self.lib, self.kind, self.t = lib, kind, t
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

    def _check(self, a: int, b: int) -> Edge | None:
        lib = self.lib
        near = self.kind == GroupKind.NEAR
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
        return Edge(round(match.score, 4), probe_distance(lib, a, b))

    def verified(self) -> int:
        return sum(1 for e in self.results.values() if e is not None)
