"""Pure version machinery (app/media/versions.py): the eight turns and mirrors and how they
compose, the turned hashes, straightening, colours, black corners, the wording, and the
keeper's edit signs. No database."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from app.media import keeper, similarity, versions
from tests.version_helpers import straighten


def photo(seed: int, size=(480, 360)) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    detail = Image.fromarray((rng.random((size[1] // 6, size[0] // 6, 3)) * 255).astype(np.uint8)).resize(size)
    return Image.blend(base, detail.filter(ImageFilter.GaussianBlur(1.5)), 0.35)


def fp(im: Image.Image) -> np.ndarray:
    return similarity.as_array(similarity.fingerprint(im))


def test_codes_match_pillows_transposes_and_the_orientation_tags():
    a = np.arange(12).reshape(3, 4)
    pil = Image.fromarray(a.astype(np.uint8))
    T = Image.Transpose
    for code, steps in {1: [T.ROTATE_270], 3: [T.ROTATE_90], 4: [T.FLIP_LEFT_RIGHT], 6: [T.FLIP_TOP_BOTTOM]}.items():
        im = pil
        for step in steps:
            im = im.transpose(step)
        assert (versions.transform(a, code) == np.asarray(im)).all(), code
    for orientation, code in versions.ORIENTATION_CODES.items():
        exif = Image.Exif()
        exif[0x0112] = orientation
        tagged = Image.fromarray(a.astype(np.uint8))
        tagged.getexif()[0x0112] = orientation
        tagged.info["exif"] = exif.tobytes()
        assert (np.asarray(ImageOps.exif_transpose(tagged)) == versions.transform(a, code)).all(), orientation


def test_composition_and_inverses():
    a = np.arange(20).reshape(4, 5)
    for first in versions.CODES:
        assert versions.compose(first, versions.inverse(first)) == versions.IDENTITY
        for then in versions.CODES:
            both = versions.transform(versions.transform(a, first), then)
            assert (both == versions.transform(a, versions.compose(first, then))).all()
    assert [versions.swaps_sides(c) for c in versions.CODES] == [False, True] * 4
    assert [versions.mirrors(c) for c in versions.CODES] == [False] * 4 + [True] * 4


def test_turned_hashes_equal_hashing_the_turned_fingerprints():
    fps = np.stack([fp(photo(s)) for s in range(6)])
    ph, dh = versions.turned_hashes(fps)
    for k, code in enumerate(versions.CODES[1:]):
        p, d = similarity.probe_hashes(
            np.ascontiguousarray(versions.transform(fps, code)), windows=(similarity.WINDOWS[0],)
        )
        assert (p[:, 0] == ph[:, k]).all() and (d[:, 0] == dh[:, k]).all(), code


def test_a_turned_picture_hashes_like_the_turned_fingerprint():
    im = photo(3)
    ph, _ = versions.query_hashes(fp(im)[None], np.array([4 / 3]))
    own, _ = similarity.probe_hashes(fp(im.transpose(Image.Transpose.ROTATE_270))[None])
    assert int(np.bitwise_count(ph[0, 0] ^ own[0, 0])) <= versions.VERSION_RADIUS  # code 1 is column 0


@pytest.mark.parametrize("degrees, crop", [(3, False), (-4, True), (2.5, True)])
def test_straightened_pictures_are_matched_by_their_centre(degrees, crop):
    im = photo(5)
    turned = versions.match_turned(fp(im), fp(straighten(im, degrees, crop)), 4 / 3, 3.0, similarity.NORMAL)
    assert turned is not None and abs(turned.angle - degrees) <= 1.0
    assert (turned.zoom > 1.02) == crop


def test_crops_copies_and_other_pictures_are_not_straightened():
    im = photo(5)
    w, h = im.size
    for other in (im.crop((12, 9, w - 12, h - 9)), im.resize((240, 180)), photo(6)):
        assert versions.match_turned(fp(im), fp(other), 4 / 3, 3.0, similarity.NORMAL) is None


def test_black_corners_and_a_dark_picture():
    im = photo(8)
    assert versions.black_corners(fp(straighten(im, 4, crop=False)))
    assert not versions.black_corners(fp(straighten(im, 4, crop=True)))
    assert not versions.black_corners(fp(im))
    assert not versions.black_corners(fp(Image.new("RGB", (64, 48), (5, 5, 5))))


def test_colours_tell_black_and_white_and_sepia_from_colour():
    im = photo(9)
    assert versions.colour_of(im).tone == "colour"
    assert versions.colour_of(im.convert("L").convert("RGB")).tone == "grey"
    assert versions.colour_of(ImageOps.colorize(im.convert("L"), "#2b1a0a", "#f5e6c8")).tone == "sepia"
    assert versions.colour_of(ImageOps.colorize(im.convert("L"), "#000020", "#d0e0ff")).tone == "toned"
    warm = Image.blend(im, Image.new("RGB", im.size, (230, 120, 40)), 0.6)  # a strongly coloured photo
    assert versions.colour_of(warm).tone == "colour"


def test_relative_turns_through_a_third_picture():
    # member = turn(rep) by code 1; keeper = rep mirrored: member from the keeper's side
    code, angle = versions.relative((1, 0.0), (4, 0.0))
    a = np.arange(12).reshape(3, 4)
    keeper_pic = versions.transform(a, 4)
    assert (versions.transform(keeper_pic, code) == versions.transform(a, 1)).all()
    # small turns: undone through a mirror they turn the other way
    assert versions.relative((0, 3.0), (0, 1.0)) == (0, 2.0)
    assert versions.relative((4, 3.0), (4, 1.0)) == (0, 2.0)
    assert versions.relative((0, 3.0), (4, 1.0)) == (4, 4.0)


def test_differences_in_words():
    look = versions.Look(4000, 3000, None, "colour")
    assert versions.differences(versions.Look(3000, 4000), look, 1, 0.0) == ["turned 90° right"]
    assert versions.differences(versions.Look(3000, 4000, orientation=6), look, 1, 0.0) == [
        "turned 90° right by its orientation tag only"
    ]
    assert versions.differences(versions.Look(4000, 3000), look, 4, 0.0) == ["mirrored"]
    assert versions.differences(versions.Look(5333, 3000), look, 0, 0.0) == ["stretched 4:3 → 16:9"]
    assert versions.differences(versions.Look(3000, 3000), look, 0, 0.0) == ["squashed 4:3 → 1:1"]
    assert versions.differences(versions.Look(3900, 3000), look, 0, 0.0) == []  # within a copy's crop
    assert versions.differences(versions.Look(4000, 3000, tone="grey"), look, 0, 0.0) == ["black-and-white"]
    assert versions.differences(versions.Look(4000, 3000, black_corners=True), look, 0, -3.0) == [
        "straightened: turned 3° right, black corners"
    ]
    assert versions.aspect_name(1850, 1000) == "1.85:1" and versions.aspect_name(3, 4) == "3:4"


def cand(i, **kw):
    base = dict(name=f"IMG_{i}.jpg", width=4000, height=3000, size=3_000_000, ext="jpg")
    return keeper.Candidate(id=i, **{**base, **kw})


def test_the_keeper_prefers_the_unedited_original_and_says_why():
    original = cand(1, tone="colour", taken_source="exif:DateTimeOriginal", camera_model="X100")
    grey = cand(2, tone="grey", width=8000, height=6000)  # larger, but black-and-white
    kept, why = keeper.recommend_version([grey, original])
    assert kept == 1 and why.startswith("Looks like the unedited original: the others are black-and-white")
    edited = cand(3, tone="colour", software="Adobe Photoshop Lightroom Classic 12.0", camera_model="X100",
                  taken_source="exif:DateTimeOriginal")  # fmt: skip
    assert keeper.recommend_version([edited, original])[0] == 1
    assert keeper.recommend_version([cand(4, name="IMG_E0004.jpg"), cand(5)])[0] == 5
    # a mirror alone tells nothing: the usual rules decide, and the reason says so
    kept, why = keeper.recommend_version([cand(6), cand(7, size=2_000_000)])
    assert kept == 6 and why.endswith("cannot be told from the files")
    # copies are never judged by these signs
    assert keeper.recommend([grey, original])[0] == 2


def test_crops_to_another_shape():
    assert versions.crop_window(4 / 3, 1.0) == pytest.approx((0.125, 0.0, 0.875, 1.0))
    assert versions.crop_window(4 / 3, 16 / 9) == pytest.approx((0.0, 0.125, 1.0, 0.875))
    assert versions.crop_window(4 / 3, 1.4) is None  # within a copy's crop
    assert versions.crop_window(16 / 9, 0.75) is None  # keeps less than half
    assert [w is not None for w in versions.crop_windows(4 / 3)] == [True, False, True, True]
    im = photo(11)
    square = im.crop((60, 0, 420, 360))
    assert versions.match_cropped(fp(im), fp(square), 4 / 3, 1.0, similarity.NORMAL) is not None
    assert versions.match_cropped(fp(im), fp(photo(12).crop((60, 0, 420, 360))), 4 / 3, 1.0, similarity.NORMAL) is None
    look = versions.Look(4000, 3000)
    assert versions.differences(versions.Look(3000, 3000), look, 0, 0.0, crop=0.75) == ["cropped 4:3 → 1:1"]
    assert versions.differences(look, versions.Look(3000, 3000), 0, 0.0, crop=4 / 3) == [
        "the whole picture, not cropped (1:1 → 4:3)"
    ]
