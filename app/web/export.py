"""Export entry point. The export feature replaces this module with its own page."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("export", __name__)


@bp.route("/export")
def page():
    return render_template("export.html")
