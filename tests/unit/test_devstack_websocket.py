"""The devstack's @connections emulation: a client that does not read its frames is cut off, never a
worker held up (API Gateway buffers posts; a connection that falls far behind is closed)."""

from __future__ import annotations

import queue
import threading

from devstack import websocket


class FakeConnection:
    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def test_a_client_too_slow_to_read_is_closed_and_its_posts_answered_gone() -> None:
    server = websocket.StreamServer.__new__(websocket.StreamServer)  # no sockets: only its registry
    server._clients, server._lock = {}, threading.Lock()
    connection = FakeConnection()
    client = websocket._Client(connection, "c1", {}, 0, "127.0.0.1", "test")  # type: ignore[arg-type]
    client.outbox = queue.Queue(2)
    server._clients["c1"] = client
    assert server.post("c1", b"one") and server.post("c1", b"two")
    assert server.post("c1", b"three") is False
    assert connection.closed == (1008, "Too slow: frames were not read")
    assert server.post("nobody", b"x") is False
