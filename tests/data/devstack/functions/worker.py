"""SQS worker with partial batch responses: a record whose body starts with "fail" fails every time;
"crash-once" makes the whole invocation raise the first time it is delivered."""

from __future__ import annotations

from typing import Any

import toylib  # type: ignore[import-not-found]  # the toy layer, on sys.path as in Lambda


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event["Records"]
    toylib.record("batch", records[0]["messageId"], {"size": len(records)})
    if any(r["body"] == "crash-once" and r["attributes"]["ApproximateReceiveCount"] == "1" for r in records):
        raise RuntimeError("the whole batch fails")
    failures = []
    for record in records:
        toylib.record("attempt", record["messageId"], {"body": record["body"]})
        if record["body"].startswith("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        toylib.record("work", record["messageId"], {"body": record["body"], "record": record})
    return {"batchItemFailures": failures}
