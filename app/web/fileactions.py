"""What people do to files themselves: leave them out of the archive (a meme, a blurry shot),
take them back in, turn a picture that shows the wrong way up. Each is one undoable action in
the decision log (app/pipeline/decisions.py); the originals are never touched."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..pipeline import decisions
from ..wording import plural
from .review import selected_ids
from .security import ApiError, json_body

bp = Blueprint("fileactions", __name__)


def _left_out(left_out: bool):
    ids = selected_ids(json_body())
    try:
        changed, batch = decisions.set_left_out(ids, left_out)
    except ValueError as exc:
        raise ApiError(str(exc), 404) from None
    if not changed:
        already = "left out already" if left_out else "in the archive already"
        return jsonify({"count": 0, "batch": None, "message": f"Nothing to do: they are {already}."})
    if left_out:
        message = f"Left {plural(changed, 'file')} out of the archive. Nothing was deleted."
    else:
        message = f"Took {plural(changed, 'file')} back into the archive."
    return jsonify({"count": changed, "batch": batch, "message": message})


@bp.route("/api/files/leave-out", methods=["POST"])
def leave_out():
    return _left_out(True)


@bp.route("/api/files/include", methods=["POST"])
def include():
    return _left_out(False)


@bp.route("/api/files/rotate", methods=["POST"])
def rotate():
    data = json_body()
    ids = selected_ids(data)
    try:
        degrees = int(data.get("degrees", 90))
    except (TypeError, ValueError):
        raise ApiError("Turn by 90, 180 or 270 degrees.") from None
    try:
        count, batch = decisions.rotate(ids, degrees)
    except ValueError as exc:
        raise ApiError(str(exc)) from None
    direction = "left" if degrees % 360 == 270 else "right" if degrees % 360 == 90 else "upside down"
    message = f"Turned {plural(count, 'picture')} {direction}. The archive copy is turned the same way."
    return jsonify({"count": count, "batch": batch, "message": message})
