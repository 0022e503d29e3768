"""Field types several resources share (an agent's and a job's sampling parameters, message content).

Kept apart from the models that use them: a job's or a chat completion's handler imports these
without building the agent and message models on its cold start.
"""

from typing import Annotated

from pydantic import Field, StringConstraints

MAX_CONTENT_CHARS = 200_000

ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ProviderId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Temperature = Annotated[float, Field(ge=0, le=2)]
TopP = Annotated[float, Field(ge=0, le=1)]
MaxTokens = Annotated[int, Field(ge=1, le=200_000)]
Seed = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
