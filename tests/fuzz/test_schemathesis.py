"""``schemathesis run``, as a user runs it, against the OpenAPI document the devstack serves: in every
phase (examples, coverage, fuzzing, stateful), no input, valid or not, is a 5xx, every response is as
the document describes it, and every 4xx answers with Parley's error body.

The coverage phase is where boundary values, empty strings, nulls and unexpected methods (TRACE, QUERY
…) come from; the stateful phase chains operations (a message created, patched, then edited), which
is how stored state a later call trips over is found. Both run here.

Bounded and reproducible: a fixed seed and a fixed number of examples per operation decide the work,
no example database carries inputs from one run to the next, and a time limit fails the test instead
of letting a slow run eat CI's budget. (Not schemathesis' ``--max-time``: that repeats fuzzing and
stateful until the time is spent, and on a slow machine quietly leaves operations untested.)

Compat APIs: only the native document exists. Mielto's, Shinkai's, Mintlify's and Odyssey's routes
publish no OpenAPI document; the OpenAI-compatible ``/v1/chat/completions`` is in the native one.
A compat API that gets a document is one more entry in ``DOCUMENTS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.devstack_process import REPO_ROOT, ApiClient, RunningDevstack

pytestmark = pytest.mark.e2e

# The document each API serves, as a user would point schemathesis at it.
DOCUMENTS = [pytest.param("/v1/openapi.json", id="native")]
SEED = 1
# Per operation and phase; ~6,000 cases over the native API, ~2 minutes on 2 cores.
MAX_EXAMPLES = 10
TIME_LIMIT_SECONDS = 240
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# The phases that must have run: the document has no examples, so schemathesis skips that phase.
REQUIRED_PHASES = ("coverage", "fuzzing", "stateful")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    # tests/fuzz/schemathesis_checks.py
    "client_errors_carry_the_error_body",
    "refusals_name_what_they_refuse",
    "the_key_is_accepted",
)


def run_schemathesis(url: str, key: str, workdir: Path) -> tuple[dict[str, Any], str]:
    """The JSON run report and the console output of one bounded ``schemathesis run``."""
    report_path = workdir / "run.json"
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", url),
        *("--phases", ",".join(PHASES)),
        *("--checks", ",".join(CHECKS)),
        *("--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES)),
        # One worker: the stateful data one operation hands the next stays in the same order.
        *("--workers", "1", "--generation-database", "none", "--suppress-health-check", "all"),
        *("--request-timeout", "30", "--header", f"Authorization: Bearer {key}", "--no-color"),
        *("--report", "json", "--report-json-path", str(report_path)),
    ]
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "SCHEMATHESIS_HOOKS": "tests.fuzz.schemathesis_checks",
    }
    try:
        # cwd: schemathesis keeps its caches in the working directory, which must not be the repository.
        finished = subprocess.run(  # noqa: S603 - our own interpreter and a fixed command
            command,
            cwd=workdir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
        pytest.fail(f"schemathesis ran over its {TIME_LIMIT_SECONDS} s budget:\n{output[-5000:]}")
    output = finished.stdout + finished.stderr
    assert report_path.exists(), f"schemathesis wrote no report (exit {finished.returncode}):\n{output}"
    return json.loads(report_path.read_text(encoding="utf-8")), output


def failures_section(output: str) -> str:
    """What schemathesis says about each failure: the operation, the check, the response, a curl."""
    start = min((output.find(title) for title in ("FAILURES", "ERRORS") if title in output), default=0)
    return output[start : start + 30_000]


@pytest.mark.usefixtures("served_document")  # the native document served is the committed one
@pytest.mark.parametrize("document_path", DOCUMENTS)
def test_no_input_in_any_phase_is_a_server_error_and_every_response_is_as_documented(
    fuzz_stack: RunningDevstack, fuzz_api: ApiClient, fuzz_key: str, tmp_path: Path, document_path: str
) -> None:
    # Given the document the devstack serves, and its deployment admin's key
    status, _, document = fuzz_api.get(document_path)
    assert status == 200 and isinstance(document, dict), document
    # schemathesis leaves out the operation that serves the document itself
    operations = sum(len(item) for path, item in document["paths"].items() if path != document_path)

    # When schemathesis runs all its phases over it
    report, output = run_schemathesis(fuzz_stack.url + document_path, fuzz_key, tmp_path)

    # Then no check failed on any case, in any phase
    assert report["exit_code"] == 0 and not report["failures"] and not report["errors"], (
        f"{report['failures']} {report['errors']}\n{failures_section(output)}"
    )
    # And it was a whole run: every operation tested, the coverage and stateful phases included
    assert report["complete"] and report["stop_reason"] == "completed", report["stop_reason"]
    assert report["operations"]["tested"] == report["operations"]["total"] == operations, report["operations"]
    phases = {name: report["phases"][name]["status"] for name in REQUIRED_PHASES}
    assert phases == dict.fromkeys(REQUIRED_PHASES, "success"), report["phases"]
    assert report["test_cases"]["generated"] > 0 and not report["test_cases"]["errored"], report["test_cases"]
