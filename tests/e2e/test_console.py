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
from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    Response,
    Route,
    ViewportSize,
    WebSocket,
    WebSocketRoute,
    expect,
    sync_playwright,
)

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
# A thread's message listing (not a message's own routes, such as its feedback).
MESSAGE_LIST = re.compile(r"/v1/conversations/[^/]+/messages\?")
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


def note_failed_response(problems: list[str], response: Response) -> None:
    if response.status >= 400:
        problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")


def note_frames(received: list[str], socket: WebSocket) -> None:
    received.append(f"WebSocket opened: {socket.url}")
    socket.on("framereceived", lambda payload: received.append(f"frame: {payload!s:.300}"))
    socket.on("close", lambda _: received.append("WebSocket closed"))


@pytest.fixture
def page(browser: Browser, devstack: RunningDevstack) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    # What the page itself reported, for the failure message of a test that then times out.
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on("console", lambda message: problems.append(f"console {message.type}: {message.text}"))
    opened.on("response", lambda response: note_failed_response(problems, response))
    received: list[str] = []  # the WebSocket's frames: what a reply's bubble was built from
    opened.on("websocket", lambda socket: note_frames(received, socket))
    log_start = devstack.log_path.stat().st_size
    opened.goto(f"{devstack.url}/console")
    try:
        yield opened
    finally:
        context.close()
        # pytest shows this only for a test that failed: what the page said and got before it timed
        # out, and what the devstack logged meanwhile
        print("\n".join(problems + received))
        with devstack.log_path.open("rb") as log:
            log.seek(log_start)
            print(log.read().decode(errors="replace")[-20_000:])
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


def test_a_reply_whose_last_frame_is_lost_still_arrives(page: Page, key: str, agent_name: str) -> None:
    # Given a WebSocket that loses every turn's last frame (frames are best effort)
    def lose_last_frames(socket: WebSocketRoute) -> None:
        def to_page(message: str | bytes) -> None:
            if '"turn.completed"' not in str(message):
                socket.send(message)

        socket.connect_to_server().on_message(to_page)

    page.route_web_socket(re.compile(r"/live"), lose_last_frames)
    sign_in(page, key)
    start_conversation(page, "Lossy", agent_name)
    expect(page.locator("#live-status")).to_have_attribute("data-mode", "websocket")

    # When the person sends a message
    send(page, "Answer slowly, please")

    # Then the reply streams in, and once its frames stop the page reads the turn and shows it
    expect(page.locator("#messages li.streaming .content")).to_contain_text("word3")
    expect(replies(page).last).to_have_text(SLOW_REPLY)
    expect(page.get_by_text("Last turn: completed")).to_be_visible()


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


# ------------------------------------------------------------------------------ the other screens


def show(page: Page, screen: str) -> None:
    """Open one of the console's screens from its navigation."""
    page.get_by_role("navigation", name="Sections").get_by_role("button", name=screen, exact=True).click()


def accept_next_dialog(page: Page) -> None:
    # Playwright dismisses a confirm() unless told otherwise: the person says yes here.
    page.once("dialog", lambda dialog: dialog.accept())


def test_a_job_is_chatted_in_renamed_completed_and_archived(page: Page, key: str, screenshots: Path) -> None:
    # Given a new job with a first prompt
    sign_in(page, key)
    show(page, "Jobs")
    page.get_by_label("Job title", exact=True).fill("Docs job")
    page.get_by_label("First prompt (optional: starts the first turn)").fill("Write the guide")
    page.get_by_role("button", name="New job", exact=True).click()

    # Then its first turn answers, and it is listed with its status
    expect(page.get_by_role("heading", name="Docs job")).to_be_visible()
    expect(replies(page).last).to_have_text("You said: Write the guide")
    expect(page.get_by_role("list", name="Jobs")).to_contain_text("Docs job · active")

    # When the person chats in it, renames it and completes it
    send(page, "Add a table")
    expect(replies(page).last).to_have_text("You said: Add a table")
    page.get_by_role("button", name="Rename", exact=True).click()
    page.get_by_label("New title", exact=True).fill("Guide job")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_label("Summary or reason", exact=True).fill("Guide written")
    page.get_by_role("button", name="Complete job", exact=True).click()

    # Then it shows its outcome, and a message to it is refused in words
    expect(page.get_by_role("heading", name="Guide job (completed)")).to_be_visible()
    expect(page.locator("#job-outcome")).to_have_text("Outcome: completed by the client: Guide written")
    page.screenshot(path=screenshots / "jobs.png", full_page=True)
    send(page, "One more thing")
    expect(page.get_by_role("alert")).to_contain_text("is completed; it takes no new messages")
    expect(page.get_by_role("alert")).to_contain_text("HTTP 409")

    # and once archived it is read-only, listed under archived jobs
    accept_next_dialog(page)
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.get_by_role("heading", name="Guide job (archived)")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_hidden()
    page.get_by_label("Show jobs that are", exact=True).select_option("archived")
    expect(page.get_by_role("list", name="Jobs")).to_contain_text("Guide job · archived")


