"""Run MediaParser's background worker as its own process (import, detection, export jobs).

    python worker.py         # same environment variables as run.py

Ctrl-C / SIGTERM: running jobs pause at their next file and continue when a worker starts
again. A worker that is killed outright loses nothing either: its jobs are taken over.
"""

from __future__ import annotations

import signal
import sys
import threading

from app import create_app, database, process_setup
from app.config import Settings
from app.pipeline import shared_storage
from app.worker_runtime import start_consumer, stop_consumer


def main() -> int:
    settings = Settings.from_env()
    process_setup.configure(settings)
    app = create_app(settings)
    database.upgrade(app)
    shared_storage.require(app)  # refuses to run when it cannot see the web app's files
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    consumer = start_consumer(app)
    process_setup.settle_heap()  # after start-up: what lives as long as the process
    print("MediaParser worker is running (Ctrl-C to stop).", flush=True)
    while not stopping.wait(1.0):
        pass
    print("Stopping the worker: running jobs pause and will continue at the next start...", flush=True)
    stop_consumer(consumer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
