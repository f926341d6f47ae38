"""Jobs: live progress, pause / resume / cancel, and the files that failed and why."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from ..models import File, FileSource, FileStatus, ItemStatus, Job, JobItem, JobKind, JobStatus, db
from ..pipeline import jobs, tagging
from ..tasks import enqueue_job
from ..wording import display_path
from .security import ApiError

bp = Blueprint("jobs", __name__)

LIST_SIZE = 30
PROBLEMS_PAGE = 100

KIND_TEXT = {
    JobKind.IMPORT: "Import",
    JobKind.REPROCESS: "Detect dates again",
    JobKind.THUMBNAILS: "Rebuild previews",
    JobKind.DUPLICATES: "Find duplicates",
    JobKind.EXPORT: "Export",
}
STATUS_TEXT = {
    JobStatus.PENDING: "Waiting to start.",
    JobStatus.RUNNING: "Running.",
    JobStatus.PAUSED: "Paused. Resume it to go on.",
    JobStatus.COMPLETED: "Finished.",
    JobStatus.FAILED: "Stopped by a problem.",
    JobStatus.CANCELLED: "Cancelled.",
}


def describe(job: Job) -> dict:
    """The job's figures (pipeline.jobs.progress) plus words for people."""
    data = jobs.progress(job)
    params = job.params or {}
    if job.kind == JobKind.IMPORT:
        title = (
            f"Import of folder {params.get('path')}"
            if params.get("source") == FileSource.FOLDER
            else "Upload from your browser"
        )
    else:
        title = KIND_TEXT.get(job.kind, job.kind.title())
        if params.get("file_ids"):
            title += f" ({len(params['file_ids'])} files)"
        elif params.get("all"):
            title += " (all files)"
    data["title"] = title
    data["status_text"] = STATUS_TEXT.get(job.status, job.status)
    data["can_pause"] = job.status in (JobStatus.PENDING, JobStatus.RUNNING)
    data["can_resume"] = job.status == JobStatus.PAUSED or _resumable_failure(job)
    data["can_cancel"] = job.status in (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.PAUSED)
    data["problems"] = problem_count(job)
    data["url"] = url_for("jobs.detail_page", job_id=job.id)
    data["next"] = next_step(job)
    data.pop("params", None)
    return data


def _resumable_failure(job: Job) -> bool:
    """A failed import goes on where it stopped: its files keep their own state."""
    return job.status == JobStatus.FAILED and job.kind == JobKind.IMPORT


# What went wrong, by kind of job. An export's or a preview job's skipped files are decisions
# (already in the archive, left out, the same picture): not problems. An import's are.
PROBLEM_HEADINGS = {
    JobKind.IMPORT: "Files and folders that were not imported",
    JobKind.EXPORT: "Files that could not be exported",
    JobKind.THUMBNAILS: "Previews that could not be made",
    JobKind.REPROCESS: "Files whose dates could not be read again",
}
NO_PROBLEMS = {
    JobKind.IMPORT: "None: every file was imported.",
    JobKind.EXPORT: "None: every file was exported or left as it was on purpose.",
}


def problem_count(job: Job) -> int:
    return (job.errors or 0) + ((job.skipped or 0) if job.kind == JobKind.IMPORT else 0)


def next_step(job: Job) -> dict | None:
    """Where to go when the job is done (a finished import: look at its files)."""
    if job.kind == JobKind.IMPORT and (job.done or 0) > (job.errors or 0) + (job.skipped or 0):
        return {"label": "Look at these files", "url": url_for("review.grid", job=job.id)}
    if job.kind == JobKind.EXPORT and job.status == JobStatus.COMPLETED:
        return {"label": "See what was exported", "url": url_for("export.page")}
    return None


def _job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise ApiError("That job does not exist.", 404)
    return job


def _recent() -> list[Job]:
    return list(db.session.execute(select(Job).order_by(Job.id.desc()).limit(LIST_SIZE)).scalars())


@bp.route("/jobs")
def list_page():
    return render_template("jobs.html", jobs=[describe(j) for j in _recent()])


@bp.route("/api/jobs")
def list_json():
    ids_text = request.args.get("ids", "")
    if ids_text:
        try:
            ids = [int(i) for i in ids_text.split(",") if i.strip()][:200]
        except ValueError:
            raise ApiError("ids must be numbers separated by commas.") from None
        rows = db.session.execute(select(Job).where(Job.id.in_(ids)).order_by(Job.id.desc())).scalars()
    else:
        rows = _recent()
    return jsonify({"jobs": [describe(j) for j in rows]})


@bp.route("/api/jobs/<int:job_id>")
def one_json(job_id: int):
    return jsonify(describe(_job(job_id)))


