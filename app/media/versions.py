"""Versions of one picture: the same photo turned, mirrored, stretched or squashed, cropped
to another shape, made black-and-white or sepia, or straightened by a few degrees. Pure numpy on the 64x64
fingerprints of similarity.py (which are made from the upright decode, after the EXIF
orientation tag was applied), no database.

How a version is found (figures measured on the corpus's natural photos):

1. The eight turns and mirrors (`transform`) of a fingerprint are exact array operations: a
   picture turned or mirrored in its pixels, or by its orientation tag, has the transformed
   fingerprint of the original (correlation >= 0.99, hash distance <= 2 bits). Each picture
   gets the whole-picture hashes of its seven other turns and mirrors (`query_hashes`); those
   are looked up in the index of every picture's whole-picture hash.
2. A picture turned by a few degrees (straightened, with black corners or cropped to hide
   them) keeps its central part: the hashes of the centre of the picture turned by +-2 and +-4
   degrees, as it is, zoomed in or zoomed out by the straightening crop, are looked up in the
   index of every picture's centre hash (`CENTRE`). The remaining error (<= 1 degree) costs
   0-4 bits.
3. Stretched, squashed and black-and-white copies have the original's fingerprint (it is
   squashed to 64x64 and grey already): the ordinary search finds them, and the pair checks
   (similarity.Facts.why_not_version) let a different shape or a grey copy through as a
   version, where a copy would be refused.
4. A crop to another common shape (a square from a 4:3 photo) is the centred part of that
   shape: its hash is looked up among whole-picture hashes (`crop_windows`), and the part is
   compared with the crop (`match_cropped`).
5. Verification is the same strict fingerprint comparison as for copies (similarity.compare),
   after the turn or mirror; a straightened picture is compared by its central part after the
   best small turn (`match_turned`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from . import similarity
from .similarity import FP, Match, Thresholds

# --- the eight turns and mirrors --------------------------------------------------------------

# A code 4*m + r: mirror left-right first when m is 1, then r quarter turns clockwise.
IDENTITY = 0
CODES = tuple(range(8))
TURN_WORDS = {
    0: "",
    1: "turned 90° right",
    2: "turned 180°",
    3: "turned 90° left",
    4: "mirrored",
    5: "mirrored and turned 90° right",
    6: "flipped upside down",
    7: "mirrored and turned 90° left",
}
# EXIF orientation -> the code that turns the stored pixels upright (what Pillow's
# exif_transpose does, so what the fingerprint saw).
ORIENTATION_CODES = {1: 0, 2: 4, 3: 2, 4: 6, 5: 7, 6: 1, 7: 5, 8: 3}


def transform(a: np.ndarray, code: int) -> np.ndarray:
    """The picture(s) `a` (..., h, w) turned and mirrored by `code`."""
    mirror, quarter = divmod(code, 4)
    if mirror:
        a = a[..., :, ::-1]
    return np.rot90(a, -quarter, axes=(-2, -1))


@functools.lru_cache(maxsize=1)
def _table() -> np.ndarray:
    """compose[first, then]: the code of `first` followed by `then`."""
    probe = np.arange(12).reshape(3, 4)
    shapes = {c: transform(probe, c) for c in CODES}
    table = np.zeros((8, 8), np.int8)
    for first in CODES:
        for then in CODES:
            done = transform(shapes[first], then)
            table[first, then] = next(c for c in CODES if shapes[c].shape == done.shape and (shapes[c] == done).all())
    return table


def compose(first: int, then: int) -> int:
    return int(_table()[first, then])


def inverse(code: int) -> int:
    return next(c for c in CODES if compose(code, c) == IDENTITY)


def swaps_sides(code: int) -> bool:
    """A quarter turn: width and height trade places."""
    return code % 2 == 1


def mirrors(code: int) -> bool:
    return code >= 4


# --- small turns: straightened pictures -------------------------------------------------------

CENTRE = (0.2, 0.2, 0.8, 0.8)  # the part of a picture that a turn of <= 5 degrees keeps
TURN_STEPS = (-4.0, -2.0, 2.0, 4.0)  # degrees (positive: to the left) the index is probed with
ZOOMS = ("none", "in", "out")  # black corners; cropped (the probe zoomed in); cropped (zoomed out)
TURN_PROBES = tuple((angle, zoom) for angle in TURN_STEPS for zoom in ZOOMS)
MIN_TURN = 0.75  # degrees: a smaller turn is no version (a copy, or nothing)
MAX_TURN = 5.5
# A turn must leave at most half the centre's disagreement that no turn leaves (measured:
# straightened pictures 3-30 times less, blurry ones 3 times; crops never less).
TURN_GAIN = 2.0
_SAMPLES = 32


def crop_zoom(angle: float, aspect: float) -> float:
    """How much a picture turned by `angle` degrees is enlarged when cropped to hide its corners
    (the largest rectangle of its own shape inside the turned picture)."""
    a = math.radians(abs(angle))
    return math.cos(a) + max(aspect, 1 / aspect) * math.sin(a)


def zoom_of(angle: float, zoom: str, aspect: float) -> float:
    if zoom == "none":
        return 1.0
    f = crop_zoom(angle, aspect)
    return f if zoom == "in" else 1 / f


@functools.lru_cache(maxsize=512)
def _sampler(angle: float, zoom: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear taps (indices, weights; each (4, 32*32)) that read the CENTRE of a picture
    turned by `angle` degrees (to the left) and enlarged by `zoom` from its 64x64 fingerprint.
    The turn is a true turn of the picture: the fingerprint squashes a picture of shape
    `aspect` (width / height) into a square, so the turn is made in the picture's proportions."""
    x0, y0, x1, y1 = CENTRE
    step = (x1 - x0) / _SAMPLES
    u = x0 + step * (np.arange(_SAMPLES) + 0.5) - 0.5  # target, in fractions of the side, centred
    xs, ys = np.meshgrid(u * aspect, u)  # in units of the height
    a = math.radians(angle)
    # target = zoom * turn(source): undo both (y points down, so "left" is this sign)
    sx = (math.cos(a) * xs - math.sin(a) * ys) / zoom
    sy = (math.sin(a) * xs + math.cos(a) * ys) / zoom
    px = (sx / aspect + 0.5) * FP - 0.5
    py = (sy + 0.5) * FP - 0.5
    fx, fy = np.floor(px), np.floor(py)
    wx, wy = px - fx, py - fy
    idx, wts = [], []
    for dy, dx, w in ((0, 0, (1 - wx) * (1 - wy)), (0, 1, wx * (1 - wy)), (1, 0, (1 - wx) * wy), (1, 1, wx * wy)):
        cx, cy = fx + dx, fy + dy
        inside = (cx >= 0) & (cx < FP) & (cy >= 0) & (cy < FP)  # outside: black
        idx.append((np.clip(cy, 0, FP - 1) * FP + np.clip(cx, 0, FP - 1)).astype(np.int32).ravel())
        wts.append(np.where(inside, w, 0.0).astype(np.float32).ravel())
    return np.stack(idx), np.stack(wts)


