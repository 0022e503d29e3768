"""What every executor returns: the text the model reads, and whether it is an error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A tool output longer than this is cut (its detail says truncated) before the model reads it or it
# is stored; a stored output past the message inline limit goes to S3, as large message bodies do.
MAX_OUTPUT_CHARS = 100_000


@dataclass(frozen=True)
class ToolOutput:
    output: str
    is_error: bool = False
    # What the turn's step records beside the output: status, attempts, duration_ms, ...
    detail: dict[str, Any] = field(default_factory=dict)


class ToolRefused(Exception):
    """A tool definition or call that is not allowed (a refused address, a URL carrying a key, ...).

    ``message`` is safe to show to the model, the client and the logs: it never carries a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
