"""Commands for getting files in and looking at them: import, inspect, jobs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import database
from ..media import analyze as media
from ..models import FileStatus, Job, JobKind, JobStatus, db
from ..pipeline import importer, jobs
from . import json_text


def ensure_schema() -> None:
    """Commands that write can run on a fresh data folder: create or upgrade the database first."""
    database.upgrade(current_app)


def require_schema() -> None:
    """Commands that only read never create or upgrade the database: they say why they
    cannot read it instead (no library here yet, or one from an older MediaParser)."""
    problem = database.schema_problem(current_app)
    if problem:
        raise click.ClickException(problem)


def _progress_printer(stream):
    last = [0.0]

    def show(job: Job) -> None:
        now = time.monotonic()
        if now - last[0] >= 2 and stream.isatty():
            p = jobs.progress(job)
            stream.write(f"\r  {p['done']}/{p['total']} files, {p['errors']} errors ")
            stream.flush()
            last[0] = now

    return show


def run_and_report(job: Job, label: str) -> int:
    """Run a job in this process, then print what happened; exit status 1 if it failed."""
    started = time.monotonic()
    outcome = jobs.run(job.id, current_app.config["MEDIAPARSER"], on_progress=_progress_printer(sys.stderr))
    elapsed = time.monotonic() - started
    db.session.refresh(job)
    if outcome is None:
        click.echo(f"Job {job.id} is being run by another worker (status: {job.status}).", err=True)
        return 1
    click.echo(f"{label} job {job.id}: {job.status}")
    if job.kind == JobKind.IMPORT:
        for status, count in sorted(importer.summary(job).items()):
            click.echo(f"  {status:<10} {count}")
    click.echo(f"  {job.done} files in {elapsed:.1f} s ({job.done / elapsed if elapsed else 0:.1f} files/s)")
    if job.message:
        click.echo(f"  {job.message}")
    return 0 if job.status == JobStatus.COMPLETED else 1


@click.command("import")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--wait", is_flag=True, help="Run the import here and wait for it (no worker needed).")
@with_appcontext
def import_command(path: Path, wait: bool) -> None:
    """Import a folder of photos and videos (recursively)."""
    ensure_schema()
    try:
        # The command line is the server's own admin: any readable folder may be imported.
        job = importer.start_folder_import(path, roots=None)
    except importer.ImportRefused as exc:
        raise click.ClickException(str(exc)) from None
    if wait:
        sys.exit(run_and_report(job, "Import"))
    from ..tasks import enqueue_job

    enqueue_job(job.id)
    click.echo(f"Import job {job.id} queued; a worker will run it (see `flask --app app jobs`).")


@click.command("inspect")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@with_appcontext
def inspect_command(paths: tuple[Path, ...]) -> None:
    """Print what MediaParser reads from each media file, one JSON object per line.

    Nothing is written: no database, no thumbnails. Folder names on the file's whole path
    count as date evidence (a file in .../2019-06 Holiday/ is from June 2019), and a Google
    Takeout sidecar beside the file is read."""
    settings = current_app.config["MEDIAPARSER"]
    for given in paths:
        files = media.iter_media_paths(given) if given.is_dir() else [given]
        for path in files:
            path = path.absolute()
            result = media.analyze(path, zone=settings.zone, relative_dir=path.parent.as_posix())
            if result.status == FileStatus.SKIPPED and result.mime is None and given.is_dir():
                continue  # not a media file: nothing to say
            click.echo(json_text(result.inspect_record()))


@click.command("jobs")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per job.")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def jobs_command(as_json: bool, limit: int) -> None:
    """List jobs with their state and progress."""
    require_schema()
    rows = db.session.execute(select(Job).order_by(Job.id.desc()).limit(limit)).scalars().all()
    if not rows and not as_json:
        click.echo("No jobs yet.")
    for job in rows:
        p = jobs.progress(job)
        if as_json:
            click.echo(json.dumps(p))
            continue
        rate = f"{p['rate']:.1f}/s" if p["rate"] else "-"
        eta = f"eta {p['eta_seconds']}s" if p["eta_seconds"] is not None else ""
        click.echo(
            f"{job.id:>5}  {job.kind:<10} {job.status:<10} {p['done']:>6}/{p['total']:<6} "
            f"errors {p['errors']:<4} {rate:>8} {eta}"
        )


COMMANDS = [import_command, inspect_command, jobs_command]
