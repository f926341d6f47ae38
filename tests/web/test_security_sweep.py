"""No 500s: every route (from `app.url_map`) is called with hostile values in its path,
its query and its body: NUL bytes, newlines, numbers beyond 64 bits, negative and very long
values. Each answer must be a clear 4xx or a normal page, never an internal error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.models import db
from app.pipeline import jobs
from tests.conftest import make_settings
from tests.web_helpers import add_file, csrf_token, jpeg

APP_WEB = Path(__file__).resolve().parents[2] / "app" / "web"
HUGE = "99999999999999999999"
HOSTILE = ["a\x00b", "line\nbreak", HUGE, "-1", "x" * 5000, "../../etc/passwd", "ä\u202e"]
JSON_HOSTILE = [*HOSTILE, 10**20, -(10**20), [10**20], {"ids": [10**20]}, None, True]
ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def _keys() -> list[str]:
    """Every request key the web code reads (`.get("name")`), so each is fed hostile values."""
    found: set[str] = set()
    for path in APP_WEB.glob("*.py"):
        found |= set(re.findall(r'\.get(?:list)?\(\s*"([a-z_]+)"', path.read_text()))
    return sorted(found)


def _paths(rule: str) -> list[str]:
    """The rule's URL with each hostile value in every argument (NUL and newline percent-encoded)."""

    def fill(value: str):
        def one(match):
            return HUGE if match[1] == "int" else value.replace("\x00", "%00").replace("\n", "%0A")

        return ARGUMENT.sub(one, rule)

    return sorted({fill(v) for v in HOSTILE} | {ARGUMENT.sub(lambda m: "1", rule)})


@pytest.fixture
def settings(tmp_path):
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "new\nline.jpg").write_bytes(jpeg("red"))
    return make_settings(tmp_path / "data", MEDIAPARSER_IMPORT_ROOTS=root)


@pytest.fixture
def library(app, settings):
    """A file with a newline in its name, and a job, so pages have something to show."""
    root = settings.import_roots[0]
    job = jobs.create("import", {"source": "folder", "path": str(root), "root": str(root)})
    add_file(name="new\nline.jpg", path=str(root / "sub" / "new\nline.jpg"), relative_dir="sub", job_id=job.id)
    db.session.commit()


def _check(response, what: str, failures: list[str]) -> None:
    if response.status_code >= 500:
        failures.append(f"{what[:120]} -> {response.status_code}")


def test_every_get_route_survives_hostile_values(app, client, library):
    failures: list[str] = []
    keys = _keys()
    assert {"path", "root", "after", "q", "next"} <= set(keys)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        for url in _paths(rule.rule):
            _check(client.get(url), url, failures)
            for value in HOSTILE:
                _check(client.get(url, query_string={k: value for k in keys}), f"{url}?*={value[:20]!r}", failures)
    assert failures == [], "\n".join(failures)


def test_every_post_route_survives_hostile_values(app, client, library):
    failures: list[str] = []
    keys = _keys()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in rule.methods or rule.endpoint == "auth.logout":
            continue
        for url in _paths(rule.rule):
            token = csrf_token(client, "/upload")
            for value in JSON_HOSTILE:
                body = {k: value for k in keys}
                _check(
                    client.post(url, json=body, headers={"X-CSRFToken": token}), f"{url} json {value!r:.20}", failures
                )
            for value in HOSTILE:
                form = {k: value for k in keys} | {"csrf_token": token}
                _check(client.post(url, data=form), f"{url} form {value[:20]!r}", failures)
    assert failures == [], "\n".join(failures)


def test_the_named_cases_get_clear_answers(client, library, settings):
    nul = client.get("/api/folders", query_string={"path": "a\x00b"})
    assert nul.status_code == 400 and "NUL" in nul.get_json()["error"]
    token = csrf_token(client)
    start = client.post("/api/imports", json={"root": 0, "path": "sub\x00"}, headers={"X-CSRFToken": token})
    assert start.status_code == 400 and "NUL" in start.get_json()["error"]
    assert client.get(f"/files/{HUGE}/original").status_code == 404
    assert client.get(f"/files/{HUGE}").status_code == 404
    assert client.get(f"/api/jobs/{HUGE}").status_code == 404
    page = client.get("/files/1/original?download=1")
    assert page.status_code == 200 and "\n" not in page.headers["Content-Disposition"]
