"""Duplicates: one group at a time ("group x of y", skip), side by side and at 100 %; keep
this / keep selected / keep all / undo; accept every suggestion of a kind after seeing each
group it would settle. The decisions themselves are app/pipeline/duplicate_review.py's; this
module shows groups and passes the choices on."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import DuplicateGroup, File, db
from ..pipeline import decisions
from ..pipeline import duplicate_review as review
from ..vocab import COPY_KINDS, GroupKind
from ..wording import plural
from .security import ApiError

bp = Blueprint("dupes", __name__)

QUEUES = {
    "copies": (
        COPY_KINDS,
        "Copies",
        "The same picture more than once: resized, converted or sent through a messaging app.",
    ),
    "versions": (
        (GroupKind.VERSION,),
        "Versions",
        "The same picture edited: turned, mirrored, stretched, made black-and-white or straightened. "
        "Keep the original, or keep them all.",
    ),
    "similar": (
        (GroupKind.SIMILAR,),
        "Similar shots",
        "Different shots of one moment (bursts, retakes). Keep the best, or keep them all.",
    ),
}
KIND_TEXT = {
    GroupKind.EXACT: "Exact copies: the files are identical, byte for byte.",
    GroupKind.NEAR: "The same picture, saved differently (smaller, re-compressed or another format).",
    GroupKind.VERSION: "The same picture, edited: what differs from the suggested one is written under each.",
    GroupKind.SIMILAR: "Shots of the same moment that look very much alike.",
}
ACCEPT_NAMES = {"exact": "exact-copy", "near": "near-copy", "version": "version", "similar": "similar-shot"}
# Pictures a browser shows itself; the others are compared on their large preview.
SHOWN_AS_IS = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp"}


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except review.DecisionError as exc:
        raise ApiError(str(exc)) from None


def _queue() -> str:
    queue = request.values.get("queue", "copies")
    if queue not in QUEUES:
        raise ApiError("Unknown queue: use copies, versions or similar.", 404)
    return queue


def _counts() -> dict[str, int]:
    raw = review.open_group_counts()
    counts = {str(k): int(raw.get(k, 0) or 0) for k in GroupKind}
    for queue, (kinds, _, _) in QUEUES.items():
        counts[queue] = sum(counts[k] for k in kinds)
    return counts


def _members(group_id: int) -> list[File]:
    return list(
        db.session.execute(
            select(File).options(selectinload(File.tags)).where(File.group_id == group_id).order_by(File.id)
        ).scalars()
    )


def _best(files: list[File]) -> dict[str, int]:
    """Which file has the most pixels, the biggest file: marked on the page, only when one
    file really stands out (equal copies mark nothing)."""
    best: dict[str, int] = {}
    for label, value in (("pixels", lambda f: (f.width or 0) * (f.height or 0)), ("size", lambda f: f.size or 0)):
        ranked = sorted(files, key=value, reverse=True)
        if len(ranked) > 1 and value(ranked[0]) > value(ranked[1]):
            best[label] = ranked[0].id
    return best


def _chosen_group(kinds) -> DuplicateGroup | None:
    """The group asked for (?group=), the next open one after a skipped one (?after=, from
    the start again after the last), or the first open one."""
    wanted = request.args.get("group", type=int)
    if wanted:
        group = db.session.get(DuplicateGroup, wanted)
        if group is None:
            abort(404)
        return group
    after = request.args.get("after", type=int)
    view = (review.next_open_group(kinds, after_id=after) if after else None) or review.next_open_group(kinds)
    return db.session.get(DuplicateGroup, view["id"]) if view else None


def _zoom_source(f: File) -> str | None:
    """What the side-by-side view shows at 100 %: the original when a browser can show it."""
    if f.media_kind == "image" and (f.mime or "") in SHOWN_AS_IS:
        return url_for("review.original", file_id=f.id)
    return url_for("review.thumbnail", name=f.thumb_key + "-l.jpg") if f.thumb_key else None


@bp.route("/duplicates")
def page():
    queue = _queue()
    group = _chosen_group(QUEUES[queue][0])
    if group is not None and group.kind not in QUEUES[queue][0]:
        queue = _queue_of(group.kind)  # a group asked for by its id: its own queue's tab
    kinds, title, blurb = QUEUES[queue]
    files = _members(group.id) if group else []
    view = review.group_view(group.id) if group else None
    differences = {f["id"]: f["differences"] for f in view["files"]} if view else {}
    position = review.queue_position(kinds, group.id) if group else (0, 0)
    return render_template(
        "duplicates.html",
        queue=queue,
        queues=QUEUES,
        title=title,
        blurb=blurb,
        counts=_counts(),
        group=group,
        files=files,
        differences=differences,
        zoom={f.id: _zoom_source(f) for f in files},
        position=position,
        best=_best(files),
        kind_text=KIND_TEXT,
        accept_names=ACCEPT_NAMES,
        plural=plural,
        last_batch=session.get("dup_undo"),
    )


def _finish(queue: str, message: str, batch, group_id: int | None = None):
    if batch:
        session["dup_undo"] = {"batch": str(batch), "queue": queue, "group": group_id}
    if request.is_json:
        return jsonify({"message": message, "batch": batch})
    flash(message, "success")
    return redirect(url_for("dupes.page", queue=queue))


def _group_from_form() -> DuplicateGroup:
    gid = request.values.get("group", type=int)
    group = db.session.get(DuplicateGroup, gid) if gid else None
    if group is None:
        raise ApiError("That duplicate group no longer exists.", 404)
    return group


def _ids(values: list[str]) -> list[int]:
    try:
        return sorted({int(v) for v in values})
    except ValueError:
        raise ApiError("File ids must be numbers.") from None


@bp.route("/duplicates/keep", methods=["POST"])
def keep():
    queue = _queue()
    group = _group_from_form()
    only = request.form.get("only")  # "Keep only this one"
    ids = _ids([only] if only else request.form.getlist("keep"))
    if not ids:
        raise ApiError("Choose at least one file to keep. To keep them all, use “Keep all”.")
    members = {f.id for f in _members(group.id)}
    if not set(ids) <= members:
        raise ApiError("Those files are not in this group. Reload the page.", 409)
    batch = _call(review.keep, group.id, ids)
    removed = len(members) - len(ids)
    return _finish(
        queue, f"Kept {plural(len(ids), 'file')}; {removed} set aside (nothing was deleted).", batch, group.id
    )


@bp.route("/duplicates/keep-all", methods=["POST"])
def keep_all():
    queue = _queue()
    group = _group_from_form()
    batch = _call(review.not_duplicates, group.id)
    return _finish(queue, "Kept them all: they are marked as not duplicates.", batch, group.id)


@bp.route("/duplicates/undo", methods=["POST"])
def undo():
    last = session.get("dup_undo") or {}
    batch = request.form.get("batch") or last.get("batch")
    if not batch:
        raise ApiError("There is nothing to undo.")
    grouped = any(d.group_id is not None for d in decisions.batch_rows(batch))
    count = _call(review.undo, batch)  # any action's batch: the one undo (pipeline/decisions.py)
    session.pop("dup_undo", None)
    queue = last.get("queue", "copies") if last.get("queue") in QUEUES else "copies"
    flash("Undone: the group is back as it was." if grouped else f"Undone ({plural(count, 'change')}).", "success")
    if last.get("group"):
        return redirect(url_for("dupes.page", queue=queue, group=last["group"]))
    return redirect(url_for("dupes.page", queue=queue))


def _accept_kind() -> str:
    kind = request.values.get("kind", GroupKind.EXACT)
    if kind not in review.KINDS:
        raise ApiError("Kind must be exact, near, version or similar.")
    return kind


@bp.route("/duplicates/accept-all")
def accept_all_page():
    """Step one: what would be decided, group by group, before anything happens."""
    kind = _accept_kind()
    preview = _call(review.recommendation_preview, kind)
    count = _call(review.accept_all_recommendations, kind=kind, dry_run=True)
    return render_template(
        "accept_all.html",
        kind=kind,
        count=count,
        preview=preview,
        kind_text=KIND_TEXT,
        queue=_queue_of(kind),
        plural=plural,
    )


@bp.route("/duplicates/accept-all", methods=["POST"])
def accept_all():
    """Step two: exactly the groups the preview showed (a group that arrived since waits).
    Copies (the same picture) may also be accepted by their count alone; versions and
    similar shots never without the preview."""
    kind = _accept_kind()
    shown = _ids(request.form.getlist("groups")) or None
    if shown is None and kind not in COPY_KINDS:
        flash("Look at the suggestions first: nothing was accepted.", "error")
        return redirect(url_for("dupes.accept_all_page", kind=kind))
    expected = request.form.get("expected", type=int)
    count = _call(review.accept_all_recommendations, kind=kind, dry_run=True, group_ids=shown)
    if expected is not None and expected != count:
        flash(f"The number of groups changed ({expected} → {count}). Check again before accepting.", "error")
        return redirect(url_for("dupes.accept_all_page", kind=kind))
    batch = str(uuid.uuid4())  # one batch for all of them: a single undo reverts it
    done = _call(review.accept_all_recommendations, kind=kind, dry_run=False, batch=batch, group_ids=shown)
    if done:
        session["dup_undo"] = {"batch": str(batch), "queue": _queue_of(kind)}
    flash(f"Accepted the suggestion for {plural(done, 'group')}. Nothing was deleted.", "success")
    return redirect(url_for("dupes.page", queue=_queue_of(kind)))


def _queue_of(kind: str) -> str:
    """The review queue that shows groups of `kind`."""
    return next(queue for queue, (kinds, _, _) in QUEUES.items() if kind in kinds)


@bp.route("/api/duplicates/counts")
def counts_json():
    return jsonify(_counts())