def turned_centre(
    fps: np.ndarray, angle: float, zoom: float, aspect: float, *, columns: np.ndarray | None = None
) -> np.ndarray:
    """The CENTRE of each fingerprint (n, 64, 64) turned and zoomed, as (n, 32, 32).
    `columns`: the fingerprints as one (4096, n) array, when many turns are read from them
    (whole rows are gathered then, which is many times faster than picking pixels)."""
    idx, wts = _sampler(round(angle, 2), round(zoom, 4), round(aspect, 2))
    if columns is None:
        columns = np.ascontiguousarray(np.asarray(fps, np.float32).reshape(len(fps), FP * FP).T)
    taps = columns[idx.ravel()].reshape(4, _SAMPLES * _SAMPLES, -1)  # (4, 1024, n)
    grid = np.einsum("tpn,tp->np", taps, wts)
    return grid.reshape(-1, _SAMPLES, _SAMPLES)


def centre_of(fps: np.ndarray) -> np.ndarray:
    """The CENTRE of each fingerprint, unturned, as (n, 32, 32) (area averages)."""
    x0, y0, x1, y1 = CENTRE
    rows = similarity._area_matrix(y0 * FP, y1 * FP, _SAMPLES)
    cols = similarity._area_matrix(x0 * FP, x1 * FP, _SAMPLES)
    return similarity._apply(np.asarray(fps, np.float32).reshape(-1, FP, FP), rows, cols)


