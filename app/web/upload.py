"""Uploads from the browser: one import job per batch, one streamed request per file.

The page sends each file as the raw request body (no multipart parsing: the bytes go
straight from the socket to disk through `storage.store_upload`, so a 2 GB video never
sits in memory), with its name, relative folder path and `lastModified` in the query.

A refused file (not a photo or video, empty, larger than the upload limit) is recorded in the
batch's job as skipped, with the reason, so the job's page still says so after the upload
page is closed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, render_template, request
from sqlalchemy import select

from ..models import File, FileSource, FileStatus, Job, JobKind, JobStatus, db, utcnow
from ..pipeline import jobs, storage
from ..tasks import enqueue_job
from ..wording import size_text
from .security import ApiError

bp = Blueprint("upload", __name__)

# lastModified values outside this range are browser junk (0, or far future), not evidence.
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)


@bp.route("/upload")
def page():
    return render_template("upload.html", max_bytes=current_app.config["MEDIAPARSER"].max_upload_bytes)


def _upload_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.kind != JobKind.IMPORT or (job.params or {}).get("source") != FileSource.UPLOAD:
        raise ApiError("That upload batch does not exist. Reload the page and start again.", 404)
    if job.status in (JobStatus.CANCELLED, JobStatus.FAILED):
        raise ApiError("This upload batch was stopped. Reload the page to start a new one.", 409)
    return job


def _last_modified(text: str | None) -> datetime | None:
    """Milliseconds since 1970 (JavaScript's File.lastModified)."""
    if not text:
        return None
    try:
        value = datetime.fromtimestamp(int(text) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise ApiError("lastModified must be milliseconds since 1970.") from None
    if value < EARLIEST or value > datetime.now(UTC).replace(year=datetime.now(UTC).year + 1):
        return None
    return value


@bp.route("/api/uploads", methods=["POST"])
def create_batch():
    job = storage.upload_job()
    return jsonify({"job_id": job.id, "job_url": f"/jobs/{job.id}"}), 201


@bp.route("/api/uploads/<int:job_id>/files", methods=["POST"])
def upload_file(job_id: int):
    job = _upload_job(job_id)
    name = request.args.get("name", "")
    if not name.strip():
        raise ApiError("The file name is missing.")
    relative_path = request.args.get("path") or name
    modified = _last_modified(request.args.get("modified"))
    if request.content_length == 0:
        _refused(job, name, relative_path, "The file is empty (0 bytes)")
        raise ApiError(f"{name}: the file is empty (0 bytes).", 422)
    settings = current_app.config["MEDIAPARSER"]
    try:
        stored = storage.store_upload(request.stream, settings)
    except storage.UploadRefused as exc:
        _refused(job, name, relative_path, str(exc))
        raise ApiError(f"{exc}", 422) from None
    except OSError as exc:
        current_app.logger.exception("upload of %s failed", name)
        raise ApiError(f"The server could not save this file ({exc.strerror or exc}). Is its disk full?", 507) from None
    was = (job.status, _accepted(job))
    row = storage.add_upload(job, stored, name, relative_path, modified)
    # The job starts with its first file; a job that had finished is reopened by add_upload.
    if not was[1] or (was[0] == JobStatus.COMPLETED and job.status == JobStatus.PENDING):
        enqueue_job(job.id)
    known = _already_in_library(stored, row)
    return jsonify(
        {
            "file_id": row.id,
            "name": row.original_name,
            "folder": row.relative_dir,
            "size": stored.size,
            "already_in_library": known,
            "message": "Already in your library: not stored twice" if known else "Uploaded",
        }
    ), 201


def _already_in_library(stored: storage.Stored, row: File) -> bool:
    """The same bytes are in the library already: uploaded before (one stored copy), or
    brought in by a folder import (found by their sha256)."""
    if not stored.is_new:
        return True
    same = select(File.id).where(File.id != row.id)
    found = db.session.execute(same.where(File.path == str(stored.path)).limit(1)).scalar()
    return (found or db.session.execute(same.where(File.sha256 == stored.sha256).limit(1)).scalar()) is not None


def _refused(job: Job, name: str, relative_path: str | None, reason: str) -> None:
    """Record a file the upload refused in its job (skipped, with the reason)."""
    row_name, folder = storage.clean_name(name), storage.clean_relative_dir(relative_path or name)
    exists = db.session.execute(
        select(File.id).where(
            File.job_id == job.id, File.path == "", File.original_name == row_name, File.relative_dir == folder
        )
    ).scalar()
    if exists is None:
        db.session.add(
            File(
                job_id=job.id,
                path="",
                source=FileSource.UPLOAD,
                original_name=row_name,
                relative_dir=folder,
                status=FileStatus.SKIPPED,
                error=f"Not uploaded: {reason}",
            )
        )
        job.total, job.done, job.skipped = (job.total or 0) + 1, (job.done or 0) + 1, (job.skipped or 0) + 1
    db.session.commit()


@bp.route("/api/uploads/<int:job_id>/refused", methods=["POST"])
def refused(job_id: int):
    """The page refused a file itself (larger than the upload limit): record it in the job."""
    job = _upload_job(job_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"].strip():
        raise ApiError("Send the refused file's name.")
    path = data.get("path") if isinstance(data.get("path"), str) else data["name"]
    limit = current_app.config["MEDIAPARSER"].max_upload_bytes
    _refused(job, data["name"], path, f"larger than the upload limit of {size_text(limit)}")
    return jsonify({"recorded": True})


@bp.route("/api/uploads/<int:job_id>/finish", methods=["POST"])
def finish(job_id: int):
    """The page has sent every file: make sure none is left waiting."""
    job = _upload_job(job_id)
    if storage.reopen_if_pending(job):
        enqueue_job(job.id)
    db.session.refresh(job)
    if job.total == 0:
        jobs.cancel(job.id)
        return jsonify({"job_id": job.id, "status": JobStatus.CANCELLED, "message": "No files were uploaded."})
    if job.status == JobStatus.PENDING and not storage.reopen_if_pending(job) and not _accepted(job):
        # every file was refused: the job has nothing to read, but it records why
        job.status, job.finished_at = JobStatus.COMPLETED, utcnow()
        db.session.commit()
    pending = db.session.query(File).filter(File.job_id == job.id, File.status == FileStatus.PENDING).count()
    return jsonify({"job_id": job.id, "status": job.status, "pending": pending, "progress": jobs.progress(job)})


def _accepted(job: Job) -> bool:
    return (
        db.session.execute(select(File.id).where(File.job_id == job.id, File.path != "").limit(1)).scalar() is not None
    )
