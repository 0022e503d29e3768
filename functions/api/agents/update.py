from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.agents import Agent, UpdateAgent
from parley.services import agents

app = api()


@app.patch("/v1/agents/<agent_id>")
def update_agent(agent_id: str, body: UpdateAgent) -> Agent:
    return agents.update(app.principal, agent_id, body)


handler = lambda_handler(app)
