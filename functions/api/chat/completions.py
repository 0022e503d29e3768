from __future__ import annotations

from parley.compat.openai import openai_error
from parley.http import Request, Response, api, lambda_handler
from parley.models.chat import ChatCompletionRequest
from parley.services import chat_completions

app = api(openai_error)


@app.post("/v1/chat/completions")
def create_chat_completion(body: ChatCompletionRequest, request: Request) -> Response:
    """A ChatCompletion (parley.models.chat), with x-conversation-id and x-turn-id headers."""
    answer = chat_completions.complete(
        app.principal,
        body,
        user_id=request.headers.get("x-user-id"),
        conversation_id=request.headers.get("x-conversation-id"),
        run_turn=run_turn,
    )
    return Response(200, answer.completion, headers=answer.headers)


def run_turn(workspace_id: str, conversation_id: str, turn_id: str) -> str:
    """The agent's turn, run in this process."""
    # Imported by the first request that runs a turn: the model's imports are not paid by a cold start
    # that only refuses a request.
    from parley.agent import pipeline

    return pipeline.run_turn(workspace_id, conversation_id, turn_id)


handler = lambda_handler(app)
