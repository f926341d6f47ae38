"""Safety layer: CSRF on every state-changing route, the household password on every
route, security headers, JSON errors, no debug endpoints."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_settings
from tests.web_helpers import csrf_token

# Values for URL parameters when a route is called generically.
SAMPLE_ARGS = {
    "job_id": 1,
    "tag_id": 1,
    "file_id": 1,
    "action": "pause",
    "kind": "thumbnails",
    "name": "ab/cd/" + "a" * 64 + "-s.jpg",
}


def _urls(app, method: str) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if method not in rule.methods or rule.endpoint == "static":
            continue
        with app.test_request_context():
            from flask import url_for

            urls.append(url_for(rule.endpoint, **{a: SAMPLE_ARGS[a] for a in rule.arguments}))
    return sorted(set(urls))


def test_every_post_route_refuses_a_missing_csrf_token(app, client):
    posts = _urls(app, "POST")
    assert len(posts) >= 25  # the whole API, not a sample
    for url in posts:
        response = client.post(url, json={})
        assert response.status_code == 400, url
        if url.startswith("/api/"):
            assert "Reload the page" in response.get_json()["error"], url
        else:
            assert "Reload the page" in response.get_data(as_text=True), url


def test_a_wrong_csrf_token_is_refused_and_a_right_one_accepted(client):
    bad = client.post("/api/uploads", json={}, headers={"X-CSRFToken": "forged"})
    assert bad.status_code == 400
    good = client.post("/api/uploads", json={}, headers={"X-CSRFToken": csrf_token(client)})
    assert good.status_code == 201


def test_security_headers_and_a_csp_without_inline_scripts(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    html = response.get_data(as_text=True)
    # no inline script or style anywhere in the page: the CSP would block it
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html and " onclick=" not in html


def test_every_template_is_free_of_inline_scripts_and_styles():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"
    for path in templates.glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path.name
        assert not re.search(r"\son[a-z]+=", text), path.name
        assert " style=" not in text and "<style" not in text, path.name


def test_api_errors_are_json_with_status_and_message(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.get_json() == {"error": response.get_json()["error"], "status": 404}
    assert "nothing here" in response.get_json()["error"].lower()
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "There is nothing here" in page.get_data(as_text=True)


def test_no_debug_or_wipe_endpoints(app):
    for rule in app.url_map.iter_rules():
        assert not re.search(r"debug|wipe|reset|drop|shell|console", rule.rule), rule.rule


# --- household password ----------------------------------------------------------------


@pytest.fixture
def locked(tmp_path, _template_db):
    import shutil

    from app import create_app
    from app.models import db

    settings = make_settings(tmp_path / "data", MEDIAPARSER_PASSWORD="correct horse")
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(_template_db, settings.instance_dir / "mediaparser.db")
    app = create_app(settings)
    app.config["TESTING"] = True
    # No app context held open here: each request gets its own `g`, as on a real server
    # (Flask-WTF keeps the CSRF token in `g`, and signing in starts a new session).
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_password_guards_every_page_and_api(locked):
    client = locked.test_client()
    gets = _urls(locked, "GET")
    assert len(gets) >= 20
    for url in gets:
        response = client.get(url)
        if url == "/login":
            assert response.status_code == 200
        elif url.startswith("/api/"):
            assert response.status_code == 401, url
            assert "sign in" in response.get_json()["error"].lower()
        else:
            assert response.status_code == 302 and "/login" in response.headers["Location"], url
    # state-changing routes are closed too (before CSRF is even looked at)
    token = csrf_token(client, "/login")
    for url in _urls(locked, "POST"):
        if url in ("/login", "/logout"):
            continue
        response = client.post(url, json={}, headers={"X-CSRFToken": token})
        assert response.status_code in (302, 401), url


def test_login_sets_a_safe_cookie_and_opens_the_app(locked):
    client = locked.test_client()
    token = csrf_token(client, "/login")
    wrong = client.post("/login", data={"password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    no_csrf = client.post("/login", data={"password": "correct horse"})
    assert no_csrf.status_code == 400
    right = client.post("/login", data={"password": "correct horse", "csrf_token": token, "next": "/jobs"})
    assert right.status_code == 302 and right.headers["Location"] == "/jobs"
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    assert client.get("/api/jobs").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/api/jobs").status_code == 401


def test_login_never_redirects_to_another_site(locked):
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        client = locked.test_client()
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"password": "correct horse", "csrf_token": token, "next": target})
        assert response.headers["Location"] == "/", target


def test_repeated_wrong_passwords_are_slowed_down(locked):
    """Growing pauses per client; the whole behaviour is in tests/web/test_security_requests.py."""
    from app.web import security

    security.login_throttle.clear()
    clock = security.login_throttle.clock
    security.login_throttle.clock = lambda: 1000.0
    try:
        client = locked.test_client()
        token = csrf_token(client, "/login")
        codes = [client.post("/login", data={"password": "x", "csrf_token": token}).status_code for _ in range(7)]
        assert codes[:5] == [401] * 5 and codes[-1] == 429
    finally:
        security.login_throttle.clock = clock
        security.login_throttle.clear()
