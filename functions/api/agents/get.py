from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.agents import Agent
from parley.services import agents

app = api()


@app.get("/v1/agents/<agent_id>")
def get_agent(agent_id: str) -> Agent:
    return agents.get(app.principal, agent_id)


handler = lambda_handler(app)
