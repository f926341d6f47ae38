"""MediaParser: turn a family's photos and videos into a clean, correctly dated archive."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from .config import Settings


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    """Build the web app. `settings` defaults to the environment; tests pass their own."""
    from .factory import build_app

    return build_app(settings, **overrides)
