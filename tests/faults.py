"""Faults to inject into the services a distributed Dalston talks to, from tests.

- ``kill_own_redis_connections``: ``CLIENT KILL`` every connection this process
  has open to Redis (the connections of an in-process runtime), and only those, so
  other tests sharing the Redis server are not disturbed.
- ``task_holder``: a separate process, a worker that takes one task message of an
  engine from Redis Streams and then holds it, to be killed (``kill -9``).
- ``silent_server``: a TCP port that accepts connections and never answers (a hung
  Redis or S3); ``closed_port``: one where nothing listens (an unreachable one).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis


def _own_socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    return inodes


def own_connections_to(port: int) -> list[int]:
    """Local ports of this process's TCP connections to ``port`` (Linux /proc)."""
    inodes = _own_socket_inodes()
    ports = []
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == port:
                ports.append(int(local.rsplit(":", 1)[1], 16))
    return ports


def kill_own_redis_connections(url: str = "redis://127.0.0.1:6379/0") -> int:
    """Close (server side) every connection of this process to Redis; how many."""
    killer = redis.Redis.from_url(url)
    port = killer.connection_pool.connection_kwargs.get("port", 6379)
    killed = 0
    try:
        for local in own_connections_to(int(port)):
            killed += int(
                killer.execute_command(
                    "CLIENT", "KILL", "ADDR", f"127.0.0.1:{local}", "SKIPME", "yes"
                )
            )
    finally:
        killer.close()
    return killed


@contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections, reads, and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


ROOT = Path(__file__).resolve().parent.parent
_HOLD_ONE_TASK = """
import asyncio, sys
from dalston.queue.redis_streams import RedisStreamsQueue

async def main() -> None:
    queue = RedisStreamsQueue(
        sys.argv[1], prefix=sys.argv[2], visibility_timeout_s=60, consumer_ttl_s=1.0
    )
    message = await queue.get_task(sys.argv[3], timeout=30)
    print("holding", message.task_id if message else None, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@dataclass
class HeldTask:
    task_id: str
    process: asyncio.subprocess.Process

    def kill(self) -> None:
        """``kill -9``: no cleanup, its liveness key expires after 1 s."""
        self.process.send_signal(signal.SIGKILL)


@asynccontextmanager
async def task_holder(url: str, prefix: str, engine_id: str) -> AsyncIterator[HeldTask]:
    """A worker process (liveness TTL 1 s) holding the next task of ``engine_id``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLD_ONE_TASK,
        url,
        prefix,
        engine_id,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        words = line.decode().split()
        assert words[:1] == ["holding"], line
        yield HeldTask(task_id=words[1], process=process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


class TcpProxy:
    """A loopback TCP proxy to ``target_port`` that can go down (every open
    connection cut, new ones refused at once) and come back: an S3 endpoint, a
    database or a queue that disappears for a while. ``rate``: bytes per second
    it passes from the target back to the client (a slow link), else no limit."""

    def __init__(
        self, target_port: int, host: str = "127.0.0.1", rate: int | None = None
    ) -> None:
        self.target_port = target_port
        self.rate = rate
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(128)
        self.port = int(self.listener.getsockname()[1])
        self._up = threading.Event()
        self._up.set()
        self._stop = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self) -> None:
        self._up.clear()
        with self._lock:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
            self._open.clear()

    def up(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._stop.set()
        self.down()
        self.listener.close()

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            if not self._up.is_set():
                client.close()  # refused: the endpoint is down
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b, rate in ((client, upstream, None), (upstream, client, self.rate)):
                threading.Thread(
                    target=self._pipe, args=(a, b, rate), daemon=True
                ).start()

    def _pipe(
        self, source: socket.socket, sink: socket.socket, rate: int | None
    ) -> None:
        chunk = 65536 if rate is None else max(rate // 10, 1)
        try:
            while data := source.recv(chunk):
                sink.sendall(data)
                if rate is not None:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        finally:
            for conn in (source, sink):
                with contextlib.suppress(OSError):
                    conn.close()
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
