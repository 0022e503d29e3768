from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.memories import MemoriesExtracted, MemoriesFromMessages
from parley.services import memories

app = api()


@app.post("/v1/memories/from_messages")
def memories_from_messages(body: MemoriesFromMessages) -> MemoriesExtracted:
    """The agent's model extracts durable facts about the user; repeated facts are not stored twice."""
    return memories.from_messages(app.principal, body)


handler = lambda_handler(app)
