"""Review grid, file detail, thumbnails and originals."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import File, Job, Tag, db
from ..pipeline import settings_store
from . import queries, serving
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
        candidates=explain_candidates(file, zone),
        # why this confidence ("from <source>" is already said above them)
        notes=[n for n in file.time_notes or [] if not str(n).startswith("from ")],
        zone_name=str(zone),
    )


def explain_candidates(file: File, zone) -> list[dict]:
    """Every timestamp candidate with why it won or lost, for people.

    Values that are instants (file dates, GPS, video containers) are shown in the household
    zone; camera values keep the wall clock the camera recorded."""
    chosen = file.taken_source
    parsed = [(c, _parse_candidate(c.get("timestamp"))) for c in file.time_candidates or []]
    best = next((dt for c, dt in parsed if c.get("source") == chosen and not c.get("rejected") and dt), None)
    won_done = False
    out = []
    for c, dt in parsed:
        source, rejected = c.get("source"), c.get("rejected")
        shown = dt
        if dt is not None and dt.tzinfo is not None and not (source or "").startswith("exif:"):
            shown = dt.astimezone(zone)
        if rejected:
            note = f" (it says “{c['note']}”)" if c.get("note") else ""
            why, state = f"Not used: {rejected}{note}", "rejected"
        elif source == chosen and dt == best and not won_done:
            won_done = True
            why = "Chosen by you" if file.time_decided else "Chosen: the most trustworthy clue this file has"
            state = "won"
        elif best is None and file.time_decided:
            why, state = "Not used: you set the date yourself", "lost"
        else:
            why, state = _why_lost(dt, best, chosen, zone), "lost"
        out.append(
            {
                "source": source,
                "value": shown.replace(tzinfo=None).isoformat() if shown else None,
                "offset": int(shown.utcoffset().total_seconds() // 60) if shown and shown.tzinfo else None,
                "precision": c.get("precision"),
                "why": why,
                "state": state,
                "usable": not rejected,
            }
        )
    order = {"won": 0, "lost": 1, "rejected": 2}
    out.sort(key=lambda c: order[c["state"]])
    return out


def _parse_candidate(value: str | None):
    from datetime import datetime

    try:
        dt = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return dt if dt and dt.year > 1 else None


def _why_lost(dt, best, chosen: str | None, zone) -> str:
    from .filters import source_label

    if dt is None:
        return "Not used"
    if best is None or not chosen:
        return "Not used"
    # a wall clock without a zone is read in the household zone
    a = dt if dt.tzinfo else dt.replace(tzinfo=zone)
    b = best if best.tzinfo else best.replace(tzinfo=zone)
    diff = (a - b).total_seconds()
    if abs(diff) <= 2:
        return "Agrees with the chosen time"
    minutes = int(abs(diff) // 60)
    if minutes >= 2 * 365 * 24 * 60:
        gap = f"about {minutes / (365.25 * 24 * 60):.0f} years"
    elif minutes >= 2 * 24 * 60:
        gap = f"{minutes // (24 * 60)} days"
    elif minutes >= 60:
        gap = f"{minutes // 60} h {minutes % 60} min"
    else:
        gap = f"{minutes} min" if minutes else f"{int(abs(diff))} s"
    direction = "later" if diff > 0 else "earlier"
    return f"Less trustworthy than “{source_label(chosen)}”; says {gap} {direction}"


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
