"""Leases: which worker does a piece of work, until when; renewed by a heartbeat thread.

A lease lives on a row: a job (`job.lease_owner/lease_until`), a library lock
(`library_lock`), and so on for any table with an owner and an expiry column. While its
holder works, a `Heartbeat` thread renews every lease it tracks, in its own connection,
whatever the holder is busy with (a ten-minute video, the duplicate scan). Only a holder
whose heartbeat stopped (the process was killed, the machine lost power or its network)
lets its leases run out; another worker then takes them over.

Liveness is never judged from a process id: a pid says nothing about another machine, and
the pid of a zombie still answers kill(pid, 0). Expiry times come from the database's
clock, the one clock every machine shares.

A holder that lost its lease must stop at once and write nothing more for it: `lost` is
set (by the heartbeat, or by a `fence()` that found another owner), and `fence()` inside
a transaction makes that transaction fail rather than clobber the new holder's work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, and_, update
from sqlalchemy.engine import Connection, Engine

from ..database import clock

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
BEATS_PER_LEASE = 6  # renew every 10 s of a 60 s lease: five beats may fail before it runs out
HOST = socket.gethostname()


class LeaseLost(Exception):
    """Another worker holds the lease now: this one stops and writes nothing more for it."""


def owner_id() -> str:
    """Names the holder for people reading the log; never used to judge liveness."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(eq=False)
class Lease:
    """One leased row: `key` finds it, `owner` holds it for `seconds` after each renewal."""

    table: Table
    key: dict[str, Any]
    owner: str
    seconds: float = LEASE_SECONDS
    owner_column: str = "lease_owner"
    until_column: str = "lease_until"
    what: str = ""  # for the log: "job 12", "lock duplicates-scan"
    lost: threading.Event = field(default_factory=threading.Event)
    renewed_at: float = field(default_factory=time.monotonic)

    def _mine(self):
        t = self.table
        return and_(*(t.c[k] == v for k, v in self.key.items()), t.c[self.owner_column] == self.owner)

    def renew(self, conn: Connection) -> bool:
        """Push the expiry on; False when the row is no longer ours."""
        until = clock(conn) + timedelta(seconds=self.seconds)
        done = conn.execute(update(self.table).where(self._mine()).values({self.until_column: until})).rowcount == 1
        if done:
            self.renewed_at = time.monotonic()
        return done

    def fence(self, conn: Connection) -> None:
        """Inside the holder's transaction: raise LeaseLost unless the row is still ours. On
        PostgreSQL this also locks the row until the transaction ends, so a takeover waits
        for it: what the transaction writes was written under the lease."""
        owner = self.table.c[self.owner_column]
        if conn.execute(update(self.table).where(self._mine()).values({owner: owner})).rowcount != 1:
            self.mark_lost("another worker holds it now")
            raise LeaseLost(f"{self.what or 'the work'}: another worker took it over; this one stops")

    def mark_lost(self, why: str) -> None:
        if not self.lost.is_set():
            self.lost.set()
            log.warning("%s: %s lost its lease (%s) and stops", self.what or "lease", self.owner, why)

    def overdue(self) -> bool:
        """Not renewed for a whole lease: another worker may have taken it by now."""
        return time.monotonic() - self.renewed_at > self.seconds


class Heartbeat:
    """A thread that renews the leases it tracks every `every` seconds, in its own
    connection (the holder's session may be busy in a long transaction)."""

    def __init__(self, engine: Engine, every: float):
        self.engine = engine
        self.every = every
        self._leases: set[Lease] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def track(self, lease: Lease) -> None:
        with self._guard:
            self._leases.add(lease)

    def untrack(self, lease: Lease) -> None:
        with self._guard:
            self._leases.discard(lease)

    def beat(self) -> None:
        """Renew every tracked lease once; one that is gone or overdue is marked lost."""
        with self._guard:
            leases = [lease for lease in self._leases if not lease.lost.is_set()]
        if not leases:
            return
        try:
            with self.engine.begin() as conn:
                gone = [lease for lease in leases if not lease.renew(conn)]
        except Exception as exc:  # noqa: BLE001 - the database is away: keep trying while the leases last
            log.warning("could not renew leases (%s: %s); trying again", type(exc).__name__, exc)
            gone = [lease for lease in leases if lease.overdue()]
        with self._guard:  # one let go of meanwhile (its holder finished it) was not lost
            gone = [lease for lease in gone if lease in self._leases]
        for lease in gone:
            lease.mark_lost("its lease ran out or was taken over")

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (call with no transaction of the holder open: a renewal waiting for
        its locks would make this wait too)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(self.every, 30))
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


@contextlib.contextmanager
def heartbeat(engine: Engine, *leases: Lease, seconds: float | None = None) -> Iterator[Heartbeat]:
    """A running heartbeat for `leases` (more can be tracked while it runs), beating often
    enough for leases of `seconds` (default: the shortest of `leases`)."""
    seconds = seconds or min((lease.seconds for lease in leases), default=LEASE_SECONDS)
    beat = Heartbeat(engine, seconds / BEATS_PER_LEASE)
    for lease in leases:
        beat.track(lease)
    beat.start()
    try:
        yield beat
    finally:
        beat.stop()
