"""Duplicate detection over the library (exact groups for now; near/similar to come)."""

from __future__ import annotations

from sqlalchemy import select

from ..models import Duplicate, DuplicateGroup, File, Job, db, insert_ignore


def after_import(job: Job) -> None:
    """Group this job's exact copies with the files they duplicate."""
    rows = db.session.execute(
        select(File.id, File.exact_of_id).where(File.job_id == job.id, File.exact_of_id.is_not(None))
    ).all()
    for file_id, original_id in rows:
        original = db.session.get(File, original_id)
        if original.group_id is None:
            group = DuplicateGroup(kind="exact", representative_id=original.id)
            db.session.add(group)
            db.session.flush()
            original.group_id = group.id
        db.session.execute(
            insert_ignore(Duplicate).values(
                file_id=file_id, duplicate_of_id=original_id, group_id=original.group_id, kind="exact", distance=0
            )
        )
        db.session.get(File, file_id).group_id = original.group_id
    db.session.commit()
