from __future__ import annotations

from parley.compat import mielto
from parley.compat.mielto_wire import mielto_api
from parley.http import lambda_handler

app = mielto_api()


@app.delete("/api/v1/conversations/<conversation_id>")
def delete_conversation(conversation_id: str) -> dict[str, str]:
    return mielto.delete_conversation(app.principal, conversation_id)


handler = lambda_handler(app)
