"""Queue pickup on the devstack: from a record's SendMessage to its function starting.

Runs the devstack in a child process (``python -m bench.pickup``, which owns its environment as the
devstack requires), with the turns worker replaced by a recorder so that only the event source
mapping is measured: the SQS long poll, the record's conversion to a Lambda event and the hand-off.
Records go one at a time (the next is sent once the last has started), in four FIFO groups.
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

from bench.stats import percentile

SAMPLES = 40
FUNCTION = "RunTurnFunction"
QUEUE = "TurnsQueue"


def run() -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.pickup"], capture_output=True, text=True, timeout=180, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.pickup failed:\n{completed.stderr[-4000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def measure(samples: int = SAMPLES) -> dict[str, Any]:
    import boto3

    from devstack.app import Devstack

    started: dict[str, float] = {}
    arrived = threading.Condition()

    def recorder(event: Any) -> dict[str, Any]:
        now = time.perf_counter()
        with arrived:
            for record in event["Records"]:
                started[json.loads(record["body"])["id"]] = now
            arrived.notify_all()
        return {"batchItemFailures": []}

    with Devstack(port=0, aws_port=0) as stack:
        assert stack.resources is not None
        stack.functions[FUNCTION].invoke = recorder  # type: ignore[method-assign]
        sqs = boto3.client("sqs")
        queue_url = stack.resources.ref(QUEUE)
        from_call, from_return = [], []
        for n in range(samples + 3):  # the first three warm the client and the pollers' connections
            record_id = uuid.uuid4().hex
            calling = time.perf_counter()
            sqs.send_message(
                QueueUrl=queue_url,
                MessageBody=json.dumps({"id": record_id}),
                MessageGroupId=f"group-{n % 4}",
                MessageDeduplicationId=record_id,
            )
            returned = time.perf_counter()
            with arrived:
                if not arrived.wait_for(functools.partial(started.__contains__, record_id), timeout=10):
                    raise RuntimeError(f"record {n} was not picked up within 10 s")
            if n >= 3:
                from_call.append(started[record_id] - calling)
                # Often negative: the waiting poll returns before the sender has parsed its response.
                from_return.append(started[record_id] - returned)
    return {
        "what": "SendMessage called -> the function's handler starts (the call, the SQS long poll's "
        "wake-up, the Lambda event, the hand-off); one record at a time",
        "n": len(from_call),
        "p50_ms": round(statistics.median(from_call) * 1000, 1),
        "p95_ms": round(percentile(from_call, 0.95) * 1000, 1),
        "max_ms": round(max(from_call) * 1000, 1),
        "after_send_returned_p50_ms": round(statistics.median(from_return) * 1000, 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure()))
