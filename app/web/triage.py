"""Check dates: the files whose date needs a look, grouped by why, each reason with a few
examples and the batch answer that fits it — previewed first, applied as one undoable action
(app/pipeline/triage.py)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from ..pipeline import counts, triage
from ..wording import plural
from . import queries
from .filters import local_time
from .review import household_zone
from .security import ApiError, json_body

bp = Blueprint("triage", __name__)


@bp.route("/check")
def page():
    summary = counts.summary()
    groups = [
        {
            "reason": r,
            "count": summary.by_reason.get(key, 0),
            "examples": triage.examples(key),
        }
        for key, r in triage.REASONS.items()
        if summary.by_reason.get(key, 0)
    ]
    shown = [e.id for g in groups for e in g["examples"]]
    return render_template(
        "triage.html",
        groups=groups,
        total=summary.review,
        files=summary.files,
        set_badges=queries.set_badges_html(shown) if shown else {},
    )


def _choice() -> tuple[str, str, dict]:
    data = json_body()
    reason, answer = data.get("reason"), data.get("answer")
    if not isinstance(reason, str) or not isinstance(answer, str):
        raise ApiError("Which reason and which answer? Send both.")
    try:
        triage.answer(reason, answer)
    except ValueError as exc:
        raise ApiError(str(exc)) from None
    return reason, answer, data


@bp.route("/api/triage/preview", methods=["POST"])
def preview():
    reason, answer, _ = _choice()
    result = triage.preview(reason, answer, household_zone())
    the_answer = triage.answer(reason, answer)
    return jsonify(
        {
            "count": result.count,
            "label": the_answer.label.format(n=f"{result.count:,}"),
            "rows": [{"id": r["id"], "name": r["name"], "now": _now(r), "after": _after(r)} for r in result.rows],
        }
    )


def _now(row: dict) -> str:
    if row["file_time"]:
        return f"file date {local_time(row['now'], 'day')} (not a real date)"
    return local_time(row["now"], row["precision"])


def _after(row: dict) -> str:
    if row["after_local"]:
        return f"{local_time(row['after_local'], 'minute')} (the file date, as you said)"
    return row["after"] or f"{local_time(row['now'], row['precision'])} (checked)"


@bp.route("/api/triage/apply", methods=["POST"])
def apply():
    reason, answer, data = _choice()
    expected = data.get("expected")
    if expected is not None and not isinstance(expected, int):
        raise ApiError("expected must be the number of files the preview showed.")
    try:
        count, batch = triage.apply(reason, answer, household_zone(), expected)
    except ValueError as exc:
        raise ApiError(str(exc), 409) from None
    message = triage.answer(reason, answer).done.format(n=plural(count, "file"))
    return jsonify({"count": count, "batch": batch, "message": message})
