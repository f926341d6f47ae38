"""The home page: what is left to do, as steps with live counts (add photos → check dates →
sort duplicates → export), the recent changes with their undo — and the one undo for every
action (`/api/undo`). Counts come from the figures the database keeps current
(app/pipeline/counts.py), never from counting the library on each visit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from sqlalchemy import select

from ..models import File, Job, UserDecision, db
from ..pipeline import counts, decisions, duplicate_review, export_plan, settings_store
from ..pipeline.triage import REASONS
from ..vocab import ACTIVE_JOB_STATES, DecisionKind, JobKind, JobStatus
from ..wording import plural
from .security import ApiError

bp = Blueprint("home", __name__)


@bp.route("/")
def page():
    if request.args:  # old grid links ("/?review=1") keep working
        from .review import grid

        return grid()
    from .review import household_zone

    return render_template(
        "home.html", home=home_data(), describe=describe, reasons=REASONS, zone_name=str(household_zone())
    )


@bp.route("/api/home")
def home_json():
    data = home_data()
    data.pop("recent")
    return jsonify(data)


def home_data() -> dict[str, Any]:
    s = counts.summary()
    dups = duplicate_review.open_group_counts()
    return {
        "empty": s.empty,
        "files": s.files,
        "photos": s.photos,
        "videos": s.videos,
        "waiting": s.waiting,
        "unreadable": s.unreadable,
        "review": s.review,
        "by_reason": s.by_reason,
        "duplicate_groups": dups["total"],
        "similar_groups": dups.get("similar", 0),
        "export": export_status(s),
        "importing": _active_imports(),
        "recent": decisions.recent(),
    }


def export_status(s: counts.Summary) -> dict[str, Any]:
    """How many files an export would write now, how many it holds back, and whether the
    archive still matches the library."""
    only_reviewed = settings_store.flag(export_plan.SETTING_ONLY_REVIEWED)
    waiting = s.review_unique if only_reviewed else 0
    last = db.session.execute(
        select(Job)
        .where(Job.kind == str(JobKind.EXPORT), Job.status == str(JobStatus.COMPLETED))
        .order_by(Job.id.desc())
        .limit(1)
    ).scalar()
    changed = None
    if last is not None:
        since = last.started_at or last.created_at
        changed = any(t is not None and t > since for t in (_last_decision_time(), _last_file_time()))
    return {
        "ready": max(0, s.unique - waiting),
        "left_out": s.left_out,
        "waiting_review": waiting,
        "held_back": s.left_out + waiting,
        "exported_at": (last.finished_at or last.created_at).isoformat() if last else None,
        "up_to_date": None if last is None else not changed,
    }


def _last_decision_time() -> datetime | None:
    return db.session.execute(select(UserDecision.created_at).order_by(UserDecision.id.desc()).limit(1)).scalar()


def _last_file_time() -> datetime | None:
    return db.session.execute(select(File.created_at).order_by(File.id.desc()).limit(1)).scalar()


def _active_imports() -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Job.id, Job.done, Job.total)
        .where(Job.kind == str(JobKind.IMPORT), Job.status.in_([str(s) for s in ACTIVE_JOB_STATES]))
        .order_by(Job.id)
        .limit(5)
    ).all()
    return [{"id": r.id, "done": r.done, "total": r.total} for r in rows]


# --- the decision log in words ----------------------------------------------------------------

_TIME_ACTIONS = {
    "set": "Set the date of {files}",
    "shift": "Shifted the dates of {files}",
    "choose": "Chose a date clue for {files}",
    "file_time": "Used the file dates for {files}",
    "undated": "Left {files} undated",
    "confirm": "Marked the dates of {files} as right",
    "undo": "Undid a date change ({files})",
}
_KINDS = {
    DecisionKind.CONFIRM: "Marked the dates of {files} as right",
    DecisionKind.KEEP: "Sorted out duplicates ({files})",
    DecisionKind.DISCARD: "Sorted out duplicates ({files})",
    DecisionKind.NOT_DUPLICATE: "Marked a group as not duplicates",
    DecisionKind.TAG_ADD: "Added the tag “{tag}” to {files}",
    DecisionKind.TAG_REMOVE: "Removed the tag “{tag}” from {files}",
    DecisionKind.TAG_RENAME: "Renamed the tag “{old}” to “{new}”",
    DecisionKind.TAG_MERGE: "Merged tags into “{into_name}”",
    DecisionKind.TAG_DELETE: "Deleted the tag “{name}”",
    DecisionKind.LEAVE_OUT: "Left {files} out of the archive",
    DecisionKind.INCLUDE: "Took {files} back into the archive",
    DecisionKind.ROTATE: "Turned {pictures}",
    DecisionKind.UNDO: "Undid a change",
}


def describe(action: decisions.Action) -> str:
    """One action of the log, in a sentence."""
    if action.kind == DecisionKind.TIMESTAMP:
        template = _TIME_ACTIONS.get(action.action or "", "Changed the date of {files}")
    else:
        template = _KINDS.get(action.kind, "Changed {files}")
    values = {k: v for k, v in action.payload.items() if isinstance(v, str)}
    values.update(files=plural(action.files, "file"), pictures=plural(action.files, "picture"))
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template.split("“")[0].strip()


# --- the one undo ---------------------------------------------------------------------------


@bp.route("/api/undo", methods=["POST"])
def undo():
    """Revert any action by its batch, whatever its kind."""
    data = request.get_json(silent=True)
    batch = data.get("batch") if isinstance(data, dict) else None
    if not isinstance(batch, str) or not batch or len(batch) > 64:
        raise ApiError("Nothing to undo: the action's batch is missing.")
    try:
        count = decisions.undo(batch)
    except decisions.UndoError as exc:
        raise ApiError(str(exc)) from None
    if not count:
        raise ApiError("Nothing was undone: these files were changed again since. The later change stands.", 409)
    return jsonify({"count": count, "message": f"Undone ({plural(count, 'change')})."})


@bp.route("/api/decisions/recent")
def recent_json():
    return jsonify(
        {
            "actions": [
                {
                    "batch": a.batch,
                    "kind": a.kind,
                    "action": a.action,
                    "files": a.files,
                    "text": describe(a),
                    "created_at": a.created_at.isoformat() if a.created_at else None,
                    "undone": a.undone,
                    "can_undo": not a.undone and not a.is_undo,
                }
                for a in decisions.recent(limit=min(50, request.args.get("limit", 8, type=int) or 8))
            ]
        }
    )
