"""`flask --app app ...` commands. Each area keeps its commands in its own module."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import duplicates, library

    for command in (*library.COMMANDS, *duplicates.COMMANDS):
        app.cli.add_command(command)
