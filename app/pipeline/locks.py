"""Locks in the database, for library-wide steps that must run one at a time on every
machine (the duplicate scan, ...).

A lock is a `library_lock` row: its name, its holder and the holder's lease. The holder's
heartbeat renews the lease while it works; a holder that dies stops renewing, and once the
lease has run out the next one takes the lock over. A file lock would not do: it does not
reach across machines, and on network storage it may not work at all. The same works on
SQLite and PostgreSQL, so it is tested on both.

    with locks.hold("duplicates-scan", seconds=settings.lease_seconds):
        ...  # nobody else holds "duplicates-scan" meanwhile
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Engine

from ..database import clock
from ..models import LibraryLock, db
from . import leases

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
TABLE = LibraryLock.__table__
NAME_LENGTH = TABLE.c.name.type.length


def lock_name(kind: str, key: str) -> str:
    """The name of the lock on one thing ("export", an archive folder): `kind:key`, or, when
    that does not fit the column, `kind:` and the key's SHA-256."""
    name = f"{kind}:{key}"
    if len(name) <= NAME_LENGTH:
        return name
    return f"{kind}:{hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()}"


def _insert_ignore(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(TABLE).on_conflict_do_nothing()


def try_acquire(engine: Engine, name: str, owner: str, seconds: float = leases.LEASE_SECONDS) -> bool:
    """Take the lock when it is free or its holder's lease ran out; one short transaction."""
    with engine.begin() as conn:
        now = clock(conn)
        values = {"owner": owner, "lease_until": now + timedelta(seconds=seconds), "acquired_at": now}
        # RETURNING, not rowcount: psycopg reports no row count for INSERT ... ON CONFLICT
        if conn.execute(_insert_ignore(conn).values(name=name, **values).returning(TABLE.c.name)).first():
            return True
        before = conn.execute(select(TABLE.c.owner).where(TABLE.c.name == name)).scalar()
        taken = conn.execute(update(TABLE).where(TABLE.c.name == name, TABLE.c.lease_until < now).values(**values))
        if taken.rowcount == 1:
            log.warning("lock %s: the lease of %s ran out; %s takes the lock over", name, before, owner)
            return True
    return False


def release(engine: Engine, name: str, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.name == name, TABLE.c.owner == owner))


def holder(name: str) -> str | None:
    """Who holds the lock now (None: nobody, as far as a lease that has not run out says)."""
    with db.engine.connect() as conn:
        row = conn.execute(select(TABLE.c.owner, TABLE.c.lease_until).where(TABLE.c.name == name)).first()
        return row.owner if row is not None and row.lease_until >= clock(conn) else None


@contextlib.contextmanager
def hold(
    name: str, seconds: float = leases.LEASE_SECONDS, wait: bool = True, owner: str | None = None
) -> Iterator[leases.Lease | None]:
    """Hold lock `name` for the block, renewed by a heartbeat of its own. With `wait`, wait
    while another holder's lease is alive; without, yield None at once when it is taken.

    The caller's session should have no transaction open that writes: on SQLite the lock is
    written through another connection, which would wait for it."""
    engine = db.engine
    owner = owner or leases.owner_id()
    told = False
    while not try_acquire(engine, name, owner, seconds):
        if not wait:
            yield None
            return
        if not told:
            log.info("lock %s is held by %s: waiting for it", name, holder(name))
            told = True
        time.sleep(POLL_SECONDS)
    lease = leases.Lease(TABLE, {"name": name}, owner, seconds, owner_column="owner", what=f"lock {name}")
    try:
        with leases.heartbeat(engine, lease):
            yield lease
    finally:
        release(engine, name, owner)
