"""Streamed chat completions with the real ``openai`` SDK (``stream=True``) on the devstack: through the
Function URL (the Lambda Web Adapter's server, streaming as the turn writes) and through the HTTP API
(which buffers: the same events, at once)."""

from __future__ import annotations

import time
from typing import Any

import openai
import pytest

from tests.e2e.devstack_process import ApiClient, RunningDevstack

pytestmark = pytest.mark.e2e

AGENT_NAME = "E2E Stream Teller"
WORDS = 30
TALE = " ".join(f"tale{n}" for n in range(WORDS))
SCRIPT = [
    {"match": "(?i)tale", "reply": TALE, "stream_delay_ms": 30},
    {"match": "(?i)weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def agent(api: ApiClient, key: str) -> str:
    headers = {"authorization": f"Bearer {key}"}
    status, _, provider = api.post(
        "/v1/providers",
        headers=headers,
        json={"name": "teller", "kind": "scripted", "options": {"script": SCRIPT}},
    )
    assert status == 201, provider
    status, _, created = api.post(
        "/v1/agents", headers=headers, json={"name": AGENT_NAME, "provider_id": provider["id"]}
    )
    assert status == 201, created
    return AGENT_NAME


def client(base_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=30)


def streamed(sdk: openai.OpenAI, model: str, content: str, **extra: Any) -> list[tuple[float, Any]]:
    stream = sdk.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": content}],
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )
    return [(time.monotonic(), chunk) for chunk in stream]


def test_the_function_url_streams_the_reply_as_it_is_written(
    devstack: RunningDevstack, key: str, agent: str
) -> None:
    chunks = streamed(client(devstack.function_url, key), agent, "tell a tale")
    texts = [(at, c.choices[0].delta.content) for at, c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(text for _, text in texts) == TALE
    assert len(texts) >= 4  # 30 words, 30 ms apart: several deltas, not one at the end
    assert texts[-1][0] - texts[0][0] > 0.3  # they arrived over time
    finish = [c.choices[0].finish_reason for _, c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    usage = chunks[-1][1]
    assert usage.choices == [] and usage.usage.completion_tokens == WORDS


def test_the_http_api_answers_the_same_stream_at_once(
    devstack: RunningDevstack, key: str, agent: str
) -> None:
    chunks = streamed(client(devstack.url, key), agent, "another tale")
    assert "".join(c.choices[0].delta.content or "" for _, c in chunks if c.choices) == TALE
    assert chunks[-1][1].usage.completion_tokens == WORDS


def test_a_client_tool_call_streams_as_tool_call_deltas(
    devstack: RunningDevstack, key: str, agent: str
) -> None:
    sdk = client(devstack.function_url, key)
    chunks = streamed(sdk, agent, "the weather?", tools=[WEATHER])
    calls = [call for _, c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].function.name == "get_weather" and calls[0].id
    assert "".join(call.function.arguments or "" for call in calls) == '{"city": "Oslo"}'
    assert [c.choices[0].finish_reason for _, c in chunks if c.choices and c.choices[0].finish_reason] == [
        "tool_calls"
    ]


def test_a_bad_key_on_the_function_url_is_the_sdks_authentication_error(
    devstack: RunningDevstack, agent: str
) -> None:
    with pytest.raises(openai.AuthenticationError):
        streamed(client(devstack.function_url, "pk_wrong"), agent, "tell a tale")