def test_a_reply_that_lands_while_the_thread_opens_is_shown(page: Page, api: ApiClient, key: str) -> None:
    # Given a job whose first turn ends after the page loaded its messages but before it looked at
    # the turn (the page is then not yet subscribed, so no frame tells it): the first message load
    # is answered as it stood before the reply, once the turn has ended
    loads: list[str] = []

    def answer_from_before_the_reply(route: Route) -> None:
        loads.append(route.request.url)
        if len(loads) > 1:
            route.continue_()
            return
        turns = route.request.url.split("/messages?")[0].split("/v1/")[1] + "/turns"
        status, _, listed = api.get(f"/v1/{turns}", headers=auth(key))
        assert status == 200 and len(listed["data"]) == 1, listed
        status, _, turn = api.get(f"/v1/{turns}/{listed['data'][0]['id']}?wait=10", headers=auth(key))
        assert status == 200 and turn["status"] == "completed", turn
        response = route.fetch()
        listing = response.json()
        listing["data"] = [message for message in listing["data"] if message["role"] == "user"]
        route.fulfill(response=response, json=listing)

    page.route(MESSAGE_LIST, answer_from_before_the_reply)
    sign_in(page, key)
    show(page, "Jobs")
    page.get_by_label("Job title", exact=True).fill("Quick job")
    page.get_by_label("First prompt (optional: starts the first turn)").fill("Be quick")
    page.get_by_role("button", name="New job", exact=True).click()

    # Then the page still shows the reply
    expect(page.get_by_role("heading", name="Quick job")).to_be_visible()
    expect(replies(page).last).to_have_text("You said: Be quick")


def test_a_job_can_be_failed_with_a_reason(page: Page, key: str) -> None:
    sign_in(page, key)
    show(page, "Jobs")
    page.get_by_label("Job title", exact=True).fill("Doomed job")
    page.get_by_role("button", name="New job", exact=True).click()
    expect(page.get_by_role("heading", name="Doomed job")).to_be_visible()

    page.get_by_label("Summary or reason", exact=True).fill("No repository access")
    page.get_by_role("button", name="Fail job", exact=True).click()

    expect(page.get_by_role("heading", name="Doomed job (failed)")).to_be_visible()
    expect(page.locator("#job-outcome")).to_contain_text("failed by the client: No repository access")
    page.get_by_label("Show jobs that are", exact=True).select_option("failed")
    expect(page.get_by_role("list", name="Jobs")).to_contain_text("Doomed job · failed")


def test_an_edited_message_makes_a_branch_to_switch_back_from(page: Page, key: str) -> None:
    # Given a conversation with one exchange
    sign_in(page, key)
    start_conversation(page, "Edited", "Assistant")
    send(page, "Say hello")
    expect(replies(page).last).to_have_text("You said: Say hello")

    # When the person edits their message
    page.locator("#messages li.user").get_by_role("button", name="Edit", exact=True).click()
    page.get_by_label("Edited message", exact=True).fill("Say goodbye")
    page.get_by_role("button", name="Save and resend", exact=True).click()

    # Then the new version is answered on a second branch
    expect(replies(page).last).to_have_text("You said: Say goodbye")
    branch = page.get_by_label("Branch", exact=True)
    expect(branch.locator("option")).to_have_count(2)

    # and the first version is one choice away
    branch.select_option(label=branch.locator("option:not(:checked)").inner_text())
    expect(page.locator("#messages li.user .content")).to_have_text("Say hello")
    expect(replies(page)).to_have_text(["You said: Say hello"])


