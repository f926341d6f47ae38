"""An import links only the sets its own files can be in (pipeline/companions.py `_around`),
and gets what a link of the whole library gets: a library of made-up facts is imported in
three parts, each linked as an import ends, and after each part a link of the whole library
finds nothing left to change. The parts hold every kind of set, split across imports: a Live
Photo's still today and its video (renamed, paired by content identifier only) last week,
RAW + JPEG, Apple, Google and Takeout edits, .AAE and .xmp sidecars (Apple's IMG_O names,
darktable's IMG_1.CR2.xmp, dotted names), left-out files, and common stems in many folders."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from app.media.companion_names import family_key
from app.models import File, UserDecision, db
from app.pipeline import companions
from app.vocab import FileStatus

START = datetime(2021, 5, 1, 9, 0, tzinfo=UTC)


def _row(name: str, when: datetime | None, folder: str, kind: str = "image", mime: str = "image/jpeg", **extra):
    sidecar = kind == "sidecar"
    row = {
        "path": f"/photos/{folder}/{name}",
        "relative_dir": folder,
        "original_name": name,
        "status": FileStatus.SKIPPED if sidecar else FileStatus.DONE,
        "mime": None if sidecar else mime,
        "media_kind": kind,
        "taken_at": when,
        "confidence": "high" if when else "none",
        "camera_make": "Apple",
        "camera_model": "iPhone 12",
        "companion_key": family_key(name),  # as the recorder sets it
        **extra,
    }
    content_id = (extra.get("meta") or {}).get("content_identifier")
    row["content_id"] = content_id or ((extra.get("meta") or {}).get("video") or {}).get("content_identifier")
    return row


def _shots(rng: random.Random, first: int, n: int) -> list[list[dict]]:
    """Each shot's files, in the order a camera or phone wrote them."""
    shots = []
    for i in range(first, first + n):
        when = START + timedelta(minutes=11 * i, seconds=rng.randrange(60))
        folder = rng.choice(["Phone backup 2020", "DCIM/100APPLE", "Takeout/Photos from 2021", "misc"])
        left_out = rng.random() < 0.1
        kind = i % 9
        files: list[dict] = []
        if kind == 0:  # a Live Photo: paired by name, and by content identifier
            cid = f"CID-{i}"
            files += [
                _row(f"IMG_{i:04d}.HEIC", when, folder, mime="image/heic", meta={"content_identifier": cid}),
                _row(f"IMG_{i:04d}.MOV", when, folder, "video", "video/quicktime", duration=2.1,
                     meta={"video": {"content_identifier": cid}}),
            ]  # fmt: skip
        elif kind == 1:  # a Live Photo whose video was renamed: its content identifier alone pairs it
            cid = f"CID-{i}"
            files += [
                _row(f"IMG_{i:04d}.JPG", when, folder, meta={"content_identifier": cid}),
                _row(f"clip {i}.mov", when, "exports", "video", "video/quicktime", duration=1.9,
                     meta={"video": {"content_identifier": cid}}),
                # and a copy of the video under the still's name, without the identifier: the
                # still keeps the one that has it (only a link that sees the clip knows)
                _row(f"IMG_{i:04d}.MOV", when, folder, "video", "video/quicktime", duration=1.9),
            ]  # fmt: skip
        elif kind == 2:  # RAW + JPEG, and darktable's sidecar of the RAW
            files += [
                _row(f"DSC_{i:04d}.ARW", when, folder, mime="image/x-sony-arw", camera_model="ILCE-7M3"),
                _row(f"DSC_{i:04d}.JPG", when, folder, camera_model="ILCE-7M3"),
                _row(f"DSC_{i:04d}.ARW.xmp", None, folder, "sidecar"),
            ]
        elif kind == 3:  # Apple's edit, with the adjustments of the edit and of the original
            files += [
                _row(f"IMG_{i:04d}.HEIC", when, folder, mime="image/heic"),
                _row(f"IMG_E{i:04d}.HEIC", when + timedelta(seconds=1), folder, mime="image/heic"),
                _row(f"IMG_E{i:04d}.AAE", None, folder, "sidecar"),
                _row(f"IMG_O{i:04d}.AAE", None, folder, "sidecar"),
            ]
        elif kind == 4:  # Google's edit; a Takeout copy with a counter
            files += [
                _row(f"PXL_{i:04d}.jpg", when, folder),
                _row(f"PXL_{i:04d}-edited.jpg", when, folder),
                _row(f"PXL_{i:04d}(1).jpg", when, folder),
            ]
        elif kind == 5:  # a dotted name and its Lightroom sidecar
            files += [_row(f"trip.{i}.jpg", when, folder), _row(f"trip.{i}.xmp", None, folder, "sidecar")]
        elif kind == 6:  # an undated edit beside its original
            files += [_row(f"scan_{i}.jpg", when, folder), _row(f"scan_{i}-bearbeitet.jpg", None, folder)]
        else:  # a stem every folder has, minutes apart: not companions
            files += [_row("image.jpg", when, f"album {i}")]
        for f in files:
            f["discarded"] = left_out
        shots.append(files)
    return shots


