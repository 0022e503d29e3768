"""An OpenAI-compatible chat completions server on loopback that records what it is asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pytest_httpserver import HTTPServer


@contextmanager
def recording_openai_server(
    *, finish_reason: str = "stop", usage: tuple[int, int] = (5, 2)
) -> Iterator[tuple[HTTPServer, list[dict[str, Any]]]]:
    """The server and the request bodies it received; its n-th answer is "answer <n>"."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    seen: list[dict[str, Any]] = []

    def answer(request):
        from werkzeug import Response

        seen.append(json.loads(request.data))
        payload = {
            "choices": [
                {
                    "message": {"role": "assistant", "content": f"answer {len(seen)}"},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]},
        }
        return Response(json.dumps(payload), content_type="application/json")

    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(answer)
    try:
        yield server, seen
    finally:
        server.clear()
        server.stop()