def problems(job: Job, after: int = 0) -> tuple[list[dict], int | None]:
    """Files of the job that failed or were skipped, with the reason (keyset by id)."""
    if job.kind == JobKind.IMPORT:
        rows = db.session.execute(
            select(File.id, File.original_name, File.relative_dir, File.status, File.error, File.meta)
            .where(File.job_id == job.id, File.status.in_([FileStatus.ERROR, FileStatus.SKIPPED]), File.id > after)
            .order_by(File.id)
            .limit(PROBLEMS_PAGE + 1)
        ).all()
        out = [_import_problem(r) for r in rows]
    else:
        rows = db.session.execute(
            select(JobItem.id, JobItem.status, JobItem.message, File.original_name, File.relative_dir)
            .join(File, File.id == JobItem.file_id)
            .where(JobItem.job_id == job.id, JobItem.status == ItemStatus.ERROR, JobItem.id > after)
            .order_by(JobItem.id)
            .limit(PROBLEMS_PAGE + 1)
        ).all()
        out = [
            {
                "id": r.id,
                "name": display_path(r.relative_dir, r.original_name),
                "status": "Failed" if r.status == ItemStatus.ERROR else "Skipped",
                "reason": r.message or "",
            }
            for r in rows
        ]
    more = len(out) > PROBLEMS_PAGE
    out = out[:PROBLEMS_PAGE]
    return out, (out[-1]["id"] if more else None)


def _import_problem(r) -> dict:
    """One line of an import's problems: a file, or a whole folder (its name ends in /)."""
    folder = bool((r.meta or {}).get("folder"))
    if folder:
        status = "Folder not read" if r.status == FileStatus.ERROR else "Folder skipped"
    else:
        status = "Could not be read" if r.status == FileStatus.ERROR else "Skipped"
    return {
        "id": r.id,
        "name": display_path(r.relative_dir, r.original_name) + ("/" if folder else ""),
        "folder": folder,
        "status": status,
        "reason": r.error or "",
    }


def _after() -> int:
    text = request.args.get("after", "0") or "0"
    if not text.isdigit():
        raise ApiError("after must be a number.")
    return int(text)


@bp.route("/jobs/<int:job_id>")
def detail_page(job_id: int):
    job = _job(job_id)
    rows, next_after = problems(job, _after())
    return render_template(
        "job.html",
        job=describe(job),
        problems=rows,
        next_after=next_after,
        after=_after(),
        heading=PROBLEM_HEADINGS.get(job.kind, "Problems"),
        none_text=NO_PROBLEMS.get(job.kind, "None.") if JobStatus(job.status).finished else "None so far.",
        final_text=NO_PROBLEMS.get(job.kind, "None."),
        made_tags=tagging.made_by_import(job.id) if job.kind == JobKind.IMPORT else [],
    )


@bp.route("/api/jobs/<int:job_id>/problems")
def problems_json(job_id: int):
    rows, next_after = problems(_job(job_id), _after())
    return jsonify({"problems": rows, "next_after": next_after})


def _pause(job: Job) -> str:
    if not jobs.pause(job.id):
        raise ApiError("Only a waiting or running job can be paused.", 409)
    return "Paused. The job stops after the file it is working on."


def _resume(job: Job) -> str:
    if not jobs.resume(job.id, failed_too=_resumable_failure(job)):
        raise ApiError("Only a paused job, or an import that stopped by a problem, can be resumed.", 409)
    enqueue_job(job.id)
    return "Resumed."


def _cancel(job: Job) -> str:
    if not jobs.cancel(job.id):
        raise ApiError("This job has already ended.", 409)
    return "Cancelled. Files already done are kept."


# What people may do to a job, by the word in its address (/api/jobs/<id>/<action>).
ACTIONS = {"pause": _pause, "resume": _resume, "cancel": _cancel}


def _control(job_id: int, action: str) -> str:
    job = _job(job_id)
    if action not in ACTIONS:
        raise ApiError("Unknown action: use pause, resume or cancel.", 404)
    return ACTIONS[action](job)


@bp.route("/api/jobs/<int:job_id>/<action>", methods=["POST"])
def control_json(job_id: int, action: str):
    message = _control(job_id, action)
    db.session.expire_all()
    return jsonify({"message": message, "job": describe(_job(job_id))})


@bp.route("/jobs/<int:job_id>/<action>", methods=["POST"])
def control_form(job_id: int, action: str):
    try:
        flash(_control(job_id, action), "success")
    except ApiError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    back = request.form.get("back", "")
    local = back.startswith("/") and not back.startswith("//") and "\\" not in back
    return redirect(back if local else url_for("jobs.detail_page", job_id=job_id))
