"""Near-duplicate and similar-shot detection: pure numpy on small fingerprints, no database.

How two files are judged to show the same picture (every figure measured on the corpus and on
transformed copies of it; see tests/test_similarity.py and bench/duplicates_bench.py):

1. Fingerprint: the upright picture as 64x64 grey levels (4 KB), made at import from the same
   reduced decode as the thumbnail (`fingerprint`).
2. Probe hashes: a 64-bit pHash and dHash of the whole fingerprint and of crop windows of it
   (`WINDOWS`), so a copy cropped by up to ~5 % hashes close to one of its original's probes.
   A 5 % crop moves a whole-picture pHash by up to 38 bits; against the best probe, by <= 6.
3. Candidates: pairs where one file's whole-picture hash lies within `RADIUS` bits of one of the
   other's probes, found by multi-index hashing (`radius_pairs`): never all pairs.
4. Verification (`compare`): the best crop alignment (up to 7 % per side) of the two
   fingerprints must correlate strongly overall *and* every part of the picture must agree.
   The second test is what tells a copy from a stereo pair or a retake, which match overall.
   Cheap checks first (`Facts.compatible`): flat pictures never match, aspect ratios and
   brightness must be close, colours alike.
5. Grouping (`star_groups`): a group is a star around its representative; every member was
   verified against the representative itself, so a slow pan cannot chain unrelated pictures.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..vocab import MediaKind

# --- fingerprints and probe hashes --------------------------------------------------------

FP = 64  # fingerprint side, px
FP_BYTES = FP * FP
HASH_SIDE = 32  # pHash works on a 32x32 resample, like imagehash's
# Crop windows (x0, y0, x1, y1) as fractions of the picture. The first is the whole picture.
WINDOWS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.0, 1.0, 1.0),
    *((x, y, x + 0.95, y + 0.95) for y in (0.0, 0.025, 0.05) for x in (0.0, 0.025, 0.05)),
    (0.05, 0.0, 1.0, 1.0),
    (0.0, 0.0, 0.95, 1.0),
    (0.0, 0.05, 1.0, 1.0),
    (0.0, 0.0, 1.0, 0.95),
    (0.05, 0.05, 0.95, 0.95),
)
N_PROBES = len(WINDOWS)


def fingerprint_image(image: Image.Image) -> Image.Image:
    """The 64x64 grey picture of an (upright, reduced) picture that `fingerprint` stores."""
    return image.convert("L").resize((FP, FP), Image.Resampling.BOX)


def fingerprint(image: Image.Image) -> bytes:
    """64x64 grey levels of an (upright, reduced) picture: what `compare` and the probes use."""
    return fingerprint_image(image).tobytes()


def as_array(fp: bytes) -> np.ndarray:
    return np.frombuffer(fp, dtype=np.uint8).reshape(FP, FP).astype(np.float32)


@functools.lru_cache(maxsize=4096)
def _area_matrix(start: float, stop: float, n_out: int, n_in: int = FP) -> np.ndarray:
    """Linear map from n_in pixels to n_out pixels averaging [start, stop) (in input pixels)."""
    width = (stop - start) / n_out
    m = np.zeros((n_out, n_in), np.float32)
    for k in range(n_out):
        a, b = start + k * width, start + (k + 1) * width
        for p in range(max(0, math.floor(a)), min(n_in, math.ceil(b))):
            m[k, p] = max(0.0, min(b, p + 1) - max(a, p))
        m[k] /= m[k].sum()
    return m


@functools.lru_cache(maxsize=1)
def _dct8() -> np.ndarray:
    """The 8 lowest rows of the orthonormal 32-point DCT-II."""
    n = HASH_SIDE
    k = np.arange(8)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * k * (2 * x + 1) / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m.astype(np.float32)


_BIT_WEIGHTS = (np.uint64(1) << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)


def _pack(bits: np.ndarray) -> np.ndarray:
    """(..., 64) booleans, first bit most significant -> (...) uint64."""
    return (bits.astype(np.uint64) * _BIT_WEIGHTS).sum(axis=-1, dtype=np.uint64)


def _apply(fps: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """rows @ fp @ cols.T for every (square) fingerprint, as two large matrix products (fast)."""
    n, side = len(fps), fps.shape[-1]
    half = (fps.reshape(n * side, side) @ cols.T).reshape(n, side, len(cols))
    out = half.transpose(0, 2, 1).reshape(n * len(cols), side) @ rows.T
    return out.reshape(n, len(cols), len(rows)).transpose(0, 2, 1)


def probe_hashes(
    fps: np.ndarray, windows: tuple[tuple[float, float, float, float], ...] = WINDOWS, side: int = FP
) -> tuple[np.ndarray, np.ndarray]:
    """pHash and dHash of every window of every fingerprint: two (n, len(windows)) uint64 arrays.

    `fps` is (n, side, side), normally (n, 64, 64). pHash: 32x32 area resample, DCT, the 8x8 lowest frequencies against
    their median (the resample and the DCT are folded into one 8x64 matrix per axis).
    dHash: 8 rows of 9, each pixel brighter than its left neighbour or not.

    Why not imagehash (which makes the stored `File.phash`/`dhash`): the windows start at
    fractions of a pixel (2.5 % of 64 px), which an area matrix samples and an image crop
    cannot, and the whole batch is a few matrix products: about 0.3 ms per fingerprint for
    all 15 windows, against about 4.4 ms with imagehash on whole-pixel crops.
    """
    fps = np.asarray(fps, dtype=np.float32).reshape(-1, side, side)
    n = len(fps)
    dct = _dct8()
    ph = np.empty((n, len(windows)), np.uint64)
    dh = np.empty((n, len(windows)), np.uint64)
    for w, (x0, y0, x1, y1) in enumerate(windows):
        rows = dct @ _area_matrix(y0 * side, y1 * side, HASH_SIDE, side)
        cols = dct @ _area_matrix(x0 * side, x1 * side, HASH_SIDE, side)
        coeffs = _apply(fps, rows, cols).reshape(n, 64)
        middle = np.partition(coeffs, (31, 32), axis=1)[:, 31:33].mean(axis=1, keepdims=True)  # the median
        ph[:, w] = _pack(coeffs > middle)
        grid = _apply(fps, _area_matrix(y0 * side, y1 * side, 8, side), _area_matrix(x0 * side, x1 * side, 9, side))
        dh[:, w] = _pack((grid[:, :, 1:] > grid[:, :, :-1]).reshape(n, 64))
    return ph, dh


def to_signed(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.uint64).view(np.int64)


def to_unsigned(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).view(np.uint64)


# --- neighbour search in Hamming space ----------------------------------------------------

RADIUS = 5  # candidate radius (bits) between a whole-picture hash and the nearest probe
BLOCKS = 3  # multi-index hashing: 64 bits in 3 blocks of 22/21/21 bits


def _variants(bits: int, max_flips: int) -> np.ndarray:
    """Every key difference of up to `max_flips` bits in a `bits`-wide block."""
    out = [0]
    for flips in range(1, max_flips + 1):
        out += [sum(1 << b for b in combo) for combo in itertools.combinations(range(bits), flips)]
    return np.array(out, dtype=np.int64)


def radius_pairs(
    queries: np.ndarray, targets: np.ndarray, radius: int, *, self_join: bool = False, blocks: int = BLOCKS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (i, j) with Hamming(queries[i], targets[j]) <= radius, each pair once, as three
    arrays (i, j, distance). `self_join` (queries is targets) reports i < j only.

    Multi-index hashing: split the 64 bits into `blocks` blocks. Two hashes within `radius`
    bits agree within radius // blocks bits on at least one block (pigeonhole), so each query
    looks up only its block's keys and their few-bit variants in a direct-address table of
    the targets' block values. With 21-22 bit blocks, a million targets leave most table
    entries empty: the work is about (variants x queries), not queries x targets.
    """
    q = np.ascontiguousarray(queries).view(np.uint64) if len(queries) else np.zeros(0, np.uint64)
    t = np.ascontiguousarray(targets).view(np.uint64) if len(targets) else np.zeros(0, np.uint64)
    empty = np.zeros(0, np.int64)
    if not len(q) or not len(t):
        return empty, empty, empty
    widths = [64 // blocks + (1 if k < 64 % blocks else 0) for k in range(blocks)]
    shifts = [sum(widths[:k]) for k in range(blocks)]
    layout = _Blocks(widths, shifts, radius // blocks)
    if not self_join and min(len(q), len(t)) * FEW_AGAINST_MANY <= max(len(q), len(t)):
        return _few_against_many(q, t, radius, layout)
    found = [pair for k in range(blocks) for pair in _block_pairs(q, t, k, layout, radius, self_join)]
    if not found:
        return empty, empty, empty
    i = np.concatenate([qi for qi, _ in found]).astype(np.int64)
    j = np.concatenate([tj for _, tj in found]).astype(np.int64)
    return i, j, np.bitwise_count(q[i] ^ t[j]).astype(np.int64)


@dataclass(frozen=True)
class _Blocks:
    widths: list[int]  # bits per block
    shifts: list[int]  # where each block starts
    flips: int  # bits a block may differ by: radius // blocks

    def key(self, values: np.ndarray, k: int) -> np.ndarray:
        return ((values >> np.uint64(self.shifts[k])) & np.uint64((1 << self.widths[k]) - 1)).astype(np.int32)


FEW_AGAINST_MANY = 16  # one side this many times smaller: mark its keys, pass once over the other


def _few_against_many(q: np.ndarray, t: np.ndarray, radius: int, layout: _Blocks):
    """radius_pairs when one side is small (an import's new hashes against a library's):
    its block keys and their variants are marked in one table per block, one pass over the
    large side keeps the hashes whose key is marked (pigeonhole: every pair within `radius`
    has one), and those few are compared with the whole small side. No sort of the large side."""
    small, large = (q, t) if len(q) <= len(t) else (t, q)
    hit = np.zeros(len(large), bool)
    for k, width in enumerate(layout.widths):
        marked = np.zeros(1 << width, bool)
        variants = _variants(width, layout.flips).astype(np.int32)
        marked[(layout.key(small, k)[:, None] ^ variants[None, :]).reshape(-1)] = True
        hit |= marked[layout.key(large, k)]
    rows = np.flatnonzero(hit)
    found_large, found_small = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    step = max(1, (1 << 22) // len(small))  # bounded memory for the direct comparison
    for start in range(0, len(rows), step):
        part = rows[start : start + step]
        li, si = np.nonzero(np.bitwise_count(large[part][:, None] ^ small[None, :]) <= radius)
        found_large.append(part[li])
        found_small.append(si)
    on_large, on_small = np.concatenate(found_large).astype(np.int64), np.concatenate(found_small).astype(np.int64)
    i, j = (on_small, on_large) if len(q) <= len(t) else (on_large, on_small)
    return i, j, np.bitwise_count(q[i] ^ t[j]).astype(np.int64)


# A block's direct-address table (4 M entries for 22 bits) costs about as much to build as
# 16,000 hashes' lookups in sorted keys (a binary search per key variant): fewer queries and
# targets together than 1 / DENSE_FILL of the table (an import into a small library) use the
# sorted keys; more (a whole library) the table.
DENSE_FILL = 256


def _key_lookup(t_keys: np.ndarray, width: int, n_queries: int):
    """(target order, lookup): `lookup(keys)` gives (which keys hit, where their targets
    start in the order, how many each), for keys of one `width`-bit block."""
    t_order = np.argsort(t_keys, kind="stable")
    if (len(t_keys) + n_queries) * DENSE_FILL < 1 << width:
        t_sorted = t_keys[t_order]

        def lookup(keys: np.ndarray):
            lo = np.searchsorted(t_sorted, keys, "left")
            n_hits = np.searchsorted(t_sorted, keys, "right") - lo
            hit = np.flatnonzero(n_hits)
            return hit, lo[hit], n_hits[hit]

        return t_order, lookup
    counts = np.bincount(t_keys, minlength=1 << width)
    occupied = (counts > 0).view(np.uint8)  # 1 byte per key: the table lookups stay in cache
    starts = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=starts[1:])

    def lookup(keys: np.ndarray):
        hit = np.flatnonzero(occupied[keys])
        keys = keys[hit]
        lo = starts[keys]
        return hit, lo, starts[keys + 1] - lo

    return t_order, lookup


def _block_pairs(q: np.ndarray, t: np.ndarray, k: int, layout: _Blocks, radius: int, self_join: bool):
    """The pairs block `k` finds (and no earlier block did), as (query indices, target
    indices) arrays, one per key variant that hits."""
    t_order, lookup = _key_lookup(layout.key(t, k), layout.widths[k], len(q))
    q_keys = layout.key(q, k)
    if layout.flips:
        q_order = np.argsort(q_keys, kind="stable")  # sorted keys keep the many lookups local
        q_sorted = q_keys[q_order]
    else:  # one exact lookup per query: sorting would cost more than it saves
        q_order, q_sorted = np.arange(len(q_keys)), q_keys
    for variant in _variants(layout.widths[k], layout.flips).astype(np.int32):
        hit, lo, n_hits = lookup(q_sorted ^ variant)
        if not hit.size:
            continue
        qi = np.repeat(q_order[hit], n_hits)
        offsets = np.arange(qi.size) - np.repeat(np.cumsum(n_hits) - n_hits, n_hits)
        tj = t_order[np.repeat(lo, n_hits) + offsets]
        if self_join:
            keep = qi < tj
            qi, tj = qi[keep], tj[keep]
        xor = q[qi] ^ t[tj]
        keep = np.bitwise_count(xor) <= radius
        # report each pair from the first block that finds it, so no pair comes twice
        for e in range(k):
            block_xor = (xor >> np.uint64(layout.shifts[e])) & np.uint64((1 << layout.widths[e]) - 1)
            keep &= np.bitwise_count(block_xor) > layout.flips
        yield qi[keep], tj[keep]


def probe_pairs(
    full_a: np.ndarray, probes_b: np.ndarray, radius: int = RADIUS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (a, b) where whole-picture hash a is within `radius` of any probe of b:
    (a index, b index, distance, window of b). One row per (a, b): the closest window."""
    n_b, n_w = probes_b.shape
    i, flat, dist = radius_pairs(full_a, probes_b.reshape(-1), radius)
    j, window = flat // n_w, flat % n_w
    if not len(i):
        return i, j, dist, window
    order = np.lexsort((dist, j, i))
    i, j, dist, window = i[order], j[order], dist[order], window[order]
    first = np.ones(len(i), bool)
    first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
    return i[first], j[first], dist[first], window[first]


# --- verification -------------------------------------------------------------------------

CMP = 32  # fingerprints are compared at 32x32 after alignment
MAX_CROP = 0.07  # alignment searches crops of up to 7 % per side ...
CROP_STEP = 0.75  # ... in steps of 0.75 fingerprint px (~1.2 %)
_CROPS = tuple(np.arange(0.0, MAX_CROP * FP + 1e-6, CROP_STEP).tolist())
_SPANS = tuple((a, FP - b) for a in _CROPS for b in _CROPS)
BLOCK_GRID = 4  # agreement is checked in 4x4 parts of the picture

# A copy (resized, recompressed, converted, brightened, cropped <= 5 %) scores >= 0.92 in the
# worst case measured (a fine brick texture) and >= 0.955 in 99 % of cases; the stereo pair
# scores <= 0.893. Its parts disagree: the second-worst of 16 parts has a residual >= 0.645
# of the picture's spread, copies <= 0.39 in 99 % (0.61 at worst: the brick texture again).
NEAR_SCORE = 0.90
NEAR_LOCAL = 0.55
# At 8x8 a crop of <= 7 % barely moves anything: copies correlate >= 0.30 there (a brick
# texture; >= 0.85 in 99 % of cases), while 9 in 10 unrelated pairs are below 0.5.
COARSE_FLOOR = 0.15
# Shots of one moment (bursts, retakes): a looser overall match, and no demand that every
# part agrees (someone walked through the picture); the pipeline also needs capture times
# close together and one camera.
SIMILAR_SCORE = 0.75


@dataclass(frozen=True)
class Thresholds:
    """How alike two pictures must be: the settings page's "duplicate sensitivity"."""

    near_score: float  # correlation a copy must reach
    near_local: float  # how much one part of a copy may disagree
    similar_score: float  # correlation shots of one moment must reach
    similar_seconds: int  # how far apart in time shots of one moment may be


SENSITIVITY = {
    # only practically identical pictures; bursts within 20 s that are nearly the same frame
    "strict": Thresholds(near_score=0.95, near_local=0.40, similar_score=0.85, similar_seconds=20),
    # the measured defaults above: resized, recompressed, converted, cropped <= 5 % copies
    "normal": Thresholds(near_score=NEAR_SCORE, near_local=NEAR_LOCAL, similar_score=SIMILAR_SCORE, similar_seconds=60),
    # also heavier edits; retakes up to three minutes apart
    "loose": Thresholds(near_score=0.86, near_local=0.65, similar_score=0.65, similar_seconds=180),
}
NORMAL = SENSITIVITY["normal"]


@functools.lru_cache(maxsize=1)
def _span_stack() -> np.ndarray:
    """Every crop span of one axis as a (32 x 64) resampling matrix."""
    return np.stack([_area_matrix(a, b, CMP) for a, b in _SPANS])  # (S, 32, 64)


def _centred(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit length (flattened): correlation is then a dot product."""
    flat = x.ravel() - x.mean()
    return flat / (float(np.sqrt(flat @ flat)) + 1e-6)


def _correlations(stack: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Correlation of each (32x32) picture in `stack` with a centred, unit-length target."""
    flat = stack.reshape(len(stack), -1)
    n = flat.shape[1]
    sums = flat.sum(axis=1)
    spread = np.einsum("ij,ij->i", flat, flat) - sums * sums / n
    return (flat @ target) / (np.sqrt(np.maximum(spread, 0)) + 1e-6)


def _best_crop(a: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Best correlation of a crop of `a` (resampled to 32x32) with `target`, searching the
    horizontal and vertical spans in turn (the crop of each axis is independent)."""
    spans = _span_stack()
    t = _centred(target)
    rows = cols = _area_matrix(0, FP, CMP)
    best = -1.0
    for _ in range(2):
        scores = _correlations((rows @ a) @ spans.transpose(0, 2, 1), t)  # every horizontal span
        k = int(np.argmax(scores))
        cols, best = spans[k], max(best, float(scores[k]))
        scores = _correlations(spans @ (a @ cols.T), t)  # every vertical span
        k = int(np.argmax(scores))
        rows, best = spans[k], max(best, float(scores[k]))
    return best, rows @ a @ cols.T


def _local_disagreement(aligned: np.ndarray, target: np.ndarray) -> float:
    """Second-worst part of the picture: RMS residual of the best global linear fit
    (brightness and contrast) in each of 4x4 parts, relative to the picture's spread."""
    r = aligned - aligned.mean()
    t = target - target.mean()
    gain = float((r * t).sum() / ((r * r).sum() + 1e-6))
    residual = t - gain * r
    n = CMP // BLOCK_GRID
    parts = residual.reshape(BLOCK_GRID, n, BLOCK_GRID, n).transpose(0, 2, 1, 3).reshape(-1, n * n)
    rms = np.sqrt((parts**2).mean(axis=1)) / (float(t.std()) + 1e-6)
    return float(np.sort(rms)[-2])


@dataclass(frozen=True)
class Match:
    score: float  # correlation after the best crop alignment (1.0 = identical)
    local: float  # disagreement of the second-worst part (0 = agree everywhere)

    def is_near(self, t: Thresholds = NORMAL) -> bool:
        return self.score >= t.near_score and self.local <= t.near_local

    def is_similar(self, t: Thresholds = NORMAL) -> bool:
        return self.score >= t.similar_score


def compare(fp_a: bytes | np.ndarray, fp_b: bytes | np.ndarray, t: Thresholds = NORMAL) -> Match:
    """How well two fingerprints match, allowing either to be a crop of the other."""
    a = as_array(fp_a) if isinstance(fp_a, bytes | bytearray | memoryview) else fp_a
    b = as_array(fp_b) if isinstance(fp_b, bytes | bytearray | memoryview) else fp_b
    coarse = _area_matrix(0, FP, 8)
    overall = float(_centred(coarse @ a @ coarse.T) @ _centred(coarse @ b @ coarse.T))
    if overall < COARSE_FLOOR:  # unrelated pictures: no crop of <= 7 % could reconcile these
        return Match(overall, float("inf"))
    down = _area_matrix(0, FP, CMP)
    a32, b32 = down @ a @ down.T, down @ b @ down.T
    # identity first: most copies are not cropped, and then no search is needed
    identity = float(_centred(a32) @ _centred(b32))
    if identity >= t.near_score:
        match = Match(identity, _local_disagreement(a32, b32))
        if match.is_near(t):
            return match
    score_a, crop_a = _best_crop(a, b32)
    score_b, crop_b = _best_crop(b, a32)
    if score_a >= score_b:
        return Match(max(score_a, identity), _local_disagreement(crop_a, b32))
    return Match(max(score_b, identity), _local_disagreement(crop_b, a32))


# --- facts every pair must agree on before the pixels are compared -------------------------

FLAT_CONTRAST = 4.0  # luminance std dev below this: a blank or flat picture, identity unknowable
MAX_ASPECT_RATIO = 1.12  # width/height ratios may differ by 12 % (a 5 % crop on one side: 5 %)
MAX_BRIGHTNESS_RATIO = 1.35  # mean brightness (+8 levels) may differ by 35 % (a "slight" change)
MAX_COLOUR_SHIFT = 0.045  # mean chromaticity may move this much (a grey copy of a colour photo: ~0.07)
VIDEO_DURATION_TOLERANCE = (0.5, 0.02)  # seconds, or 2 % of the longer
# Versions (app/media/versions.py): stretched or squashed up to twice as wide or tall (4:3 to
# 16:9 is 1.33); a black-and-white or sepia copy may be lighter or darker than a copy may
# (sepia toning lifts the blacks: a dark photo's sepia copy is 1.6 times as bright).
MAX_STRETCH = 2.0
MAX_TONED_BRIGHTNESS_RATIO = 2.5


@dataclass(frozen=True)
class Facts:
    """What the pair checks need to know about a file besides its fingerprint."""

    width: int
    height: int
    mean_color: int | None = None  # 0xRRGGBB
    contrast: float | None = None
    media_kind: str = MediaKind.IMAGE
    duration: float | None = None

    @property
    def flat(self) -> bool:
        return self.contrast is None or self.contrast < FLAT_CONTRAST

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.width and self.height else 0.0

    def _rgb(self) -> tuple[float, float, float]:
        c = self.mean_color or 0
        return float((c >> 16) & 255), float((c >> 8) & 255), float(c & 255)

    @property
    def luminance(self) -> float | None:
        """Mean brightness, 0..255."""
        if self.mean_color is None:
            return None
        r, g, b = self._rgb()
        return 0.299 * r + 0.587 * g + 0.114 * b

    def brightness_ratio(self, other: Facts) -> float:
        """How much brighter the brighter of the two is on average (1.0: the same)."""
        la, lb = self.luminance, other.luminance
        if la is None or lb is None:
            return 1.0
        return (max(la, lb) + 8) / (min(la, lb) + 8)

    def _why_never(self, other: Facts) -> str | None:
        """What no copy or version can differ in."""
        if self.flat or other.flat:
            return "flat or blank picture"
        if self.media_kind != other.media_kind:
            return "a photo and a video"
        if not self.aspect or not other.aspect:
            return "size unknown"
        if self.media_kind == MediaKind.VIDEO:
            da, db = self.duration or 0.0, other.duration or 0.0
            if abs(da - db) > max(VIDEO_DURATION_TOLERANCE[0], VIDEO_DURATION_TOLERANCE[1] * max(da, db)):
                return "different lengths"
        return None

    def colour_shift(self, other: Facts) -> float:
        """How far the mean chromaticities lie apart (0: the same)."""
        ra, rb = self._rgb(), other._rgb()
        ca = [v / (sum(ra) + 24) for v in ra]
        cb = [v / (sum(rb) + 24) for v in rb]
        return max(abs(x - y) for x, y in zip(ca, cb, strict=True))

    def why_not(self, other: Facts, strict: bool = True) -> str | None:
        """None when the two could show the same picture; else a reason they cannot.
        `strict=False` (shots of one moment) leaves brightness and colour out: a retake or
        an exposure bracket may differ there."""
        never = self._why_never(other)
        if never:
            return never
        if abs(math.log(self.aspect / other.aspect)) > math.log(MAX_ASPECT_RATIO):
            return "different shapes"
        if strict and self.mean_color is not None and other.mean_color is not None:
            if self.brightness_ratio(other) > MAX_BRIGHTNESS_RATIO:
                return "different brightness"
            if self.colour_shift(other) > MAX_COLOUR_SHIFT:
                return "different colours"
        return None

    def why_not_version(
        self, other: Facts, turned: bool = False, monochrome: tuple[bool, bool] | None = None
    ) -> str | None:
        """Like `why_not`, for an edited version of the picture: `other` may be turned a quarter
        (`turned`: its width and height trade places), stretched or squashed up to MAX_STRETCH,
        and its colours are free when one of the two is black-and-white or toned (`monochrome`:
        which of the two is; None when unknown)."""
        never = self._why_never(other)
        if never:
            return never
        aspect = 1 / other.aspect if turned else other.aspect
        if abs(math.log(self.aspect / aspect)) > math.log(MAX_STRETCH):
            return "different shapes"
        if self.mean_color is None or other.mean_color is None:
            return None
        toned = monochrome is not None and any(monochrome)
        if self.brightness_ratio(other) > (MAX_TONED_BRIGHTNESS_RATIO if toned else MAX_BRIGHTNESS_RATIO):
            return "different brightness"
        if not toned and self.colour_shift(other) > MAX_COLOUR_SHIFT:
            return "different colours"
        return None


# --- grouping -----------------------------------------------------------------------------


def star_groups(
    neighbours: dict[int, set[int]],
    verify: Callable[[int, int], bool],
    order: Callable[[int], tuple] | None = None,
) -> list[tuple[int, list[int]]]:
    """Greedy star clustering over a candidate graph, verifying only what a star needs.

    The free node that comes first (by `order`, smallest first; then the most free candidate
    neighbours, then the lower id) becomes a representative; those of its free neighbours that
    `verify(representative, neighbour)` accepts become its members; repeat. A node none of
    whose candidates verify is not tried as a representative again (it may still join
    another star). Only representative-member pairs are verified, so a family of n copies
    costs about n verifications, not n². `neighbours` must be symmetric.
    For copies, put the largest first: the original (uncropped) is the best centre, since
    every crop lies inside it while two crops from opposite sides may not overlap enough.
    Returns [(representative, members)] for groups of two or more.
    """
    free = set(neighbours)
    tried: set[int] = set()

    def degree(n: int) -> int:
        return len(neighbours[n] & free)

    heap = [(order(n) if order else (), -degree(n), n) for n in free if neighbours[n]]
    heapq.heapify(heap)
    groups = []
    while heap:
        r, d, n = heapq.heappop(heap)
        if n not in free or n in tried:
            continue
        current = degree(n)
        if current == 0:
            continue
        if -d != current:  # neighbours were taken since: requeue with the true degree
            heapq.heappush(heap, (r, -current, n))
            continue
        members = sorted(m for m in neighbours[n] & free if verify(n, m))
        if not members:
            tried.add(n)
            continue
        groups.append((n, members))
        free -= {n, *members}
    return groups
