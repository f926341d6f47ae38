"""Similar shots (bursts and retakes): their own kind of group, never treated as copies."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy import select

from app.models import DuplicateGroup, File, db
from app.pipeline import duplicate_review as review
from app.pipeline import importer, jobs


def scene(step: int) -> Image.Image:
    """The same place, someone walking through it: a moving figure and a slight camera drift."""
    rng = np.random.default_rng(5)
    background = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize((1200, 900), Image.BICUBIC)
    frame = background.crop((step * 6, step * 4, 1100 + step * 6, 825 + step * 4)).resize((1100, 825))
    draw = ImageDraw.Draw(frame)
    x = 300 + step * 70
    draw.ellipse((x, 300, x + 160, 620), fill=(20, 30, 200))
    return frame


def shot(folder, name: str, step: int, when: str, model: str = "X100V") -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "FUJIFILM", model
    exif.get_ifd(0x8769)[0x9003] = when
    scene(step).save(folder / name, quality=90, exif=exif)


def test_a_burst_and_a_retake_form_a_similar_group(app, tmp_path):
    folder = tmp_path / "2019-06-15 Lake"
    folder.mkdir()
    shot(folder, "DSCF0001.jpg", 0, "2019:06:15 14:30:00")
    shot(folder, "DSCF0002.jpg", 1, "2019:06:15 14:30:01")
    shot(folder, "DSCF0003.jpg", 2, "2019:06:15 14:30:02")
    shot(folder, "DSCF0004.jpg", 1, "2019:06:15 14:30:40")  # a retake
    shot(folder, "DSCF0005.jpg", 1, "2019:06:15 14:36:00")  # minutes later: another moment
    shot(folder, "other_camera.jpg", 1, "2019:06:15 14:30:01", model="iPhone 12")
    job = importer.start_folder_import(folder, roots=None)
    assert jobs.run(job.id) == "completed"

    groups = db.session.execute(select(DuplicateGroup)).scalars().all()
    assert [g.kind for g in groups] == ["similar"]
    members = db.session.execute(select(File).where(File.group_id == groups[0].id)).scalars().all()
    assert sorted(f.original_name for f in members) == [f"DSCF000{n}.jpg" for n in range(1, 5)]
    assert groups[0].recommended_reason

    before = {f.id: f.taken_local for f in members}
    keep = groups[0].recommended_id
    review.keep(groups[0].id, [keep])
    db.session.expire_all()
    kept = db.session.get(File, keep)
    assert kept.taken_local == before[keep] and not kept.time_decided  # shots keep their own moment
    assert sum(f.discarded for f in db.session.execute(select(File)).scalars()) == 3
