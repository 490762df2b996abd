"""Even spread of kept-alive connections over gunicorn's workers.

All workers accept from one listening socket, and the kernel wakes whichever is waiting: when a
client opens its connections in a burst, one worker often takes them all and then serves them
alone under its GIL at less than half the machine's throughput (DESIGN.md §6). The API server
keeps a small pool of long-lived connections, so in a cluster the split would stay uneven for
as long as those connections live.

The fix is accept throttling. The master creates a small table in shared memory before it forks
(one slot per worker: pid, open connections, heartbeat, counters). A worker stops accepting
while it holds more open connections than some other live worker, and starts again when that is
no longer true; the least loaded worker always accepts. So connections opened in a burst end
split as evenly as they can be (8 over 2 workers: 4 and 4), and a worker that is stuck (no
heartbeat for ``STALE_SECONDS``) or gone is left out of the comparison, so it never blocks the
others.

Only the master writes a slot's pid; only its worker writes the rest of it. Readers may see a
counter mid-update from another process, which only delays a decision by one tick.

For diagnostics (and the benchmark), ``NETPOL_GUARD_WORKER_STATS=/path`` puts the table in that
file instead of anonymous memory; ``python -m webhook.serving.balance /path`` prints it.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

STATS_FILE_ENV = "NETPOL_GUARD_WORKER_STATS"
SLOTS = 64
STALE_SECONDS = 1.0
IDLE_TICK_SECONDS = 0.05        # heartbeat while accepting
FAST_TICK_SECONDS = 0.001       # re-check while paused, for the first FAST_TICKS_FOR_SECONDS
FAST_TICKS_FOR_SECONDS = 0.2
TICK_SECONDS = 0.01             # re-check while paused, after that
_RESERVED = -1


class _Slot(ctypes.Structure):
    _fields_ = [
        ("pid", ctypes.c_int64),        # 0 free, -1 reserved for a worker being forked
        ("open", ctypes.c_int64),       # connections accepted and not yet closed
        ("accepted", ctypes.c_int64),   # connections accepted since the worker started
        ("requests", ctypes.c_int64),   # HTTP requests handled since the worker started
        ("heartbeat", ctypes.c_double),  # time.monotonic() of the worker's last tick
    ]


_Table = _Slot * SLOTS


@dataclass(frozen=True)
class WorkerStats:
    """One worker's counters, as read from the table."""

    slot: int
    pid: int
    open: int
    accepted: int
    requests: int
    heartbeat_age: float


class WorkerTable:
    """The shared table. Create it in the master, before any worker is forked."""

    def __init__(self, path: str | None = None) -> None:
        size = ctypes.sizeof(_Table)
        if path:
            # A file-backed table can be read by other processes (diagnostics, benchmark).
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.ftruncate(fd, size)
                self._map = mmap.mmap(fd, size, mmap.MAP_SHARED)
            finally:
                os.close(fd)
        else:
            self._map = mmap.mmap(-1, size, mmap.MAP_SHARED)
        self.path = path
        self.slots = _Table.from_buffer(self._map)

    def reserve(self) -> int:
        """A free slot for a worker about to be forked (master only), or -1 if none is left."""
        for index, slot in enumerate(self.slots):
            if slot.pid == 0:
                slot.pid = _RESERVED
                return index
        return -1

    def release(self, index: int) -> None:
        """Free a dead worker's slot (master only)."""
        if 0 <= index < SLOTS:
            ctypes.memset(ctypes.addressof(self.slots[index]), 0, ctypes.sizeof(_Slot))

    def claim(self, index: int) -> WorkerSlot | None:
        """In a freshly forked worker: its own slot, or None when none was reserved."""
        if not 0 <= index < SLOTS:
            return None
        slot = self.slots[index]
        slot.open = slot.accepted = slot.requests = 0
        slot.heartbeat = 0.0  # not serving yet: others ignore it until it starts its ticks
        slot.pid = os.getpid()
        return WorkerSlot(self, index)

    def stats(self) -> list[WorkerStats]:
        """Every occupied slot."""
        now = time.monotonic()
        return [WorkerStats(i, s.pid, s.open, s.accepted, s.requests, now - s.heartbeat)
                for i, s in enumerate(self.slots) if s.pid > 0]


