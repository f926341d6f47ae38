"""Jobs: walk files, call media/, write rows in batches. Importing this package registers
every job kind's handler with pipeline.jobs."""

from . import duplicates, importer  # noqa: F401
