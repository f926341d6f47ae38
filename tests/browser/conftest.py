"""Browser tests: Debian's chromium driven by Playwright against a live MediaParser
(run.py as a subprocess, with its own data folder and a real Huey consumer on a SQLite
queue). Playwright's own browser download is never used (`playwright install` cannot
download here): the launch arguments below point pytest-playwright at Debian's binary."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # keeps pytest-playwright's --headed/--slowmo handling; adds Debian's chromium
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(base: Path, **extra_env: str):
    """run.py on a free port with its own data folder and queue; yields its details."""
    data, roots = base / "data", base / "roots"
    roots.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAPARSER_")}
    env.update(
        MEDIAPARSER_DATA_DIR=str(data),
        MEDIAPARSER_QUEUE=f"sqlite:///{base / 'queue.db'}",
        MEDIAPARSER_IMPORT_ROOTS=str(roots),
        MEDIAPARSER_TIMEZONE="Europe/Berlin",
        MEDIAPARSER_PORT=str(port),
        MEDIAPARSER_WORKERS="1",
        SECRET_KEY="browser-test",
        **extra_env,
    )
    log_path = base / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "run.py")], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url + "/static/css/app.css", timeout=2).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("run.py did not start:\n" + log_path.read_text()[-3000:]) from None
                    time.sleep(0.2)
            yield {"url": url, "data": data, "roots": roots, "log": log_path, "base": base}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The library every browser test shares (session-wide: pytest-playwright's base_url is)."""
    with running_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright's base_url: page.goto("/") opens the live server."""
    return live_server["url"]


@pytest.fixture(scope="session")
def shots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str, full_page: bool = True):
        if full_page:
            page.evaluate("window.scrollTo(0, 0)")  # sticky bars are drawn where the page was scrolled
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return save
