"""Import a folder that is already on the server: browse the allowed tree, count, start.

Folders are addressed as (root number, path below the root). Every path is resolved
(`..`, symlinks) and checked against the configured import roots by the importer's own
`check_import_path` before anything is listed, counted or imported.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for

from ..pipeline import importer
from ..tasks import enqueue_job
from .security import ApiError, is_api_request

bp = Blueprint("folders", __name__)

# Counting is a quick estimate by file extension (the import itself checks every file's
# real type); it stops after COUNT_SECONDS so a huge tree never blocks the page.
MEDIA_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif", ".avif",
    ".dng", ".nef", ".cr2", ".cr3", ".arw", ".orf", ".rw2", ".pef", ".srw", ".raf",
    ".mp4", ".m4v", ".mov", ".3gp", ".avi", ".mkv", ".mts", ".m2ts", ".webm", ".wmv", ".mpg", ".mpeg",
}  # fmt: skip
COUNT_SECONDS = 3.0
MAX_LISTED = 2000


def _roots() -> tuple[Path, ...]:
    return current_app.config["MEDIAPARSER"].import_roots


def resolve(root_index: str | int | None, rel: str | None) -> tuple[int, Path, Path]:
    """(root number, root, folder) for a browser address; ApiError if not allowed."""
    roots = _roots()
    if not roots:
        raise ApiError(
            "No import folders are set up. Ask whoever runs MediaParser to set MEDIAPARSER_IMPORT_ROOTS.", 403
        )
    try:
        index = int(root_index or 0)
        root = roots[index]
    except (ValueError, IndexError, TypeError):  # TypeError: a list or object sent as the number
        raise ApiError("Unknown import folder.", 404) from None
    rel = (rel or "").strip().lstrip("/")
    try:
        folder, _ = importer.check_import_path(root / rel if rel else root, roots)
    except importer.ImportRefused as exc:
        raise ApiError(str(exc), 403 if "outside" in str(exc) else 404) from None
    if not (folder == root or folder.is_relative_to(root)):
        # a symlink from one root into another: address it from its own root
        for i, other in enumerate(roots):
            if folder == other or folder.is_relative_to(other):
                return i, other, folder
    return index, root, folder


def subfolders(folder: Path) -> list[str]:
    names = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir():
                        names.append(entry.name)
                except OSError:
                    continue
    except OSError as exc:
        raise ApiError(f"MediaParser cannot open this folder ({exc.strerror or exc}).", 403) from None
    return sorted(names, key=str.lower)[:MAX_LISTED]


def count_media(folder: Path, budget: float = COUNT_SECONDS) -> tuple[int, bool]:
    """(media files below `folder`, complete?) — stops when the time budget is spent."""
    deadline = time.monotonic() + budget
    total = 0
    for _dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        total += sum(
            1 for n in filenames if not n.startswith(".") and os.path.splitext(n)[1].lower() in MEDIA_EXTENSIONS
        )
        if time.monotonic() > deadline:
            return total, False
    return total, True


def _crumbs(index: int, root: Path, folder: Path) -> list[tuple[str, str]]:
    crumbs = [(str(root), "")]
    if folder != root:
        parts = folder.relative_to(root).parts
        for i, part in enumerate(parts):
            crumbs.append((part, "/".join(parts[: i + 1])))
    return crumbs


@bp.route("/import")
def page():
    roots = _roots()
    if not roots:
        return render_template("import.html", roots=(), folder=None)
    index, root, folder = resolve(request.args.get("root"), request.args.get("path"))
    rel = "" if folder == root else folder.relative_to(root).as_posix()
    return render_template(
        "import.html",
        roots=roots,
        index=index,
        root=root,
        folder=folder,
        rel=rel,
        crumbs=_crumbs(index, root, folder),
        children=subfolders(folder),
    )


@bp.route("/api/folders")
def list_json():
    index, root, folder = resolve(request.args.get("root"), request.args.get("path"))
    rel = "" if folder == root else folder.relative_to(root).as_posix()
    return jsonify(
        {
            "root": index,
            "path": rel,
            "folder": str(folder),
            "folders": [{"name": n, "path": f"{rel}/{n}" if rel else n} for n in subfolders(folder)],
        }
    )


@bp.route("/api/folders/count")
def count_json():
    _index, _root, folder = resolve(request.args.get("root"), request.args.get("path"))
    total, complete = count_media(folder)
    return jsonify({"folder": str(folder), "count": total, "complete": complete})


@bp.route("/import", methods=["POST"])
def start():
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data or {}
    _index, _root, folder = resolve(data.get("root"), data.get("path"))
    try:
        job = importer.start_folder_import(folder, _roots())
    except importer.ImportRefused as exc:
        raise ApiError(str(exc), 403) from None
    enqueue_job(job.id)
    if is_api_request() or request.is_json:
        return jsonify({"job_id": job.id, "job_url": url_for("jobs.detail_page", job_id=job.id)}), 201
    flash(f"Import of {folder} started.", "success")
    return redirect(url_for("jobs.detail_page", job_id=job.id))


@bp.route("/api/imports", methods=["POST"])
def start_json():
    return start()
