"""Frames within API Gateway's 32 KB, and the worker's batching of a model's deltas (parley.streaming)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.providers.base import ToolCallDelta
from parley.streaming import frames
from parley.streaming.turn_stream import StreamStopped, TurnStream

TURN = {
    "id": "turn_1",
    "conversation_id": "conv_1",
    "workspace_id": "ws_1",
    "attempts": 1,
    "request_message_id": "msg_1",
}


@pytest.mark.parametrize(
    "text",
    ["plain words " * 10_000, "ünïcødé ✓ 漢字 " * 5_000, '\x01\x02"\\' * 20_000, "🙂" * 30_000, "short"],
)
def test_text_is_cut_into_pieces_that_each_fit_a_frame_and_join_back(text: str) -> None:
    pieces = list(frames.text_pieces(text))
    assert "".join(pieces) == text
    for piece in pieces:
        frame = {
            "type": "message.delta",
            "turn_id": "turn_1",
            "conversation_id": "conv_1",
            "seq": 10**6,
            "model_call": 9,
            "text": piece,
        }
        assert len(frames.encode(frame)) <= frames.MAX_FRAME_BYTES


def test_a_completed_turn_with_a_long_reply_keeps_its_start_and_says_so() -> None:
    content = "x" * 100_000
    data = frames.fitted(
        {
            "type": "turn.completed",
            "turn_id": "t",
            "seq": 3,
            "message": {"id": "m", "content": content},
            "usage": {},
        }
    )
    assert len(data) <= frames.MAX_FRAME_BYTES
    frame = json.loads(data)
    assert frame["message"]["content_truncated"] is True and content.startswith(frame["message"]["content"])
    assert frame["message"]["id"] == "m" and frame["seq"] == 3


def test_any_other_frame_too_large_names_the_fields_it_left_out() -> None:
    huge = {"submit_tool_outputs": {"tool_calls": [{"function": {"arguments": "y" * 50_000}}]}}
    frame = json.loads(
        frames.fitted(
            {
                "type": "turn.requires_action",
                "turn_id": "t",
                "seq": 1,
                "required_action": huge,
                "expires_at": "soon",
            }
        )
    )
    assert frame["truncated"] == ["required_action"] and frame["expires_at"] == "soon"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def stream_with(clock: Clock) -> tuple[TurnStream, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    # store_seconds out of reach: these tests need no table
    stream = TurnStream(
        TURN,
        None,
        sinks=[seen.append],
        flush_seconds=0.08,
        store_seconds=10**9,
        monotonic=clock,
        moved_on=lambda: None,
    )
    return stream, seen


def test_the_first_delta_goes_out_at_once_and_the_rest_in_batches() -> None:
    clock = Clock()
    stream, seen = stream_with(clock)
    stream.started()
    stream.model_call()
    stream.text("Once")
    assert [f["text"] for f in seen if f["type"] == "message.delta"] == ["Once"]
    for word in (" upon", " a", " time"):
        clock.now += 0.01
        stream.text(word)
    assert len([f for f in seen if f["type"] == "message.delta"]) == 1  # within the batch interval
    clock.now += 0.1
    stream.text(" there")
    assert [f["text"] for f in seen if f["type"] == "message.delta"] == ["Once", " upon a time there"]
    stream.finished("turn.completed", message={"content": "..."}, usage={})
    assert [f["seq"] for f in seen] == list(range(len(seen)))
    assert seen[0]["type"] == "turn.started" and seen[-1]["type"] == "turn.completed"


def test_tool_call_fragments_are_merged_per_call_and_follow_the_text_before_them() -> None:
    clock = Clock()
    stream, seen = stream_with(clock)
    stream.model_call()
    stream.text("Let me look.")
    stream.tool_call(ToolCallDelta(0, "call_a", "get_weather", '{"ci'))
    clock.now += 0.01
    stream.tool_call(ToolCallDelta(0, None, None, 'ty": "Oslo"}'))
    stream.tool_call(ToolCallDelta(1, "call_b", "get_time", "{}"))
    stream.flush()
    kinds = [f["type"] for f in seen]
    assert kinds[0] == "message.delta"
    calls = [f for f in seen if f["type"] == "tool_call.delta"]
    joined: dict[int, str] = {}
    for call in calls:
        joined[call["index"]] = joined.get(call["index"], "") + call["arguments_fragment"]
    assert json.loads(joined[0]) == {"city": "Oslo"} and joined[1] == "{}"
    assert {c["index"]: c["id"] for c in calls if c["id"]} == {0: "call_a", 1: "call_b"}


def test_steps_go_out_once_each_and_a_resumed_turns_earlier_steps_not_again() -> None:
    seen: list[dict[str, Any]] = []
    earlier = [{"type": "context"}, {"type": "model"}]
    stream = TurnStream(TURN, None, sinks=[seen.append], steps_sent=len(earlier), moved_on=lambda: None)
    steps = [*earlier, {"type": "tool"}]
    stream.steps(steps)
    stream.steps(steps)
    assert [f["step"]["type"] for f in seen] == ["tool"]


def test_a_cancel_stops_a_watched_stream_at_its_next_batch() -> None:
    clock = Clock()
    asked: list[str | None] = [None]
    stream = TurnStream(TURN, None, sinks=[lambda frame: None], monotonic=clock, moved_on=lambda: asked[-1])
    stream.model_call()
    stream.text("one")
    asked.append("cancel_requested")
    stream.text(" two")  # within the batch: not checked yet
    clock.now += 0.1
    with pytest.raises(StreamStopped) as stopped:
        stream.text(" three")
    assert stopped.value.reason == "cancel_requested" and stream.text_so_far == "one two three"


def test_with_no_listener_nothing_is_built_but_seq_still_counts() -> None:
    stream = TurnStream(TURN, None)
    stream.started()
    stream.model_call()
    stream.text("hello")
    stream.flush()
    assert stream.seq == 1
