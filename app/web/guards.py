"""Checks every request passes before a view runs (app/web/security.py wires them in).

- Host names (DNS rebinding): a page on a foreign site whose name the attacker points at
  127.0.0.1 is, to the browser, the same origin as MediaParser. Only names MediaParser is
  meant to be reached by are answered: localhost, the bound address, the machine's own name
  when bound to every address, MEDIAPARSER_ALLOWED_HOSTS, and IP addresses (a browser only
  sends an IP address as Host when it connected to that address itself, so no other site can
  borrow it). Everything else gets a short 400.
- Body size: an upload is streamed per file and may be as large as MEDIAPARSER_MAX_UPLOAD_MB;
  every other body (forms, JSON) is small.
- NUL characters: no file or folder name can hold one, and the OS refuses them mid-way.
- Ids: `<int:...>` stops at SQLite's largest integer, so a longer number is a 404, not an
  overflow.
- Behind a reverse proxy (MEDIAPARSER_TRUST_PROXY=1), its X-Forwarded-For/-Proto/-Host are
  believed; otherwise they are ignored, as anyone can send them.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from ..config import Settings
from ..wording import size_text

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = {"", "0.0.0.0", "::"}
# Host header: a name or IPv4 address, or a bracketed IPv6 address, and an optional port.
HOST = re.compile(r"^(?:(?P<name>[a-z0-9._-]+)|\[(?P<ipv6>[0-9a-f:.]+)\])(?::\d{1,5})?$", re.IGNORECASE)
# Endpoints whose body is one uploaded file, streamed to disk.
STREAMED_ENDPOINTS = {"upload.upload_file"}
FORM_LIMIT = 16 * 1000**2
SQLITE_MAX_INT = 2**63 - 1


class BoundedInt(IntegerConverter):
    """`<int:...>` that matches no number beyond what SQLite stores."""

    def __init__(self, map, fixed_digits=0, min=None, max=SQLITE_MAX_INT, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def allowed_hosts(settings: Settings) -> frozenset[str]:
    names = [*LOCAL_NAMES, *settings.allowed_hosts]
    if settings.host in WILDCARD_ADDRESSES:
        # reachable from the network: people use the machine's own name
        hostname = socket.gethostname()
        names += [hostname, f"{hostname}.local"]
    else:
        names.append(settings.host)
    return frozenset(n.lower().strip("[]").rstrip(".") for n in names if n)


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    match = HOST.match(host or "")
    if match is None:
        return False
    if match["ipv6"] or "*" in allowed:
        return True
    name = match["name"].lower().rstrip(".")
    if name in allowed:
        return True
    # ".example.org" allows every name under example.org
    if any(a.startswith(".") and (name.endswith(a) or name == a[1:]) for a in allowed):
        return True
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def check_host():
    allowed = current_app.extensions["mediaparser_hosts"]
    host = request.host
    if host_allowed(host, allowed):
        return None
    shown = "".join(ch for ch in host if ch.isprintable())[:100]
    text = (
        f"MediaParser does not answer to the name “{shown}”.\n"
        "If this is your MediaParser, ask whoever runs it to add the name to MEDIAPARSER_ALLOWED_HOSTS.\n"
    )
    return Response(text, status=400, mimetype="text/plain")


def upload_limit() -> int:
    return current_app.config["MEDIAPARSER"].max_upload_bytes


def too_large_message() -> str:
    if request.endpoint in STREAMED_ENDPOINTS:
        return (
            f"This file is larger than the upload limit of {size_text(upload_limit())}. Whoever runs MediaParser "
            "can raise it (MEDIAPARSER_MAX_UPLOAD_MB), or import the file from a folder on the server instead."
        )
    return f"This request is too large for MediaParser (more than {size_text(FORM_LIMIT)})."


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _request_strings():
    yield request.path
    for key, values in request.args.lists():
        yield key
        yield from values
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, values in request.form.lists():
            yield key
            yield from values
    if request.is_json:
        yield from _strings(request.get_json(silent=True))


def check_body():
    """Size limit first (the body is not read yet), then NUL characters anywhere."""
    request.max_content_length = upload_limit() if request.endpoint in STREAMED_ENDPOINTS else FORM_LIMIT
    if any("\x00" in text for text in _request_strings()):
        from .security import ApiError

        raise ApiError("A value in this request contains a NUL character, which no file or folder name can have.")
    return None


def init_app(app: Flask) -> None:
    """Before any other hook; `<int:>` must be replaced before blueprints add their routes."""
    settings = app.config["MEDIAPARSER"]
    app.url_map.converters["int"] = BoundedInt
    app.extensions["mediaparser_hosts"] = allowed_hosts(settings)
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.before_request(check_host)
    app.before_request(check_body)
