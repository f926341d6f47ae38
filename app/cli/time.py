"""Commands about capture times: re-run detection."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..models import db
from ..pipeline import reprocess
from .library import ensure_schema, run_and_report


@click.command("redetect")
@click.option("--all", "everything", is_flag=True, help="Re-detect the capture time of every file.")
@click.option("--file-id", "file_ids", type=int, multiple=True, help="A file to re-detect (repeatable).")
@click.option("--wait", is_flag=True, help="Run the job here and wait for it (no worker needed).")
@with_appcontext
def redetect_command(everything: bool, file_ids: tuple[int, ...], wait: bool) -> None:
    """Re-run capture-time detection (after an upgrade) on chosen files or all of them.

    Times a person set, shifted, chose or confirmed are never changed."""
    if everything == bool(file_ids):
        raise click.UsageError("Give either --all or one or more --file-id N.")
    ensure_schema()
    try:
        job = reprocess.start(list(file_ids), everything=everything)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if wait:
        status = run_and_report(job, "Re-detection")
        db.session.refresh(job)
        counts = reprocess.summary(job)
        click.echo(
            f"  {counts.get('done', 0)} re-detected, {counts['changed']} changed, "
            f"{counts.get('error', 0)} errors, {counts.get('skipped', 0)} skipped"
        )
        sys.exit(status)
    from ..tasks import enqueue_job

    enqueue_job(job.id)
    click.echo(f"Re-detection job {job.id} queued; a worker will run it (see `flask --app app jobs`).")


COMMANDS = [redetect_command]
