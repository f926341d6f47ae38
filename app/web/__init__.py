"""Web pages and JSON API (blueprints).

`init_app` wires the safety layer every page and API shares (household password, CSRF,
security headers, errors that people and scripts can read) and registers the blueprints.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jinja2
from flask import Flask

HERE = Path(__file__).resolve().parent


def init_app(app: Flask) -> None:
    from . import (
        dupes,
        export,
        fileactions,
        folders,
        home,
        jobs_pages,
        review,
        security,
        settings_page,
        tags,
        timeactions,
        triage,
        upload,
    )
    from .filters import register_filters

    # Templates and static files live beside the blueprints (app/web/), not in app/.
    app.jinja_loader = jinja2.FileSystemLoader(str(HERE / "templates"))
    app.jinja_env.finalize = _printable
    app.static_folder = str(HERE / "static")
    if "static" not in app.view_functions:
        app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=app.send_static_file)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # Strict would sign people out when they follow a link in
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        # A page left open for hours (a long upload) must still be allowed to send.
        WTF_CSRF_TIME_LIMIT=None,
    )
    security.init_app(app)  # password gate first, then CSRF, headers, error pages
    for module in (home, review, triage, upload, folders, jobs_pages, timeactions, fileactions, dupes, tags) + (
        settings_page,
        export,
    ):
        app.register_blueprint(module.bp)
    register_filters(app)


def _printable(value):
    """Every value a page shows: a file name's undecodable bytes would make the page fail."""
    if isinstance(value, str) and not value.isascii():
        from markupsafe import Markup

        from ..wording import printable_text

        fixed = printable_text(value)
        if fixed != value:
            return Markup(fixed) if isinstance(value, Markup) else fixed
    return value
