"""`flask --app app duplicates`: the duplicate groups the library holds (a stable interface).

    flask --app app duplicates --json
    {"groups": [{"kind": "exact" | "near" | "version" | "similar", "files": [paths],
                 "recommended": path, "distance": largest distance in the group,
                 "differences": [[words], ...]}]}

"differences" has one list per file, in the order of "files": for a version group, what
differs in that file from the recommended one ("turned 90° right", "mirrored",
"black-and-white", "stretched 4:3 → 16:9"); empty for the recommended file, for plain copies
and in the other kinds of group.

Paths are `File.path`: the original's absolute path for folder imports, the stored copy for
uploads. Groups people dismissed ("not duplicates") are left out; `--open` lists only the
groups nobody has decided yet.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..pipeline import duplicate_review as review
from ..pipeline import duplicates
from ..vocab import LIVE_GROUP_STATES, GroupKind, GroupStatus
from ..wording import plural
from . import json_text
from .library import ensure_schema, require_schema


@click.command("duplicates")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON (for other tools).")
@click.option("--open", "only_open", is_flag=True, help="Only groups nobody has decided yet.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice([kind.value for kind in GroupKind]),  # the values: click matches enum members by name
    help="Only groups of this kind (repeatable).",
)
@click.option("--rescan", is_flag=True, help="Compare every file in the library again first.")
@with_appcontext
def duplicates_command(as_json: bool, only_open: bool, kinds: tuple[str, ...], rescan: bool) -> None:
    """List duplicate groups: exact copies, near duplicates, versions and similar shots."""
    ensure_schema() if rescan else require_schema()  # only a re-scan writes
    if rescan:
        report = duplicates.scan_library(current_app.config["MEDIAPARSER"])
        if not as_json:
            click.echo(f"Re-scanned: {report}")
    statuses = (GroupStatus.OPEN,) if only_open else LIVE_GROUP_STATES
    groups = review.list_groups(kinds=kinds or review.KINDS, statuses=statuses)
    if as_json:
        click.echo(json_text({"groups": [_json_group(g) for g in groups]}, indent=2))
    elif not groups:
        click.echo("No duplicate groups.")
    else:
        _print_groups(groups)


def _json_group(g: dict) -> dict:
    return {
        "kind": g["kind"],
        "files": [f["path"] for f in g["files"]],
        "recommended": g["recommended_path"],
        "distance": g["max_distance"],
        "differences": [f["differences"] for f in g["files"]],
    }


def _print_groups(groups: list[dict]) -> None:
    counts = review.open_group_counts()
    click.echo(
        f"{plural(len(groups), 'group')} ({counts[GroupKind.EXACT]} exact, {counts[GroupKind.NEAR]} near, "
        f"{counts[GroupKind.VERSION]} version, {counts[GroupKind.SIMILAR]} similar still open)"
    )
    for g in groups:
        click.echo("")
        click.echo(
            f"Group {g['id']} · {g['kind']} · {g['status']} · {plural(len(g['files']), 'file')} · "
            f"largest distance {g['max_distance']}"
        )
        click.echo(f"  keep: {g['recommended_path']}")
        click.echo(f"        ({g['recommended_reason']})")
        for f in g["files"]:
            mark = "*" if f["recommended"] else ("x" if f["discarded"] else " ")
            facts = f"{f['width'] or '?'}×{f['height'] or '?'}, {f['format']}, {f['size_text']}"
            when = f", taken {f['taken_local']} ({f['taken_source']})" if f["taken_local"] else ""
            click.echo(f"  {mark} {f['path']}  [{facts}{when}]")
            if f["differences"]:
                click.echo(f"        differs: {', '.join(f['differences'])}")


COMMANDS = [duplicates_command]
