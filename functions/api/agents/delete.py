from __future__ import annotations

from parley.http import api, lambda_handler
from parley.services import agents

app = api()


@app.delete("/v1/agents/<agent_id>", status=204)
def delete_agent(agent_id: str) -> None:
    agents.delete(app.principal, agent_id)


handler = lambda_handler(app)
