"""Helpers for the security tests: a folder imported through the real pipeline, and reading
files as an ordinary user would even when the tests run as root."""

from __future__ import annotations

import contextlib
import ctypes
import os

import pytest
from sqlalchemy import select

from app.models import File, db
from tests.web_helpers import headers

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


@contextlib.contextmanager
def without_file_read_override():
    """Within this block this thread obeys file permissions even as root: the capabilities
    that override them are dropped from the thread's effective set (not from the permitted
    set), and given back afterwards. Real EACCES from the kernel, no mocking."""
    if os.geteuid() != 0:
        yield  # an ordinary user obeys permissions already
        return
    libc = ctypes.CDLL(None, use_errno=True)
    header = _Header(_LINUX_CAPABILITY_VERSION_3, 0)  # pid 0: this thread
    data = (_Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        pytest.skip("cannot read this thread's capabilities")
    saved = data[0].effective
    data[0].effective = saved & ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH))
    if libc.capset(ctypes.byref(header), data) != 0:
        pytest.skip("cannot drop this thread's capabilities")
    try:
        yield
    finally:
        data[0].effective = saved
        if libc.capset(ctypes.byref(header), data) != 0:
            raise OSError(ctypes.get_errno(), "could not restore capabilities")


def import_folder(client, path: str = "") -> dict[str, File]:
    """Import a folder below the first import root through the web (jobs run inline)."""
    response = client.post("/api/imports", json={"root": 0, "path": path}, headers=headers(client))
    assert response.status_code == 201, response.get_data(as_text=True)
    db.session.expire_all()
    return {f.original_name: f for f in db.session.execute(select(File)).scalars()}
