"""Duplicates: one group at a time, side by side; keep this / keep selected / keep all /
undo; accept every recommendation after seeing the count. The decisions themselves are
app/pipeline/duplicate_review.py's; this module shows groups and passes the choices on."""

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
    "similar": (
        (GroupKind.SIMILAR,),
        "Similar shots",
        "Different shots of one moment (bursts, retakes). Keep the best, or keep them all.",
    ),
}
KIND_TEXT = {
    GroupKind.EXACT: "Exact copies: the files are identical, byte for byte.",
    GroupKind.NEAR: "The same picture, saved differently (smaller, re-compressed or another format).",
    GroupKind.SIMILAR: "Shots of the same moment that look very much alike.",
}


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except review.DecisionError as exc:
        raise ApiError(str(exc)) from None


def _queue() -> str:
    queue = request.values.get("queue", "copies")
    if queue not in QUEUES:
        raise ApiError("Unknown queue: use copies or similar.", 404)
    return queue


def _counts() -> dict[str, int]:
    raw = review.open_group_counts()
    counts = {str(k): int(raw.get(k, 0) or 0) for k in GroupKind}
    counts["copies"] = sum(counts[k] for k in COPY_KINDS)
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


@bp.route("/duplicates")
def page():
    queue = _queue()
    kinds, title, blurb = QUEUES[queue]
    counts = _counts()
    wanted = request.args.get("group", type=int)
    group = db.session.get(DuplicateGroup, wanted) if wanted else None
    if wanted and group is None:
        abort(404)
    if group is None:
        view = review.next_open_group(kinds)
        group = db.session.get(DuplicateGroup, view["id"]) if view else None
    files = _members(group.id) if group else []
    return render_template(
        "duplicates.html",
        queue=queue,
        queues=QUEUES,
        title=title,
        blurb=blurb,
        counts=counts,
        group=group,
        files=files,
        best=_best(files),
        kind_text=KIND_TEXT,
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
        raise ApiError("Kind must be exact, near or similar.")
    return kind


@bp.route("/duplicates/accept-all")
def accept_all_page():
    """Step one: how many groups would be decided, before anything happens."""
    kind = _accept_kind()
    count = _call(review.accept_all_recommendations, kind=kind, dry_run=True)
    return render_template("accept_all.html", kind=kind, count=count, kind_text=KIND_TEXT)


@bp.route("/duplicates/accept-all", methods=["POST"])
def accept_all():
    kind = _accept_kind()
    expected = request.form.get("expected", type=int)
    count = _call(review.accept_all_recommendations, kind=kind, dry_run=True)
    if expected is not None and expected != count:
        flash(f"The number of groups changed ({expected} → {count}). Check again before accepting.", "error")
        return redirect(url_for("dupes.accept_all_page", kind=kind))
    batch = str(uuid.uuid4())  # one batch for all of them: a single undo reverts it
    done = _call(review.accept_all_recommendations, kind=kind, dry_run=False, batch=batch)
    if done:
        session["dup_undo"] = {"batch": str(batch), "queue": _queue_of(kind)}
    flash(f"Accepted the recommendation for {plural(done, 'group')}. Nothing was deleted.", "success")
    return redirect(url_for("dupes.page", queue=_queue_of(kind)))


def _queue_of(kind: str) -> str:
    """The review queue that shows groups of `kind`."""
    return next(queue for queue, (kinds, _, _) in QUEUES.items() if kind in kinds)


@bp.route("/api/duplicates/counts")
def counts_json():
    return jsonify(_counts())
