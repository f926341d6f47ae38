"""Small helpers for writing SQL in batches (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# Ids per `IN (...)` or per multi-row statement: well under SQLite's limit of bound variables.
CHUNK = 500


def chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    """`ids` in lists of at most `size`, in the order given."""
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]
