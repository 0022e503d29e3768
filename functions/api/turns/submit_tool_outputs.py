from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.turns import SubmitToolOutputs, Turn
from parley.services import tool_outputs

app = api()


@app.post("/v1/conversations/<conversation_id>/turns/<turn_id>/tool-outputs")
def submit_tool_outputs(conversation_id: str, turn_id: str, body: SubmitToolOutputs) -> Turn:
    return tool_outputs.submit(app.principal, conversation_id, turn_id, body)


handler = lambda_handler(app)
