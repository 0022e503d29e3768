"""The worker's side of streaming: one attempt at a turn, as numbered frames.

Every frame carries ``type``, ``turn_id``, ``conversation_id`` and ``seq``, which counts from 0 at each
attempt's ``turn.started`` (a turn redelivered after a partial stream starts again, and its client
sees ``seq`` restart). The model's deltas are batched: the first goes out at once (time to first
token), later ones at most every ``flush_seconds``, so a connection gets a bounded number of posts
per second however fast the model writes. Steps go out as they are recorded.

While the model writes, the turn's ``partial_content`` (and ``partial_seq``, the last frame it
includes) is stored at most every ``store_seconds``, so a client that connects mid-turn reads the
text so far and follows the frames after it. That write is conditional on the turn still being this
attempt's and not asked to cancel; while someone watches the stream, each batch also checks (one
small read), so a cancel stops the stream within one batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from parley.observability import logger
from parley.providers.base import ToolCallDelta
from parley.store import table
from parley.store import turns as turn_store
from parley.streaming import frames
from parley.streaming.fanout import Fanout

FLUSH_SECONDS = 0.08
STORE_SECONDS = 0.5
# A partial text longer than this is not stored (the turn item must stay well under 400 KB).
MAX_PARTIAL_CHARS = 100_000

Sink = Callable[[dict[str, Any]], None]


class StreamStopped(Exception):
    """The turn moved on while the model wrote: ``reason`` is "cancel_requested" or "skipped"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TurnStream:
    def __init__(
        self,
        turn: Mapping[str, Any],
        fanout: Fanout | None,
        *,
        sinks: Sequence[Sink] = (),
        steps_sent: int = 0,
        flush_seconds: float = FLUSH_SECONDS,
        store_seconds: float = STORE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        moved_on: Callable[[], str | None] | None = None,
    ) -> None:
        """``moved_on`` says why this attempt should stop: "cancel_requested", "skipped", or None
        (by default ``turn_store.moved_on`` of the turn)."""
        self._turn = turn
        self._fanout = fanout
        self._sinks = list(sinks)
        self._flush_seconds = flush_seconds
        self._store_seconds = store_seconds
        self._monotonic = monotonic
        self._moved_on = moved_on or self._read_moved_on
        self.seq = -1
        self._steps_sent = steps_sent  # a resumed turn's earlier steps went out before it paused
        self._model_call = 0
        self._text = ""  # the current model call's text so far
        self._unsent_text = ""
        self._unsent_calls: dict[int, dict[str, Any]] = {}
        self._last_flush = float("-inf")
        self._last_store = monotonic()
        self._stored_chars = 0

    # -- frames ---------------------------------------------------------------------------------
    def emit(self, kind: str, **payload: Any) -> None:
        self.seq += 1
        if not self._sinks and not (self._fanout and self._fanout.connections):
            return  # nobody listens; the sequence still counts, so partial_seq stays meaningful
        frame = {
            "type": kind,
            "turn_id": self._turn["id"],
            "conversation_id": self._turn["conversation_id"],
            "seq": self.seq,
            **payload,
        }
        for sink in self._sinks:
            sink(frame)
        if self._fanout is not None and self._fanout.connections:
            self._fanout.post(frames.fitted(frame))

    def started(self) -> None:
        self.emit(
            "turn.started",
            attempt=self._turn.get("attempts"),
            request_message_id=self._turn.get("request_message_id"),
        )

    def model_call(self) -> None:
        """A model call begins: its text is new (the loop's earlier calls ended in tool calls)."""
        self.flush()
        self._model_call += 1
        self._text = ""
        self._last_flush = float("-inf")  # its first delta goes out at once
        self._last_store = self._monotonic()

    def text(self, piece: str) -> None:
        if not piece:
            return
        self._text += piece
        self._unsent_text += piece
        self._tick()

    def tool_call(self, delta: ToolCallDelta) -> None:
        if self._unsent_text:
            self._send_text()  # keep the model's order: its words before the call that follows them
        pending = self._unsent_calls.setdefault(
            delta.index, {"index": delta.index, "id": None, "name": None, "arguments_fragment": ""}
        )
        pending["id"] = pending["id"] or delta.id
        pending["name"] = pending["name"] or delta.name
        pending["arguments_fragment"] += delta.arguments_fragment
        self._tick()

    def steps(self, steps: Sequence[Mapping[str, Any]]) -> None:
        """Frames for the steps recorded since the last call."""
        self.flush()
        for step in steps[self._steps_sent :]:
            self.emit("step", step=dict(step))
        self._steps_sent = len(steps)

    def finished(self, kind: str, steps: Sequence[Mapping[str, Any]] = (), **payload: Any) -> None:
        """The last frame of the attempt (turn.completed, turn.failed, …), after what is still unsent."""
        self.steps(steps)
        self.emit(kind, **payload)

    @property
    def text_so_far(self) -> str:
        return self._text

    # -- batching -------------------------------------------------------------------------------
    def flush(self) -> None:
        if self._unsent_text:
            self._send_text()
        for pending in self._unsent_calls.values():
            fragment = pending["arguments_fragment"]
            pieces = list(frames.text_pieces(fragment)) or [""]
            for number, piece in enumerate(pieces):
                first = number == 0
                self.emit(
                    "tool_call.delta",
                    model_call=self._model_call,
                    index=pending["index"],
                    id=pending["id"] if first else None,
                    name=pending["name"] if first else None,
                    arguments_fragment=piece,
                )
        self._unsent_calls.clear()
        self._last_flush = self._monotonic()

    def _send_text(self) -> None:
        for piece in frames.text_pieces(self._unsent_text):
            self.emit("message.delta", model_call=self._model_call, text=piece)
        self._unsent_text = ""

    def _tick(self) -> None:
        now = self._monotonic()
        if now - self._last_flush >= self._flush_seconds:
            self.flush()
            if self._watched():
                # Someone sees this stream: a cancel stops it within one batch, not one stored text.
                self._stop_if_moved_on()
        if now - self._last_store >= self._store_seconds:
            self._store_partial(now)

    def _watched(self) -> bool:
        return bool(self._sinks or (self._fanout and self._fanout.connections))

    def _stop_if_moved_on(self) -> None:
        reason = self._moved_on()
        if reason is not None:
            raise StreamStopped(reason)

    def _read_moved_on(self) -> str | None:
        turn = self._turn
        return turn_store.moved_on(
            turn["workspace_id"], turn["conversation_id"], turn["id"], turn["attempts"]
        )

    def _store_partial(self, now: float) -> None:
        self._last_store = now
        if len(self._text) == self._stored_chars or len(self._text) > MAX_PARTIAL_CHARS:
            return
        self.flush()  # partial_seq names a frame that went out
        turn = self._turn
        try:
            turn_store.update(
                turn["workspace_id"],
                turn["conversation_id"],
                turn["id"],
                set_fields={"partial_content": self._text, "partial_seq": self.seq},
                condition="#st = :running AND attempts = :attempt AND attribute_not_exists(cancel_requested)",
                names={"#st": "status"},
                values={":running": "running", ":attempt": turn["attempts"]},
            )
        except table.ConditionFailed:
            raise StreamStopped(self._moved_on() or "skipped") from None
        self._stored_chars = len(self._text)
        if self._fanout is not None:
            self._fanout.refresh()  # a client that subscribed meanwhile gets the frames from here on
        logger.debug("partial reply stored", extra={"turn_id": turn["id"], "chars": self._stored_chars})