def test_an_uploaded_file_is_attached_to_a_message(page: Page, key: str) -> None:
    sign_in(page, key)
    start_conversation(page, "Attached", "Assistant")

    page.get_by_label("Attach a file", exact=True).set_input_files(
        {"name": "brief.txt", "mimeType": "text/plain", "buffer": b"The brief.\n"}
    )
    send(page, "Read the brief")

    user_message = page.locator("#messages li.user")
    expect(user_message.get_by_role("list", name="Attachments")).to_have_text("Attached: brief.txt")
    expect(replies(page).last).to_have_text("You said: Read the brief")
    expect(page.get_by_label("Attach a file", exact=True)).to_have_value("")


def test_a_reply_is_liked_then_disliked(page: Page, key: str) -> None:
    sign_in(page, key)
    start_conversation(page, "Rated", "Assistant")
    send(page, "Rate me")
    like = page.get_by_role("button", name="Like", exact=True)
    dislike = page.get_by_role("button", name="Dislike", exact=True)

    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    dislike.click()
    expect(dislike).to_have_attribute("aria-pressed", "true")
    expect(like).to_have_attribute("aria-pressed", "false")

    # and the rating is the API's, not the page's: it is still there when the conversation is reopened
    page.reload()
    page.get_by_role("list", name="Conversations").get_by_role("button", name=re.compile("^Rated")).click()
    expect(page.get_by_role("button", name="Dislike", exact=True)).to_have_attribute("aria-pressed", "true")


def test_a_conversation_is_renamed_then_archived(page: Page, key: str) -> None:
    sign_in(page, key)
    start_conversation(page, "Draft name", "Assistant")
    conversations = page.get_by_role("list", name="Conversations")

    page.get_by_role("button", name="Rename", exact=True).click()
    page.get_by_label("New title", exact=True).fill("Final name")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Final name")).to_be_visible()
    expect(conversations).to_contain_text("Final name")

    accept_next_dialog(page)
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.get_by_role("heading", name="Final name (archived)")).to_be_visible()
    expect(conversations).not_to_contain_text("Final name")
    page.get_by_label("Show archived", exact=True).check()
    expect(conversations).to_contain_text("Final name")


def test_an_agent_is_created_edited_and_its_bad_tools_refused_in_words(
    page: Page, key: str, agent_name: str, screenshots: Path
) -> None:
    # (agent_name: its fixture makes the "console" provider)
    # Given the agents screen
    sign_in(page, key)
    show(page, "Agents")

    # When the person creates an agent
    page.get_by_label("Agent name", exact=True).fill("Poet")
    page.get_by_label("Provider", exact=True).select_option(label="console (scripted)")
    page.get_by_label("Instructions", exact=True).fill("Answer in verse.")
    page.get_by_role("button", name="Create agent", exact=True).click()
    agents = page.locator("#agent-list")
    expect(agents).to_contain_text("Poet · console")

    # and edits it with tools the API refuses
    page.get_by_role("button", name="Edit Poet", exact=True).click()
    expect(page.get_by_label("Instructions", exact=True)).to_have_value("Answer in verse.")
    tools = page.get_by_label('Tools (JSON: a list of tool definitions, README "Tools")')
    tools.fill('[{"type": "function"}]')
    page.get_by_role("button", name="Save agent", exact=True).click()

    # Then the API's reason is shown, field by field
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("HTTP 422")
    expect(alert).to_contain_text("body.tools.0.function")

    # and valid tools are saved, with the new model
    tools.fill('[{"type": "function", "function": {"name": "rhyme", "parameters": {"type": "object"}}}]')
    page.get_by_label("Model (blank: the provider's default)").fill("verse-1")
    page.get_by_role("button", name="Save agent", exact=True).click()
    expect(agents).to_contain_text("Poet · console · verse-1 · tools: rhyme")
    expect(alert).to_be_hidden()
    page.screenshot(path=screenshots / "agents.png", full_page=True)


