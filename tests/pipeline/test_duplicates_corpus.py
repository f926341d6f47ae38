"""Duplicates on the real corpus's ground truth (SOURCES.md, "Notable cases"): imported
through the real pipeline, read back through `flask duplicates --json`.

Held out from threshold tuning: the families and single files whose key path hashes odd
(tests/duplicates_helpers.py: `held_out`; a family is keyed by its first path). Held out
today: the canon_s40, hopper, exif_png, pillow_200, landscape and exifr_orientation families
(123 of the 181 true pairs); the tuning half has sugarshack, immich_portrait, portrait and
avif_orientation. The thresholds were tuned on both halves before the split (see
tests/duplicates_helpers.py); re-tune on the tuning half only.
"""

from __future__ import annotations

import shutil

import pytest

from tests.duplicates_helpers import (
    Library,
    held_out,
    held_out_precision_recall,
    precision_recall,
    predicted_pairs,
    true_pairs,
)

pytestmark = pytest.mark.quality  # the same on every database: measured once, on SQLite

# The same picture: every file of a family belongs in one exact/near group.
FAMILIES = {
    "canon_s40": [
        "exif/exifpy/Canon_PowerShot_S40.jpg",  # byte-identical to img_1771.jpg
        "exif/exifr/img_1771.jpg",
        "exif/exifr/img_1771_no_exif.jpg",  # EXIF stripped
    ],
    "hopper": [
        "formats/pillow/hopper.gif",
        "formats/pillow/hopper.png",
        "formats/pillow/hopper.webp",
        "orientation/pillow/hopper.jpg",
        *(f"orientation/pillow/hopper_orientation_{n}.jpg" for n in range(2, 9)),
    ],
    "exif_png": [
        "exif/pillow/exif.png",
        "formats/pillow/exif.avif",
        "orientation/pillow/exif_imagemagick_orientation.png",
    ],
    "sugarshack": ["formats/pillow/sugarshack.mpo", "bad/pillow/sugarshack_bad_mpo_header.jpg"],
    "pillow_200": [
        f"bad/pillow/{n}.jpg"
        for n in ("exif-dpi-zerodivision", "exif-ifd-offset", "invalid-exif", "photoshop-200dpi-broken")
    ],
    "immich_portrait": ["orientation/immich/portrait.jpg", "orientation/immich/portrait-orientation-6.jpg"],
    "landscape": [f"orientation/exifpy/landscape_{n}.jpg" for n in range(1, 9)],
    "portrait": [f"orientation/exifpy/portrait_{n}.jpg" for n in range(1, 9)],
    "exifr_orientation": [f"orientation/exifr/f{n}t.jpg" for n in range(1, 9)],
    "avif_orientation": [f"orientation/pillow/rot{r}mir{m}.avif" for r in range(4) for m in range(2)],
}
NOT_DUPLICATES = [
    "natural/skimage/motorcycle_left.png",  # a stereo pair: alike, not the same picture
    "natural/skimage/motorcycle_right.png",
    "exif/exifpy/hdr/canon_hdr_NO.jpg",  # 26 s apart: similar shots, not copies
    "exif/exifpy/hdr/canon_hdr_YES.jpg",
    *(f"exif/exifpy/gps/DSCN{n}.jpg" for n in ("0010", "0021", "0025", "0042")),  # one series
]
OTHER_PHOTOS = ["natural/"]  # every natural photo: distinct pictures
BLANK = [
    "exif/exiftool/",  # many 8x8 white samples from different cameras (and a few real ones)
    "exif/immich/date-priority-test.jpg",
    "exif/immich/datetimeoriginal-gps.jpg",
    "exif/immich/gps-datetime.jpg",
    "exif/immich/time-created.jpg",
    "formats/exiftool/",
    "formats/metadata-extractor/mspaint-10x10.gif",
    "exif/pillow/exif_gps.jpg",
    "bad/pillow/truncated_exif_dpi.jpg",
    "heic/pillow_heif/L_exif_xmp_iptc.heic",
]


@pytest.fixture(scope="module")
def corpus_library(corpus, tmp_path_factory, _template_db):
    photos = tmp_path_factory.mktemp("corpus-subset") / "photos"
    wanted = [p for fam in FAMILIES.values() for p in fam] + NOT_DUPLICATES + OTHER_PHOTOS + BLANK
    for rel in wanted:
        src = corpus / rel
        sources = sorted(p for p in src.rglob("*") if p.is_file()) if rel.endswith("/") else [src]
        for path in sources:
            dest = photos / path.relative_to(corpus)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)  # a test-local copy; nothing goes into the repository
    lib = Library(tmp_path_factory.mktemp("corpus-data"), _template_db)
    lib.import_folder(photos)
    yield lib, photos, lib.groups_json()
    lib.close()


