"""`flask set-date PATH WHEN`: set a file's capture date from a script, as the date box on a
file's page does (the same parsing, the same zone rules, the same decision log and undo)."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from ..models import File, db
from ..pipeline import settings_store, timefix
from ..vocab import FileSource
from ..wording import format_offset
from . import json_text
from .library import ensure_schema


def find_files(path: str) -> list[File]:
    """The files PATH names: an original's path as imported (as given, or resolved), or an
    uploaded file's name (or its folder/name as the browser sent it)."""
    candidates = {path, os.path.abspath(path), os.path.realpath(path)}
    head, _, name = path.replace("\\", "/").rpartition("/")
    query = select(File).where(
        or_(
            File.path.in_(sorted(candidates)),
            (File.source == str(FileSource.UPLOAD)) & (File.original_name == name) & (File.relative_dir == head),
        )
    )
    return list(db.session.execute(query.order_by(File.id)).scalars())


def _one_picture(path: str, found: list[File]) -> list[int]:
    """The ids to set: every row of one picture (the same bytes imported more than once);
    several different pictures under that name are refused."""
    if not found:
        raise click.ClickException(
            f"No file in the library is called {path!r}. Give the original's path as it was imported, "
            "or an uploaded file's name (see `flask --app app jobs`)."
        )
    if len({f.sha256 for f in found}) > 1:
        listed = "; ".join(f"--file-id {f.id}: {f.display_path}" for f in found[:10])
        raise click.ClickException(f"{len(found)} different files match {path!r}; choose one with {listed}")
    return [f.id for f in found]


@click.command("set-date")
@click.argument("args", nargs=-1, metavar="PATH WHEN")
@click.option("--file-id", "file_id", type=int, help="The file's number instead of PATH (then only WHEN).")
@with_appcontext
def set_date_command(args: tuple[str, ...], file_id: int | None) -> None:
    """Set the date a file was taken. PATH is the original's path as imported (or an uploaded
    file's name); WHEN is anything the date box accepts ("4 July 2015 10:00", "2015-07",
    "15.06.2019", "2015-07-04 10:00 +02:00"). Prints one JSON line: the new date, its offset
    and confidence. Undo it on the file's page or with its batch id."""
    if len(args) != (1 if file_id is not None else 2):
        raise click.UsageError("Give the file's PATH and WHEN (or --file-id N and WHEN).")
    ensure_schema()
    zone = settings_store.effective(current_app.config["MEDIAPARSER"]).zone
    when = args[-1]
    if file_id is not None:
        if db.session.get(File, file_id) is None:
            raise click.ClickException(f"There is no file number {file_id}.")
        ids = [file_id]
    else:
        ids = _one_picture(args[0], find_files(args[0]))
    try:
        local, precision, offset = timefix.parse_typed_time(when, zone)
        batch = timefix.set_time(ids, local, precision, offset, zone=zone)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    f = db.session.get(File, ids[0])
    date = f.taken_local + (format_offset(f.taken_offset) if f.taken_offset is not None else "")
    click.echo(
        json_text(
            {
                "file_ids": ids,
                "path": f.path if f.source == FileSource.FOLDER else f.display_path,
                "date": date,
                "local": f.taken_local,
                "offset": format_offset(f.taken_offset) if f.taken_offset is not None else None,
                "offset_minutes": f.taken_offset,
                "precision": f.taken_precision,
                "utc": f.taken_at.isoformat() if f.taken_at else None,
                "confidence": f.confidence,
                "source": f.taken_source,
                "batch": batch,
            }
        )
    )
    sys.stdout.flush()


COMMANDS = [set_date_command]