def _import(rows: list[dict]) -> list[int]:
    ids = list(db.session.execute(insert(File).returning(File.id), rows).scalars())
    db.session.commit()
    return ids


def test_an_import_links_what_a_link_of_the_whole_library_links(app, settings):
    rng = random.Random(20261129)
    shots = _shots(rng, 0, 300)
    parts: list[list[dict]] = [[], [], []]
    for files in shots:
        if rng.random() < 0.4:  # the files of one shot arrive in different imports
            for f in files:
                parts[rng.randrange(3)].append(f)
        else:
            parts[rng.randrange(3)] += files
    for part in parts:
        new = _import(part)
        companions.link(settings, new)
        whole = companions.link(settings)
        assert (whole.linked, whole.released) == (0, 0), f"the import's link left {whole} to the whole library's"
    parts_now = db.session.execute(select(File.id).where(File.status == FileStatus.COMPANION)).scalars().all()
    assert len(parts_now) > 300  # by the imports' links: the whole library's found nothing to do
    roles = set(db.session.execute(select(File.companion_role).distinct()).scalars())
    assert {"still", "video", "raw", "jpeg", "edit", "original", "sidecar"} <= roles


def test_an_import_reads_only_its_files_neighbours(app, settings):
    """A file's link looks at the files sharing its key or identifier, not the library."""
    _import([_row(f"IMG_{i:04d}.JPG", START + timedelta(minutes=i), "old") for i in range(500)])
    new = _import([_row("IMG_0007.MOV", START + timedelta(minutes=7), "new", "video", "video/quicktime", duration=2.0)])
    around = companions._around(new)
    assert [db.session.get(File, i).original_name for i in around] == ["IMG_0007.JPG", "IMG_0007.MOV"]
    assert companions.link(settings, new).linked == 1


def test_the_upgrade_gives_files_recorded_before_it_their_keys(tmp_path):
    """Migration 0012 fills the new columns of a library recorded by an older version."""
    from flask_migrate import upgrade

    from app import create_app, database
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path / "data"))
    with app.app_context():
        upgrade(directory=str(database.MIGRATIONS_DIR), revision="0011_companions")
        rows = [
            ("IMG_E0001.HEIC", "done", {"content_identifier": "CID-1"}),
            ("IMG_0001.MOV", "done", {"video": {"content_identifier": "CID-1"}}),
            ("IMG_O0001.AAE", "skipped", None),
            ("later.jpg", "pending", None),
        ]
        for name, status, meta in rows:  # only the columns 0011 has (and their defaults)
            db.session.execute(
                insert(File.__table__).values(path=f"/x/{name}", original_name=name, status=status, meta=meta)
            )
        db.session.commit()
        upgrade(directory=str(database.MIGRATIONS_DIR))
        got = db.session.execute(select(File.original_name, File.companion_key, File.content_id).order_by(File.id))
        assert [tuple(r) for r in got] == [
            ("IMG_E0001.HEIC", "img_0001", "CID-1"),
            ("IMG_0001.MOV", "img_0001", "CID-1"),
            ("IMG_O0001.AAE", "img_0001", None),
            ("later.jpg", None, None),  # the recorder gives it its key
        ]
        db.session.remove()
        db.engine.dispose()


def test_an_import_also_links_what_people_changed_since_the_last_link(app, settings):
    """A still a person left out was not paired with its video; kept again, it pairs at the
    next import's end, as when every import linked the whole library."""
    when = START + timedelta(days=3)
    still, video = _import(
        [
            _row("IMG_0042.HEIC", when, "phone", mime="image/heic", discarded=True),
            _row("IMG_0042.MOV", when, "phone", "video", "video/quicktime", duration=2.0),
        ]
    )
    companions.link(settings)
    assert db.session.get(File, video).companion_of is None  # one left out, one kept: not a set
    db.session.get(File, still).discarded = False  # kept after all
    db.session.add(UserDecision(kind="keep", file_id=still, payload={}))
    db.session.commit()
    [other] = _import([_row("IMG_9000.JPG", when + timedelta(days=1), "other")])
    companions.link(settings, [other])
    db.session.expire_all()
    assert db.session.get(File, video).companion_of == still
    assert companions.link(settings).linked == 0  # nothing left for a link of the whole library
