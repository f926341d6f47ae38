"""Jobs: walk files, call media/, write rows in batches. Importing this package registers
every job kind's handler with pipeline.jobs."""

from . import duplicates, exporter, importer, reprocess, thumbnails_job  # noqa: F401
