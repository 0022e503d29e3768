"""Write (or check) layers/parley/parley/aws_data: the botocore data files every cold start reads,
cut down to what Parley uses.

    python tools/trim_aws_data.py           write them from the installed botocore (make aws-data)
    python tools/trim_aws_data.py --check   exit 1 if they are not what the installed botocore gives

parley.aws puts this folder first on its session's data path, so botocore reads these instead of its
own copies:

* ``endpoints.json`` with only the services Parley calls. botocore reads the whole file (1.2 MB,
  every service of every partition) and indexes it when it makes its first client: about 17 ms.
  Only the legacy resolver reads it (region and partition metadata); every URL still comes from each
  service's own endpoint rules, so a service missing here would still resolve, through its
  partition's defaults.
* The service models of DynamoDB and SQS (which every API function's first request makes a client
  of), EventBridge (every turn) and Secrets Manager (providers, webhooks) with only the operations
  Parley calls, their shapes, and no documentation: DynamoDB's is 500 KB of JSON, gunzipped and
  parsed at each cold start (about 5 ms; 23 KB here). S3's is left whole: botocore's S3
  customizations call operations of their own (S3 Express sessions, for one). An operation left
  out does not exist on the client; tests/unit/test_aws.py fails when the layer calls one.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import botocore

TARGET = Path(__file__).resolve().parent.parent / "layers" / "parley" / "parley" / "aws_data"
BOTOCORE_DATA = Path(botocore.__file__).parent / "data"
# Every service parley.aws makes a client of (grep "aws.client(" layers/parley/parley).
SERVICES = (
    "apigatewaymanagementapi",
    "bedrock-agent-runtime",
    "bedrock-runtime",
    "dynamodb",
    "events",
    "s3",
    "secretsmanager",
    "sqs",
    "sts",
)
# The services whose model is trimmed, with their API version and the operations Parley calls.
TRIMMED_MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dynamodb": (
        "2012-08-10",
        (
            "BatchGetItem",
            "BatchWriteItem",
            "DeleteItem",
            "GetItem",
            "PutItem",
            "Query",
            "Scan",
            "TransactWriteItems",
            "UpdateItem",
        ),
    ),
    "events": ("2015-10-07", ("PutEvents",)),
    "secretsmanager": ("2017-10-17", ("CreateSecret", "DeleteSecret", "GetSecretValue", "PutSecretValue")),
    "sqs": ("2012-11-05", ("SendMessage", "SendMessageBatch")),
}


def trimmed_files() -> dict[Path, str]:
    """Each file's path under TARGET and its text."""
    files = {Path("endpoints.json"): _endpoints()}
    for service, (version, operations) in TRIMMED_MODELS.items():
        files[Path(service, version, "service-2.json")] = _service_model(service, version, operations)
    return files


def _endpoints() -> str:
    endpoints: dict[str, Any] = json.loads((BOTOCORE_DATA / "endpoints.json").read_text(encoding="utf-8"))
    for partition in endpoints["partitions"]:
        partition["services"] = {
            name: service for name, service in partition["services"].items() if name in SERVICES
        }
    return json.dumps(endpoints, indent=1, sort_keys=True) + "\n"


def full_model(service: str, version: str) -> dict[str, Any]:
    source = BOTOCORE_DATA / service / version / "service-2.json.gz"
    model: dict[str, Any] = json.loads(gzip.decompress(source.read_bytes()))
    return model


def _service_model(service: str, version: str, operations: tuple[str, ...]) -> str:
    model = full_model(service, version)
    kept = {name: model["operations"][name] for name in operations}
    shapes: dict[str, Any] = model["shapes"]
    needed: set[str] = set()
    pending = [
        ref["shape"]
        for operation in kept.values()
        for ref in (operation.get("input"), operation.get("output"), *operation.get("errors", []))
        if ref
    ]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        shape = shapes[name]
        members = (
            shape.get("member"),
            shape.get("key"),
            shape.get("value"),
            *shape.get("members", {}).values(),
        )
        pending += [ref["shape"] for ref in members if ref]
    trimmed = {**model, "operations": kept, "shapes": {name: shapes[name] for name in sorted(needed)}}
    return (
        json.dumps(_without_documentation(trimmed), indent=None, separators=(",", ":"), sort_keys=True) + "\n"
    )


def _without_documentation(node: Any) -> Any:
    """botocore reads documentation only to write docstrings, which a Lambda function never asks for."""
    if isinstance(node, dict):
        return {key: _without_documentation(value) for key, value in node.items() if key != "documentation"}
    if isinstance(node, list):
        return [_without_documentation(value) for value in node]
    return node


def main(argv: list[str]) -> int:
    wanted = trimmed_files()
    if "--check" in argv:
        stale = [
            str(path)
            for path, text in wanted.items()
            if not (TARGET / path).is_file() or (TARGET / path).read_text(encoding="utf-8") != text
        ]
        if stale:
            names = ", ".join(stale)
            print(f"{names} in {TARGET} stale for botocore {botocore.__version__}: run `make aws-data`")
            return 1
        return 0
    for path, text in wanted.items():
        (TARGET / path).parent.mkdir(parents=True, exist_ok=True)
        (TARGET / path).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(map(str, wanted))} in {TARGET} from botocore {botocore.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
