"""Signed-in browsers, remembered on the server (only with a household password).

The session cookie is signed, so nobody can forge one, but a signed cookie alone stays
valid wherever a copy of it goes. So signing in also creates a random token: the cookie
holds it, the `login_session` table its sha256. Every request looks the row up; signing out
deletes it, so an old cookie stops working at once. Rows unused for the session lifetime
are forgotten.

The cookie is marked Secure when the page was served over HTTPS (directly, or through a
trusted reverse proxy's X-Forwarded-Proto), so a browser never sends it in clear text.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from hashlib import sha256

from flask import current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import delete

from ..models import LoginSession, db, utcnow

TOUCH_EVERY = timedelta(hours=1)  # last_seen_at is written at most this often


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def _digest(token: str) -> str:
    return sha256(token.encode()).hexdigest()


def _lifetime() -> timedelta:
    return current_app.permanent_session_lifetime


def start() -> str:
    """A new signed-in browser: returns the token for its cookie."""
    db.session.execute(delete(LoginSession).where(LoginSession.last_seen_at < utcnow() - _lifetime()))
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(id=_digest(token)))
    db.session.commit()
    return token


def valid(token, touch: bool = False) -> bool:
    if not isinstance(token, str) or not token:
        return False
    row = db.session.get(LoginSession, _digest(token))
    if row is None:
        return False
    idle = utcnow() - row.last_seen_at
    if idle > _lifetime():
        end(token)
        return False
    if touch and idle > TOUCH_EVERY:
        row.last_seen_at = utcnow()
        db.session.commit()
    return True


def end(token) -> None:
    if isinstance(token, str) and token:
        db.session.execute(delete(LoginSession).where(LoginSession.id == _digest(token)))
        db.session.commit()
