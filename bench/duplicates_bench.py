"""Near-duplicate grouping at 100,000 and 1,000,000 hashes: the index against brute force.

    python bench/duplicates_bench.py [--sizes 100000 1000000] [--brute-rows 20000]

Synthetic 64-bit hashes (uniformly random) with planted near-duplicates: 5 % of the hashes
get one to three copies, each with 0..RADIUS random bits flipped (RADIUS is the production
candidate radius). "Grouping" is what the scan does with hashes: all pairs within RADIUS by
multi-index hashing (app/media/similarity.radius_pairs), then star grouping. The brute-force
baseline XORs every pair in numpy blocks; at 1,000,000 hashes it runs on the first
--brute-rows rows against all and is extrapolated (the full run would take many minutes).
The last line measures the production shape: every hash against 15 crop probes, pHash and dHash.
Prints wall and CPU seconds, peak traced memory, and whether every planted pair was found.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.media import similarity  # noqa: E402

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


def measure(fn):
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, wall, cpu, peak


def group(h: np.ndarray):
    i, j, _ = similarity.radius_pairs(h, h, RADIUS, self_join=True)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--brute-rows", type=int, default=10_000, help="rows brute-forced above 100,000 hashes")
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
            rng = np.random.default_rng(1)
            crops = rng.integers(
                0, np.iinfo(np.uint64).max, (n, similarity.N_PROBES - 1), dtype=np.uint64, endpoint=True
            )
            probes = np.concatenate([h[:, None], crops], axis=1)  # window 0 is the whole picture

            def production(h=h, probes=probes):
                for _ in ("pHash", "dHash"):
                    similarity.probe_pairs(h, probes)

            _, pwall, pcpu, ppeak = measure(production)
            line(
                f"production shape ({similarity.N_PROBES} probes x 2)",
                pwall,
                pcpu,
                ppeak,
                "every hash against all probes",
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmax resident set size of the whole run: {rss:,.0f} MB")


if __name__ == "__main__":
    main()
