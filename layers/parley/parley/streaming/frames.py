"""Frames as clients receive them: JSON objects, each within API Gateway's 32 KB frame limit.

Text (a reply's delta, a tool call's arguments) is cut into pieces that fit, each its own frame. Any
other frame that would not fit (a completed turn with a long reply, a pause with huge arguments)
loses its largest field, named in ``truncated``: the client reads the whole of it from the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

# API Gateway's limit for one frame; what a frame carries stays below it with room to spare.
MAX_FRAME_BYTES = 32 * 1024
_BUDGET = MAX_FRAME_BYTES - 1024
# The envelope of a delta frame (type, ids, seq, index) is far below this; the text gets the rest.
_TEXT_BUDGET = _BUDGET - 1024
_KEPT = frozenset({"type", "turn_id", "conversation_id", "seq", "attempt"})


def encode(frame: Mapping[str, Any]) -> bytes:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode()


def text_pieces(text: str) -> Iterator[str]:
    """``text`` in consecutive pieces whose JSON string encoding fits a frame (escapes included)."""
    start = 0
    while start < len(text):
        end = min(len(text), start + _TEXT_BUDGET // 4)  # 4 bytes is UTF-8's widest character
        # Most text is far narrower: take more while it still fits.
        while (
            end < len(text) and _encoded_length(text[start : min(len(text), end * 2 - start)]) <= _TEXT_BUDGET
        ):
            end = min(len(text), end * 2 - start)
        while _encoded_length(text[start:end]) > _TEXT_BUDGET:
            end = start + max(1, (end - start) // 2)  # control characters escape to six bytes
        yield text[start:end]
        start = end


def _encoded_length(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode())


def fitted(frame: dict[str, Any]) -> bytes:
    """The frame encoded; if it is too large, without its largest fields (named in ``truncated``)."""
    data = encode(frame)
    if len(data) <= MAX_FRAME_BYTES:
        return data
    message = frame.get("message")
    if isinstance(message, dict) and isinstance(message.get("content"), str):
        # A completed turn: the reply's start, and the client reads the rest as the stored message.
        over = len(data) - _BUDGET
        content = message["content"].encode()
        kept = content[: max(0, len(content) - over - 64)].decode(errors="ignore")
        shortened = {**frame, "message": {**message, "content": kept, "content_truncated": True}}
        data = encode(shortened)
        if len(data) <= MAX_FRAME_BYTES:
            return data
        frame = shortened
    slimmed = dict(frame)
    dropped: list[str] = []
    for name in sorted((k for k in frame if k not in _KEPT), key=lambda k: -len(encode({k: frame[k]}))):
        slimmed.pop(name)
        dropped.append(name)
        data = encode({**slimmed, "truncated": dropped})
        if len(data) <= MAX_FRAME_BYTES:
            break
    return data
