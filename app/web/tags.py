"""Tags: autocomplete, add and remove on a selection, undo."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..pipeline import tagging
from ..wording import plural
from . import queries
from .review import household_zone
from .security import ApiError

bp = Blueprint("tags", __name__)


def _json() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("Send the request as a JSON object.")
    return data


@bp.route("/api/tags")
def suggest():
    return jsonify({"tags": tagging.suggest(request.args.get("q", ""))})


@bp.route("/api/tags/of-selection", methods=["POST"])
def of_selection():
    ids = queries.resolve_selection(_json().get("selection"), household_zone())
    return jsonify({"tags": [{"name": n, "count": c} for n, c in tagging.tags_of(ids)], "files": len(ids)})


def _change(fn, template: str):
    data = _json()
    ids = queries.resolve_selection(data.get("selection"), household_zone())
    try:
        names = tagging.clean_names(data.get("tags"))
        count, batch = fn(ids, names)
    except ValueError as exc:
        raise ApiError(str(exc)) from None
    label = ", ".join(f"“{n}”" for n in names)
    message = template.format(tags=label, files=plural(len(ids), "file"))
    return jsonify({"count": count, "batch": batch, "tags": names, "message": message})


@bp.route("/api/tags/add", methods=["POST"])
def add():
    return _change(tagging.add_tags, "Added {tags} to {files}.")


@bp.route("/api/tags/remove", methods=["POST"])
def remove():
    return _change(tagging.remove_tags, "Removed {tags} from {files}.")


@bp.route("/api/tags/undo", methods=["POST"])
def undo():
    batch = _json().get("batch")
    if not isinstance(batch, str) or not batch:
        raise ApiError("Nothing to undo: the action's batch is missing.")
    return jsonify({"count": tagging.undo(batch), "message": "Undone."})
