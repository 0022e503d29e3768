"""The web console in a real browser: headless Chromium (Debian's package, driven by Playwright for
Python through its ``executable_path``) against the devstack, used as a person would use it.

The browser is never downloaded (``playwright install`` needs the internet): ``make browser``
installs Debian's ``chromium`` where it can. Without it these tests skip, saying why, except on CI,
where a skipped browser test would hide a broken console, so they fail.

``PARLEY_CONSOLE_SCREENSHOTS=1`` (``make screenshots``) writes the screenshots the README shows to
docs/console/; otherwise they go to a temporary folder, so a test run leaves the repository as it was.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright

from tests.e2e.devstack_process import REPO_ROOT, ApiClient, RunningDevstack

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("PARLEY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Every wait is bounded by this (ms): a turn on the devstack ends in well under a second.
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)
WORDS = 30
SLOW_REPLY = " ".join(f"word{n}" for n in range(WORDS))
SCRIPT = [
    # Slow enough (about 1.5 s) that the page shows the reply growing before it ends.
    {"match": "(?i)slowly", "reply": SLOW_REPLY, "stream_delay_ms": 50},
    {"match": "(?i)at length", "reply": SLOW_REPLY, "stream_delay_ms": 400},
    {"match": "(?i)weather", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM}: `make browser` installs Debian's chromium (as root)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; on CI the console's browser tests must run, not skip")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("PARLEY_CONSOLE_SCREENSHOTS"):
        folder = REPO_ROOT / "docs" / "console"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("console-screenshots")


@pytest.fixture(scope="module")
def agent_name(api: ApiClient, key: str) -> str:
    """A scripted agent that streams slowly, calls a client-side tool and suggests follow-ups."""
    status, _, provider = api.post(
        "/v1/providers",
        headers=auth(key),
        json={"name": "console", "kind": "scripted", "options": {"script": SCRIPT}},
    )
    assert status == 201, provider
    status, _, agent = api.post(
        "/v1/agents",
        headers=auth(key),
        json={"name": "Console demo", "provider_id": provider["id"], "tools": [WEATHER], "follow_ups": 2},
    )
    assert status == 201, agent
    return str(agent["name"])


@pytest.fixture
def page(browser: Browser, devstack: RunningDevstack) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    # What the page itself reported, for the failure message of a test that then times out.
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on("console", lambda message: problems.append(f"console {message.type}: {message.text}"))
    opened.goto(f"{devstack.url}/console")
    try:
        yield opened
    finally:
        context.close()
    assert not [problem for problem in problems if "page error" in problem], problems


def sign_in(page: Page, key: str) -> None:
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible()


def start_conversation(page: Page, title: str, agent_name: str) -> None:
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Agent", exact=True).select_option(label=agent_name)
    page.get_by_role("button", name="New conversation", exact=True).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def send(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def replies(page: Page) -> Locator:
    """The stored replies shown (not one still streaming in)."""
    return page.locator("#messages li.message.assistant:not(.streaming) .content")


def test_a_wrong_key_is_refused_in_words(page: Page, screenshots: Path) -> None:
    # Given the sign-in screen
    page.screenshot(path=screenshots / "sign-in.png")

    # When a person signs in with a key that does not exist
    page.get_by_label("API key", exact=True).fill("pk_not-a-real-key")
    page.get_by_role("button", name="Sign in", exact=True).click()

    # Then the page says why, and keeps nothing of the key
    expect(page.get_by_role("alert")).to_contain_text("401")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0


def test_a_person_signs_in_and_sees_the_reply_stream_in(
    page: Page, key: str, agent_name: str, screenshots: Path
) -> None:
    # Given a signed-in person with a new conversation
    sign_in(page, key)
    start_conversation(page, "First chat", agent_name)
    expect(page.locator("#live-status")).to_have_attribute("data-mode", "websocket")

    # When they send a message the agent answers slowly
    send(page, "Answer slowly, please")

    # Then the reply grows in place while the model writes, then stands as the stored message
    streaming = page.locator("#messages li.streaming .content")
    expect(streaming).to_contain_text("word3")
    assert f"word{WORDS - 1}" not in streaming.inner_text()
    expect(replies(page).last).to_have_text(SLOW_REPLY)
    expect(page.locator("#messages li.streaming")).to_have_count(0)
    # with the turn's steps and its follow-up questions
    expect(page.get_by_text("Last turn: completed")).to_be_visible()
    expect(page.get_by_role("region", name="Follow-up questions").get_by_role("button")).to_have_count(2)
    page.screenshot(path=screenshots / "chat.png", full_page=True)

    # and the key is in this tab's session storage only, never in the URL or local storage
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("sessionStorage.getItem('parley.console.apiKey')") == key
    assert key not in page.url

    page.set_viewport_size(PHONE)
    page.screenshot(path=screenshots / "chat-phone.png", full_page=True)


def test_regenerate_makes_a_second_branch(page: Page, key: str, agent_name: str) -> None:
    # Given a conversation with one reply
    sign_in(page, key)
    start_conversation(page, "Regenerated", agent_name)
    send(page, "Say hello")
    expect(replies(page)).to_have_count(1)

    # When the person regenerates it
    page.get_by_role("button", name="Regenerate", exact=True).click()

    # Then a new reply stands on a second branch, and the first is one choice away
    expect(page.get_by_label("Branch", exact=True).locator("option")).to_have_count(2)
    expect(page.get_by_label("Branch", exact=True)).to_be_enabled()
    expect(page.get_by_text("Last turn: completed")).to_be_visible()
    expect(replies(page)).to_have_count(1)


def test_a_client_tool_call_is_answered_by_hand(
    page: Page, key: str, agent_name: str, screenshots: Path
) -> None:
    # Given a conversation whose agent calls a client-side tool
    sign_in(page, key)
    start_conversation(page, "Weather", agent_name)

    # When the person asks, the page shows the pending call and takes its output
    send(page, "What is the weather in Oslo?")
    panel = page.get_by_role("region", name="The agent is waiting for tool outputs")
    expect(panel).to_contain_text("get_weather")
    expect(panel).to_contain_text('"city": "Oslo"')
    page.get_by_label("Output of get_weather", exact=True).fill("-3 C, snow")
    page.screenshot(path=screenshots / "tool-call.png", full_page=True)
    page.get_by_role("button", name="Submit tool outputs", exact=True).click()

    # Then the turn resumes and the agent answers with the output
    expect(replies(page).last).to_have_text("Tool results: get_weather: -3 C, snow")
    expect(panel).to_be_hidden()


def test_a_running_turn_can_be_stopped(page: Page, key: str, agent_name: str) -> None:
    # Given a reply that takes a while
    sign_in(page, key)
    start_conversation(page, "Stopped", agent_name)
    send(page, "Tell it at length")
    expect(page.locator("#messages li.streaming .content")).to_contain_text("word0")

    # When the person stops it
    page.get_by_role("button", name="Stop", exact=True).click()

    # Then the turn ends cancelled, keeping what was said
    expect(page.get_by_text("Last turn: cancelled")).to_be_visible()
    expect(replies(page).last).to_contain_text("word0")
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()


def test_without_the_websocket_replies_are_long_polled(page: Page, key: str, agent_name: str) -> None:
    # Given a browser whose WebSocket connections are refused
    page.route_web_socket(re.compile(r"/live"), lambda socket: socket.close())
    sign_in(page, key)
    start_conversation(page, "Polled", agent_name)
    expect(page.locator("#live-status")).to_have_attribute("data-mode", "polling")

    # When the person sends a message
    send(page, "Answer slowly, please")

    # Then the reply still arrives
    expect(replies(page).last).to_have_text(SLOW_REPLY)


def test_an_uploaded_file_is_ingested(page: Page, key: str, screenshots: Path) -> None:
    # Given the files screen and a new inbox
    sign_in(page, key)
    page.get_by_role("button", name="Files", exact=True).click()
    page.get_by_label("New inbox name", exact=True).fill("Console docs")
    page.get_by_role("button", name="Create inbox", exact=True).click()
    expect(page.get_by_label("Inbox", exact=True)).to_have_value(re.compile(r"^inbox_"))

    # When the person uploads a note
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "note.txt", "mimeType": "text/plain", "buffer": b"Parley keeps files in S3.\n"}
    )
    page.get_by_role("button", name="Upload", exact=True).click()

    # Then it is listed, uploaded, and its indexing ends indexed
    row = page.locator("#file-rows tr", has_text="note.txt")
    expect(row).to_contain_text("uploaded")
    # (the devstack's ingestion goes S3 -> SQS -> worker; a loaded CI machine takes its time)
    expect(row.locator(".index-status")).to_contain_text("indexed", timeout=3 * TIMEOUT_MS)
    page.screenshot(path=screenshots / "files.png", full_page=True)
