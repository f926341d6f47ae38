"""Duplicates in the library: exact copies, near duplicates (the same picture), versions (the
same picture edited) and similar shots (one moment), kept as `DuplicateGroup` + `Duplicate`
rows, with `File.group_id` set.

Entry points (each takes the app's `Settings`: the lock file and the thumbnails live there):
  after_import(job, settings)     the import's finish phase: this job's files against the library
  scan_library(settings)          every file again (e.g. after a backfill); decided groups stay
  store_fingerprint()             the importer's hook for a new file's fingerprint

What counts (matching itself is app/media/similarity.py and app/media/versions.py, pure):
  exact    the same bytes (sha256), across the whole library
  near     the same picture: verified on the aligned fingerprints, flat pictures excluded,
           shapes, brightness and colours close, and not two different camera shots
           (both have an EXIF capture time and they differ, or different camera models)
  version  the same picture edited: turned or mirrored (in its pixels or by its orientation
           tag), stretched or squashed, cropped to another shape, black-and-white or sepia,
           straightened by a few degrees; verified as strictly as a copy, after the turn. A group that holds a
           version is a version group; its members' differences are told in words (describe).
  similar  one moment: a looser picture match and capture times (from the camera, not file
           dates) at most a minute apart (by the sensitivity setting), same camera. Never
           treated as copies.

Groups are stars: every member was verified against the group's representative. A file is
in at most one live group (open or resolved); exact, near and version groups come first, similar
groups only take files that are in no other live group. Groups people decided are kept; a
new copy of a resolved group's picture joins it and opens it again. Files people said are
"not duplicates" (a dismissed group) are never grouped together again.

Incremental: only pairs that involve a new file are searched and verified. Of the rest of the
library only columns are read (ids, bytes, sizes, groups, probe hashes as one array); facts
are read for the candidates alone, and similar shots are looked for only among the files
taken near the new files' capture times.

Modules, in the order a scan uses them:
  library    the library loaded from the database, in columns; the facts of single files
  probes     fingerprints and probe hashes
  matching   candidate pairs (probe index, capture times) and their verification
  grouping   joining live groups, new star groups, each group's keeper and kind
  describe   how versions differ from the keeper, in words; what marks the edited file
  scanning   the lock, the passes, the entry points and the job handler
"""

from .describe import keeper_candidate
from .library import SHOT_TIME_SOURCES
from .matching import Shot, different_shots
from .probes import PROBES_VERSION, store_fingerprint
from .scanning import ScanReport, after_import, run_duplicates_job, scan, scan_library

__all__ = [
    "PROBES_VERSION",
    "SHOT_TIME_SOURCES",
    "ScanReport",
    "Shot",
    "after_import",
    "different_shots",
    "keeper_candidate",
    "run_duplicates_job",
    "scan",
    "scan_library",
    "store_fingerprint",
]
