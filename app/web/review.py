"""Review grid (with the timeline bar and month headings), file detail, thumbnails and
originals."""

from __future__ import annotations

import math

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..media import geozone, orientation
from ..media.explain import explain_clues, readable_note
from ..models import File, Job, Tag, db
from ..pipeline import companions, settings_store, timeline
from ..pipeline.triage import REASONS
from . import previews, queries, serving
from .filters import local_time
from .pagezone import page_zone
from .queries import Cursor, Filters

bp = Blueprint("review", __name__)


def household_zone():
    return settings_store.effective(current_app.config["MEDIAPARSER"]).zone


def selected_ids(data: dict) -> list[int]:
    """The file ids a request's `selection` names (ids, or the filters of a whole view)."""
    return queries.resolve_selection(data.get("selection"), household_zone())


def _page_args():
    f = Filters.from_args(request.args)
    after = Cursor.decode(request.args.get("after"))
    return f, after


@bp.route("/photos")
def grid():
    f, after = _page_args()
    zone = household_zone()
    after = after or _jump(f, zone)
    rows, next_cursor = queries.page(f, zone, after)
    tags = db.session.execute(select(Tag.name).order_by(Tag.key).limit(500)).scalars().all()
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
        reasons=REASONS,
        month=request.args.get("month", ""),
    )


@bp.route("/api/timeline")
def timeline_json():
    """The timeline bar (the grid draws it after the tiles: the page never waits for it)."""
    months, spikes = timeline.months()
    return jsonify(
        {
            **timeline_bar(months),
            "spikes": [
                {"day": s.day, "files": s.files, "why": s.why, "label": local_time(s.day, "day")} for s in spikes
            ],
        }
    )


def timeline_bar(months: list[timeline.Month], labels: int = 8) -> dict:
    """The timeline bar's columns: height 0-10 (log scale, so one busy month does not flatten
    the rest), a year label on about `labels` of them, and a tooltip."""
    top = max((m.files for m in months), default=0)
    years = sorted({m.year for m in months})
    step = max(1, math.ceil(len(years) / labels))
    shown = set(years[::step])
    columns, seen = [], set()
    room = int(len(months) * 0.94)  # a label starting nearer the right edge would be cut off
    for i, m in enumerate(months):
        height = 0 if not m.files else max(1, math.ceil(10 * math.log1p(m.files) / math.log1p(top)))
        first = m.year not in seen
        seen.add(m.year)
        title = f"{m.label}: {m.files:,} {'file' if m.files == 1 else 'files'}" + (f" ({m.spike})" if m.spike else "")
        columns.append(
            {
                "month": m.month,
                "height": height,
                "spike": m.spike,
                "title": title,
                "year_label": m.year if first and m.year in shown and (i <= room or i == 0) else None,
            }
        )
    return {"months": columns}


def _jump(f: Filters, zone) -> Cursor | None:
    """?month=YYYY-MM: start the page at that month (the timeline bar's links)."""
    month = request.args.get("month", "")
    return queries.jump_cursor(month, f, zone) if month else None


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
    n, more = queries.count(f, household_zone())
    return jsonify({"count": n, "more": more})


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
                    "left_out": r.discarded,
                    "rotation": r.rotation,
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
        place=geozone.position(file.meta, (file.meta or {}).get("video")),
        reason=REASONS.get(file.review_reason or "other") if file.needs_review else None,
        companion_set=companions.set_of(file),
        role_labels=companions.ROLE_LABELS,
        only_small_preview=previews.only_small(current_app.config["MEDIAPARSER"], file),
    )


@bp.route("/thumbs/<path:name>")
def thumbnail(name: str):
    """Thumbnails by their content address, cached for a year; a detail preview not made yet
    is made now (app/web/previews.py), the only case that queries the database."""
    return previews.send(current_app.config["MEDIAPARSER"], name)


@bp.route("/files/<int:file_id>/turned.jpg")
def turned_preview(file_id: int):
    """The large preview turned the way a person turned the picture (the stored preview and
    the original stay as they are). The address names the turn, so it is cached per turn."""
    file = db.session.get(File, file_id)
    if file is None or not file.thumb_key or not file.rotation:
        abort(404)
    fh, _st = serving.open_regular(previews.large_path(current_app.config["MEDIAPARSER"], file.thumb_key))
    with fh:
        data = orientation.turn_jpeg(fh.read(), file.rotation)
    response = current_app.response_class(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/files/<int:file_id>/original")
def original(file_id: int):
    """The file itself (videos play from here; photos open full size), only while it is still
    the regular file that was imported (app/web/serving.py). Read-only."""
    file = db.session.get(File, file_id)
    if file is None:
        abort(404)
    return serving.send_original(file, current_app.config["MEDIAPARSER"], download=request.args.get("download") == "1")
