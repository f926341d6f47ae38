"""MediaParser: turn a family's photos and videos into a clean, correctly dated archive."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from .config import Settings


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    """Build the web app from `settings` (run.py, worker.py and tests pass theirs).

    Without settings this is what `flask --app app ...` calls, so it is the command line's
    entry point: the environment is read (with `overrides`) and the process is set up here."""
    from .factory import build_app

    if settings is None:
        from . import process_setup
        from .config import Settings

        settings = Settings.from_env(**overrides)
        process_setup.configure(settings)
    return build_app(settings)
