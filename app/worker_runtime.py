"""Starting and stopping a Huey consumer cleanly, for run.py (in-process) and worker.py."""

from __future__ import annotations

import logging
import signal

from flask import Flask

from .media import batch
from .pipeline import jobs
from .tasks import queue_of

log = logging.getLogger(__name__)

WORKER_THREADS = 2  # jobs that may run at once; each import uses every core by itself


def start_consumer(app: Flask, threads: int = WORKER_THREADS):
    """Start a consumer of the app's queue in this process; returns it. Signal handlers
    stay the caller's: the ones Huey's start() installs only set a flag that an embedded
    consumer never reads, so Ctrl-C and SIGTERM would do nothing."""
    queue = queue_of(app)
    batch.start_fork_server()  # the analysis processes' parent, ready before the first import
    consumer = queue.huey.create_consumer(
        workers=threads, worker_type="thread", periodic=True, initial_delay=0.1, max_delay=1.0
    )
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    with app.app_context():
        resumed = queue.recover()  # jobs a killed worker left behind continue now
    if resumed:
        log.info("resuming jobs %s", resumed)
    return consumer


def stop_consumer(consumer) -> None:
    """Running jobs pause at their next file (they resume when a worker starts again);
    then the consumer stops."""
    jobs.SHUTDOWN.set()
    consumer.stop(graceful=True)
