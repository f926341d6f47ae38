"""Where an archive may go: the checks made when the export folder is set (settings page,
`flask export-folder`), before a preview, and before an export starts. Each refusal names
the rule that failed, so a preview never blames something else (like free space).

Rules: a folder (not a file, not the root of a disk), not a system folder (/etc, /proc,
/usr, ...), writable by MediaParser, not inside MediaParser's storage or data folder (its
output/ folder, the default archive, aside) and not holding them, not inside a folder
imported from (an import root, or a folder an import read: importing it again would see
the archive).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from ..models import Job, db
from ..vocab import JobKind

# Folders of the operating system: an archive never goes in (or under) these.
SYSTEM_TREES = tuple(
    Path(p)
    for p in ("/proc", "/sys", "/dev", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr", "/boot")
) + tuple(Path(p) for p in ("/run", "/var/run", "/var/lock", "/var/lib/dpkg", "/var/cache", "/var/log"))
# Folders that hold other things: an archive may go inside them, never be them.
SYSTEM_ROOTS = tuple(Path(p) for p in ("/home", "/var", "/srv", "/mnt", "/media", "/opt", "/root", "/tmp", "/var/lib"))


class ExportRefused(ValueError):
    """An export (or an export folder) that cannot be used; the message says why."""


def existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _system_folder(output: Path) -> str | None:
    if output == Path(output.anchor):
        return "The archive cannot be the root of a disk; choose a folder"
    for tree in SYSTEM_TREES:
        if output == tree or output.is_relative_to(tree):
            return f"{output} is inside {tree}, a folder of the operating system: choose a folder for your photos"
    if output in SYSTEM_ROOTS:
        return f"{output} is a folder of the operating system that holds other things: choose a folder inside it"
    return None


def _not_writable(output: Path) -> str | None:
    if output.exists() and not output.is_dir():
        return f"{output} is a file, not a folder"
    near = existing_ancestor(output)
    if not near.is_dir():
        return f"{near} is a file, not a folder, so {output} cannot be made"
    if not os.access(near, os.W_OK | os.X_OK):
        where = "it" if near == output else f"{near}, where it would be made"
        return (
            f"MediaParser may not write into {output}: {where} is read-only for it (check the permissions or the disk)"
        )
    return None


def imported_folders() -> list[Path]:
    """Every folder an import read from (folder imports keep their path in the job)."""
    found = db.session.execute(select(Job.params["path"].as_string()).where(Job.kind == str(JobKind.IMPORT))).all()
    return sorted({Path(p).resolve() for (p,) in found if p})


def _inside_library(output: Path, settings) -> str | None:
    storage, data = Path(settings.storage_dir).resolve(), Path(settings.instance_dir).resolve()
    if output == storage or output.is_relative_to(storage):
        return f"The archive cannot be inside MediaParser's storage ({storage})"
    for inner, what in ((storage, "MediaParser's storage"), (data, "MediaParser's data folder")):
        if inner.is_relative_to(output):
            return f"The archive cannot be a folder that holds {what} ({inner}); choose a folder of its own"
    allowed = {Path(p).resolve() for p in (*settings.output_roots, settings.output_dir, data / "output")}
    if output.is_relative_to(data) and not any(output == a or output.is_relative_to(a) for a in allowed):
        return (
            f"The archive cannot be inside MediaParser's data folder ({data}); its output folder is {data / 'output'}"
        )
    for root in sorted({*(Path(r).resolve() for r in settings.import_roots), *imported_folders()}):
        if output == root or output.is_relative_to(root):
            return (
                f"The archive cannot be inside {root}, a folder photos are imported from: importing it "
                "again would find the archive's copies. Choose a folder outside it"
            )
    return None


def refusal(path: str | Path, settings) -> str | None:
    """None when `path` can hold the archive, else which rule it breaks, for people."""
    output = Path(path).expanduser().resolve()
    return _system_folder(output) or _inside_library(output, settings) or _not_writable(output)


def check_output(path: str | Path, settings) -> Path:
    """The archive folder, resolved; raises ExportRefused naming the rule it breaks."""
    problem = refusal(path, settings)
    if problem:
        raise ExportRefused(problem)
    return Path(path).expanduser().resolve()
