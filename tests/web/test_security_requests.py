"""What every request passes: host names (DNS rebinding), export folders the web may choose,
cookie flags, server-side sign-out, per-client login back-off and body size limits."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select

from app import create_app
from app.config import ConfigError
from app.models import Job, JobKind, LoginSession, db
from app.pipeline import settings_store
from app.web import security
from app.web.guards import allowed_hosts, host_allowed
from tests.conftest import make_settings
from tests.web_helpers import csrf_token, headers, jpeg, upload

PASSWORD = "correct horse"


def _app(tmp_path, template_db, **env):
    settings = make_settings(tmp_path / "data", **env)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(template_db, settings.instance_dir / "mediaparser.db")
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def make_app(tmp_path, _template_db):
    """Apps with their own environment; no app context is held open (each request gets its
    own, as on a real server)."""
    made = []

    def make(**env):
        app = _app(tmp_path / f"app{len(made)}", _template_db, **env)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_throttle():
    clock = security.login_throttle.clock
    security.login_throttle.clear()
    yield
    security.login_throttle.clock = clock
    security.login_throttle.clear()


# --- host names --------------------------------------------------------------------------


def test_foreign_host_names_get_a_400_before_anything_else(client):
    for host in ("evil.example", "evil.example:5000", "localhost.evil.example", "a b", "localhost@evil.example"):
        response = client.get("/api/files", headers={"Host": host})
        assert response.status_code == 400, host
        assert response.mimetype == "text/plain" and "MEDIAPARSER_ALLOWED_HOSTS" in response.get_data(as_text=True)
        assert "files" not in response.get_data(as_text=True)
    token = csrf_token(client, "/settings")
    post = client.post(
        "/api/settings", json={"timezone": "Asia/Tokyo"}, headers={"Host": "evil.example", "X-CSRFToken": token}
    )
    assert post.status_code == 400
    assert settings_store.effective(client.application.config["MEDIAPARSER"]).timezone == "Europe/Berlin"
    for host in ("localhost", "localhost:5000", "127.0.0.1:8080", "[::1]:5000", "192.168.1.20:5000", "LOCALHOST."):
        assert client.get("/api/files", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_are_configurable(make_app):
    app = make_app(MEDIAPARSER_ALLOWED_HOSTS="photos.lan, .family.example")
    client = app.test_client()
    for host, code in (
        ("photos.lan:5000", 200),
        ("nas.family.example", 200),
        ("family.example", 200),
        ("localhost", 200),
        ("evil.example", 400),
        ("photos.lan.evil.example", 400),
    ):
        assert client.get("/static/css/app.css", headers={"Host": host}).status_code == code, host
    named = make_app(MEDIAPARSER_HOST="nas.home")
    assert named.test_client().get("/api/files", headers={"Host": "nas.home:5000"}).status_code == 200
    anyone = make_app(MEDIAPARSER_ALLOWED_HOSTS="*")
    assert anyone.test_client().get("/api/files", headers={"Host": "whatever.example"}).status_code == 200


def test_bound_to_every_address_the_machines_own_name_is_allowed(settings):
    import socket

    allowed = allowed_hosts(settings.with_overrides(host="0.0.0.0"))
    assert socket.gethostname().lower() in allowed and "localhost" in allowed
    assert not host_allowed("evil.example", allowed)
    assert host_allowed("[fe80::1]:5000", allowed) and not host_allowed("[::1", allowed)


# --- export folders the web may choose ------------------------------------------------------


def test_the_web_cannot_choose_an_export_folder_outside_the_output_roots(app, client, tmp_path):
    token = csrf_token(client, "/settings")
    page = client.post("/settings", data={"csrf_token": token, "output_dir": "/etc"})
    assert page.status_code == 400 and "/etc is outside the folders this page may export to" in page.get_data(
        as_text=True
    )
    api = client.post("/api/settings", json={"output_dir": "/etc/cron.d"}, headers={"X-CSRFToken": token})
    assert api.status_code == 400 and "MEDIAPARSER_OUTPUT_ROOTS" in api.get_json()["error"]
    # a link inside the root that leads out is judged by where it leads
    output = app.config["MEDIAPARSER"].output_dir
    output.mkdir(parents=True)
    (output / "sneaky").symlink_to("/etc")
    assert (
        client.post(
            "/api/settings", json={"output_dir": str(output / "sneaky")}, headers={"X-CSRFToken": token}
        ).status_code
        == 400
    )
    assert settings_store.stored().get("output_dir") is None
    ok = client.post("/api/settings", json={"output_dir": str(output / "2024")}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.get_json()["output_dir"] == str(output / "2024")


def test_an_export_folder_stored_before_the_roots_is_not_written_over_the_web(app, client, tmp_path):
    settings_store.save({"output_dir": str(tmp_path / "elsewhere")})  # as an older version allowed
    response = client.post("/api/export", json={}, headers=headers(client))
    assert response.status_code == 403 and "outside the folders" in response.get_json()["error"]
    assert db.session.execute(select(func.count()).select_from(Job).where(Job.kind == JobKind.EXPORT)).scalar() == 0


def test_configured_output_roots_and_the_command_line(make_app, tmp_path):
    shared = tmp_path / "nas"
    app = make_app(MEDIAPARSER_OUTPUT_ROOTS=f"{shared}")
    client = app.test_client()
    token = csrf_token(client, "/settings")
    ok = client.post("/api/settings", json={"output_dir": str(shared / "Archive")}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200
    # the admin's own MEDIAPARSER_OUTPUT_DIR stays allowed
    default = str(app.config["MEDIAPARSER"].output_dir)
    assert client.post("/api/settings", json={"output_dir": default}, headers={"X-CSRFToken": token}).status_code == 200
    # the command line, run by whoever runs the server, may name any folder
    result = app.test_cli_runner().invoke(args=["export", str(tmp_path / "anywhere"), "--dry-run"])
    assert result.exit_code == 0, result.output


# --- password, cookies, sign-out, throttling ---------------------------------------------------


def _sign_in(client, password=PASSWORD, address="127.0.0.1", **kwargs):
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"password": password, "csrf_token": token},
        environ_overrides={"REMOTE_ADDR": address},
        **kwargs,
    )


def test_the_session_cookie_is_secure_over_https_only(make_app):
    app = make_app(MEDIAPARSER_PASSWORD=PASSWORD)
    plain = _sign_in(app.test_client())
    assert plain.status_code == 302 and "Secure" not in plain.headers["Set-Cookie"]
    secure = app.test_client()
    token = csrf_token(secure, "https://localhost/login")
    https = secure.post(
        "https://localhost/login",
        data={"password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/login"},  # CSRF checks it over HTTPS, as browsers send it
    )
    assert "Secure" in https.headers["Set-Cookie"] and "HttpOnly" in https.headers["Set-Cookie"]
    # X-Forwarded-Proto is anyone's to send: believed only from a configured proxy
    forged = _sign_in(app.test_client(), headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in forged.headers["Set-Cookie"]
    proxied = make_app(MEDIAPARSER_PASSWORD=PASSWORD, MEDIAPARSER_TRUST_PROXY="1")
    behind = _sign_in(
        proxied.test_client(), headers={"X-Forwarded-Proto": "https", "Referer": "https://localhost/login"}
    )
    assert "Secure" in behind.headers["Set-Cookie"]


def test_signing_out_makes_the_old_cookie_useless(make_app):
    app = make_app(MEDIAPARSER_PASSWORD=PASSWORD)
    laptop, phone = app.test_client(), app.test_client()
    _sign_in(laptop), _sign_in(phone)
    old_cookie = laptop.get_cookie("session").value
    assert laptop.get("/api/jobs").status_code == 200
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/")})
    thief = app.test_client()
    thief.set_cookie("session", old_cookie)
    assert thief.get("/api/jobs").status_code == 401
    assert phone.get("/api/jobs").status_code == 200  # signing out one browser leaves the others
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(LoginSession)).scalar() == 1


def test_wrong_passwords_slow_down_one_client_with_growing_pauses(make_app):
    app = make_app(MEDIAPARSER_PASSWORD=PASSWORD)
    now = [1000.0]
    security.login_throttle.clock = lambda: now[0]
    attacker, family = app.test_client(), app.test_client()
    codes = [_sign_in(attacker, "guess", "10.0.0.9").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    paused = _sign_in(attacker, PASSWORD, "10.0.0.9")
    assert paused.status_code == 429 and paused.headers["Retry-After"] == "1"
    assert "Wait 1 seconds" in paused.get_data(as_text=True)
    for _ in range(4):  # each further wrong try doubles the pause: 1, 2, 4, 8 s
        now[0] += 60
        assert _sign_in(attacker, "guess", "10.0.0.9").status_code == 401
    assert _sign_in(attacker, "guess", "10.0.0.9").headers["Retry-After"] == "16"
    # ten wrong passwords from there never lock the family out
    assert _sign_in(family, PASSWORD, "192.168.1.5").status_code == 302
    now[0] += 16
    assert _sign_in(attacker, PASSWORD, "10.0.0.9").status_code == 302  # the pause ends; the count is cleared
    assert _sign_in(app.test_client(), "guess", "10.0.0.9").status_code == 401


def test_behind_a_trusted_proxy_each_client_is_throttled_on_its_own(make_app):
    app = make_app(MEDIAPARSER_PASSWORD=PASSWORD, MEDIAPARSER_TRUST_PROXY="1")
    security.login_throttle.clock = lambda: 1000.0
    for _ in range(6):
        _sign_in(app.test_client(), "guess", headers={"X-Forwarded-For": "203.0.113.7"})
    assert _sign_in(app.test_client(), "guess", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert _sign_in(app.test_client(), PASSWORD, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 302


# --- body size ---------------------------------------------------------------------------------


def test_uploads_are_limited_per_file_and_other_bodies_are_small(make_app):
    app = make_app(MEDIAPARSER_MAX_UPLOAD_MB="1")
    client = app.test_client()
    with app.app_context():
        job_id = client.post("/api/uploads", json={}, headers=headers(client)).get_json()["job_id"]
        big = jpeg("red") + b"\0" * 1_100_000
        refused = upload(client, job_id, "big.jpg", big)
        assert refused.status_code == 413
        assert "larger than the upload limit of 1.0 MB" in refused.get_json()["error"]
        assert "MEDIAPARSER_MAX_UPLOAD_MB" in refused.get_json()["error"]
        assert upload(client, job_id, "small.jpg", jpeg("red") + b"\0" * 900_000).status_code == 201
        assert not list(app.config["MEDIAPARSER"].incoming_dir.iterdir())  # the refused one left nothing
    body = json.dumps({"timezone": "UTC", "padding": "x" * 17_000_000})
    too_big = client.post(
        "/api/settings", data=body, content_type="application/json", headers={"X-CSRFToken": csrf_token(client)}
    )
    assert too_big.status_code == 413 and "too large" in too_big.get_json()["error"]
    form = client.post("/settings", data={"csrf_token": csrf_token(client), "timezone": "x" * 17_000_000})
    assert form.status_code == 413 and "too large" in form.get_data(as_text=True)


def test_the_default_upload_limit_is_generous(settings):
    assert settings.max_upload_bytes == 20 * 1000**3
    assert make_settings(settings.instance_dir, MEDIAPARSER_MAX_UPLOAD_MB="500").max_upload_bytes == 500 * 1000**2
    for bad in ("lots", "0", "-5"):
        with pytest.raises(ConfigError, match="MEDIAPARSER_MAX_UPLOAD_MB"):
            make_settings(settings.instance_dir, MEDIAPARSER_MAX_UPLOAD_MB=bad)
