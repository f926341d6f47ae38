"""Settings: output folder, household time zone, duplicate sensitivity (stored by
pipeline.settings_store), import roots shown; admin jobs: detect dates again, rebuild
previews — on everything, or on the grid's selection."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for

from ..models import JobKind
from ..pipeline import export_checks, jobs, settings_store
from ..tasks import enqueue_job
from . import outputs
from .review import selected_ids
from .security import ApiError, json_body

bp = Blueprint("settings", __name__)

# Jobs people start from this page, by kind (the word in the address): what they are called.
ADMIN_JOBS = {
    JobKind.REPROCESS: "Detecting dates again",
    JobKind.THUMBNAILS: "Rebuilding previews",
    JobKind.DUPLICATES: "Looking for duplicates again",
}
_ZONES: list[str] = []


def zones() -> list[str]:
    if not _ZONES:
        _ZONES.extend(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))
        _ZONES.append("UTC")
    return _ZONES


def _render(values: dict | None = None, error: str | None = None, status: int = 200):
    base = current_app.config["MEDIAPARSER"]
    current = settings_store.effective(base)
    shown = {
        "output_dir": str(current.output_dir),
        "timezone": current.timezone,
        "duplicate_sensitivity": settings_store.duplicate_sensitivity(),
    }
    shown.update(values or {})
    return render_template(
        "settings.html",
        values=shown,
        error=error,
        roots=base.import_roots,
        zones=zones(),
        sensitivities=settings_store.SENSITIVITIES,
        env_defaults={"output_dir": str(base.output_dir), "timezone": base.timezone},
        password_set=bool(base.password),
    ), status


def _save(changes: dict) -> None:
    """settings_store.save, refusing an export folder outside the web's output roots, or one
    the archive must not go to (the export's own rules: export_checks.py)."""
    if "output_dir" in changes:
        folder = settings_store.clean({"output_dir": changes["output_dir"]})["output_dir"]
        settings = current_app.config["MEDIAPARSER"]
        refusal = outputs.refusal(folder, settings) or export_checks.refusal(folder, settings)
        if refusal:
            raise settings_store.SettingError(refusal)
    settings_store.save(changes)


@bp.route("/settings")
def page():
    return _render()


@bp.route("/settings", methods=["POST"])
def save():
    changes = {k: request.form.get(k, "") for k in settings_store.KEYS if k in request.form}
    if not changes:
        return _render(error="Nothing to save.", status=400)
    sensitivity_before = settings_store.duplicate_sensitivity()
    try:
        _save(changes)
    except settings_store.SettingError as exc:
        return _render(values=changes, error=str(exc), status=400)
    if settings_store.duplicate_sensitivity() != sensitivity_before:
        # undecided groups are formed again with the new sensitivity; decisions are kept
        _start(JobKind.DUPLICATES, {"all": True, "regroup": True})
        flash("Settings saved. Duplicates are being looked for again with the new sensitivity.", "success")
    else:
        flash("Settings saved. They apply to the next import and export.", "success")
    return redirect(url_for("settings.page"))


@bp.route("/api/settings", methods=["GET", "POST"])
def api():
    if request.method == "POST":
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not data:
            raise ApiError("Send the settings to change as a JSON object.")
        try:
            _save(data)
        except settings_store.SettingError as exc:
            raise ApiError(str(exc)) from None
    current = settings_store.effective(current_app.config["MEDIAPARSER"])
    return jsonify(
        {
            "output_dir": str(current.output_dir),
            "timezone": current.timezone,
            "duplicate_sensitivity": settings_store.duplicate_sensitivity(),
            "import_roots": [str(r) for r in current.import_roots],
        }
    )


def _start(kind: str, params: dict):
    if kind not in ADMIN_JOBS:
        raise ApiError(f"Unknown job: use {', '.join(ADMIN_JOBS)}.", 404)
    job = jobs.create(JobKind(kind), params)
    enqueue_job(job.id)
    return job


@bp.route("/settings/<kind>", methods=["POST"])
def start_all(kind: str):
    job = _start(kind, {"all": True})
    flash(f"{ADMIN_JOBS[kind]} for all files: follow it here.", "success")
    return redirect(url_for("jobs.detail_page", job_id=job.id))


@bp.route("/api/jobs/start/<kind>", methods=["POST"])
def start_json(kind: str):
    data = json_body()
    if data.get("all") is True:
        params = {"all": True}
    else:
        params = {"file_ids": selected_ids(data)}
    job = _start(kind, params)
    count = "all files" if params.get("all") else f"{len(params['file_ids']):,} files"
    return jsonify(
        {
            "job_id": job.id,
            "job_url": url_for("jobs.detail_page", job_id=job.id),
            "message": f"{ADMIN_JOBS[kind]} for {count}.",
        }
    ), 201
