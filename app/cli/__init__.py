"""`flask --app app ...` commands. Each area keeps its commands in its own module."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import dates, duplicates, export, library, time

    for command in [*library.COMMANDS, *time.COMMANDS, *dates.COMMANDS, *duplicates.COMMANDS, *export.COMMANDS]:
        app.cli.add_command(command)
