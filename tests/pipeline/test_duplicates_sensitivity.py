"""The settings page's duplicate sensitivity: thresholds as data, read by the scan, and a
change regroups the undecided groups while decided ones stay."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image
from sqlalchemy import select

from app.media import similarity
from app.models import DuplicateGroup, File, Job, db
from app.pipeline import duplicate_review, duplicates, importer, jobs, settings_store
from tests.web_helpers import csrf_token


def test_thresholds_order_from_strict_to_loose():
    strict, normal, loose = (similarity.SENSITIVITY[k] for k in ("strict", "normal", "loose"))
    assert strict.near_score > normal.near_score > loose.near_score
    assert strict.near_local < normal.near_local < loose.near_local
    assert strict.similar_score > normal.similar_score > loose.similar_score
    assert strict.similar_seconds < normal.similar_seconds < loose.similar_seconds
    borderline = similarity.Match(score=0.88, local=0.3)
    assert [borderline.is_near(t) for t in (strict, normal, loose)] == [False, False, True]
    assert similarity.Match(score=0.97, local=0.2).is_near(strict)


def _photo_and_copy(folder, name: str, seed: int) -> None:
    image = Image.effect_mandelbrot((480, 360), (-2.0 + seed * 0.1, -1.2, 1.0, 1.2), 80).convert("RGB")
    image.save(folder / f"{name}.png")
    image.resize((320, 240)).save(folder / f"{name}_small.jpg", quality=70)


def test_changing_sensitivity_regroups_undecided_groups_only(app, settings, tmp_path, monkeypatch):
    folder = tmp_path / "pics"
    folder.mkdir()
    _photo_and_copy(folder, "a", 0)
    _photo_and_copy(folder, "b", 5)
    job = importer.start_folder_import(folder, roots=None)
    assert jobs.run(job.id) == "completed"
    groups = db.session.execute(select(DuplicateGroup).order_by(DuplicateGroup.id)).scalars().all()
    assert [g.kind for g in groups] == ["near", "near"]  # each picture with its smaller copy
    decided, undecided = groups
    duplicate_review.keep(decided.id, [decided.recommended_id])

    # a sensitivity so strict that no resized copy passes: the undecided group goes away
    impossible = replace(similarity.SENSITIVITY["strict"], near_score=0.99999, near_local=0.0)
    monkeypatch.setitem(similarity.SENSITIVITY, "strict", impossible)
    settings_store.save({"duplicate_sensitivity": "strict"})
    duplicates.scan_library(settings, regroup=True)
    db.session.expire_all()
    remaining = db.session.execute(select(DuplicateGroup)).scalars().all()
    assert [(g.id, g.status) for g in remaining] == [(decided.id, "resolved")]
    assert db.session.execute(select(File.group_id).where(File.original_name.like("b%"))).scalars().all() == [
        None,
        None,
    ]

    # back to normal: the pair is found again
    settings_store.save({"duplicate_sensitivity": "normal"})
    duplicates.scan_library(settings, regroup=True)
    kinds = db.session.execute(select(DuplicateGroup.kind, DuplicateGroup.status)).all()
    assert sorted(kinds) == [("near", "open"), ("near", "resolved")]


def test_settings_page_starts_a_regroup_when_sensitivity_changes(client):
    token = csrf_token(client, "/settings")
    response = client.post("/settings", data={"csrf_token": token, "duplicate_sensitivity": "loose"})
    assert response.status_code == 302
    job = db.session.execute(select(Job).where(Job.kind == "duplicates")).scalar_one()
    assert job.params == {"all": True, "regroup": True} and job.status == "completed"
    assert "looked for again" in client.get("/settings").get_data(as_text=True)
    # saving the same value again starts nothing new
    client.post("/settings", data={"csrf_token": token, "duplicate_sensitivity": "loose"})
    assert len(db.session.execute(select(Job).where(Job.kind == "duplicates")).all()) == 1
