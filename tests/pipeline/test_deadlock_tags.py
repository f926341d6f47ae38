"""Imports running at once on PostgreSQL create the same tags in different orders. Inserted
one by one inside each batch's transaction, they deadlocked (a job failed with its files
left pending). Two processes play that out, many rounds, through the importer's own
`Recorder._add_tags`: none fails now. The old way is played once too, to show the test can see a
deadlock at all. PostgreSQL only (SQLite has one writer at a time): `make test-scale`."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.database import retryable
from app.models import File, FileTag, Tag, db, insert_ignore, utcnow
from app.pipeline import recorder
from app.vocab import FileStatus
from tests.conftest import make_settings, postgres_or_skip

pytestmark = pytest.mark.scale

ROUNDS = 30
TAGS = [f"t{k:02d}" for k in range(12)]


def _file_id(process: int, round_: int) -> int:
    return 1 + process * ROUNDS + round_


def _tagger(url: str, data_dir: str, process: int, barrier, old_way: bool, rounds: int, out) -> None:
    """One importer's batches: mark its own file done and tag it, the tags in its own order
    (process 1 in the reverse of process 0), each round starting together with the other."""
    app = create_app(make_settings(Path(data_dir), DATABASE_URL=url))
    failures: list[str] = []
    with app.app_context():
        for r in range(rounds):
            names = [f"r{r}-{t}" for t in (TAGS if process == 0 else reversed(TAGS))]
            file_id = _file_id(process, r)
            barrier.wait(60)
            try:
                db.session.execute(update(File).where(File.id == file_id).values(status=FileStatus.DONE))
                if old_way:
                    _old_add_tags(file_id, names, barrier)
                else:
                    recorder.Recorder._add_tags(
                        SimpleNamespace(tag_ids={}), [(file_id, dict.fromkeys(names, "folder"))]
                    )
                db.session.commit()
            except DBAPIError as exc:
                db.session.rollback()
                failures.append(type(exc.orig).__name__ if retryable(exc) else repr(exc))
        db.session.remove()
        db.engine.dispose()
    out.put((process, failures))


def _old_add_tags(file_id: int, names: list[str], barrier) -> None:
    """How `_add_tags` did it before: one INSERT per tag, in the batch's own order, inside the
    batch's transaction. The barrier lets both hold their first tag before the second."""
    for i, name in enumerate(names):
        db.session.execute(insert_ignore(Tag).values(name=name, created_at=utcnow()))
        if i == 0:
            barrier.wait(60)
    ids = db.session.execute(select(Tag.id).where(Tag.name.in_(names))).scalars()
    db.session.execute(insert_ignore(FileTag), [{"file_id": file_id, "tag_id": t, "source": "folder"} for t in ids])


def _race(settings, old_way: bool, rounds: int) -> dict[int, list[str]]:
    spawn = multiprocessing.get_context("spawn")
    barrier, out = spawn.Barrier(2), spawn.Queue()
    procs = [
        spawn.Process(
            target=_tagger,
            args=(settings.database_url, str(settings.instance_dir / f"p{p}"), p, barrier, old_way, rounds, out),
        )
        for p in (0, 1)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0, "a tagging process crashed (its error is printed above)"
    return dict(out.get(timeout=5) for _ in procs)


def _files(n: int) -> None:
    db.session.execute(
        insert(File),
        [
            {"id": i, "path": f"/in/{i}.jpg", "original_name": f"{i}.jpg", "status": FileStatus.PENDING}
            for i in range(1, n + 1)
        ],
    )
    db.session.commit()


def test_imports_adding_the_same_tags_in_other_orders_never_deadlock(app, settings):
    postgres_or_skip()
    _files(2 * ROUNDS)
    db.session.remove()  # the two processes have the database to themselves

    results = _race(settings, old_way=False, rounds=ROUNDS)

    assert results == {0: [], 1: []}
    tagged = db.session.execute(select(FileTag.file_id, Tag.name).join(Tag, Tag.id == FileTag.tag_id)).all()
    assert len(tagged) == 2 * ROUNDS * len(TAGS)  # every file has its tags, each once
    assert len(db.session.execute(select(Tag.name)).scalars().all()) == ROUNDS * len(TAGS)
    assert set(db.session.execute(select(File.status)).scalars()) == {FileStatus.DONE}


def test_the_old_way_deadlocks_which_shows_the_race_is_real(app, settings):
    postgres_or_skip()
    _files(2 * ROUNDS)
    db.session.remove()

    results = _race(settings, old_way=True, rounds=1)

    assert sorted(results[0] + results[1]) == ["DeadlockDetected"]  # one of the two was the victim
