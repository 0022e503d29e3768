from __future__ import annotations

from collections.abc import Mapping, Sequence

from parley.compat.openai import openai_error
from parley.http import Principal, Request, Response, api, lambda_handler
from parley.models.chat import ChatCompletionRequest
from parley.services import chat_completions
from parley.services.chat_completions import Answer, FrameSink, StreamedAnswer

app = api(openai_error)

EVENT_STREAM_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


@app.post("/v1/chat/completions")
def create_chat_completion(body: ChatCompletionRequest, request: Request) -> Response:
    """A ChatCompletion (parley.models.chat), or with stream: true its chunks as server-sent events;
    with x-conversation-id and x-turn-id headers."""
    answered = respond(app.principal, body, request.headers, request_id=request.request_id)
    if isinstance(answered, StreamedAnswer):
        # An HTTP API cannot stream: API Gateway buffers a function's whole answer. So here the events
        # come all at once, when the turn has ended; the Function URL (api.chat.stream_server) sends
        # each as it comes.
        events = b"".join(answered.chunks).decode()
        return Response(200, events, headers={**EVENT_STREAM_HEADERS, **answered.headers})
    return Response(200, answered.completion, headers=answered.headers)


def respond(
    principal: Principal,
    body: ChatCompletionRequest,
    headers: Mapping[str, str],
    *,
    request_id: str,
    deadline_seconds: float | None = None,
) -> Answer | StreamedAnswer:
    """The service's answer to a request (``headers`` in lower case): streamed for stream: true."""
    user_id = headers.get("x-user-id")
    conversation_id = headers.get("x-conversation-id")
    if body.stream:
        return chat_completions.stream(
            principal,
            body,
            user_id=user_id,
            conversation_id=conversation_id,
            run_turn=run_turn,
            request_id=request_id,
            deadline_seconds=deadline_seconds,
        )
    return chat_completions.complete(
        principal,
        body,
        user_id=user_id,
        conversation_id=conversation_id,
        run_turn=run_turn,
        deadline_seconds=deadline_seconds,
    )


def run_turn(
    workspace_id: str, conversation_id: str, turn_id: str, *, sinks: Sequence[FrameSink] = ()
) -> str:
    """The agent's turn, run in this process (its stream frames passed to ``sinks``)."""
    # Imported by the first request that runs a turn: the model's imports are not paid by a cold start
    # that only refuses a request.
    from parley.agent import pipeline

    return pipeline.run_turn(workspace_id, conversation_id, turn_id, sinks=sinks)


handler = lambda_handler(app)
