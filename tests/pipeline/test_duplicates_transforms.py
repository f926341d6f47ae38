"""Near duplicates on copies the test makes from the corpus's natural/ photos: the copies a
household library is full of. Two imports (the originals, then the copies), so the second
import's files are compared against the library the first one left; pairwise precision and
recall read back through `flask duplicates --json`.

Held out from threshold tuning: the families whose corpus photo's path hashes odd
(tests/duplicates_helpers.py: `held_out`). Held out today: immich orychophragmus_violaceus,
silver_fir, wood_anemones and skimage chelsea, clock_motion, coffee, motorcycle_left (7 of
15 families, 637 of 1365 true pairs). The tuning half holds the cases the thresholds' comments
cite: the brick texture (the worst copy) and motorcycle_right (the other half of the stereo
pair). The thresholds were tuned on both halves before the split (see
tests/duplicates_helpers.py); re-tune on the tuning half only.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance, ImageOps

from tests.duplicates_helpers import (
    Library,
    held_out,
    held_out_precision_recall,
    precision_recall,
    predicted_pairs,
    true_pairs,
)

pytestmark = pytest.mark.quality  # the same on every database: measured once, on SQLite

HEIC_SIDE = 256  # HEIC encoding is slow: keep those copies small
# What the held-out half must keep scoring (measured when the split was made).
HELD_OUT_PRECISION = 1.0
HELD_OUT_RECALL = 1.0


def natural_photos(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "natural").rglob("*") if p.is_file())


def family_name(src: Path) -> str:
    return f"{src.parent.name}-{src.stem}"


def orientation_exif(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = value
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


def make_copies(src: Path, out: Path) -> list[Path]:
    """The copies people end up with, each made from the upright original."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    im = upright_rgb(src)
    w, h = im.size
    out.mkdir(parents=True, exist_ok=True)
    made = []

    def save(name: str, image: Image.Image, **kw) -> None:
        path = out / name
        image.save(path, **kw)
        made.append(path)

    save("resized.jpg", im.resize((w // 2, h // 2), Image.Resampling.LANCZOS), quality=85)
    save("recompressed.jpg", im, quality=40)
    save("converted.png", im)
    save("converted.webp", im, quality=75)
    small = im.copy()
    small.thumbnail((HEIC_SIDE, HEIC_SIDE))
    save("converted.heic", small, quality=70)
    save("stripped.jpg", im, quality=92)
    cx, cy = round(w * 0.025), round(h * 0.025)
    save("crop_centre.jpg", im.crop((cx, cy, w - cx, h - cy)), quality=90)
    save("crop_left.jpg", im.crop((round(w * 0.05), 0, w, h)), quality=90)
    save("crop_corner.jpg", im.crop((0, 0, round(w * 0.95), round(h * 0.95))), quality=90)
    save("brighter.jpg", ImageEnhance.Brightness(im).enhance(1.1), quality=90)
    save("darker.jpg", ImageEnhance.Brightness(im).enhance(0.9), quality=90)
    # stored turned, with the EXIF orientation that turns them upright again
    save("turned_6.jpg", im.transpose(Image.Transpose.ROTATE_90), quality=90, exif=orientation_exif(6))
    save("turned_3.jpg", im.transpose(Image.Transpose.ROTATE_180), quality=90, exif=orientation_exif(3))
    return made


@pytest.fixture(scope="module")
def transformed_library(corpus, tmp_path_factory, _template_db):
    root = tmp_path_factory.mktemp("transforms")
    originals, copies = root / "originals", root / "copies"
    family_of = {}
    for src in natural_photos(corpus):
        family = family_name(src)
        dest = originals / src.parent.name / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        family_of[str(dest)] = family
        for path in make_copies(src, copies / family):
            family_of[str(path)] = family
    lib = Library(root / "data", _template_db)
    lib.import_folder(originals)
    lib.import_folder(copies)  # compared against what the first import left
    yield lib, family_of, lib.groups_json()
    lib.close()


def test_transformed_copies_precision_and_recall(transformed_library):
    lib, family_of, out = transformed_library
    predicted, truth = predicted_pairs(out["groups"]), true_pairs(family_of)
    precision, recall = precision_recall(predicted, truth, f"{len(family_of)} files from natural/ photos")
    missed = Counter(Path(p).name for pair in truth - predicted for p in pair)
    wrong = Counter((family_of[a], family_of[b]) for a, b in predicted - truth)
    print(f"  files in missed pairs: {dict(missed)}; wrongly paired families: {dict(wrong)}")
    assert precision >= 0.99 and recall >= 0.98


def test_stereo_pair_and_its_copies_stay_apart(transformed_library):
    lib, family_of, out = transformed_library
    for g in out["groups"]:
        families = {family_of[p] for p in g["files"]}
        assert not {"skimage-motorcycle_left", "skimage-motorcycle_right"} <= families, g["files"]


def test_every_group_is_a_star_around_its_representative(transformed_library):
    lib, family_of, out = transformed_library
    from sqlalchemy import func, select

    from app.models import Duplicate, DuplicateGroup, File, db

    with lib.app.app_context():
        for group in db.session.execute(select(DuplicateGroup)).scalars():
            members = db.session.execute(select(File.id).where(File.group_id == group.id)).scalars().all()
            evidence = db.session.execute(
                select(Duplicate.file_id, Duplicate.duplicate_of_id).where(Duplicate.group_id == group.id)
            ).all()
            # every member but the representative was matched against the representative itself
            assert {f for f, _ in evidence} == set(members) - {group.representative_id}
            assert {d for _, d in evidence} == {group.representative_id}
            largest = db.session.execute(
                select(func.max(Duplicate.distance)).where(Duplicate.group_id == group.id)
            ).scalar()
            assert group.max_distance == largest
    kinds = Counter(g["kind"] for g in out["groups"])
    assert kinds["near"] == 15 and not kinds["similar"], kinds
    for g in out["groups"]:
        assert g["recommended"] in g["files"]
        assert all(a != b for a, b in itertools.combinations(g["files"], 2))


def test_held_out_half_precision_and_recall(transformed_library, corpus):
    """The figures on the families that tuning must not look at."""
    lib, family_of, out = transformed_library
    held_families = {family_name(p) for p in natural_photos(corpus) if held_out(str(p.relative_to(corpus)))}
    assert held_families == {
        "immich-orychophragmus_violaceus", "immich-silver_fir", "immich-wood_anemones",
        "skimage-chelsea", "skimage-clock_motion", "skimage-coffee", "skimage-motorcycle_left",
    }  # fmt: skip
    held = {p for p, fam in family_of.items() if fam in held_families}
    precision, recall = held_out_precision_recall(
        predicted_pairs(out["groups"]), true_pairs(family_of), held, "natural/ photos and their copies"
    )
    assert precision == HELD_OUT_PRECISION and recall >= HELD_OUT_RECALL
