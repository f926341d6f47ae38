"""Tags: autocomplete; add and remove on a selection; the tags page (rename, merge, delete
across the library); the tags an import made, removed at once. Every change is undoable
(one undo: /api/undo)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from ..models import Job, Tag, db
from ..pipeline import tagging
from ..wording import plural
from .review import selected_ids
from .security import ApiError, json_body

bp = Blueprint("tags", __name__)


def _call(fn, *args):
    try:
        return fn(*args)
    except ValueError as exc:
        raise ApiError(str(exc)) from None


@bp.route("/tags")
def page():
    return render_template("tags.html", tags=tagging.library_tags())


@bp.route("/api/tags")
def suggest():
    return jsonify({"tags": tagging.suggest(request.args.get("q", ""))})


@bp.route("/api/tags/library")
def library():
    return jsonify({"tags": tagging.library_tags()})


@bp.route("/api/tags/of-selection", methods=["POST"])
def of_selection():
    ids = selected_ids(json_body())
    return jsonify({"tags": [{"name": n, "count": c} for n, c in tagging.tags_of(ids)], "files": len(ids)})


def _change(fn, template: str):
    data = json_body()
    ids = selected_ids(data)
    names = _call(tagging.clean_names, data.get("tags"))
    count, batch = _call(fn, ids, names)
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
    """Kept for older pages: the one undo is /api/undo (any action's batch)."""
    batch = json_body().get("batch")
    if not isinstance(batch, str) or not batch:
        raise ApiError("Nothing to undo: the action's batch is missing.")
    return jsonify({"count": _call(tagging.undo, batch), "message": "Undone."})


# --- across the library -----------------------------------------------------------------------


def _tag_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError("Which tag? Send its number.") from None


@bp.route("/api/tags/<int:tag_id>/rename", methods=["POST"])
def rename(tag_id: int):
    name = json_body().get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError("Type the tag's new name.")
    files, batch = _call(tagging.rename, tag_id, name)
    return jsonify({"count": files, "batch": batch, "message": f"Renamed the tag to “{' '.join(name.split())}”."})


@bp.route("/api/tags/merge", methods=["POST"])
def merge():
    data = json_body()
    ids = data.get("tags")
    if not isinstance(ids, list) or len(ids) < 2:
        raise ApiError("Tick two or more tags to merge.")
    ids = [_tag_id(i) for i in ids]
    into = _tag_id(data.get("into", ids[0]))
    if into not in ids:
        raise ApiError("Merge into one of the ticked tags.")
    files, batch = _call(tagging.merge, ids, into)
    name = db.session.get(Tag, into).name
    return jsonify({"count": files, "batch": batch, "message": f"Merged {len(ids)} tags into “{name}”."})


@bp.route("/api/tags/<int:tag_id>/delete", methods=["POST"])
def delete(tag_id: int):
    files, batch = _call(tagging.delete_tag, tag_id)
    return jsonify(
        {"count": files, "batch": batch, "message": f"Removed the tag from {plural(files, 'file')}. The files stay."}
    )


@bp.route("/api/jobs/<int:job_id>/tags")
def import_tags(job_id: int):
    if db.session.get(Job, job_id) is None:
        raise ApiError("That job does not exist.", 404)
    return jsonify({"tags": tagging.made_by_import(job_id)})


@bp.route("/api/jobs/<int:job_id>/tags/remove", methods=["POST"])
def remove_import_tags(job_id: int):
    if db.session.get(Job, job_id) is None:
        raise ApiError("That job does not exist.", 404)
    data = json_body()
    ids = data.get("tags")
    if ids is not None and not isinstance(ids, list):
        raise ApiError("tags must be a list of tag numbers.")
    removed, batch = _call(tagging.remove_import_tags, job_id, [_tag_id(i) for i in ids] if ids else None)
    return jsonify(
        {"count": removed, "batch": batch, "message": "Removed the tags this import made. Tags you added stay."}
    )