def test_a_provider_key_is_sent_once_and_never_shown(page: Page, key: str) -> None:
    sign_in(page, key)
    show(page, "Agents")
    secret = "sk-console-test-secret"

    page.get_by_label("Provider name", exact=True).fill("Local Ollama")
    page.get_by_label("Kind", exact=True).select_option("openai")
    page.get_by_label("Base URL (openai: required, e.g. http://127.0.0.1:11434/v1)").fill(
        "http://127.0.0.1:11434/v1"
    )
    page.get_by_label("Default model", exact=True).fill("llama3.1:8b")
    page.get_by_label("API key (sent once, kept in Secrets Manager, never shown back)").fill(secret)
    page.get_by_role("button", name="Create provider", exact=True).click()

    expect(page.locator("#provider-list")).to_contain_text(
        "Local Ollama · openai · http://127.0.0.1:11434/v1 · model llama3.1:8b · API key stored"
    )
    expect(page.get_by_label("API key (sent once, kept in Secrets Manager, never shown back)")).to_have_value(
        ""
    )
    assert secret not in page.content()


def test_an_api_key_secret_is_shown_once_then_the_key_is_revoked(page: Page, key: str) -> None:
    sign_in(page, key)
    show(page, "API keys")

    page.get_by_label("Key name", exact=True).fill("CI deploys")
    page.get_by_role("button", name="Create key", exact=True).click()
    shown = page.locator("#new-secret code")
    expect(shown).to_have_text(re.compile(r"^pk_"))

    # Leaving the screen and coming back, the secret is gone
    show(page, "Chat")
    show(page, "API keys")
    expect(page.locator("#key-list")).to_contain_text("CI deploys · member")
    expect(shown).to_have_count(0)

    accept_next_dialog(page)
    page.get_by_role("button", name="Revoke CI deploys", exact=True).click()
    expect(page.locator("#key-list li", has_text="CI deploys")).to_contain_text("revoked")


def test_a_follow_up_question_is_sent_when_clicked(page: Page, key: str, agent_name: str) -> None:
    sign_in(page, key)
    start_conversation(page, "Following up", agent_name)
    send(page, "Tell me about S3 buckets")
    first = page.get_by_role("region", name="Follow-up questions").get_by_role("button").first
    question = first.inner_text()

    first.click()

    expect(page.locator("#messages li.user .content").last).to_have_text(question)
    expect(replies(page).last).to_have_text(f"You said: {question}")


# ---------------------------------------------------------------------------------- accessibility

UNLABELLED_CONTROLS = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((control) => control.offsetParent !== null)
  .filter((control) => !(control.labels?.length || control.getAttribute("aria-label")
    || (control.tagName === "BUTTON" && control.textContent.trim())))
  .map((control) => control.outerHTML.slice(0, 120))"""
SCREENS = ["Jobs", "Files", "Agents", "API keys"]


def test_every_control_shown_has_a_label(page: Page, key: str) -> None:
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    sign_in(page, key)
    start_conversation(page, "Labelled", "Assistant")
    send(page, "Hello")
    expect(replies(page)).to_have_count(1)
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    for screen in SCREENS:
        show(page, screen)
        expect(page.get_by_role("heading", name=screen, exact=True)).to_be_visible()
        assert page.evaluate(UNLABELLED_CONTROLS) == [], screen


def test_a_person_signs_in_and_chats_with_the_keyboard_alone(page: Page, key: str) -> None:
    # The page starts in the key's box, and Enter signs in
    expect(page.get_by_label("API key", exact=True)).to_be_focused()
    page.keyboard.type(key)
    page.keyboard.press("Enter")

    # then focus waits in the new conversation's title: Enter creates it and moves to the message box
    expect(page.get_by_label("Title", exact=True)).to_be_focused()
    page.keyboard.type("Keyboard only")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Keyboard only")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_focused()

    # and Tab reaches Send past the file to attach
    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Attach a file", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(replies(page).last).to_have_text("You said: Hello from the keyboard")


def test_no_screen_scrolls_sideways_at_phone_width(page: Page, key: str) -> None:
    page.set_viewport_size(PHONE)
    scroll_width = "document.documentElement.scrollWidth"
    assert page.evaluate(scroll_width) <= PHONE["width"]
    sign_in(page, key)
    start_conversation(page, "On a phone", "Assistant")
    send(page, "A message whose one long word is " + "x" * 120)
    expect(replies(page)).to_have_count(1)
    assert page.evaluate(scroll_width) <= PHONE["width"], "chat"
    for screen in SCREENS:
        show(page, screen)
        expect(page.get_by_role("heading", name=screen, exact=True)).to_be_visible()
        assert page.evaluate(scroll_width) <= PHONE["width"], screen