class WorkerSlot:
    """A worker's view of the table: its own counters and the accept decision."""

    def __init__(self, table: WorkerTable, index: int) -> None:
        self.table = table
        self.index = index
        self.own = table.slots[index]

    def connection_opened(self) -> None:
        self.own.open += 1
        self.own.accepted += 1

    def connection_closed(self) -> None:
        self.own.open -= 1

    def request_handled(self) -> None:
        self.own.requests += 1

    def beat(self) -> None:
        self.own.heartbeat = time.monotonic()

    def may_accept(self) -> bool:
        """True unless another live worker holds fewer open connections than this one."""
        mine = self.own.open
        if mine == 0:
            return True
        stale_before = time.monotonic() - STALE_SECONDS
        own_pid = self.own.pid
        for slot in self.table.slots:
            pid = slot.pid
            if pid <= 0 or pid == own_pid:
                continue
            if slot.open < mine and slot.heartbeat >= stale_before:
                return False
        return True


# --- gunicorn hooks ---------------------------------------------------------------------------


def hooks(*, count_requests: bool = False) -> dict[str, Any]:
    """gunicorn server hooks that give each worker a slot (``worker.balance_slot``).

    With ``count_requests`` a ``pre_request`` hook counts requests too (for workers that do
    not count them themselves, such as gunicorn's stock gevent worker).
    """
    options: dict[str, Any] = {
        "on_starting": _on_starting,
        "pre_fork": _pre_fork,
        "post_fork": _post_fork,
    }
    if count_requests:
        options["pre_request"] = _pre_request
    return options


def release_worker(server: Any, worker: Any) -> None:
    """For ``child_exit``: free the dead worker's slot."""
    table: WorkerTable | None = getattr(server, "worker_table", None)
    if table is not None:
        table.release(getattr(worker, "balance_index", -1))


def _on_starting(server: Any) -> None:
    server.worker_table = WorkerTable(os.environ.get(STATS_FILE_ENV) or None)


def _pre_fork(server: Any, worker: Any) -> None:
    table: WorkerTable | None = getattr(server, "worker_table", None)
    worker.balance_index = table.reserve() if table is not None else -1


def _post_fork(server: Any, worker: Any) -> None:
    table: WorkerTable | None = getattr(server, "worker_table", None)
    worker.balance_slot = (table.claim(worker.balance_index) if table is not None else None)


def _pre_request(worker: Any, _req: Any) -> None:
    slot: WorkerSlot | None = getattr(worker, "balance_slot", None)
    if slot is not None:
        slot.request_handled()


# --- reading the table from outside --------------------------------------------------------


def read_stats(path: str) -> list[WorkerStats]:
    """The occupied slots of a file-backed table (``NETPOL_GUARD_WORKER_STATS``)."""
    with open(path, "rb") as handle:
        data = handle.read(ctypes.sizeof(_Table))
    if len(data) < ctypes.sizeof(_Table):
        return []
    slots = _Table.from_buffer_copy(data)
    now = time.monotonic()
    return [WorkerStats(i, s.pid, s.open, s.accepted, s.requests, now - s.heartbeat)
            for i, s in enumerate(slots) if s.pid > 0]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m webhook.serving.balance STATS_FILE", file=sys.stderr)
        return 2
    print(f"{'pid':>8} {'open':>6} {'accepted':>9} {'requests':>10} {'heartbeat':>10}")
    for worker in read_stats(args[0]):
        print(f"{worker.pid:>8} {worker.open:>6} {worker.accepted:>9} {worker.requests:>10} "
              f"{worker.heartbeat_age:>9.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
