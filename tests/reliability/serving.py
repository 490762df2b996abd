"""Helpers around a real ``netpol-guard serve`` for the reliability tests.

Finding gunicorn's workers and which client connections each one holds (from /proc, so a test
can kill the worker that serves given connections and check that only those failed), reading
/metrics and /readyz, and waiting for conditions with a deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.reliability.loadgen import HOST, client_context


def worker_pids(master_pid: int) -> set[int]:
    """The live child processes of gunicorn's master (its workers)."""
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == master_pid and state != "Z":
            children.add(int(entry))
    return children


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            inodes.add(int(match.group(1)))
    return inodes


def client_ports_of(pid: int, server_port: int) -> set[int]:
    """Client ports of the established connections process ``pid`` holds on ``server_port``."""
    inodes = _socket_inodes(pid)
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
        if state != "01" or inode not in inodes:  # 01: ESTABLISHED
            continue
        if int(local.split(":")[1], 16) == server_port:
            ports.add(int(remote.split(":")[1], 16))
    return ports


def get(port: int, ca_file: str, path: str,
        client_cert: tuple[str, str] | None = None) -> tuple[int, bytes]:
    """One GET on a fresh connection: (status, body)."""
    connection = http.client.HTTPSConnection(HOST, port, timeout=5,
                                             context=client_context(ca_file, client_cert))
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def readyz(port: int, ca_file: str) -> tuple[int, dict[str, Any]]:
    status, body = get(port, ca_file, "/readyz")
    return status, json.loads(body)


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


def metrics(port: int, ca_file: str) -> dict[str, float]:
    """/metrics as {'name{labels}': value} (labels as the exposition text writes them)."""
    status, body = get(port, ca_file, "/metrics")
    assert status == 200, body
    samples = {}
    for line in body.decode().splitlines():
        match = _SAMPLE.match(line)
        if match:
            samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def metric(samples: dict[str, float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    total = 0.0
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        if all(f'{label}="{wanted}"' in rest for label, wanted in labels.items()):
            total += value
    return total


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             interval: float = 0.1) -> float:
    """Poll ``condition`` until true; returns the seconds it took, fails after ``timeout``."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except (OSError, ssl.SSLError, http.client.HTTPException):
            pass
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def raw_exchange(port: int, ca_file: str, request: bytes, timeout: float = 8) -> bytes:
    """Send raw ``request`` bytes on a fresh TLS connection and read until the server closes
    it (or resets it)."""
    context = client_context(ca_file)
    with socket.create_connection((HOST, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=HOST) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ssl.SSLError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)
