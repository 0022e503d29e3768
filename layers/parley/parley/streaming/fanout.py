"""Posting a turn's frames to the connections subscribed to its conversation, through @connections.

One post per connection per frame, the connections of a frame in parallel. A connection that is gone
(410) is forgotten with its subscriptions; any other failure loses that frame for that connection
only (its client sees a gap in ``seq`` and can read the turn). Nothing here ever fails a turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from parley import aws
from parley.config import settings
from parley.observability import logger
from parley.store import connections as store
from parley.store import table

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

# Posts to one frame's connections run this many at once.
POST_THREADS = 8


@cache
def _client() -> Any:
    from botocore.config import Config

    # A frame that cannot be posted within a couple of seconds is not worth holding the turn for.
    config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    return aws.client("apigatewaymanagementapi", endpoint_url=settings().stream_callback_url, config=config)


@cache
def _pool() -> ThreadPoolExecutor:
    # Imported when a frame first goes to two connections: a cold start never pays for it.
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=POST_THREADS, thread_name_prefix="parley-fanout")


def enabled() -> bool:
    """This deployment has a WebSocket API to stream to."""
    return bool(settings().stream_callback_url)


def streamed(*records: Mapping[str, Any], now: float | None = None) -> bool:
    """Whether a turn may have subscribers to look for when it starts: a subscription marks its
    conversation (``streamed_until``), so a turn of one never streamed reads nothing more. A turn
    resumed after tool outputs runs with the conversation as it paused, and carries the mark as the
    outputs found it."""
    moment = now if now is not None else time.time()
    return any(
        isinstance(until := record.get(store.STREAMED_UNTIL), int | float) and until > moment
        for record in records
    )


class Fanout:
    """The subscribers of one conversation, read when the turn starts and again by ``refresh`` (the
    turn stream's, with each stored partial text: a client may subscribe mid-turn)."""

    def __init__(
        self,
        workspace_id: str,
        conversation_id: str,
        *,
        read_now: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``read_now`` False: the conversation had no subscription when the turn began (``streamed``),
        so the first read waits for the first ``refresh``, if the turn lasts long enough to make one."""
        self.workspace_id = workspace_id
        self.conversation_id = conversation_id
        self._clock = clock
        self.connections: list[str] = []
        self.posts = 0  # management API calls made (the benchmark counts them)
        if read_now:
            self.refresh()

    def refresh(self) -> None:
        try:
            self.connections = store.subscribers(
                self.workspace_id,
                self.conversation_id,
                now=int(self._clock()),
                limit=store.MAX_SUBSCRIBERS_PER_CONVERSATION,
            )
        except Exception:
            logger.exception("could not read the conversation's subscribers")

    def post(self, data: bytes) -> None:
        connections = list(self.connections)
        if not connections:
            return
        self.posts += len(connections)
        if len(connections) == 1:
            self._post_one(connections[0], data)
        else:
            list(_pool().map(lambda connection: self._post_one(connection, data), connections))

    def _post_one(self, connection_id: str, data: bytes) -> None:
        try:
            _client().post_to_connection(ConnectionId=connection_id, Data=data)
        except Exception as exc:
            if table.error_code(exc) == "GoneException":
                self._forget(connection_id)
            else:
                logger.warning(
                    "could not post a frame",
                    extra={"connection_id": connection_id, "error": type(exc).__name__},
                )

    def _forget(self, connection_id: str) -> None:
        if connection_id in self.connections:
            self.connections.remove(connection_id)
        try:
            store.forget_connection(self.workspace_id, connection_id)
        except Exception:
            logger.exception("could not forget a gone connection", extra={"connection_id": connection_id})
