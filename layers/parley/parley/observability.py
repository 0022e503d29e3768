"""Structured logging, created once.

A small JSON logger on the standard library instead of Powertools' Logger: it honours the same
variables (POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL) and shape, at a fraction of the import
cost that every cold start pays. Never log request bodies or headers: they carry secrets.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from typing import Any

_request_fields: ContextVar[dict[str, Any] | None] = ContextVar("parley_request_fields", default=None)
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class _JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.module}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "service": self.service,
        }
        entry.update(_request_fields.get() or {})
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _build_logger() -> logging.Logger:
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "parley")
    built = logging.getLogger(service)
    if not built.handlers:
        stream = logging.StreamHandler(sys.stdout)
        stream.setFormatter(_JsonFormatter(service))
        built.addHandler(stream)
        built.propagate = False
    built.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO").upper())
    return built


logger = _build_logger()


def bind_request(**fields: Any) -> None:
    """Attach fields (request id, function, cold start) to every log line of the current invocation."""
    _request_fields.set(fields)
