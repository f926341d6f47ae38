"""Capture-time actions: confirm, choose a candidate, type a time, shift, derive a camera's
offset from one photo, undo. The rules live in app/pipeline/timefix.py; this module reads
requests, calls it, and answers with counts and an undo batch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from sqlalchemy import select

from ..models import File, db
from ..pipeline import timefix
from ..vocab import Precision
from ..wording import plural
from . import pagezone
from .filters import local_time
from .review import household_zone, selected_ids
from .security import ApiError, json_body

bp = Blueprint("timeactions", __name__)
bp.record_once(pagezone.register)
bp.record_once(lambda state: state.app.add_template_global(timefix.CAMERA_WINDOW_DAYS, "camera_window_days"))

MAX_SHIFT = timedelta(days=365 * 100)
PREVIEW_ROWS = 50


def _call(fn, *args, **kwargs):
    """Run a timefix function; its ValueErrors are messages for people."""
    try:
        return fn(*args, **kwargs)
    except LookupError as exc:
        raise ApiError(str(exc) or "That file no longer exists.", 404) from None
    except ValueError as exc:
        raise ApiError(str(exc)) from None


def _file_id(data: dict) -> int:
    try:
        file_id = int(data.get("file_id"))
    except (TypeError, ValueError):
        raise ApiError("Which file? Send file_id as a number.") from None
    if db.session.get(File, file_id) is None:
        raise ApiError("That file no longer exists.", 404)
    return file_id


def _delta(data: dict) -> timedelta:
    """The shift: {"minutes": signed number} (days and hours are turned into minutes by the page)."""
    try:
        minutes = float(data.get("minutes"))
    except (TypeError, ValueError):
        raise ApiError("Say how far to shift, in minutes (for example 60 for one hour later).") from None
    delta = timedelta(minutes=minutes)
    if not delta:
        raise ApiError("A shift of zero changes nothing. Enter days, hours or minutes.")
    if abs(delta) > MAX_SHIFT:
        raise ApiError("That shift is more than a hundred years. Check the numbers.")
    return delta


def _parse_time(text: Any) -> tuple[datetime, str, int | None]:
    """(wall clock, precision, the UTC offset when the person typed one)."""
    if not isinstance(text, str) or not text.strip():
        raise ApiError("Type a date, for example “15 June 2019 14:30” or “2019-06”.")
    return _call(timefix.parse_typed_time, text.strip(), household_zone())


def _offset(data: dict) -> int | None:
    value = data.get("offset")
    if value in (None, ""):
        return None
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise ApiError("The time-zone offset must be a number of minutes.") from None
    if abs(minutes) > 14 * 60:
        raise ApiError("A time-zone offset is at most 14 hours.")
    return minutes


def _show(value) -> str:
    if value is None:
        return "No date"
    if isinstance(value, datetime):
        return local_time(value.replace(tzinfo=None).isoformat(), Precision.SECOND)
    return local_time(str(value), Precision.SECOND)


def shift_text(delta: timedelta) -> str:
    """A shift in words, to the second: "1 h 59 min 40 s" (never rounded)."""
    seconds = round(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [plural(days, "day")] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{secs} s"] if secs or not parts else []
    return " ".join(parts)


def _preview(ids: list[int], delta: timedelta) -> dict:
    rows = _call(timefix.preview_shift, ids, delta)
    shown = rows[:PREVIEW_ROWS]
    names = dict(
        db.session.execute(select(File.id, File.original_name).where(File.id.in_([r[0] for r in shown]))).all()
    )
    return {
        "count": len(rows),
        "rows": [{"id": fid, "name": names.get(fid, ""), "before": _show(b), "after": _show(a)} for fid, b, a in shown],
        "minutes": delta.total_seconds() / 60,
        "seconds": delta.total_seconds(),
        "shift": shift_text(delta),
        "later": delta.total_seconds() > 0,
    }


def _done(count: int, batch, message: str):
    return jsonify({"count": count, "batch": batch, "message": message})


def _files(n: int) -> str:
    return plural(n, "file")


@bp.route("/api/time/confirm", methods=["POST"])
def confirm():
    ids = selected_ids(json_body())
    batch = _call(timefix.confirm, ids)
    return _done(len(ids), batch, f"Marked the dates of {_files(len(ids))} as right.")


def _confirm_high() -> tuple[int, Any]:
    return _call(timefix.confirm_all_high)


@bp.route("/api/time/confirm-high", methods=["POST"])
def confirm_high():
    count, batch = _confirm_high()
    return _done(count, batch, f"Marked {_files(count)} with sure dates as checked.")


@bp.route("/time/confirm-high", methods=["POST"])
def confirm_high_form():
    """The same for the plain form on the grid (works without JavaScript)."""
    try:
        count, _ = _confirm_high()
    except ApiError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Marked {_files(count)} with sure dates as checked.", "success")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("review.grid"))


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


@bp.route("/api/time/choose", methods=["POST"])
def choose():
    data = json_body()
    file_id = _file_id(data)
    source = data.get("source")
    if not isinstance(source, str) or not source:
        raise ApiError("Which date should be used? Send its source.")
    batch = _call(timefix.choose_candidate, file_id, source, household_zone())
    return _done(1, batch, "Date chosen.")


@bp.route("/api/time/set", methods=["POST"])
def set_time():
    data = json_body()
    ids = selected_ids(data)
    local, precision, typed = _parse_time(data.get("text"))
    offset = typed if typed is not None else _offset(data)
    batch = _call(timefix.set_time, ids, local, precision, offset, zone=household_zone())
    shown = local_time(local.isoformat(), precision)
    return _done(len(ids), batch, f"Set the date of {_files(len(ids))} to {shown}.")


@bp.route("/api/time/shift/preview", methods=["POST"])
def shift_preview():
    data = json_body()
    return jsonify(_preview(selected_ids(data), _delta(data)))


@bp.route("/api/time/shift", methods=["POST"])
def shift():
    data = json_body()
    ids, delta = selected_ids(data), _delta(data)
    batch = _call(timefix.shift_times, ids, delta, household_zone())
    return _done(len(ids), batch, f"Shifted the dates of {_files(len(ids))}.")


def _days(data: dict) -> int | None:
    """The correction's window: ±N days around the photo ("all": the camera's whole life)."""
    value = data.get("days", timefix.CAMERA_WINDOW_DAYS)
    if value in ("all", None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError("The window is a number of days (or “all”).") from None


def _taken_at(data: dict) -> tuple[int, timedelta, timefix.CameraScope]:
    """'This photo was taken at …': the exact shift that makes it right (to the second), and
    the files it applies to: this one, or every file from its camera within the window."""
    file_id = _file_id(data)
    local, _precision, typed = _parse_time(data.get("text"))
    if typed is not None:
        local = local.replace(tzinfo=timezone(timedelta(minutes=typed)))
    delta = _call(timefix.suggest_shift, file_id, local, household_zone())
    scope = data.get("scope", "camera")
    if scope not in ("camera", "file"):
        raise ApiError("Apply to this file or to every file from its camera?")
    if scope == "camera":
        return file_id, delta, _call(timefix.camera_files, file_id, _days(data))
    f = db.session.get(File, file_id)
    return file_id, delta, timefix.CameraScope(f.camera_make, f.camera_model, None, None, [file_id])


def _scope_view(scope: timefix.CameraScope) -> dict:
    return {
        "camera": scope.describe(),
        "days": scope.days,
        "outside": scope.outside,
        "other_bodies": scope.other_bodies,
        "not_clock": scope.not_clock,
    }


@bp.route("/api/time/taken-at/preview", methods=["POST"])
def taken_at_preview():
    _file_id_, delta, scope = _taken_at(json_body())
    if not delta:
        return jsonify({"count": 0, "rows": [], "minutes": 0, "message": "That is already the date it has."})
    return jsonify({**_preview(scope.ids, delta), **_scope_view(scope)})


@bp.route("/api/time/taken-at", methods=["POST"])
def taken_at():
    file_id, delta, scope = _taken_at(json_body())
    if not delta:
        raise ApiError("That is already the date it has: nothing to change.")
    batch = _call(
        timefix.shift_times,
        scope.ids,
        delta,
        household_zone(),
        action="camera_clock",
        anchor=file_id,
        camera=scope.describe(),
        window_days=scope.days,
    )
    count = len(scope.ids)
    where = "from this camera" if count > 1 else ""
    message = f"Corrected the dates of {_files(count)} {where} by {shift_text(delta)}.".replace("  ", " ")
    return _done(count, batch, message)


@bp.route("/api/time/undo", methods=["POST"])
def undo():
    batch = json_body().get("batch")
    if not batch or not isinstance(batch, str):
        raise ApiError("Nothing to undo: the action's batch is missing.")
    count = _call(timefix.undo, batch)  # any action's batch: the one undo (pipeline/decisions.py)
    if not count:
        raise ApiError("Nothing was undone: these files were changed again since. The later change stands.", 409)
    return jsonify({"count": count, "message": f"Undone ({_files(count)})."})
