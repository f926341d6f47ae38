"""Uploaded files, kept once: stored under their sha256, so the same photo uploaded twice
costs one copy. Names from the browser are kept as data, never used as paths."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from ..config import Settings
from ..media import hashing, probe
from ..models import File, FileSource, FileStatus, Job, JobKind, JobStatus, db
from . import jobs

MAX_NAME = 255


class UploadRefused(ValueError):
    """The upload is not something MediaParser keeps; the message says why."""


@dataclass(frozen=True)
class Stored:
    path: Path
    sha256: str
    size: int
    media_type: probe.MediaType
    is_new: bool  # False: these bytes were already stored


def store_upload(stream: BinaryIO, settings: Settings) -> Stored:
    """Stream an upload to disk (memory stays flat for a 2 GB video), hashing as it goes,
    then move it to its content address. Refuses anything that is not a photo or video."""
    settings.incoming_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=settings.incoming_dir, prefix="upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            head = stream.read(probe.HEAD_BYTES)
            media_type = probe.sniff(head)
            if not head:
                raise UploadRefused("The file is empty (0 bytes)")
            if media_type is None:
                raise UploadRefused("Not a photo or video: MediaParser keeps images and videos only")
            sha, size = hashing.sha256_stream(stream, copy_to=out, first=head)
            out.flush()
            os.fsync(out.fileno())
        final = settings.originals_dir / sha[:2] / sha[2:4] / f"{sha}.{media_type.ext}"
        if final.exists():
            tmp.unlink()
            return Stored(final, sha, size, media_type, is_new=False)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)  # originals are read-only, also to ourselves
        os.replace(tmp, final)
        return Stored(final, sha, size, media_type, is_new=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def clean_relative_dir(relative_path: str | None) -> str:
    """The folder part of a browser's relative path ('Holiday/2019/x.jpg' -> 'Holiday/2019'),
    with empty, '.', '..' and control characters dropped. It is data, never a path we open."""
    if not relative_path:
        return ""
    parts = relative_path.replace("\\", "/").split("/")[:-1]
    clean = ["".join(ch for ch in p if ch.isprintable()).strip() for p in parts]
    return "/".join(p for p in clean if p and p not in (".", ".."))[:1000]


def clean_name(name: str | None) -> str:
    text = "".join(ch for ch in (name or "").replace("\\", "/").split("/")[-1] if ch.isprintable()).strip()
    return text[:MAX_NAME] or "unnamed"


def upload_job() -> Job:
    """A new import job for a batch of browser uploads (files are added as they arrive)."""
    return jobs.create(JobKind.IMPORT, {"source": FileSource.UPLOAD}, phase="process")


def add_upload(job: Job, stored: Stored, name: str, relative_path: str | None, last_modified: datetime | None) -> File:
    """Record an uploaded file as pending in `job`. A finished job is reopened, so files
    that arrive after the worker caught up are imported too; the caller enqueues the job."""
    existing = db.session.execute(
        select(File).where(
            File.job_id == job.id,
            File.path == str(stored.path),
            File.relative_dir == clean_relative_dir(relative_path),
            File.original_name == clean_name(name),
        )
    ).scalar()
    if existing is not None:
        return existing  # the browser sent the same file again (a retry): nothing new
    row = File(
        job_id=job.id,
        path=str(stored.path),
        source=FileSource.UPLOAD,
        original_name=clean_name(name),
        relative_dir=clean_relative_dir(relative_path),
        size=stored.size,
        mtime=last_modified,
        status=FileStatus.PENDING,
    )
    db.session.add(row)
    job.total = (job.total or 0) + 1
    if job.status == JobStatus.COMPLETED:
        job.status, job.phase, job.finished_at = JobStatus.PENDING, "process", None
    db.session.commit()
    return row


def reopen_if_pending(job: Job) -> bool:
    """After the browser sent its last file: True when the job has files still waiting and
    no worker will take them up by itself (it finished while the last upload was being
    recorded, or was never started); the job is then pending again and must be enqueued."""
    waiting = db.session.execute(
        select(File.id).where(File.job_id == job.id, File.status == FileStatus.PENDING).limit(1)
    ).scalar()
    if waiting is None:
        return False
    db.session.refresh(job)
    if job.status == JobStatus.COMPLETED:
        job.status, job.phase, job.finished_at = JobStatus.PENDING, "process", None
        db.session.commit()
        return True
    return job.status == JobStatus.PENDING
