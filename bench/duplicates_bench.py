"""Near-duplicate grouping at 100,000 and 1,000,000 hashes: the index against brute force.

    python bench/duplicates_bench.py [--sizes 100000 1000000] [--brute-rows 10000] [--library 100000]

Synthetic 64-bit hashes (uniformly random) with planted near-duplicates: 5 % of the hashes
get one to three copies, each with 0..RADIUS random bits flipped (RADIUS is the production
candidate radius). "Grouping" is what the scan does with hashes: all pairs within RADIUS by
multi-index hashing (app/media/similarity.radius_pairs), then star grouping. "Versions on"
adds what app/media/versions.py looks up: each hash's 7 turns and mirrors and 4 crops
against every whole hash, its 12 turned centres against every centre hash, at the versions'
radius (1 % planted versions). The brute-force
baseline XORs every pair in numpy blocks; at 1,000,000 hashes it runs on the first
--brute-rows rows against all and is extrapolated (the full run would take many minutes).
At 100,000 it also measures the production shape: every hash against 15 crop probes, pHash
and dHash. Last, the real scan (app/pipeline/duplicates.scan_library) over a synthetic
library of --library pictures in a temporary database: photo-like 64x64 fingerprints, 5 % of
them copies cropped by up to 5 % and brightened or darkened by up to 10 %, 1 % turned or
mirrored versions.
Prints wall and CPU seconds (CPU counts both cores), peak memory, and whether every planted
pair was found.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import numpy as np

from app.media import similarity, versions

RADIUS = similarity.RADIUS


def make_hashes(n: int, seed: int = 7) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """n random hashes, of which ~5 % are planted copies of others: (hashes, planted pairs)."""
    rng = np.random.default_rng(seed)
    h = rng.integers(0, np.iinfo(np.uint64).max, n, dtype=np.uint64, endpoint=True)
    planted = []
    originals = rng.choice(n, n // 20, replace=False)
    free = np.setdiff1d(np.arange(n), originals)
    rng.shuffle(free)
    slots = iter(free.tolist())
    for o in originals.tolist():
        for _ in range(int(rng.integers(1, 4))):
            c = next(slots)
            flips = rng.choice(64, int(rng.integers(0, RADIUS + 1)), replace=False)
            h[c] = h[o] ^ np.uint64(sum(1 << int(b) for b in flips))
            planted.append((min(o, c), max(o, c)))
    return h, planted


def _reset_peak_rss() -> None:
    """Linux: start the high-water mark of resident memory afresh (clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass  # elsewhere the figure includes what ran before


def measure(fn, trace: bool = True):
    """(result, wall s, cpu s of all threads, peak bytes). Peak: traced Python/numpy memory;
    with trace=False (tracing slows pure-Python code a lot) the peak resident size of the
    process during the call."""
    if trace:
        tracemalloc.start()
    else:
        _reset_peak_rss()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return result, wall, cpu, peak


def group(h: np.ndarray):
    i, j, _ = similarity.radius_pairs(h, h, RADIUS, self_join=True)
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    groups = similarity.star_groups(neighbours, lambda a, b: True)
    return set(zip(i.tolist(), j.tolist(), strict=True)), groups


def make_version_queries(h: np.ndarray, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """What versions add to each hash (app/media/versions.query_hashes): 7 turned/mirrored
    whole-picture hashes and 4 of centred crops to common shapes, 12 hashes of the centre
    turned a few degrees, and the centre hash itself, all random; 1 % of the hashes are planted versions of another (one of their turn
    queries within VERSION_RADIUS of its whole or centre hash). (turns, small turns, centres,
    planted pairs)."""
    n = len(h)
    rng = np.random.default_rng(seed)
    top = np.iinfo(np.uint64).max
    # turns and mirrors, and crops to common shapes: both looked up among whole hashes
    turns = rng.integers(0, top, (n, versions.N_TURNS + versions.N_CROPS), dtype=np.uint64, endpoint=True)
    small = rng.integers(0, top, (n, len(versions.TURN_PROBES)), dtype=np.uint64, endpoint=True)
    centre = rng.integers(0, top, n, dtype=np.uint64, endpoint=True)
    planted = []
    pairs = rng.choice(n, (n // 100, 2), replace=False)
    for k, (o, v) in enumerate(pairs.tolist()):
        flips = np.uint64(
            sum(1 << int(b) for b in rng.choice(64, int(rng.integers(0, versions.VERSION_RADIUS + 1)), replace=False))
        )
        if k % 2:
            turns[v, k % turns.shape[1]] = h[o] ^ flips
        else:
            small[v, k % len(versions.TURN_PROBES)] = centre[o] ^ flips
        planted.append((min(o, v), max(o, v)))
    return turns, small, centre, planted


def group_with_versions(h: np.ndarray, turns: np.ndarray, small: np.ndarray, centre: np.ndarray):
    """`group` with versions on, as a full scan does it: every hash's turns and mirrors
    against every whole hash, its small turns against every centre hash (both at the
    versions' radius), then one star grouping over all the pairs."""
    i, j, _ = similarity.radius_pairs(h, h, RADIUS, self_join=True)
    found = [(i, j)]
    for queries, targets in ((turns, h), (small, centre)):
        qi, tj, _ = similarity.radius_pairs(queries.reshape(-1), targets, versions.VERSION_RADIUS)
        qi = qi // queries.shape[1]
        keep = qi != tj
        found.append((np.minimum(qi, tj)[keep], np.maximum(qi, tj)[keep]))
    i = np.concatenate([a for a, _ in found])
    j = np.concatenate([b for _, b in found])
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    groups = similarity.star_groups(neighbours, lambda a, b: True)
    return set(zip(i.tolist(), j.tolist(), strict=True)), groups


def brute(h: np.ndarray, rows: int) -> set[tuple[int, int]]:
    """Every pair (i < j) within RADIUS for the first `rows` rows, by XOR + popcount."""
    block = max(16, 20_000_000 // len(h))  # rows per step: ~160 MB of XORs at a time
    found = set()
    for start in range(0, rows, block):
        q = h[start : min(rows, start + block)]
        d = np.bitwise_count(q[:, None] ^ h[None, start:])
        qi, tj = np.nonzero(d <= RADIUS)
        keep = tj > qi
        found |= set(zip((qi[keep] + start).tolist(), (tj[keep] + start).tolist(), strict=True))
    return found


def line(label: str, wall: float, cpu: float, peak: int, extra: str = "") -> None:
    print(f"  {label:<34} {wall:8.2f} s wall {cpu:8.2f} s cpu  peak {peak / 1e6:7.0f} MB  {extra}", flush=True)


def synthetic_fingerprints(n: int, seed: int = 3) -> tuple[np.ndarray, list[tuple[int, int]], set[int]]:
    """n photo-like 64x64 fingerprints; 5 % are copies of others (cropped <= 5 %, resized,
    brightened or darkened), 1 % versions (turned or mirrored): (uint8 array, planted pairs,
    the indices of pictures turned a quarter: portrait where the others are landscape)."""
    rng = np.random.default_rng(seed)
    fps = np.empty((n, similarity.FP, similarity.FP), np.uint8)
    up = similarity._area_matrix(0, 8, similarity.FP, n_in=8).T  # 8 -> 64 pixels (nearest blocks)
    for start in range(0, n, 10_000):
        k = min(10_000, n - start)
        coarse = rng.random((k, 8, 8), dtype=np.float32) * 200 + 20
        smooth = np.einsum("ij,njk,lk->nil", up.T, coarse, up.T)
        fine = rng.normal(0, 12, (k, similarity.FP, similarity.FP)).astype(np.float32)
        fps[start : start + k] = np.clip(smooth + fine, 0, 255)
    planted, quarter = [], set()
    originals = rng.choice(n, n // 20, replace=False)
    copies = rng.choice(np.setdiff1d(np.arange(n), originals), n // 20 + n // 100, replace=False)
    for k, (o, c) in enumerate(zip(originals.tolist(), copies[n // 100 :].tolist(), strict=True)):
        if k < n // 100:  # a version: the original turned or mirrored (its copy below is cropped too)
            code = 1 + k % versions.N_TURNS
            fps[copies[k]] = versions.transform(fps[o], code)
            planted.append((min(o, int(copies[k])), max(o, int(copies[k]))))
            if versions.swaps_sides(code):
                quarter.add(int(copies[k]))
        x0, y0 = rng.uniform(0, 3.2, 2)  # up to 5 % off the left/top ...
        x1, y1 = similarity.FP - rng.uniform(0, 3.2, 2)  # ... and the right/bottom
        rows = similarity._area_matrix(float(y0), float(y1), similarity.FP)
        cols = similarity._area_matrix(float(x0), float(x1), similarity.FP)
        fps[c] = np.clip((rows @ fps[o].astype(np.float32) @ cols.T) * rng.uniform(0.9, 1.1), 0, 255)
        planted.append((min(o, c), max(o, c)))
    return fps, planted, quarter


TIMES_START = 1_262_304_000  # 2010-01-01 UTC, in seconds
TIMES_SPAN = 15 * 365 * 86400  # a family's fifteen years of photos


def synthetic_times(n: int, seed: int = 6) -> np.ndarray:
    """A camera capture time (seconds since 1970, UTC) per synthetic picture, as a real library
    has: days out (a few dozen photos within minutes of each other) spread over fifteen years."""
    rng = np.random.default_rng(seed)
    days = rng.uniform(TIMES_START, TIMES_START + TIMES_SPAN, max(1, n // 40))
    return (days[rng.integers(0, len(days), n)] + rng.uniform(0, 4 * 3600, n)).astype(np.int64)


def capture_time(seconds: int):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(seconds), UTC)


def _fill_library(fps: np.ndarray, quarter: set[int]) -> None:
    """One file row and one fingerprint per synthetic picture (ids from 1), with a camera
    capture time (`synthetic_times`); the `quarter` turned ones are portrait."""
    from sqlalchemy import insert

    from app.models import File, FileFingerprint, db
    from app.vocab import FileStatus, MediaKind, Precision

    n = len(fps)
    rng = np.random.default_rng(4)
    times = synthetic_times(n)
    for start in range(0, n, 5000):
        ids = range(start + 1, min(n, start + 5000) + 1)
        db.session.execute(
            insert(File),
            [
                dict(
                    id=i,
                    status=FileStatus.DONE,
                    path=f"/synthetic/{i}.jpg",
                    original_name=f"{i}.jpg",
                    sha256=f"{i:064x}",
                    media_kind=MediaKind.IMAGE,
                    ext="jpg",
                    width=3000 if i - 1 in quarter else 4000,
                    height=4000 if i - 1 in quarter else 3000,
                    size=3_000_000,
                    mean_color=0x807060,
                    contrast=float(rng.uniform(30, 60)),
                    taken_at=capture_time(times[i - 1]),
                    taken_source="exif:DateTimeOriginal",
                    taken_precision=Precision.SECOND,
                )
                for i in ids
            ],
        )
        db.session.execute(insert(FileFingerprint), [{"file_id": i, "pixels": fps[i - 1].tobytes()} for i in ids])
    db.session.commit()


def library_scan(n: int) -> None:
    """The real scan (app/pipeline/duplicates) over a synthetic library of n pictures."""
    import tempfile

    from sqlalchemy import select

    from app import create_app
    from app.config import Settings
    from app.database import upgrade
    from app.models import File, db
    from app.pipeline import duplicates

    data = Path(tempfile.mkdtemp(prefix="dups-bench-"))
    settings = Settings.from_env(env={"MEDIAPARSER_DATA_DIR": str(data), "MEDIAPARSER_QUEUE": "memory"})
    app = create_app(settings)
    upgrade(app)
    fps, planted, quarter = synthetic_fingerprints(n)
    with app.app_context():
        _fill_library(fps, quarter)
        del fps  # the scan reads what it needs from the database
        db.session.expunge_all()
        print(f"\nend-to-end scan of a synthetic library: {n:,} pictures, {len(planted):,} planted copies and versions")
        report, wall, cpu, peak = measure(lambda: duplicates.scan_library(settings), trace=False)
        pairs = set()
        for (gid,) in db.session.execute(select(File.group_id).where(File.group_id.is_not(None)).distinct()):
            members = db.session.execute(select(File.id).where(File.group_id == gid)).scalars().all()
            pairs |= {(a - 1, b - 1) for a in members for b in members if a < b}
        found = sum(1 for p in planted if p in pairs)
        line(
            "scan_library, first (peak: RSS)",
            wall,
            cpu,
            peak,
            f"{report}; planted copies and versions grouped: {found:,}/{len(planted):,}",
        )
        report, wall, cpu, peak = measure(lambda: duplicates.scan_library(settings), trace=False)
        line("scan_library, again (peak: RSS)", wall, cpu, peak, str(report))
        db.session.remove()
        db.engine.dispose()


def production_shape(h: np.ndarray) -> None:
    """Every hash against all crop probes of every other, for pHash and for dHash."""
    rng = np.random.default_rng(1)
    crops = rng.integers(0, np.iinfo(np.uint64).max, (len(h), similarity.N_PROBES - 1), dtype=np.uint64, endpoint=True)
    probes = np.concatenate([h[:, None], crops], axis=1)  # window 0 is the whole picture

    def production():
        for _ in ("pHash", "dHash"):
            similarity.probe_pairs(h, probes)

    _, wall, cpu, peak = measure(production)
    line(f"production shape ({similarity.N_PROBES} probes x 2)", wall, cpu, peak, "every hash against all probes")
    turns, small, centre, _ = make_version_queries(h)

    def with_versions():
        for _ in ("pHash", "dHash"):
            similarity.probe_pairs(h, probes)
            similarity.radius_pairs(turns.reshape(-1), h, versions.VERSION_RADIUS)
            similarity.radius_pairs(small.reshape(-1), centre, versions.VERSION_RADIUS)

    _, wall, cpu, peak = measure(with_versions)
    line("production shape, versions on", wall, cpu, peak, f"+ {versions.N_QUERIES} version probes per hash, x 2")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--brute-rows", type=int, default=10_000, help="rows brute-forced above 100,000 hashes")
    parser.add_argument("--library", type=int, default=100_000, help="pictures in the end-to-end scan (0: skip)")
    args = parser.parse_args()
    print(
        f"radius {RADIUS} bits, {similarity.BLOCKS} index blocks; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for n in args.sizes:
        h, planted = make_hashes(n)
        print(f"\n{n:,} hashes, {len(planted):,} planted near-duplicate pairs")
        (pairs, groups), wall, cpu, peak = measure(lambda h=h: group(h))
        group_of = {m: g for g, (c, ms) in enumerate(groups) for m in (c, *ms)}
        together = sum(1 for a, b in planted if a in group_of and group_of[a] == group_of.get(b))
        missing = sum(1 for p in planted if p not in pairs)
        line(
            "index + star grouping",
            wall,
            cpu,
            peak,
            f"{len(pairs):,} pairs, {len(groups):,} groups; planted pairs found: "
            f"{len(planted) - missing:,}/{len(planted):,}; grouped together: {together:,}",
        )
        turns, small, centre, planted_versions = make_version_queries(h)
        (pairs_v, groups_v), wall, cpu, peak = measure(
            lambda h=h, t=turns, s=small, c=centre: group_with_versions(h, t, s, c)
        )
        line(
            "index + star grouping, versions on",
            wall,
            cpu,
            peak,
            f"{len(pairs_v):,} pairs, {len(groups_v):,} groups; planted copies found: "
            f"{sum(1 for p in planted if p in pairs_v):,}/{len(planted):,}, planted versions found: "
            f"{sum(1 for p in planted_versions if p in pairs_v):,}/{len(planted_versions):,}",
        )
        rows = n if n <= 100_000 else min(n, args.brute_rows)
        found, bwall, bcpu, bpeak = measure(lambda h=h, rows=rows: brute(h, rows))
        if rows == n:
            same = found == pairs
            line("brute force (numpy blocks)", bwall, bcpu, bpeak, f"same pairs as the index: {same}")
        else:
            # rows near the top of the triangle cost the most; scale by the share of the triangle
            share = 1 - ((n - rows) / n) ** 2
            in_index = all(p in pairs for p in found)
            line(
                f"brute force, first {rows:,} rows",
                bwall,
                bcpu,
                bpeak,
                f"its pairs all found by the index: {in_index}; full run ~{bwall / share:,.0f} s wall (extrapolated)",
            )
        if n == 100_000:
            production_shape(h)
    if args.library:
        library_scan(args.library)


if __name__ == "__main__":
    main()