# What the held-out half must keep scoring (measured when the split was made).
HELD_OUT_PRECISION = 1.0
HELD_OUT_RECALL = 1.0


def rel(photos, path: str) -> str:
    return path.removeprefix(str(photos) + "/")


def family_of() -> dict[str, str]:
    return {p: fam for fam, paths in FAMILIES.items() for p in paths}


def split_key(path: str) -> str:
    """What decides a file's half: its family's first path, or its own path."""
    fam = family_of().get(path)
    return FAMILIES[fam][0] if fam else path


def test_corpus_ground_truth_groups(corpus_library):
    lib, photos, out = corpus_library
    groups = [
        dict(g, files=[rel(photos, p) for p in g["files"]], recommended=rel(photos, g["recommended"]))
        for g in out["groups"]
    ]
    precision, recall = precision_recall(predicted_pairs(groups), true_pairs(family_of()), "corpus ground truth")
    for fam, paths in FAMILIES.items():
        holding = [g for g in groups if set(paths) <= set(g["files"])]
        assert len(holding) == 1, (
            f"{fam} is not one group: {[g['files'] for g in groups if set(paths) & set(g['files'])]}"
        )
        assert holding[0]["kind"] in ("exact", "near")
        assert holding[0]["recommended"] in holding[0]["files"]
        assert set(holding[0]["files"]) == set(paths), f"{fam} group holds other files too: {holding[0]['files']}"
    assert precision == 1.0 and recall == 1.0


def test_corpus_pictures_that_are_not_duplicates(corpus_library):
    lib, photos, out = corpus_library
    grouped = {rel(photos, p): g for g in out["groups"] for p in g["files"]}
    for path in NOT_DUPLICATES:
        if path in grouped:
            assert grouped[path]["kind"] == "similar", f"{path} is in a {grouped[path]['kind']} group"
    hdr = [g for g in out["groups"] if {rel(photos, p) for p in g["files"]} == set(NOT_DUPLICATES[2:4])]
    assert hdr and hdr[0]["kind"] == "similar", "the HDR pair (26 s apart) should be offered as similar shots"
    assert "natural/skimage/motorcycle_left.png" not in grouped
    # every flat/blank image stays out of every group (they all hash alike)
    blank = [p for p in grouped if p.startswith(("exif/exiftool/", "formats/exiftool/")) or p in BLANK]
    assert blank == [], blank


def test_exact_copies_keep_exact_evidence_inside_a_near_group(corpus_library):
    lib, photos, out = corpus_library
    from sqlalchemy import select

    from app.models import Duplicate, File, db

    with lib.app.app_context():
        rows = db.session.execute(
            select(File.original_name, Duplicate.kind, Duplicate.distance)
            .join(Duplicate, Duplicate.file_id == File.id)
            .where(File.original_name.in_(["Canon_PowerShot_S40.jpg", "img_1771.jpg", "img_1771_no_exif.jpg"]))
        ).all()
    kinds = {name: kind for name, kind, _ in rows}
    # one of the identical pair is the representative, the other its exact copy
    assert sorted(kinds.values()) == ["exact", "near"]
    assert kinds.get("img_1771_no_exif.jpg", "near") == "near"


def test_held_out_half_precision_and_recall(corpus_library):
    """The figures on the half of the ground truth that tuning must not look at."""
    lib, photos, out = corpus_library
    imported = {str(p.relative_to(photos)) for p in photos.rglob("*") if p.is_file()}
    held = {p for p in imported if held_out(split_key(p))}
    assert {fam for fam, paths in FAMILIES.items() if paths[0] in held} == {
        "canon_s40", "hopper", "exif_png", "pillow_200", "landscape", "exifr_orientation"
    }  # fmt: skip
    groups = [dict(g, files=[rel(photos, p) for p in g["files"]]) for g in out["groups"]]
    precision, recall = held_out_precision_recall(
        predicted_pairs(groups), true_pairs(family_of()), held, "corpus ground truth"
    )
    assert precision == HELD_OUT_PRECISION and recall >= HELD_OUT_RECALL