# --- the hashes a picture is looked up with ----------------------------------------------------

N_TURNS = len(CODES) - 1  # the seven other turns and mirrors, codes 1..7
# Probe distance for versions: a turn or mirror of a fingerprint hashes within 0-2 bits of the
# turned picture's own hash, a straightened picture's centre within 0-2 bits in 9 of 10 cases.
# Two bits in three index blocks: each lookup is one exact key per block, no variants.
VERSION_RADIUS = 2
# Crops to a common shape beyond what a copy may be cropped (a square from a 4:3 photo, a
# 16:9 strip): the centred part of that shape, hashed whole, found among whole-picture hashes.
CROP_SHAPES = (1.0, 4 / 3, 3 / 2, 16 / 9)  # and their portrait counterparts
MIN_CROP_KEEP = 0.5  # a crop that keeps less than half the picture is another picture
N_CROPS = len(CROP_SHAPES)
N_QUERIES = N_TURNS + len(TURN_PROBES) + N_CROPS
CROP_START = N_TURNS + len(TURN_PROBES)


def crop_window(aspect: float, shape: float) -> tuple[float, float, float, float] | None:
    """The centred part of a picture of `aspect` (width / height) that has the shape `shape`,
    as (x0, y0, x1, y1) fractions; None when the shapes are too alike (a copy's crop) or the
    part keeps less than MIN_CROP_KEEP of the picture."""
    if not aspect or not shape:
        return None
    ratio = shape / aspect
    if abs(math.log(ratio)) <= math.log(similarity.MAX_ASPECT_RATIO) or min(ratio, 1 / ratio) < MIN_CROP_KEEP:
        return None
    if ratio < 1:  # narrower: the middle columns
        return (0.5 - ratio / 2, 0.0, 0.5 + ratio / 2, 1.0)
    return (0.0, 0.5 - 0.5 / ratio, 1.0, 0.5 + 0.5 / ratio)  # wider: the middle rows


def crop_windows(aspect: float) -> list[tuple[float, float, float, float] | None]:
    """The crop windows a picture of `aspect` is looked up with (N_CROPS; None: not used)."""
    return [crop_window(aspect, shape if aspect >= 1 else 1 / shape) for shape in CROP_SHAPES]


def match_cropped(a: np.ndarray, b: np.ndarray, aspect_a: float, aspect_b: float, t: Thresholds) -> Match | None:
    """b as the centred part of a that has b's shape, compared as strictly as copies (the
    crop alignment allows the part to sit off centre by a little)."""
    window = crop_window(aspect_a, aspect_b)
    if window is None:
        return None
    x0, y0, x1, y1 = window
    part = similarity._area_matrix(y0 * FP, y1 * FP, FP) @ a @ similarity._area_matrix(x0 * FP, x1 * FP, FP).T
    match = similarity.compare(np.ascontiguousarray(part, np.float32), b, t)
    return match if match.is_near(t) else None


