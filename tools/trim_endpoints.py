"""Write (or check) layers/parley/parley/aws_data/endpoints.json: botocore's endpoints.json with only
the services Parley calls.

    python tools/trim_endpoints.py           write it from the installed botocore (make aws-data)
    python tools/trim_endpoints.py --check   exit 1 if it is not what the installed botocore gives

botocore reads endpoints.json (1.2 MB, every service of every partition) and indexes it when it
makes its first client: about 17 ms of every cold start. parley.aws puts the trimmed copy first on
its session's data path. Only the legacy resolver reads it (region and partition metadata); every
URL still comes from each service's own endpoint rules, so a service missing here would still
resolve, through its partition's defaults.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import botocore

TARGET = (
    Path(__file__).resolve().parent.parent / "layers" / "parley" / "parley" / "aws_data" / "endpoints.json"
)
# Every service parley.aws makes a client of (grep "aws.client(" layers/parley/parley).
SERVICES = (
    "bedrock-agent-runtime",
    "bedrock-runtime",
    "dynamodb",
    "events",
    "s3",
    "secretsmanager",
    "sqs",
    "sts",
)


def trimmed() -> str:
    source = Path(botocore.__file__).parent / "data" / "endpoints.json"
    endpoints: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    for partition in endpoints["partitions"]:
        partition["services"] = {
            name: service for name, service in partition["services"].items() if name in SERVICES
        }
    return json.dumps(endpoints, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    wanted = trimmed()
    if "--check" in argv:
        if not TARGET.is_file() or TARGET.read_text(encoding="utf-8") != wanted:
            print(f"{TARGET} is stale for botocore {botocore.__version__}: run `make aws-data`")
            return 1
        return 0
    TARGET.write_text(wanted, encoding="utf-8")
    print(f"wrote {TARGET} from botocore {botocore.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
