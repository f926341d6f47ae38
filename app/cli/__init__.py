"""`flask --app app ...` commands. Each area keeps its commands in its own module."""

from __future__ import annotations

import json
import re

from flask import Flask

_UNDECODABLE = re.compile("[\ud800-\udfff]")


def json_text(value, **options) -> str:
    """JSON for other tools to read, valid UTF-8 even where a file name is not: the name's
    undecodable bytes (surrogate escapes) are written as \\udcXX escapes, which `json.loads`
    turns back into the same string, and `os.fsencode` into the exact bytes."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _UNDECODABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def init_app(app: Flask) -> None:
    from . import dates, duplicates, export, library, time

    for command in [*library.COMMANDS, *time.COMMANDS, *dates.COMMANDS, *duplicates.COMMANDS, *export.COMMANDS]:
        app.cli.add_command(command)
