"""422s raised by services, for rules a request model cannot check alone (they need stored state),
in the same shape parley.http gives pydantic's errors: ``details[].loc`` starts with ``body``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from parley import errors


def invalid(field: str, message: str, *, error_type: str = "value_error") -> errors.ValidationFailed:
    return errors.ValidationFailed(
        f"The request is not valid: {field}: {message}",
        details=[{"loc": ["body", *field.split(".")], "msg": message, "type": error_type}],
    )


def invalid_nested(exc: ValidationError, field: str) -> errors.ValidationFailed:
    """A nested model's errors (e.g. a provider's kind-specific options) as errors of ``field``."""
    details: list[dict[str, Any]] = [
        {
            "loc": ["body", *field.split("."), *(str(part) for part in item["loc"])],
            "msg": item["msg"],
            "type": item["type"],
        }
        for item in exc.errors(include_url=False, include_input=False)
    ]
    fields = ", ".join(".".join(d["loc"]) for d in details[:5])
    return errors.ValidationFailed(f"The request is not valid: {fields}.", details=details)
