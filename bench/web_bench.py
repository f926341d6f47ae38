"""How fast the review pages answer with 100,000 files in the library.

    python bench/web_bench.py [--files 100000] [--repeat 60] [--keep DIR]

--keep DIR fills DIR's database once and times it again on later runs (a million rows take
minutes to insert); without it a temporary folder is filled and removed.

Fills a fresh database (made by the real migrations, SQLite in WAL mode, so the triggers that
keep the counts run for every row) with generated file rows (no real images are needed: pages
never open the files), tags and duplicate groups, then times requests through Flask's test
client — the whole request: routing, password/CSRF layer, queries, template rendering. Prints
p50 and p95 in milliseconds. Target: p95 < 50 ms for every grid page and filter, the home
with all its counts, and the check-dates (triage) page.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def fill(n: int, seed: int = 7) -> dict:
    from sqlalchemy import insert, select

    from app.models import DuplicateGroup, File, FileTag, Tag, db

    rng = random.Random(seed)
    start = datetime(2005, 1, 1, tzinfo=UTC)
    span = int(timedelta(days=20 * 365).total_seconds())
    confidences = ["high"] * 6 + ["medium"] * 2 + ["low", "none"]
    low_reasons = ["camera_vs_folder", "day_only_name", "weak_clue", "sources_disagree", "zone_mixup"]
    none_reasons = ["only_file_time", "no_date", "placeholder"]
    folders = ["Phone/DCIM/Camera", "2019-06 Holiday", "WhatsApp Images", "Scans/Grandma", "Camera card"]
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        conf = rng.choice(confidences)
        dated = conf != "none"
        taken = start + timedelta(seconds=rng.randrange(span)) if dated else None
        sha = f"{rng.getrandbits(256):064x}"
        rows.append(
            {
                "path": f"/photos/{i}.jpg",
                "source": "folder",
                "original_name": f"IMG_{i:06d}.jpg",
                "relative_dir": rng.choice(folders),
                "status": "done",
                "size": rng.randrange(200_000, 6_000_000),
                "sha256": sha,
                "mime": "image/jpeg",
                "media_kind": "video" if i % 25 == 0 else "image",
                "ext": "jpg",
                "width": 4032,
                "height": 3024,
                "thumb_key": f"{sha[:2]}/{sha[2:4]}/{sha}",
                "taken_at": taken,
                "taken_local": taken.replace(tzinfo=None).isoformat() if taken else None,
                "taken_precision": "second" if taken else None,
                "taken_source": "exif:DateTimeOriginal" if conf == "high" else ("filename:android" if dated else None),
                "confidence": conf,
                "needs_review": conf in ("low", "none"),
                "review_reason": rng.choice(low_reasons)
                if conf == "low"
                else (rng.choice(none_reasons) if conf == "none" else None),
                "time_decided": False,
                "discarded": False,
                "created_at": now,
            }
        )
    for i in range(0, n, 5000):
        db.session.execute(insert(File), rows[i : i + 5000])
    db.session.commit()

    # tags: a common one on every 10th file, a rare one on 200 files
    common = Tag(name="family", created_at=now)
    rare = Tag(name="grandma's birthday", created_at=now)
    db.session.add_all([common, rare])
    db.session.flush()
    ids = list(db.session.execute(select(File.id).order_by(File.id)).scalars())
    links = [{"file_id": fid, "tag_id": common.id, "source": "folder"} for fid in ids[::10]]
    links += [{"file_id": fid, "tag_id": rare.id, "source": "user"} for fid in rng.sample(ids, 200)]
    db.session.execute(insert(FileTag), links)

    # 3,000 duplicate groups of 2-4 files
    pool = rng.sample(ids, 9000)
    groups = []
    for g in range(3000):
        members = pool[g * 3 : g * 3 + rng.randint(2, 3)]
        group = DuplicateGroup(
            kind=rng.choice(["exact", "near", "near", "similar"]),
            status="open",
            recommended_id=members[0],
            recommended_reason="largest picture",
            created_at=now,
        )
        db.session.add(group)
        db.session.flush()
        groups.append(group.id)
        db.session.execute(File.__table__.update().where(File.id.in_(members)).values(group_id=group.id))
    db.session.commit()
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    return {"ids": ids, "groups": groups}


def existing() -> dict:
    """The ids a earlier fill made (--keep)."""
    from sqlalchemy import select

    from app.models import DuplicateGroup, File, db

    return {
        "ids": list(db.session.execute(select(File.id).order_by(File.id)).scalars()),
        "groups": list(db.session.execute(select(DuplicateGroup.id).order_by(DuplicateGroup.id)).scalars()),
    }


def timed(client, url: str, repeat: int) -> tuple[float, float, int]:
    for _ in range(3):  # warm caches and compiled templates
        client.get(url)
    samples = []
    status = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        status = response.status_code
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return statistics.median(samples), p95, status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--keep", type=Path, help="fill this folder's database once and reuse it")
    args = parser.parse_args()

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="mediaparser-webbench-"))
    reuse = bool(args.keep and (args.keep / "mediaparser.db").exists())
    os.environ.update(
        MEDIAPARSER_DATA_DIR=str(tmp),
        MEDIAPARSER_QUEUE="memory",
        MEDIAPARSER_TIMEZONE="Europe/Berlin",
        SECRET_KEY="bench",
    )
    from app import create_app, database
    from app.models import File, db
    from app.web import queries

    app = create_app()
    database.upgrade(app)
    with app.app_context():
        t0 = time.perf_counter()
        data = existing() if reuse else fill(args.files)
        fill_s = time.perf_counter() - t0
        args.files = len(data["ids"])
        # a cursor about 90% of the way through the capture-time order
        deep_row = db.session.execute(
            db.select(File.id, File.taken_at)
            .where(File.taken_at.is_not(None))
            .order_by(File.taken_at, File.id)
            .offset(int(args.files * 0.8))
            .limit(1)
        ).one()
        deep = queries.Cursor(True, deep_row.taken_at, deep_row.id).encode()
        group_id = data["groups"][len(data["groups"]) // 2]
        middle_file = data["ids"][len(data["ids"]) // 2]

    client = app.test_client()
    from urllib.parse import quote

    cases = [
        ("home (every count, recent changes)", "/"),
        ("check dates (triage: counts, examples)", "/check"),
        ("grid: first page", "/photos"),
        ("grid: deep page (80% in)", f"/photos?after={quote(deep)}"),
        ("grid: jump to a month (timeline)", "/photos?month=2012-06"),
        ("grid: filtered (needs review + doubtful/no date)", "/photos?review=1&confidence=low&confidence=none"),
        ("grid: filtered (reason: camera vs folder)", "/photos?reason=camera_vs_folder"),
        ("grid: filtered (no date)", "/photos?confidence=none"),
        ("grid: filtered (doubtful or no date)", "/photos?confidence=low&confidence=none"),
        ("grid: filtered (in any duplicate group, newest first)", "/photos?dup=any&order=desc"),
        ("grid: filtered (tag, rare)", "/photos?tag=grandma%27s+birthday"),
        ("grid: filtered (tag, common)", "/photos?tag=family"),
        ("grid: filtered (tag + date range)", "/photos?tag=family&from=2012-01-01&to=2014-12-31"),
        ("grid: filtered (date range)", "/photos?from=2012-01-01&to=2012-01-31"),
        ("grid: filtered (videos, newest first)", "/photos?kind=video&order=desc"),
        ("grid: filtered (duplicates to sort out)", "/photos?dup=open"),
        ("grid: filtered (left out)", "/photos?dup=removed"),
        ("grid: filtered (name search)", "/photos?q=IMG_0421"),
        ("grid: next page fragment", f"/review/tiles?after={quote(deep)}"),
        ("count of matches (needs review)", "/api/files/count?review=1"),
        ("count of matches (reason)", "/api/files/count?reason=day_only_name"),
        ("count of matches (tag + date range)", "/api/files/count?tag=family&from=2012-01-01&to=2014-12-31"),
        ("count of matches (name search)", "/api/files/count?q=IMG_04"),
        ("home counts as JSON", "/api/home"),
        ("timeline bar (drawn after the grid)", "/api/timeline"),
        ("file detail (with previous/next)", f"/files/{middle_file}"),
        ("tags page", "/tags"),
        ("duplicate group page", f"/duplicates?group={group_id}"),
        ("duplicates: next open group", "/duplicates"),
    ]
    print(f"web_bench: {args.files:,} files, {len(data['groups']):,} duplicate groups; filled in {fill_s:.1f} s")
    print(f"{'page':52} {'p50 ms':>8} {'p95 ms':>8}  status")
    worst = 0.0
    for label, url in cases:
        p50, p95, status = timed(client, url, args.repeat)
        note = ""
        if status != 200:
            note = "  (unexpected status)"
        print(f"{label:52} {p50:8.1f} {p95:8.1f}  {status}{note}")
        if label.startswith(("grid: ", "home", "check dates", "count of", "duplicate group")):
            worst = max(worst, p95)
    print(
        f"target p95 < 50 ms for every grid page and filter, its counts, the home and the triage page: worst p95 {worst:.1f} ms"
    )
    with app.app_context():
        db.engine.dispose()
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
