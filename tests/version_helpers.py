"""Shared by the version tests: versions of a picture as editing apps make them (turned,
mirrored, turned by the orientation tag only, stretched, black-and-white, sepia, straightened),
pictures that are symmetric by nature (a window, a tiled floor, a text page), and the
per-kind figures. Every file is generated in the test from real corpus photos or drawn."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from app.media import versions

CAMERA = {0x010F: "Canon", 0x0110: "Canon EOS 40D"}
EDITOR = "Adobe Photoshop Lightroom Classic 12.0"


def camera_exif(when: str, orientation: int | None = None, software: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in CAMERA.items():
        exif[tag] = value
    if orientation:
        exif[0x0112] = orientation
    if software:
        exif[0x0131] = software
    exif.get_ifd(0x8769)[0x9003] = when
    return exif


def upright_rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "P"):
            background = Image.new("RGB", im.size, "white")
            rgba = im.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            return background
        return im.convert("RGB")


def straighten(im: Image.Image, degrees: float, crop: bool) -> Image.Image:
    """Turned by `degrees` (positive: to the left) as an editor's straighten tool does: with
    black corners, or cropped to the largest rectangle of the picture's shape inside."""
    turned = im.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    if not crop:
        return turned
    w, h = im.size
    f = versions.crop_zoom(degrees, w / h)
    cw, ch = w / f, h / f
    return turned.crop((round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2)))


def sepia(im: Image.Image) -> Image.Image:
    return ImageOps.colorize(im.convert("L"), "#2b1a0a", "#f5e6c8")


def average_grey(im: Image.Image) -> Image.Image:
    """Black-and-white by averaging the channels (not the luma weights): a strongly coloured
    photo comes out with other grey levels than Pillow's own conversion."""
    return Image.fromarray(np.asarray(im, np.float32).mean(axis=2).round().astype(np.uint8)).convert("RGB")


def transposed(im: Image.Image, *steps: Image.Transpose) -> Image.Image:
    for step in steps:
        im = im.transpose(step)
    return im


T = Image.Transpose


def crop_to(im: Image.Image, shape: float) -> Image.Image:
    """The centred part of `im` of the shape `shape` (width / height), as apps crop."""
    w, h = im.size
    if shape < w / h:
        cw = round(h * shape)
        return im.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    ch = round(w / shape)
    return im.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))


def _square_or_wide(im: Image.Image) -> Image.Image:
    """A square from a picture that is not nearly square; a 3:2 strip from one that is."""
    return crop_to(im, 1.0 if abs(math.log(im.width / im.height)) > 0.2 else 3 / 2)


def _wide_or_narrow(im: Image.Image) -> Image.Image:
    """The crop to another common shape that changes the shape most, keeping 60 % or more."""
    aspect = im.width / im.height
    taken = _square_or_wide(im)
    shapes = [s for s in ((16 / 9, 4 / 3, 3 / 2) if aspect >= 1 else (3 / 4, 2 / 3)) if s != taken.width / taken.height]
    fits = [s for s in shapes if min(s / aspect, aspect / s) >= 0.6 and abs(s - taken.width / taken.height) > 0.01]
    return crop_to(im, max(fits, key=lambda s: abs(math.log(s / aspect))))


def _wider(size: tuple[int, int]) -> tuple[int, int]:
    """A 4:3 (or narrower) picture stretched to 16:9, a wider one by a third."""
    w, h = size
    return (round(h * 16 / 9), h) if w / h <= 1.45 else (round(w * 4 / 3), h)


