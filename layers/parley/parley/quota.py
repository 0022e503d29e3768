"""The per-workspace request quota: N requests per workspace per calendar minute.

Counted in the authorizers (parley.auth), which already read the key's lookup item on every
request and know the workspace before any handler runs: one conditional UpdateItem per request
(an extra write, ~1 WRU, on-demand). Over the limit the request is still let through with
``quota_exceeded`` and ``retry_after`` in the authorizer context, and ``parley.http`` answers 429 with
``Retry-After`` in the route's own error shape (an HTTP API authorizer can only say 401/403).
Counters expire after two minutes through the table's TTL (``expires_at``).
"""

from __future__ import annotations

import time

from parley.config import settings
from parley.store import quotas

WINDOW_SECONDS = 60
# Kept a little past their minute: TTL deletion is lazy and a late reader must not see a reset.
COUNTER_TTL_SECONDS = 2 * WINDOW_SECONDS
_clock = time.time  # tests pin it so that a run never straddles a minute


def check(workspace_id: str) -> dict[str, str]:
    """Count one request; the authorizer-context fields that say whether it is over the quota."""
    limit = settings().workspace_requests_per_minute
    if limit <= 0:
        return {}
    now = _clock()
    minute = int(now // WINDOW_SECONDS)
    if quotas.count(workspace_id, minute, limit=limit, expires_at=int(now) + COUNTER_TTL_SECONDS):
        return {}
    retry_after = max(1, (minute + 1) * WINDOW_SECONDS - int(now))
    return {"quota_exceeded": "true", "retry_after": str(retry_after)}
