"""An import's duplicate stage compares only its new files with the library (probe hashes read
in one pass over their covering index, a few new hashes against the many; similar shots among
the files taken near the new ones, read over the capture-time index). Its groups must be the
ones a full scan of the same library makes: two imports, then everything grouped afresh."""

from __future__ import annotations

import shutil

import numpy as np
from PIL import Image
from sqlalchemy import delete, select, update

from app.models import Duplicate, DuplicateGroup, File, db
from app.pipeline import duplicates, importer, jobs
from app.pipeline.duplicates import probes
from tests.pipeline.test_duplicates_similar import shot
from tests.version_helpers import T, camera_exif, transposed


def _picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize((640, 480), Image.BICUBIC)


def _groups() -> set[tuple[str, str | None, frozenset[str]]]:
    """(kind, representative's name, members' names) of every group, and each member's evidence."""
    name = dict(db.session.execute(select(File.id, File.original_name)).all())
    out = set()
    for group in db.session.execute(select(DuplicateGroup)).scalars():
        members = db.session.execute(select(File.id).where(File.group_id == group.id)).scalars()
        evidence = frozenset(
            (name[d.file_id], d.kind, d.transform, d.crop)
            for d in db.session.execute(select(Duplicate).where(Duplicate.group_id == group.id)).scalars()
        )
        out.add((group.kind, name.get(group.representative_id), frozenset(name[m] for m in members), evidence))
    return out


def test_two_imports_group_as_a_full_scan_does(app, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(probes, "BULK", 0)  # the big library's path: every probe from the index
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for k in range(6):
        _picture(k).save(first / f"p{k}.jpg", quality=92, exif=camera_exif(f"2020:01:0{k + 1} 10:00:00"))
    _picture(0).resize((480, 360)).save(first / "p0_small.jpg", quality=85)  # a copy within the first import
    shot(first, "burst1.jpg", 0, "2021:05:06 12:00:00")
    shot(first, "lake1.jpg", 2, "2021:07:01 09:00:00")
    shot(first, "lake0.jpg", 5, "2021:07:01 08:58:59")  # 61 s before lake1: another moment
    shutil.copy(first / "p1.jpg", second / "p1_backup.jpg")  # byte-identical, joins p1's group
    shutil.copy(first / "p4.jpg", second / "p4_backup.jpg")  # byte-identical, on its own
    _picture(1).resize((320, 240)).save(second / "p1_small.jpg", quality=80)  # joins p1's group
    transposed(_picture(2), T.FLIP_LEFT_RIGHT).save(second / "p2_mirrored.jpg", quality=90)
    transposed(_picture(3), T.ROTATE_90).save(second / "p3_turned.jpg", quality=90)
    _picture(0).crop((0, 0, 600, 450)).resize((640, 480)).save(second / "p0_cropped.jpg", quality=88)
    _picture(6).save(second / "p6.jpg", quality=92)
    _picture(6).resize((400, 300)).save(second / "p6_small.jpg", quality=85)  # a copy within the second
    shot(second, "burst2.jpg", 1, "2021:05:06 12:00:01")  # one moment with the first's burst frame
    shot(second, "lake2.jpg", 3, "2021:07:01 09:01:00")  # 60 s after lake1 (the edge), 121 s after lake0
    for folder in (first, second):
        assert jobs.run(importer.start_folder_import(folder, roots=None).id) == "completed"
    after_imports = _groups()
    kinds = {kind for kind, _, _, _ in after_imports}
    assert {"exact", "near", "version", "similar"} <= kinds, after_imports
    similar = {members for kind, _, members, _ in after_imports if kind == "similar"}
    assert frozenset({"lake1.jpg", "lake2.jpg"}) in similar, similar

    # the same library grouped from nothing, by the admin's full scan
    db.session.execute(update(File).values(group_id=None))
    db.session.execute(delete(Duplicate))
    db.session.execute(delete(DuplicateGroup))
    db.session.commit()
    duplicates.scan_library(settings)
    assert _groups() == after_imports