def query_hashes(fps: np.ndarray, aspects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pHash and dHash rows (n, N_QUERIES) that find this picture's versions: first the whole
    picture in the seven other turns and mirrors (look them up among whole-picture hashes),
    then its centre turned a few degrees (look them up among CENTRE hashes), then its centred
    crops to common shapes (crop_windows; look them up among whole-picture hashes)."""
    fps = np.asarray(fps, np.float32).reshape(-1, FP, FP)
    n = len(fps)
    ph = np.empty((n, N_QUERIES), np.uint64)
    dh = np.empty((n, N_QUERIES), np.uint64)
    ph[:, :N_TURNS], dh[:, :N_TURNS] = turned_hashes(fps)
    shapes = np.round(np.asarray(aspects, np.float64), 2)
    for shape in np.unique(shapes):
        rows = np.flatnonzero(shapes == shape)
        columns = np.ascontiguousarray(fps[rows].reshape(len(rows), FP * FP).T)
        for k, (angle, zoom) in enumerate(TURN_PROBES, start=N_TURNS):
            grid = turned_centre(None, angle, zoom_of(angle, zoom, float(shape)), float(shape), columns=columns)
            ph[rows, k], dh[rows, k] = grid_hashes(grid)
        windows = crop_windows(float(shape))
        used = [w if w is not None else similarity.WINDOWS[0] for w in windows]  # unused: never looked up
        cph, cdh = similarity.probe_hashes(fps[rows], windows=tuple(used))
        ph[rows, CROP_START:], dh[rows, CROP_START:] = cph, cdh
    return ph, dh


@functools.lru_cache(maxsize=1)
def _coefficient_turns() -> dict[int, tuple[bool, np.ndarray, np.ndarray]]:
    """How a turn or mirror of a picture moves its pHash coefficients: (transposed, row signs,
    column signs) per code. A mirror flips the sign of every odd frequency; a quarter turn
    also swaps the axes. Found once by trying, on a random picture."""
    rng = np.random.default_rng(0)
    picture = rng.random((1, FP, FP)).astype(np.float32)
    dct = similarity._dct8() @ similarity._area_matrix(0, FP, similarity.HASH_SIDE)
    before = similarity._apply(picture, dct, dct)[0]
    odd = np.where(np.arange(8) % 2, -1.0, 1.0).astype(np.float32)
    plain = np.ones(8, np.float32)
    out = {}
    for code in CODES:
        after = similarity._apply(np.ascontiguousarray(transform(picture, code)), dct, dct)[0]
        out[code] = next(
            (t, r, c)
            for t in (False, True)
            for r in (plain, odd)
            for c in (plain, odd)
            if np.allclose(r[:, None] * (before.T if t else before) * c[None, :], after, atol=1e-3)
        )
    return out


def turned_hashes(fps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole-picture pHash and dHash of each fingerprint turned and mirrored by codes 1..7,
    as (n, 7) arrays, from one set of coefficients and two small grids (not seven pictures):
    equal to hashing each turned fingerprint."""
    n = len(fps)
    dct = similarity._dct8() @ similarity._area_matrix(0, FP, similarity.HASH_SIDE)
    coeffs = similarity._apply(fps, dct, dct)  # (n, 8, 8)
    eight, nine = similarity._area_matrix(0, FP, 8), similarity._area_matrix(0, FP, 9)
    grids = {False: similarity._apply(fps, eight, nine), True: similarity._apply(fps, nine, eight)}
    ph = np.empty((n, N_TURNS), np.uint64)
    dh = np.empty((n, N_TURNS), np.uint64)
    for k, code in enumerate(CODES[1:]):
        transposed, rows, cols = _coefficient_turns()[code]
        moved = (coeffs.transpose(0, 2, 1) if transposed else coeffs) * rows[None, :, None] * cols[None, None, :]
        flat = moved.reshape(n, 64)
        middle = np.partition(flat, (31, 32), axis=1)[:, 31:33].mean(axis=1, keepdims=True)
        ph[:, k] = similarity._pack(flat > middle)
        grid = transform(grids[swaps_sides(code)], code)  # (n, 8, 9): the turned picture's grid
        dh[:, k] = similarity._pack((grid[:, :, 1:] > grid[:, :, :-1]).reshape(n, 64))
    return ph, dh


def grid_hashes(grids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pHash and dHash of (n, 32, 32) pictures, made as similarity.probe_hashes makes them."""
    ph, dh = similarity.probe_hashes(grids, windows=(similarity.WINDOWS[0],), side=_SAMPLES)
    return ph[:, 0], dh[:, 0]


# --- verifying a straightened picture ----------------------------------------------------------


@dataclass(frozen=True)
class Turned:
    angle: float  # degrees, positive: b is a turned to the left
    zoom: float  # > 1: b shows less than a (cropped after the turn)
    match: Match


def match_turned(a: np.ndarray, b: np.ndarray, aspect: float, hint: float, t: Thresholds) -> Turned | None:
    """b as a turned a by a few degrees, compared by the central part only: the best turn near
    `hint` (and of the opposite sign), as it is or cropped either way. None unless it is a match
    as close as a copy's, and clearly better than the best match with no turn (zoomed as much:
    a cropped copy is no straightened picture)."""
    one = a.reshape(1, FP, FP)
    flat = similarity._centred(centre_of(b.reshape(1, FP, FP))[0])

    def score(turn: float, z: float) -> float:
        return float(similarity._centred(turned_centre(one, turn, z, aspect)[0]) @ flat)

    angles = [float(sign * x) for x in np.arange(abs(hint) - 2.0, abs(hint) + 2.01, 0.5) for sign in (1.0, -1.0)]
    tried = [
        (turn, zoom_of(turn, zoom, aspect)) for turn in angles if MIN_TURN <= abs(turn) <= MAX_TURN for zoom in ZOOMS
    ]
    if not tried:
        return None
    level = max(score(0.0, z) for z in {1.0, *(z for _, z in tried)})
    best, turn, z = max((score(turn, z), turn, z) for turn, z in tried)
    if best < t.near_score or (1 - level) < TURN_GAIN * (1 - best) + 2e-4:
        return None
    aligned = turned_centre(one, turn, z, aspect)[0]
    match = Match(best, similarity._local_disagreement(aligned, centre_of(b.reshape(1, FP, FP))[0]))
    return Turned(round(turn, 1), round(z, 3), match) if match.is_near(t) else None


def black_corners(fp: bytes | np.ndarray) -> bool:
    """Black triangles in all four corners while the picture is not dark: a picture turned by
    a few degrees and not cropped. A turn blackens one edge at each corner for a few pixels."""
    a = similarity.as_array(fp) if isinstance(fp, bytes | bytearray | memoryview) else np.asarray(fp)
    if float(np.median(a)) <= 40:
        return False
    for r, c in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        along = a[r, :3] if c == 0 else a[r, -3:]
        down = a[:3, c] if r == 0 else a[-3:, c]
        if a[r, c] >= 16 or min(float(along.max()), float(down.max())) >= 20:
            return False
    return True


# --- colour: black-and-white and sepia ---------------------------------------------------------

GREY_CHROMA = 2.0  # mean colourfulness (YCbCr units) of a black-and-white picture saved as JPEG: ~0
TONED_RESIDUAL = 2.5  # colour left once brightness explains it: toned pictures <= 1.3, photos >= 4.6


@dataclass(frozen=True)
class Colour:
    """How colourful a picture is, from its small thumbnail."""

    chroma: float  # mean distance from grey (YCbCr units, 0 = grey)
    residual: float  # the colour that brightness does not explain (0 = one tone throughout)
    hue: float  # degrees, of the average colour (Cb -> Cr)

    @property
    def tone(self) -> str:
        """colour, grey (black-and-white), sepia, or toned (one other colour throughout)."""
        if self.chroma < GREY_CHROMA:
            return "grey"
        if self.residual < TONED_RESIDUAL:
            return "sepia" if 95 <= self.hue <= 175 else "toned"
        return "colour"

    @property
    def monochrome(self) -> bool:
        return self.tone != "colour"


TONE_WORDS = {"grey": "black-and-white", "sepia": "sepia", "toned": "toned in one colour", "colour": "in colour"}


def colour_of(image: Image.Image) -> Colour:
    small = image if max(image.size) <= 400 else image.resize((320, round(320 * image.height / image.width) or 1))
    _, cb, cr = (np.asarray(c, np.float32).ravel() - 128 for c in small.convert("YCbCr").split())
    y = np.asarray(small.convert("L"), np.float32).ravel()
    chroma = np.hypot(cb, cr)
    bins = np.minimum((y // 16).astype(np.int64), 15)
    count = np.bincount(bins, minlength=16) + 1e-6
    mean_cb, mean_cr = np.bincount(bins, cb, 16) / count, np.bincount(bins, cr, 16) / count
    residual = np.sqrt(((cb - mean_cb[bins]) ** 2 + (cr - mean_cr[bins]) ** 2).mean())
    hue = math.degrees(math.atan2(float(cr.sum()), float(cb.sum())))
    return Colour(round(float(chroma.mean()), 2), round(float(residual), 2), round(hue, 1))


# --- what differs, in words -------------------------------------------------------------------


def relative(member: tuple[int, float], other: tuple[int, float]) -> tuple[int, float]:
    """How `member` is turned from `other`, when each is known as (code, angle) from a third
    picture (the group's representative: picture = turn(angle) after transform(code))."""
    code_m, angle_m = member
    code_o, angle_o = other
    between = compose(inverse(code_o), code_m)
    # undoing `other`'s small turn through a mirror turns the other way
    return between, angle_m - (-angle_o if mirrors(between) else angle_o)


_RATIOS = ((1, 1), (5, 4), (4, 3), (7, 5), (3, 2), (16, 10), (5, 3), (16, 9), (2, 1), (21, 9))


def aspect_name(width: int, height: int) -> str:
    """'4:3', '16:9', '3:4' ... or '1.85:1' for a shape without a common name."""
    ratio = width / height
    for a, b in _RATIOS:
        for w, h in ((a, b), (b, a)):
            if abs(math.log(ratio * h / w)) < 0.02:
                return f"{w}:{h}"
    return f"{ratio:.2f}:1" if ratio >= 1 else f"1:{1 / ratio:.2f}"


@dataclass(frozen=True)
class Look:
    """What a picture's description needs: its upright size, orientation tag, colours."""

    width: int
    height: int
    orientation: int | None = None
    tone: str | None = None  # Colour.tone, None when unknown
    black_corners: bool = False


def tag_only(member: Look, other: Look, code: int) -> bool:
    """The turn is the orientation tags' doing: the stored pixels are the same."""
    stored = compose(
        compose(ORIENTATION_CODES.get(other.orientation or 1, 0), code),
        inverse(ORIENTATION_CODES.get(member.orientation or 1, 0)),
    )
    return code != IDENTITY and stored == IDENTITY


def differences(member: Look, other: Look, code: int, angle: float, crop: float = 1.0) -> list[str]:
    """What a person sees changed in `member` compared with `other`, when member =
    turn(angle) after transform(code) of other, showing the share `crop` of it (a crop: < 1):
    ["turned 90° right", "black-and-white"]."""
    words = []
    if code != IDENTITY:
        words.append(TURN_WORDS[code] + (" by its orientation tag only" if tag_only(member, other, code) else ""))
    if abs(angle) >= MIN_TURN:
        side = "left" if angle > 0 else "right"
        words.append(
            f"straightened: turned {abs(angle):.0f}° {side}" + (", black corners" if member.black_corners else "")
        )
    ow, oh = (other.height, other.width) if swaps_sides(code) else (other.width, other.height)
    if abs(math.log(crop)) > 0.03 and member.width and member.height and ow and oh:
        shapes = f"{aspect_name(ow, oh)} → {aspect_name(member.width, member.height)}"
        words.append(f"cropped {shapes}" if crop < 1 else f"the whole picture, not cropped ({shapes})")
    elif member.width and member.height and ow and oh:
        stretch = math.log((member.width / member.height) / (ow / oh))
        if abs(stretch) > math.log(similarity.MAX_ASPECT_RATIO):
            longer = abs(math.log(member.width / member.height)) > abs(math.log(ow / oh))
            change = f"{aspect_name(ow, oh)} → {aspect_name(member.width, member.height)}"
            words.append(f"{'stretched' if longer else 'squashed'} {change}")
    if member.tone and other.tone and member.tone != other.tone:
        words.append(TONE_WORDS[member.tone])
    return words
