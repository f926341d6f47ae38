"""Safety layer: household password, CSRF, security headers, and errors people can read.

- Requests first pass app/web/guards.py: allowed host names (DNS rebinding), body size,
  no NUL characters, ids within 64 bits.
- Password (MEDIAPARSER_PASSWORD): when set, every page, thumbnail and API answer needs a
  signed-in session; the login page is the only way in. Changing the password signs
  everyone out (the session holds a digest of it); signing out ends that session on the
  server too (app/web/sessions.py). Wrong passwords slow down per client (throttle.py).
- CSRF (Flask-WTF): every POST/PUT/PATCH/DELETE needs the token, as a form field
  (`csrf_token`) or an `X-CSRFToken` header (the page's JavaScript sends it).
- Headers: a Content-Security-Policy with no inline scripts or styles, no framing, no
  sniffing.
- Errors: JSON `{"error": message, "status": code}` under /api/, a page with a human
  message elsewhere.
"""

from __future__ import annotations

import hmac
import math
from hashlib import sha256
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import guards, sessions
from .throttle import Backoff, client_key

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Endpoints reachable without signing in (the login page and the files it needs).
PUBLIC_ENDPOINTS = {"auth.login", "static"}

login_throttle = Backoff()
SIGNED_IN_KEY = "mediaparser.signed_in"


class ApiError(Exception):
    """Raise in a view to answer with `status` and a message for people."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def json_body() -> dict:
    """The request's JSON object, or a refusal that says what to send."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("Send the request as a JSON object.")
    return data


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def json_error(message: str, status: int):
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response


def _password() -> str | None:
    return current_app.config["MEDIAPARSER"].password


def _session_token(password: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, password.encode(), sha256).hexdigest()


def signed_in(touch: bool = False) -> bool:
    """Looked up once per request (kept in the request's environ, which no test or
    app context outlives)."""
    password = _password()
    if not password:
        return True
    if SIGNED_IN_KEY not in request.environ:
        token = session.get("auth")
        request.environ[SIGNED_IN_KEY] = (
            isinstance(token, str)
            and hmac.compare_digest(token, _session_token(password))
            and sessions.valid(session.get("sid"), touch=touch)
        )
    return request.environ[SIGNED_IN_KEY]


def _require_login():
    if request.endpoint in PUBLIC_ENDPOINTS or signed_in(touch=True):
        return None
    if is_api_request():
        return json_error("Please sign in first (this MediaParser has a household password).", 401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    """Only paths on this site: never send someone elsewhere after signing in."""
    if not target:
        return url_for("home.page")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.page")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if not _password():
        return redirect(url_for("home.page"))
    next_url = _safe_next(request.values.get("next"))
    if request.method == "POST":
        client = client_key(request.remote_addr)
        wait = login_throttle.wait_left(client)
        if wait > 0:
            seconds = math.ceil(wait)
            flash(f"Too many wrong passwords from this device. Wait {seconds} seconds, then try again.", "error")
            return render_template("login.html", next=next_url), 429, {"Retry-After": str(seconds)}
        given = request.form.get("password", "")
        if hmac.compare_digest(_session_token(given), _session_token(_password())):
            login_throttle.succeeded(client)
            session.clear()
            session.permanent = True
            session["auth"] = _session_token(_password())
            session["sid"] = sessions.start()
            return redirect(next_url)
        login_throttle.failed(client)
        flash("That password is not right. Try again.", "error")
        return render_template("login.html", next=next_url), 401
    if signed_in():
        return redirect(next_url)
    return render_template("login.html", next=next_url)


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.end(session.get("sid"))
    session.clear()
    return redirect(url_for("auth.login") if _password() else url_for("home.page"))


def _add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint == "static":
        response.headers["Cache-Control"] = "no-cache"  # revalidate (ETag): new versions show at once
    elif request.endpoint != "review.thumbnail":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _handle_api_error(exc: ApiError):
    if is_api_request():
        return json_error(exc.message, exc.status)
    return render_template("error.html", message=exc.message, status=exc.status), exc.status


def _handle_overflow(_exc: OverflowError):
    # an id or count beyond what SQLite or datetime hold: the request's fault, not ours
    return _handle_api_error(ApiError("A number in this request is too large for MediaParser.", 400))


def _handle_csrf(exc: CSRFError):
    message = (
        "This page was open too long or came from somewhere else, so MediaParser did not act on it. "
        "Reload the page and try again."
    )
    if is_api_request():
        return json_error(message, 400)
    return render_template("error.html", message=message, status=400), 400


HUMAN = {
    400: "MediaParser could not understand that request.",
    401: "Please sign in first.",
    403: "That is not allowed.",
    404: "There is nothing here. The file or page may have been removed.",
    405: "That action is not available here.",
    413: "That upload is too large.",
    429: "Too many attempts. Wait a moment and try again.",
    500: "Something went wrong inside MediaParser. Nothing was lost; try again, and if it keeps happening, look at the server log.",
}


def _handle_http(exc: HTTPException):
    status = exc.code or 500
    message = guards.too_large_message() if isinstance(exc, RequestEntityTooLarge) else None
    message = message or HUMAN.get(status, exc.description or exc.name)
    if is_api_request():
        return json_error(message, status)
    return render_template("error.html", message=message, status=status), status


def _handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _handle_http(exc)
    current_app.logger.exception("unexpected error on %s", request.path)
    if current_app.debug:
        raise exc
    if is_api_request():
        return json_error(HUMAN[500], 500)
    return render_template("error.html", message=HUMAN[500], status=500), 500


def init_app(app: Flask) -> None:
    guards.init_app(app)  # host names and body limits before anything else looks at the request
    app.session_interface = sessions.SessionInterface()
    app.before_request(_require_login)
    csrf.init_app(app)
    app.after_request(_add_headers)
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(OverflowError, _handle_overflow)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
    app.register_blueprint(bp)

    @app.context_processor
    def _auth_context():
        return {"password_set": bool(_password()), "signed_in": signed_in()}
