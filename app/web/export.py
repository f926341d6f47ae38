"""Export page: preview (dry run), start, progress with pause/cancel, and the result.

The archive goes to the export folder of the settings page (never a folder typed here: a
web page must not choose where the server writes). The preview shows what goes where and
why files are skipped, before anything is written; progress and pause/resume/cancel reuse
the jobs card and its API.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from ..models import Job, db
from ..pipeline import export_plan, exporter, settings_store, trash
from ..tasks import enqueue_job
from ..vocab import FINISHED_JOB_STATES, JobKind
from ..wording import size_text
from . import outputs
from .jobs_pages import describe
from .security import ApiError

bp = Blueprint("export", __name__)

# What a copy says about when it was taken (media/archive_dates.py), in people's words.
STATED = {
    "time": "date and time",
    "date": "the date only",
    "none": "no date (undated/)",
}
PREVIEW_ROWS = 200  # rows of "what goes where" on the page; the API pages through all
METHOD_TEXT = {
    "embed": "JPEG, date and tags written into the copy",
    "sidecar": "copy with an XMP sidecar (.xmp) holding the date and tags",
    "copy": "plain copy (nothing to add)",
}


def _output():
    return settings_store.effective(current_app.config["MEDIAPARSER"]).output_dir


def _latest_job(output) -> Job | None:
    for job in db.session.execute(
        select(Job).where(Job.kind == str(JobKind.EXPORT)).order_by(Job.id.desc()).limit(20)
    ).scalars():
        if job.params.get("output") == str(output):
            return job
    return None


def _result(job: Job) -> dict:
    counts = exporter.result_counts(job)
    return {
        "counts": counts,
        "in_step": (
            f"{counts.get('exported', 0):,} new, {counts.get('updated', 0):,} updated, "
            f"{counts.get('retired', 0):,} retired"
        ),
        "skipped": {label: counts[reason] for reason, label in export_plan.SKIP_REASONS.items() if counts.get(reason)},
        "methods": {METHOD_TEXT[m]: counts[f"method_{m}"] for m in METHOD_TEXT if counts.get(f"method_{m}")},
        "cleanup": trash.cleanup_counts(job.id) if job.params.get("cleanup") else None,
    }


def _plan_view(plan: export_plan.Plan) -> dict:
    summary = plan.summary()
    exports = [f for f in plan.files if f.action in ("export", "update")]
    retires = [f for f in plan.files if f.action == "retire"]
    skips = [f for f in plan.files if f.action not in export_plan.ACTIONS]
    return {
        "summary": summary,
        "skipped": {
            label: summary["counts"][reason]
            for reason, label in export_plan.SKIP_REASONS.items()
            if summary["counts"].get(reason)
        },
        "methods": {METHOD_TEXT[m]: n for m, n in summary["methods"].items()},
        "needed": size_text(plan.bytes_needed),
        "free": size_text(plan.bytes_free),
        "in_step": plan.in_step(),
        "to_do": len(plan.to_export),
        "renames": summary["renames"],
        "more_renames": max(0, summary["rename_count"] - len(summary["renames"])),
        "retires": retires[:PREVIEW_ROWS],
        "exports": exports[:PREVIEW_ROWS],
        "more_exports": max(0, len(exports) - PREVIEW_ROWS),
        "skips": skips[:PREVIEW_ROWS],
        "more_skips": max(0, len(skips) - PREVIEW_ROWS),
        "conflicts": plan.conflicts[:PREVIEW_ROWS],
        "more_conflicts": max(0, len(plan.conflicts) - PREVIEW_ROWS),
    }


@bp.route("/export")
def page():
    settings = current_app.config["MEDIAPARSER"]
    output = _output()
    preview, refused = None, None
    if request.args.get("preview"):
        try:
            preview = _plan_view(export_plan.dry_run(_checked(output, settings), settings))
        except export_plan.ExportRefused as exc:
            refused = str(exc)
    job = _latest_job(output)
    finished = job is not None and job.status in FINISHED_JOB_STATES
    return render_template(
        "export.html",
        output=output,
        preview=preview,
        refused=refused,
        job=describe(job) if job else None,
        active=job is not None and not finished,
        result=_result(job) if finished else None,
        only_reviewed=settings_store.flag(export_plan.SETTING_ONLY_REVIEWED),
        cleanup_roots=settings_store.flag(export_plan.SETTING_CLEANUP_IMPORT_ROOTS),
        roots=settings.import_roots,
        STATED=STATED,
    )


@bp.route("/export/options", methods=["POST"])
def options():
    settings_store.save(
        {
            key: "1" if request.form.get(key) else "0"
            for key in (export_plan.SETTING_ONLY_REVIEWED, export_plan.SETTING_CLEANUP_IMPORT_ROOTS)
        }
    )
    flash("Export options saved.", "success")
    return redirect(url_for("export.page"))


def _checked(output, settings):
    """The archive folder, if the web may write there (a folder chosen before the web's
    output roots existed may not) and the export's own rules allow it."""
    output = export_plan.check_output(output, settings)
    if refusal := outputs.refusal(output, settings):
        raise export_plan.ExportRefused(refusal)
    return output


def _start(cleanup: bool) -> Job:
    settings = current_app.config["MEDIAPARSER"]
    try:
        output = export_plan.check_output(_output(), settings)
        if refusal := outputs.refusal(output, settings):  # a folder chosen before the web's output roots
            raise ApiError(refusal, 403)
        job = exporter.start_export(output, settings, cleanup=cleanup)
    except export_plan.ExportRefused as exc:
        raise ApiError(str(exc), 409) from None
    enqueue_job(job.id)
    return job


@bp.route("/export/start", methods=["POST"])
def start():
    try:
        job = _start(cleanup=bool(request.form.get("cleanup")))
    except ApiError as exc:
        flash(exc.message, "error")
        return redirect(url_for("export.page"))
    flash(f"Export started (job #{job.id}). You can leave this page; it goes on in the background.", "success")
    return redirect(url_for("export.page"))


@bp.route("/api/export/preview")
def preview_json():
    """The dry run as JSON: summary, and the files in pages (`offset`, `limit` <= 1000)."""
    try:
        offset = max(0, int(request.args.get("offset", 0)))
        limit = min(1000, max(1, int(request.args.get("limit", 200))))
    except ValueError:
        raise ApiError("offset and limit must be numbers.") from None
    try:
        settings = current_app.config["MEDIAPARSER"]
        plan = export_plan.dry_run(_checked(_output(), settings), settings)
    except export_plan.ExportRefused as exc:
        raise ApiError(str(exc), 409) from None
    files = plan.files[offset : offset + limit]
    return jsonify(
        {
            **plan.summary(),
            "files": [
                {
                    **{k: getattr(f, k) for k in ("file_id", "display", "action", "reason", "message", "target")},
                    **{k: getattr(f, k) for k in ("method", "stated", "time_source", "confidence", "changes")},
                    "previous": (f.previous or {}).get("output"),
                }
                for f in files
            ],
            "next_offset": offset + limit if offset + limit < len(plan.files) else None,
        }
    )


@bp.route("/api/export", methods=["POST"])
def start_json():
    data = request.get_json(silent=True) or {}
    job = _start(cleanup=bool(data.get("cleanup")))
    return jsonify({"job": describe(job)}), 202


@bp.route("/api/export/jobs/<int:job_id>")
def result_json(job_id: int):
    job = db.session.get(Job, job_id)
    if job is None or job.kind != JobKind.EXPORT:
        raise ApiError("That export does not exist.", 404)
    return jsonify({"job": describe(job), "result": _result(job)})
