"""Versions: every kind of edited copy made from the corpus's natural/ photos (turned in the
pixels or by the orientation tag only, mirrored, turned and mirrored, stretched or squashed,
cropped to another shape, black-and-white or sepia, straightened), imported after their camera originals and read back
through `flask duplicates --json`. Each must be found, told in words, never called a copy, and
the original suggested as the keeper. Negatives: pictures symmetric by nature (drawn windows,
tiled floors and text pages, real photos of near-symmetric things) with versions of their own,
the stereo pair, and a burst without its camera details: none may pair with another picture.

The figures (pairwise precision and recall per kind of version) are printed by
`test_precision_and_recall_per_kind`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.media import versions
from tests.duplicates_helpers import Library, precision_recall, predicted_pairs, true_pairs
from tests.pipeline.test_duplicates_similar import scene
from tests.pipeline.test_duplicates_transforms import family_name, natural_photos
from tests.version_helpers import (
    KIND_OF,
    SYMMETRIC,
    SYMMETRIC_PHOTOS,
    camera_exif,
    expected_words,
    per_kind,
    save_versions,
    sepia,
    transposed,
    upright_rgb,
)

pytestmark = pytest.mark.quality  # the same on every database: measured once, on SQLite

STEREO = ("skimage-motorcycle_left", "skimage-motorcycle_right")
# What each kind must keep scoring (measured; see the module docstring).
MIN_RECALL = {
    "turned": 0.98,  # the brick texture, turned and made smaller, is missed
    "mirrored": 1.0,
    "turned and mirrored": 1.0,
    "turned by the orientation tag": 1.0,
    "stretched or squashed": 1.0,
    "black-and-white or sepia": 1.0,
    "cropped to another shape": 0.9,
    "straightened": 0.9,  # the brick texture turned a few degrees is missed
    "symmetric": 1.0,
}


def _originals_and_versions(corpus: Path, root: Path) -> tuple[dict, dict, dict]:
    originals, edits = root / "originals", root / "edits"
    originals.mkdir(parents=True)
    family_of, kind_of, expect = {}, {}, {}
    for k, src in enumerate(natural_photos(corpus)):
        family = family_name(src)
        im = upright_rgb(src)
        # a stereo pair is taken at one moment; every other photo at its own
        when = "2019:06:30 12:00:00" if family in STEREO else f"2019:06:{k + 1:02d} 12:00:00"
        path = originals / f"{family}.jpg"
        im.save(path, quality=92, exif=camera_exif(when))
        family_of[str(path)] = family
        grey = versions.colour_of(im).tone == "grey"
        for made in save_versions(im, edits / family, when, grey_original=grey):
            family_of[str(made)] = family
            kind_of[str(made)] = KIND_OF[made.stem]
            expect[str(made)] = expected_words(im, made.stem)
            if np.median(np.asarray(im.convert("L"))) <= 40:  # black corners do not show on a dark picture
                expect[str(made)] = expect[str(made)].removesuffix(", black corners")
    return family_of, kind_of, expect


def _symmetric(corpus: Path, root: Path, family_of: dict, kind_of: dict) -> None:
    """Symmetric pictures, each with a turned and a sepia version of itself."""
    folder = root / "originals" / "symmetric"
    folder.mkdir(parents=True)
    pictures = {name: draw() for name, draw in SYMMETRIC.items()}
    for rel in SYMMETRIC_PHOTOS:
        dest = folder / Path(rel).name
        shutil.copy2(corpus / rel, dest)  # a test-local copy of the real photo
        family_of[str(dest)] = rel
        pictures[rel] = upright_rgb(corpus / rel)
    for name, im in pictures.items():
        if name in SYMMETRIC:
            path = folder / f"{name}.jpg"
            im.save(path, quality=90)
            family_of[str(path)] = name
        for stem, made in (("turned", transposed(im, Image.Transpose.ROTATE_270)), ("sepia", sepia(im))):
            path = root / "edits" / "symmetric" / f"{Path(name).stem}_{stem}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            made.save(path, quality=88)
            family_of[str(path)], kind_of[str(path)] = name, "symmetric"


def _burst_without_details(root: Path, family_of: dict) -> None:
    """Two frames of a burst, the camera a little turned between them, sent without their
    camera details: different pictures."""
    folder = root / "originals" / "burst"
    folder.mkdir(parents=True)
    for step, angle in ((0, 0.0), (1, 1.5)):
        path = folder / f"frame_{step}.jpg"
        scene(step).rotate(angle, resample=Image.Resampling.BICUBIC).save(path, quality=90)
        family_of[str(path)] = f"burst-{step}"


@pytest.fixture(scope="module")
def version_library(corpus, tmp_path_factory, _template_db):
    root = tmp_path_factory.mktemp("versions")
    family_of, kind_of, expect = _originals_and_versions(corpus, root)
    _symmetric(corpus, root, family_of, kind_of)
    _burst_without_details(root, family_of)
    lib = Library(root / "data", _template_db)
    lib.import_folder(root / "originals")
    lib.import_folder(root / "edits")  # compared against what the first import left
    first: dict[str, str] = {}
    for path, family in family_of.items():  # each family's original was listed first
        first.setdefault(family, path)
    original_of = {v: first[family_of[v]] for v in kind_of}
    yield lib, family_of, kind_of, expect, original_of, lib.groups_json()
    lib.close()


SAME_PICTURE = ("exact", "near", "version")


def test_precision_and_recall_per_kind(version_library):
    lib, family_of, kind_of, expect, original_of, out = version_library
    predicted, truth = predicted_pairs(out["groups"], SAME_PICTURE), true_pairs(family_of)
    precision, recall = precision_recall(predicted, truth, f"{len(family_of)} originals, versions and negatives")
    figures = per_kind(predicted, truth, kind_of, original_of)
    print("\nper kind of version: precision (of the pairs it is in), recall (grouped with its original)")
    for kind, (p, r, n_pred, n_made) in figures.items():
        print(f"  {kind:<32} precision {p:.3f} ({n_pred} pairs)  recall {r:.3f} ({round(r * n_made)}/{n_made})")
    missed = sorted({Path(p).stem for pair in truth - predicted for p in pair if p in kind_of})
    print(f"  versions in missed pairs: {missed}")
    split = {}
    for g in out["groups"]:
        for p in g["files"]:
            split.setdefault(family_of[p], []).append((g["kind"], len(g["files"])))
    print("  families in several groups:", {f: v for f, v in split.items() if len(set(v)) > 1})
    for g in out["groups"]:
        if len(g["files"]) == 2 or g["kind"] == "near":
            print("   small group:", g["kind"], [Path(p).parent.name + "/" + Path(p).stem for p in g["files"]])
    lonely = {}
    for p, fam in family_of.items():
        if p not in {q for g in out["groups"] for q in g["files"]}:
            lonely.setdefault(fam, []).append(Path(p).stem)
    print("  not grouped:", lonely)
    wrong = sorted((family_of[a], family_of[b]) for a, b in predicted - truth)
    assert not wrong, f"false pairs: {wrong}"
    assert precision >= 0.99
    for kind, (p, r, _, _) in figures.items():
        assert p >= 0.99 and r >= MIN_RECALL[kind], (kind, p, r)


def _group_of(out: dict) -> dict[str, dict]:
    return {path: g for g in out["groups"] for path in g["files"]}


def test_each_version_is_told_in_words_and_never_called_a_copy(version_library):
    lib, family_of, kind_of, expect, original_of, out = version_library
    group_of = _group_of(out)
    found = 0
    for path, words in expect.items():
        group = group_of.get(path)
        if group is None:
            continue  # a miss: counted by the recall figures
        found += 1
        said = group["differences"][group["files"].index(path)]
        assert group["kind"] == "version", (path, group["kind"])
        assert said, (f"{path} is in the group as a plain copy", group)
        assert Path(group["recommended"]).parent.name == "originals", (path, group["recommended"])
        if kind_of[path] == "straightened":
            pattern = re.sub(r"(\d)°", lambda m: f"[{int(m[1]) - 1}-{int(m[1]) + 1}]°", words)
            assert any(re.fullmatch(pattern, w) for w in said), (path, said)
        else:
            assert words in said, (path, words, said)
    assert found >= 0.95 * len(expect)
    four_three = next(p for p in expect if p.endswith("polemonium_reptans/stretched.jpg"))
    assert expect[four_three] == "stretched 4:3 → 16:9" and four_three in group_of


def test_the_keeper_is_the_unedited_original_and_says_so(version_library):
    lib, family_of, kind_of, expect, original_of, out = version_library
    from app.pipeline import duplicate_review as review

    with lib.app.app_context():
        groups = [g for g in review.list_groups() if g["kind"] == "version"]
    assert len(groups) >= 15
    for g in groups:
        keeper = next(f for f in g["files"] if f["recommended"])
        if Path(keeper["path"]).parent.name == "originals":
            assert g["recommended_reason"].startswith("Looks like the unedited original: the others are"), g
            assert keeper["differences"] == []


def test_stereo_pair_symmetric_pictures_and_a_burst_stay_apart(version_library):
    lib, family_of, kind_of, expect, original_of, out = version_library
    for g in out["groups"]:
        families = {family_of[p] for p in g["files"]}
        if g["kind"] == "similar":  # the stereo pair: taken at one moment, shown as similar shots
            assert families == set(STEREO) and len(g["files"]) == 2, g
        else:
            assert len(families) == 1, (g["kind"], sorted(families))
    grouped = {p for g in out["groups"] for p in g["files"]}
    assert not any("burst" in p for p in grouped)


def test_a_version_is_found_whichever_comes_first(app, tmp_path):
    """The turned copy imported before the original: found from the other side."""
    from app.pipeline import duplicate_review as review
    from app.pipeline import importer, jobs

    rng = np.random.default_rng(3)
    base = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize((640, 480), Image.BICUBIC)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    transposed(base, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_90).save(first / "edited.jpg")
    base.save(second / "original.jpg", quality=92, exif=camera_exif("2020:01:02 10:00:00"))
    for folder in (first, second):
        assert jobs.run(importer.start_folder_import(folder, roots=None).id) == "completed"
    groups = review.list_groups()
    assert [g["kind"] for g in groups] == ["version"]
    files = {f["name"]: f for f in groups[0]["files"]}
    assert files["original.jpg"]["recommended"]
    assert files["edited.jpg"]["differences"] == ["mirrored and turned 90° left"]
    assert files["original.jpg"]["differences"] == []


def test_version_groups_never_chain(version_library):
    """Every member was verified against the representative itself, with how it is turned."""
    lib, family_of, kind_of, expect, original_of, out = version_library
    from sqlalchemy import select

    from app.models import Duplicate, DuplicateGroup, File, db

    with lib.app.app_context():
        groups = db.session.execute(select(DuplicateGroup).where(DuplicateGroup.kind == "version")).scalars().all()
        assert groups
        for group in groups:
            members = set(db.session.execute(select(File.id).where(File.group_id == group.id)).scalars())
            evidence = db.session.execute(select(Duplicate).where(Duplicate.group_id == group.id)).scalars().all()
            assert {d.file_id for d in evidence} == members - {group.representative_id}
            assert {d.duplicate_of_id for d in evidence} == {group.representative_id}
            assert all(d.transform is not None for d in evidence if d.kind == "version")


def test_not_duplicates_is_remembered_for_versions(app, settings, tmp_path):
    from app.pipeline import duplicate_review as review
    from app.pipeline import duplicates, importer, jobs

    folder = tmp_path / "pics"
    folder.mkdir()
    rng = np.random.default_rng(9)
    base = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize((640, 480), Image.BICUBIC)
    base.save(folder / "a.jpg", quality=92)
    transposed(base, Image.Transpose.FLIP_LEFT_RIGHT).save(folder / "a_mirrored.jpg", quality=90)
    assert jobs.run(importer.start_folder_import(folder, roots=None).id) == "completed"
    [group] = review.list_groups()
    assert group["kind"] == "version"
    review.not_duplicates(group["id"])
    duplicates.scan_library(settings)
    assert review.list_groups() == []  # the dismissed pair is not grouped again
    more = tmp_path / "more"
    more.mkdir()
    transposed(base, Image.Transpose.FLIP_LEFT_RIGHT).resize((320, 240)).save(more / "a_mirrored_small.jpg")
    assert jobs.run(importer.start_folder_import(more, roots=None).id) == "completed"
    for g in review.list_groups():  # the new copy may pair with one of them, never both
        assert not {"a.jpg", "a_mirrored.jpg"} <= {f["name"] for f in g["files"]}


def test_a_tag_turn_and_a_pixel_turn_meet(app, tmp_path):
    """A photo turned by its orientation tag and one turned in its pixels show the same
    picture: copies of each other, and both versions of the unturned photo."""
    from app.pipeline import duplicate_review as review
    from app.pipeline import importer, jobs

    rng = np.random.default_rng(4)
    base = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize((640, 480), Image.BICUBIC)
    first, second = tmp_path / "turned", tmp_path / "original"
    first.mkdir()
    second.mkdir()
    base.save(first / "by_tag.jpg", quality=92, exif=camera_exif("2021:03:04 09:00:00", orientation=6))
    transposed(base, Image.Transpose.ROTATE_270).save(first / "by_pixels.jpg", quality=92)
    assert jobs.run(importer.start_folder_import(first, roots=None).id) == "completed"
    [group] = review.list_groups()
    assert group["kind"] == "near" and {f["name"] for f in group["files"]} == {"by_tag.jpg", "by_pixels.jpg"}
    base.save(second / "upright.jpg", quality=92)
    assert jobs.run(importer.start_folder_import(second, roots=None).id) == "completed"
    [group] = review.list_groups()
    said = {f["name"]: f["differences"] for f in group["files"]}
    assert group["kind"] == "version" and len(said) == 3
    reference = next(f["name"] for f in group["files"] if f["recommended"])
    if reference == "upright.jpg":
        assert said["by_tag.jpg"] == ["turned 90° right by its orientation tag only"]
        assert said["by_pixels.jpg"] == ["turned 90° right"]
    else:  # told from a turned one: the upright photo is turned back
        assert said["upright.jpg"][0].startswith("turned 90° left")