# kind -> the versions of that kind: file stem -> (make the picture, the words expected)
VERSION_KINDS = {
    "turned": {
        "turned_right": (lambda im: transposed(im, T.ROTATE_270), "turned 90° right"),
        "turned_180": (lambda im: transposed(im, T.ROTATE_180), "turned 180°"),
        "turned_left": (lambda im: transposed(im, T.ROTATE_90), "turned 90° left"),
        "turned_right_small": (
            lambda im: transposed(im, T.ROTATE_270).resize((im.height * 3 // 5, im.width * 3 // 5)),
            "turned 90° right",
        ),
    },
    "mirrored": {
        "mirrored": (lambda im: transposed(im, T.FLIP_LEFT_RIGHT), "mirrored"),
        "flipped": (lambda im: transposed(im, T.FLIP_TOP_BOTTOM), "flipped upside down"),
    },
    "turned and mirrored": {
        "mirrored_turned_right": (
            lambda im: transposed(im, T.FLIP_LEFT_RIGHT, T.ROTATE_270),
            "mirrored and turned 90° right",
        ),
        "mirrored_turned_left": (
            lambda im: transposed(im, T.FLIP_LEFT_RIGHT, T.ROTATE_90),
            "mirrored and turned 90° left",
        ),
    },
    "turned by the orientation tag": {
        # the original's pixels; the tag turns them when shown (see `save_versions`)
        "tag_turned_right": (lambda im: im, "turned 90° right by its orientation tag only"),
        "tag_turned_left": (lambda im: im, "turned 90° left by its orientation tag only"),
    },
    "stretched or squashed": {
        "stretched": (lambda im: im.resize(_wider(im.size)), None),
        "squashed": (lambda im: im.resize((im.width, round(im.width * (3 / 4 if im.width == im.height else 1)))), None),
    },
    "cropped to another shape": {
        "cropped_square": (_square_or_wide, None),
        "cropped_wide": (_wide_or_narrow, None),
    },
    "black-and-white or sepia": {
        "grey": (lambda im: im.convert("L").convert("RGB"), "black-and-white"),
        "grey_average": (average_grey, "black-and-white"),
        "sepia": (sepia, "sepia"),
    },
    "straightened": {
        "straightened_corners": (
            lambda im: straighten(im, 3, crop=False),
            "straightened: turned 3° left, black corners",
        ),
        "straightened_cropped": (lambda im: straighten(im, -4, crop=True), "straightened: turned 4° right"),
    },
}
TAG_ORIENTATION = {"tag_turned_right": 6, "tag_turned_left": 8}
KIND_OF = {stem: kind for kind, stems in VERSION_KINDS.items() for stem in stems}


def stretch_words(original: Image.Image, stem: str) -> str:
    """What the page should say of the stretched or squashed version of `original`."""
    made = VERSION_KINDS["stretched or squashed"][stem][0](original)
    before = versions.aspect_name(*original.size)
    after = versions.aspect_name(*made.size)
    longer = abs(math.log(made.width / made.height)) > abs(math.log(original.width / original.height))
    return f"{'stretched' if longer else 'squashed'} {before} → {after}"


def expected_words(original: Image.Image, stem: str) -> str:
    words = VERSION_KINDS[KIND_OF[stem]][stem][1]
    if words is not None:
        return words
    if KIND_OF[stem] == "cropped to another shape":
        made = VERSION_KINDS[KIND_OF[stem]][stem][0](original)
        return f"cropped {versions.aspect_name(*original.size)} → {versions.aspect_name(*made.size)}"
    return stretch_words(original, stem)


def save_versions(original: Image.Image, folder: Path, when: str, *, grey_original: bool) -> list[Path]:
    """Every version of `original` into `folder`. Editing apps either drop the camera's
    details or keep them and sign with their name (EXIF Software): half of each here."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for k, (stem, kind) in enumerate(KIND_OF.items()):
        if grey_original and stem.startswith("grey"):
            continue  # a black-and-white copy of a black-and-white picture is a plain copy
        picture = VERSION_KINDS[kind][stem][0](original)
        path = folder / f"{stem}.jpg"
        if stem in TAG_ORIENTATION:
            # what a viewer's "rotate" does: the pixels stay, the tag turns them when shown
            picture.save(path, quality=92, exif=camera_exif(when, TAG_ORIENTATION[stem], "Windows Photo Viewer"))
        elif k % 2:
            picture.save(path, quality=90, exif=camera_exif(when, software=EDITOR))
        else:
            picture.save(path, quality=90)  # details dropped
        made.append(path)
    return made


# --- pictures that look the same turned or mirrored -------------------------------------------


def window(seed: int) -> Image.Image:
    """A window in a wall: symmetric left to right (and nearly top to bottom)."""
    rng = np.random.default_rng(seed)
    wall = tuple(int(v) for v in rng.integers(90, 230, 3))
    im = Image.new("RGB", (800, 600), wall)
    d = ImageDraw.Draw(im)
    w, h = int(rng.integers(300, 520)), int(rng.integers(260, 460))
    x0, y0 = (800 - w) // 2, (600 - h) // 2
    frame = tuple(int(v) for v in rng.integers(0, 255, 3))
    d.rectangle((x0, y0, x0 + w, y0 + h), fill=frame)
    panes_x, panes_y = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    bar = int(rng.integers(8, 24))
    sky = np.linspace(rng.integers(120, 200), rng.integers(200, 255), h)
    for i, j in itertools.product(range(panes_x), range(panes_y)):
        px0 = x0 + bar + i * (w - bar) // panes_x
        py0 = y0 + bar + j * (h - bar) // panes_y
        px1 = x0 + (i + 1) * (w - bar) // panes_x
        py1 = y0 + (j + 1) * (h - bar) // panes_y
        for y in range(py0, py1, 4):
            level = int(sky[min(h - 1, y - y0)])
            d.rectangle((px0, y, px1, min(py1, y + 3)), fill=(level // 2, level * 3 // 4, level))
    return im


def tiled_floor(seed: int) -> Image.Image:
    """A tiled floor: the same under every quarter turn and mirror, tile for tile."""
    rng = np.random.default_rng(100 + seed)
    size = int(rng.integers(40, 140))
    a = tuple(int(v) for v in rng.integers(0, 255, 3))
    b = tuple(int(v) for v in rng.integers(0, 255, 3))
    grout = int(rng.integers(2, 10))
    im = Image.new("RGB", (800, 800), (200, 200, 190))
    d = ImageDraw.Draw(im)
    for i, j in itertools.product(range(800 // size + 1), repeat=2):
        colour = a if (i + j) % 2 else b
        d.rectangle((i * size + grout, j * size + grout, (i + 1) * size - grout, (j + 1) * size - grout), fill=colour)
    return im


def text_page(seed: int) -> Image.Image:
    """A typed page: even lines of text, as a scan or a photo of a letter looks."""
    rng = np.random.default_rng(200 + seed)
    im = Image.new("RGB", (300, 400), (250, 250, 245))
    d = ImageDraw.Draw(im)
    words = [
        "the",
        "of",
        "and",
        "a",
        "to",
        "in",
        "is",
        "you",
        "that",
        "it",
        "he",
        "was",
        "for",
        "on",
        "are",
        "as",
        "with",
        "his",
        "they",
        "at",
        "be",
        "this",
    ]
    top = int(rng.integers(20, 60))
    for line in range(int(rng.integers(14, 26))):
        text = " ".join(rng.choice(words, int(rng.integers(4, 9))))
        d.text((24, top + line * 13), text, fill=(20, 20, 20))
    return im.resize((900, 1200), Image.Resampling.LANCZOS)


SYMMETRIC = {
    **{f"window_{k}": (lambda k=k: window(k)) for k in range(4)},
    **{f"floor_{k}": (lambda k=k: tiled_floor(k)) for k in range(4)},
    **{f"page_{k}": (lambda k=k: text_page(k)) for k in range(4)},
}
# Real photos of near-symmetric things in the corpus: a door knocker, two chandeliers (two
# cameras, one hall), a facade, a plot of blobs on a grid, a line drawing.
SYMMETRIC_PHOTOS = [
    "exif/exifr/door-knocker.jpg",
    "exif/exifpy/exif-org/ricoh-rdc5300.jpg",
    "exif/exifpy/exif-org/sanyo-vpcg250.jpg",
    "exif/exifpy/Sony_DSLR-A200.jpg",
    "formats/immich/density_plot.png",
    "exif/exifpy/tiff/Tless0.tiff",
]


# --- figures ----------------------------------------------------------------------------------


def per_kind(
    predicted: set, truth: set, kind_of: dict[str, str], original_of: dict[str, str]
) -> dict[str, tuple[float, float, int, int]]:
    """Per kind of version: precision of the predicted pairs that involve a version of that
    kind (a pair is right when both show one picture), and recall of the versions grouped with
    their original: {kind: (precision, recall, predicted pairs, versions)}."""
    out = {}
    for kind in sorted(set(kind_of.values())):
        pred = {p for p in predicted if kind_of.get(p[0]) == kind or kind_of.get(p[1]) == kind}
        made = [v for v, k in kind_of.items() if k == kind]
        found = sum(1 for v in made if tuple(sorted((v, original_of[v]))) in predicted)
        precision = len(pred & truth) / len(pred) if pred else 1.0
        out[kind] = (precision, found / len(made) if made else 1.0, len(pred), len(made))
    return out
