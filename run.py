"""Start MediaParser: the web app on a production WSGI server (waitress), plus a background
worker in the same process unless MEDIAPARSER_EMBEDDED_WORKER=0 (then run worker.py).

    python run.py            # http://127.0.0.1:5000 unless MEDIAPARSER_HOST/PORT say otherwise
"""

from __future__ import annotations

import signal
import sys

from waitress import create_server

from app import create_app, database, process_setup
from app.config import Settings
from app.pipeline import shared_storage


def main() -> int:
    settings = Settings.from_env()
    process_setup.configure(settings)
    app = create_app(settings)
    database.upgrade(app)
    shared_storage.mark(app)  # workers check that they see these files (worker.py)
    consumer = None
    if settings.embedded_worker:
        from app.worker_runtime import start_consumer

        consumer = start_consumer(app)
    process_setup.settle_heap()  # after start-up: what lives as long as the process

    # Uploads are buffered to a temp file by waitress, then streamed to storage: allow large
    # videos (waitress refuses bodies over 1 GB by default), but no more than the per-file
    # limit, so an oversized body is refused before it fills the disk.
    server = create_server(
        app,
        host=settings.host,
        port=settings.port,
        threads=8,
        channel_timeout=300,
        max_request_body_size=settings.max_upload_bytes + (1 << 20),
    )

    def stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    print(f"MediaParser is running: open http://{host}:{server.effective_port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping MediaParser...", flush=True)
        server.close()
        if consumer is not None:
            from app.worker_runtime import stop_consumer

            stop_consumer(consumer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
