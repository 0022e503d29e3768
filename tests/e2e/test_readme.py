"""The README's curl examples work, verbatim, against a fresh devstack (`make dev`).

Every ```sh block after the quickstart's "With `make dev` running" line runs, in order, in one bash
session; only the host and port are pointed at this test's devstack. Each block's expected output,
where the README states one, is checked.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.devstack_process import REPO_ROOT, start_devstack

pytestmark = pytest.mark.e2e

README = REPO_ROOT / "README.md"
MARKER = "With `make dev` running"


def curl_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    until = after[: after.index("## Make targets")]
    return [block for block in re.findall(r"```sh\n(.*?)```", until, re.S) if "curl" in block]


def test_the_readme_has_curl_examples_for_the_quickstart():
    assert len(curl_blocks()) >= 3


def test_the_readme_curl_examples_run_verbatim_against_the_devstack(tmp_path: Path):
    stack = start_devstack(tmp_path / "devstack.log")
    try:
        script = "set -euo pipefail\n" + "\n".join(curl_blocks())
        script = script.replace("http://127.0.0.1:3000", stack.url)
        done = subprocess.run(  # noqa: S603 - bash running the README's own commands
            ["bash", "-c", script],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\nlog:\n{stack.log()}"
        # curl prints bodies without a newline, so a status code may follow the previous JSON on its line.
        codes = [
            m.group(1) for line in done.stdout.splitlines() if (m := re.search(r"(?:^|\})(\d{3})$", line))
        ]
        assert codes[:2] == ["401", "403"], done.stdout
        assert '"status": "ok"' in done.stdout
        compact = done.stdout.replace(" ", "")
        assert '"pristine":false' in compact
        assert '"role":"assistant","content":"Yousaid:Hello,agent"' in compact
        assert compact.count('"leaf_message_id"') == 2  # the two branches after regenerating
        assert '"status":"cancelled"' in compact
        assert "409" in codes  # a message to the completed job
        assert "download identical" in done.stdout
        assert "content identical" in done.stdout
        assert '"filename":"note.txt"' in compact and '"cited":true' in compact  # the job's sources
        assert '"type":"rag"' in compact
        # recalled in a new conversation, then again through chat completions
        assert compact.count('"content":"YournameisAdaLovelace."') >= 2
        assert '"object":"chat.completion"' in compact
        assert '"type":"response"' in compact  # Odyssey's synchronous answer
        assert '"prLink":null' in compact  # Mintlify's AgentJob
        # a folder moved with its file, shared by link, read by the subscriber, then unshared
        assert '"path":"/handbook/storage.txt"' in compact
        assert "after unsharing: 404" in done.stdout
        # the streaming client: subscribed, the turn's frames in order, the reply at the end
        assert '{"type":"subscribed"' in done.stdout
        assert re.search(r"^0 turn\.started", done.stdout, re.M)
        assert "turn.completed You said: Stream this, please" in done.stdout
    finally:
        stack.stop()
