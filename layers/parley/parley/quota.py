"""The per-workspace request quota: N requests per workspace per calendar minute.

Counted in the authorizers (parley.auth), which already read the key's lookup item on every
request and know the workspace before any handler runs. Over the limit the request is still let
through with ``quota_exceeded`` and ``retry_after`` in the authorizer context, and ``parley.http``
answers 429 with ``Retry-After`` in the route's own error shape (an HTTP API authorizer can only say
401/403). Counters expire after two minutes through the table's TTL (``expires_at``).

A warm authorizer does not write the counter on every request: it reserves a share of the minute's
quota at a time (one conditional UpdateItem that never takes the counter past the limit) and spends
it locally. So no more than the limit is ever admitted in a minute, while most requests make one AWS
call (the key) instead of two. What a container reserved and did not spend is lost with it: near the
end of a busy minute a request may be refused while up to one reservation per other warm container
is unspent (a reservation is 1/RESERVATION_SHARE of the limit, at most MAX_RESERVATION; a quota
under RESERVATION_SHARE is counted one request at a time, exactly).
"""

from __future__ import annotations

import time

from parley.config import settings
from parley.store import quotas

WINDOW_SECONDS = 60
# Kept a little past their minute: TTL deletion is lazy and a late reader must not see a reset.
COUNTER_TTL_SECONDS = 2 * WINDOW_SECONDS
RESERVATION_SHARE = 200
MAX_RESERVATION = 50
_clock = time.time  # tests pin it so that a run never straddles a minute
# (workspace, minute) -> requests this container reserved and has not admitted yet
_reserved: dict[tuple[str, int], int] = {}


def reservation_size(limit: int) -> int:
    return max(1, min(MAX_RESERVATION, limit // RESERVATION_SHARE))


def check(workspace_id: str) -> dict[str, str]:
    """Count one request; the authorizer-context fields that say whether it is over the quota."""
    limit = settings().workspace_requests_per_minute
    if limit <= 0:
        return {}
    now = _clock()
    minute = int(now // WINDOW_SECONDS)
    window = (workspace_id, minute)
    if _reserved.get(window, 0) > 0:
        _reserved[window] -= 1
        return {}
    granted = quotas.reserve(
        workspace_id,
        minute,
        reservation_size(limit),
        limit=limit,
        expires_at=int(now) + COUNTER_TTL_SECONDS,
    )
    if granted:
        for stale in [w for w in _reserved if w[1] != minute]:
            del _reserved[stale]  # an earlier minute's leftovers admit nothing
        _reserved[window] = granted - 1
        return {}
    retry_after = max(1, (minute + 1) * WINDOW_SECONDS - int(now))
    return {"quota_exceeded": "true", "retry_after": str(retry_after)}
