"""Review grid, file detail, thumbnails and originals."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..media.explain import explain_clues, readable_note
from ..models import File, Job, Tag, db
from ..pipeline import settings_store
from . import queries, serving
from .pagezone import page_zone
from .queries import Cursor, Filters

bp = Blueprint("review", __name__)


def household_zone():
    return settings_store.effective(current_app.config["MEDIAPARSER"]).zone


def _page_args():
    f = Filters.from_args(request.args)
    after = Cursor.decode(request.args.get("after"))
    return f, after


@bp.route("/")
def grid():
    f, after = _page_args()
    rows, next_cursor = queries.page(f, household_zone(), after)
    tags = db.session.execute(select(Tag.name).order_by(Tag.name).limit(500)).scalars().all()
    return render_template(
        "review.html",
        f=f,
        rows=rows,
        next_cursor=next_cursor.encode() if next_cursor else None,
        first_page=after is None,
        tags=tags,
        dup_choices=queries.DUP_CHOICES,
        badges=queries.badges_html,
        confidences=queries.CONFIDENCES,
    )


@bp.route("/review/tiles")
def tiles():
    """The next page of tiles as HTML (the grid's JavaScript appends it)."""
    f, after = _page_args()
    rows, next_cursor = queries.page(f, household_zone(), after)
    response = current_app.make_response(render_template("_tiles.html", rows=rows, f=f, badges=queries.badges_html))
    response.headers["X-Next-Cursor"] = next_cursor.encode() if next_cursor else ""
    return response


@bp.route("/api/files/count")
def count():
    f = Filters.from_args(request.args)
    return jsonify({"count": queries.count(f, household_zone())})


@bp.route("/api/files")
def files_json():
    """A page of files as JSON (same filters and cursor as the grid)."""
    f, after = _page_args()
    rows, next_cursor = queries.page(f, household_zone(), after)
    return jsonify(
        {
            "files": [
                {
                    "id": r.id,
                    "name": r.original_name,
                    "folder": r.relative_dir,
                    "taken_local": r.taken_local,
                    "precision": r.taken_precision,
                    "confidence": r.confidence,
                    "needs_review": r.needs_review,
                    "kind": r.media_kind,
                    "group_id": r.group_id,
                    "thumb": f"/thumbs/{r.thumb_key}-s.jpg" if r.thumb_key else None,
                }
                for r in rows
            ],
            "next": next_cursor.encode() if next_cursor else None,
        }
    )


def load_file(file_id: int) -> File:
    file = db.session.execute(
        select(File).options(selectinload(File.tags), selectinload(File.group)).where(File.id == file_id)
    ).scalar()
    if file is None:
        abort(404)
    return file


@bp.route("/files/<int:file_id>")
def detail(file_id: int):
    file = load_file(file_id)
    f = Filters.from_args(request.args)
    zone = household_zone()
    prev_id, next_id = queries.neighbours(f, zone, file)
    job = db.session.get(Job, file.job_id) if file.job_id else None
    group_size = 0
    if file.group_id:
        group_size = len(db.session.execute(select(File.id).where(File.group_id == file.group_id)).all())
    return render_template(
        "detail.html",
        file=file,
        f=f,
        qs=f.query_string(),
        prev_id=prev_id,
        next_id=next_id,
        job=job,
        group_size=group_size,
        # instants in the page's one zone: the file's own offset, else the household's
        candidates=explain_clues(file.time_candidates, file.taken_source, file.time_decided, page_zone(file)),
        # why this confidence ("from <source>" is already said above them)
        notes=[readable_note(n) for n in file.time_notes or [] if not str(n).startswith("from ")],
        zone_name=str(zone),
    )


@bp.route("/thumbs/<path:name>")
def thumbnail(name: str):
    """Thumbnails by their content address: no database query, cached for a year."""
    return serving.send_thumbnail(current_app.config["MEDIAPARSER"].thumbnails_dir, name)


@bp.route("/files/<int:file_id>/original")
def original(file_id: int):
    """The file itself (videos play from here; photos open full size), only while it is still
    the regular file that was imported (app/web/serving.py). Read-only."""
    file = db.session.get(File, file_id)
    if file is None:
        abort(404)
    return serving.send_original(file, current_app.config["MEDIAPARSER"], download=request.args.get("download") == "1")
