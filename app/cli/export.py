"""Commands for the archive: export (with a dry run and an optional clean-up) and restore."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..models import Job, db
from ..pipeline import export_checks, export_plan, exporter, jobs, settings_store, trash
from ..vocab import JobStatus
from ..wording import size_text
from . import json_text
from .library import _progress_printer, ensure_schema

METHOD_LABELS = {
    "embed": "JPEG with date and tags written in",
    "sidecar": "with an XMP sidecar",
    "copy": "plain copy",
}


def print_plan(plan: export_plan.Plan, listing: bool) -> None:
    summary = plan.summary()
    counts = summary["counts"]
    click.echo(f"Dry run — nothing is written. Archive: {plan.output}")
    click.echo(f"  in step  {plan.in_step()}")
    methods = ", ".join(f"{n} {METHOD_LABELS.get(m, m)}" for m, n in sorted(summary["methods"].items()))
    click.echo(f"  write    {size_text(plan.bytes_needed)}" + (f" ({methods})" if methods else ""))
    if summary["undated"]:
        click.echo(f"           {summary['undated']} without a real date go to {plan.output / 'undated'} (own names)")
    for rename in summary["renames"] if not listing else [f.renamed for f in plan.files if f.renamed]:
        click.echo(f"  rename   {rename}")
    for reason, label in export_plan.SKIP_REASONS.items():
        if counts.get(reason):
            click.echo(f"  skip     {counts[reason]} {label}")
    space = "enough" if plan.enough_space else "NOT ENOUGH"
    click.echo(f"  space    needs {size_text(plan.bytes_needed)}, {size_text(plan.bytes_free)} free: {space}")
    for warning in plan.warnings:
        click.echo(f"  warning  {warning}")
    for conflict in plan.conflicts if listing else plan.conflicts[:10]:
        click.echo(f"  conflict {conflict}")
    if not listing and len(plan.conflicts) > 10:
        click.echo(f"           ... and {len(plan.conflicts) - 10} more (--list shows all)")
    if listing:
        for f in plan.files:
            if f.action in ("export", "update"):
                extra = f" (+ {f.sidecar.rsplit('/', 1)[-1]})" if f.sidecar else ""
                how = f"  [update: {', '.join(f.changes)}]" if f.action == "update" else ""
                click.echo(f"  {f.target}{extra}  <-  {f.display}{how}")
            elif f.action == "retire":
                click.echo(f"  retire {f.target} ({f.display}): to the archive's trash")
            else:
                click.echo(f"  skip {f.display}: {f.message}")


def print_result(job: Job) -> None:
    counts = exporter.result_counts(job)
    click.echo(f"Export job {job.id}: {job.status}")
    click.echo(f"  exported          {counts.get('exported', 0)}")
    for key, label in (("updated", "updated"), ("retired", "retired (to the archive's trash)")):
        if counts.get(key):
            click.echo(f"  {label:<17} {counts[key]}")
    for method, label in METHOD_LABELS.items():
        if counts.get(f"method_{method}"):
            click.echo(f"    {label:<36} {counts[f'method_{method}']}")
    for reason, label in export_plan.SKIP_REASONS.items():
        if counts.get(reason):
            click.echo(f"  {label:<42} {counts[reason]}")
    if counts.get("errors"):
        click.echo(f"  could not be exported             {counts['errors']}")
    if job.params.get("cleanup"):
        moved = trash.cleanup_counts(job.id)
        click.echo(f"  clean-up: {moved['moved']} originals moved to the trash, {moved['left']} left in place")
    if job.message:
        click.echo(f"  {job.message}")


@click.command("export")
@click.argument("output", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be written where, and why files are skipped.")
@click.option("--wait", is_flag=True, help="Run the export here and wait for it (no worker needed).")
@click.option("--cleanup", is_flag=True, help="Afterwards, move exported originals to a trash folder (restorable).")
@click.option("--list", "listing", is_flag=True, help="With --dry-run: list every file.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: the plan as JSON.")
@with_appcontext
def export_command(output: Path | None, dry_run: bool, wait: bool, cleanup: bool, listing: bool, as_json: bool) -> None:
    """Export the library into a dated archive (OUTPUT: default the export folder of the
    settings page, else MEDIAPARSER_OUTPUT_DIR)."""
    ensure_schema()
    settings = current_app.config["MEDIAPARSER"]
    target = output or settings_store.effective(settings).output_dir  # the settings page may have changed it
    try:
        if dry_run:
            plan = export_plan.dry_run(target, settings)
            if as_json:
                click.echo(json_text({**plan.summary(), "files": [asdict(f) for f in plan.files]}))
            else:
                print_plan(plan, listing)
            sys.exit(0 if plan.enough_space or not plan.to_export else 1)
        job = exporter.start_export(target, settings, cleanup=cleanup)
    except exporter.ExportRefused as exc:
        raise click.ClickException(str(exc)) from None
    if not wait:
        from ..tasks import enqueue_job

        enqueue_job(job.id)
        click.echo(f"Export job {job.id} queued; a worker will run it (see `flask --app app jobs`).")
        return
    outcome = jobs.run(job.id, on_progress=_progress_printer(sys.stderr))
    db.session.refresh(job)
    if outcome is None:
        raise click.ClickException(f"Job {job.id} is being run by another worker (status: {job.status}).")
    print_result(job)
    sys.exit(0 if job.status == JobStatus.COMPLETED else 1)


@click.command("export-restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    """Move originals a clean-up put in the trash back where they were.

    PATH is the archive (every clean-up it made), an import folder, or one trash folder."""
    try:
        report = trash.restore(path)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {len(report['restored'])} files; {len(report['already_back'])} were already back.")
    for line in report["left"]:
        click.echo(f"  left: {line}")
    sys.exit(1 if report["left"] else 0)


@click.command("export-folder")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def folder_command(path: Path | None) -> None:
    """Set the export folder (as the settings page does, but any folder the server's admin
    chooses), after the same checks; without PATH, show it and whether it can be used."""
    ensure_schema()
    settings = current_app.config["MEDIAPARSER"]
    if path is None:
        current = settings_store.effective(settings).output_dir
        problem = export_checks.refusal(current, settings)
        click.echo(f"Export folder: {current}" + (f"\n  cannot be used: {problem}" if problem else ""))
        sys.exit(1 if problem else 0)
    try:
        folder = settings_store.clean({"output_dir": str(path)})["output_dir"]
        export_plan.check_output(folder, settings)
        settings_store.save({"output_dir": folder})
    except (settings_store.SettingError, export_plan.ExportRefused) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Export folder set: {folder}")


COMMANDS = [export_command, restore_command, folder_command]
