"""Slowing down password guessing, per client, with growing pauses.

Each client (its address; an IPv6 address by its /64 network, which one household gets
whole) has its first few wrong passwords answered at once. After that each further try
must wait twice as long as the one before (1 s, 2 s, 4 s, ... at most five minutes).
Guessing from one place never locks anyone else out, and the right password clears the
client's count. A client that stays away for an hour is forgotten.

Kept in memory: the web server is one process, and a restart forgetting the counts costs
an attacker a restart, which they cannot cause.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable

FREE_TRIES = 5
FIRST_WAIT = 1.0
MAX_WAIT = 300.0
FORGET_AFTER = 3600.0
MAX_CLIENTS = 10_000


def client_key(address: str | None) -> str:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "?"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Backoff:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[int, float]] = {}  # key -> (wrong tries, time of the last)

    @staticmethod
    def pause(failures: int) -> float:
        if failures < FREE_TRIES:
            return 0.0
        return min(MAX_WAIT, FIRST_WAIT * 2 ** (failures - FREE_TRIES))

    def wait_left(self, key: str) -> float:
        """Seconds this client must still wait before its password is looked at."""
        now = self.clock()
        with self._lock:
            failures, last = self._clients.get(key, (0, 0.0))
            if failures and now - last > FORGET_AFTER:
                del self._clients[key]
                return 0.0
            return max(0.0, last + self.pause(failures) - now) if failures else 0.0

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            failures, _last = self._clients.get(key, (0, 0.0))
            self._clients[key] = (failures + 1, now)
            if len(self._clients) > MAX_CLIENTS:
                stale = sorted(self._clients, key=lambda k: self._clients[k][1])[: MAX_CLIENTS // 10]
                for old in stale:
                    del self._clients[old]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._clients.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()
