// The open thread: a conversation or a job (a job is a conversation with a lifecycle, README "Jobs"),
// its messages branch by branch, and its turns as they run.

import { call, get, patch, post, put } from "./api.js";
import { follow } from "./live.js";
import { $, act, h, showError } from "./ui.js";

const WAITING = new Set(["queued", "running"]);
const LONG_POLL = "?wait=10";
const MESSAGES_SHOWN = 100;
// Feedback is one rating per end user; the console rates as one user of its own.
const FEEDBACK_USER = "console";
// A live turn that goes this long without a frame is long-polled as well: its worker may have looked
// for subscribers just before this page subscribed, or a frame (its last, say) may be lost: frames
// are best effort (README "Streaming"). A model that streams sends one every few hundred ms.
const QUIET_FRAMES_MS = 3000;
// Files attached in the composer are uploaded to this inbox of the workspace (made on first use).
const ATTACHMENTS_INBOX = "Console attachments";

const state = {
  conversation: null, // the open thread, as GET /v1/conversations/{id} returned it (a job's too)
  job: null, // for a job, GET /v1/jobs/{id}: its outcome, which the conversation view lacks
  onChange: async () => {}, // reloads the list the thread was opened from (titles, counts, status)
  viewLeaf: null, // the branch shown (a leaf message id); null follows the conversation's leaf
  live: null, // the WebSocket feed of the open conversation, or null (then turns are long-polled)
  ready: Promise.resolve(), // settles once the open conversation is live or polled: send after it
  bubbles: new Map(), // turn id → the reply being streamed in
  inFlight: new Set(), // turn ids this page is waiting for
  settled: new Set(), // turn ids that ended: a late frame or poll must not bring them back
  loads: 0, // message loads started: only the latest renders
};

export const openThreadId = () => state.conversation?.id;

const isJob = () => state.conversation.kind === "job";

function conversationPath(suffix = "") {
  return `/v1/conversations/${state.conversation.id}${suffix}`;
}

/** Where the thread's own lifecycle lives: a job renames and archives under /v1/jobs. */
function ownPath(suffix = "") {
  return `/v1/${isJob() ? "jobs" : "conversations"}/${state.conversation.id}${suffix}`;
}

export function closeThread() {
  state.live?.close();
  Object.assign(state, { conversation: null, job: null, viewLeaf: null, live: null });
  state.bubbles.clear();
  state.inFlight.clear();
  $("conversation").hidden = true;
}

/**
 * Open a conversation or a job in the pane; `onChange` refreshes the list it was picked from.
 * `turnId` is a turn the opener started (a new job's first prompt): its reply shows no message yet.
 */
export async function openThread(id, onChange, { turnId } = {}) {
  closeThread();
  // Pending from the start: the pane shows (and takes a message) before the socket is subscribed,
  // and a message sent in between must wait, or its first frames go out before anyone listens.
  let opened;
  state.ready = new Promise((resolve) => { opened = resolve; });
  try {
    state.conversation = await get(`/v1/conversations/${id}`);
    state.job = isJob() ? await get(`/v1/jobs/${id}`) : null;
    state.onChange = onChange;
    $("conversation").hidden = false;
    for (const panel of ["rename-form", "tool-calls", "turn-details"]) $(panel).hidden = true;
    renderTitle();
    await onChange();
    await loadMessages();
    await goLive();
  } finally {
    opened();
  }
  if (turnId) await resumeTurn(turnId, { replyShown: false });
  else await resumeLastTurn();
  $("message-input").focus();
}

function renderTitle() {
  const { title, status } = state.conversation;
  const finished = status === "completed" || status === "failed";
  $("conversation-title").textContent = (title || "Untitled") + (status === "active" ? "" : ` (${status})`);
  $("archive").hidden = isJob() ? !finished : status === "archived";
  $("job-outcome-form").hidden = !isJob() || status !== "active";
  // A finished job keeps its composer: the API's 409 says, in its words, why it takes no message.
  $("composer").hidden = status === "archived";
  const outcome = state.job?.outcome;
  $("job-outcome").hidden = !outcome;
  if (outcome) {
    $("job-outcome").replaceChildren(h("span", {}, `Outcome: ${outcome.status} by the ${outcome.by}`,
      outcome.summary && `: ${outcome.summary}`,
      outcome.result_link && [" · ", h("a", { href: outcome.result_link }, outcome.result_link)]));
  }
}

/** After a rename or a lifecycle step: the thread as the API now has it, and its list. */
async function refreshThread(changed) {
  if (isJob()) state.job = changed;
  state.conversation = { ...state.conversation, title: changed.title, status: changed.status };
  renderTitle();
  await state.onChange();
}

async function goLive() {
  const conversationId = state.conversation.id;
  try {
    const live = await follow(conversationId, { onFrame, onClose: () => fallBackToPolling("the WebSocket closed") });
    if (state.conversation?.id !== conversationId) return live.close();
    state.live = live;
    setLiveStatus("websocket", "Replies stream in over the WebSocket API.");
  } catch (error) {
    fallBackToPolling(error.message);
  }
}

function fallBackToPolling(reason) {
  state.live = null;
  setLiveStatus("polling", `Replies are long-polled (${reason}).`);
  for (const turnId of state.inFlight) poll(turnId);
}

function setLiveStatus(mode, text) {
  $("live-status").dataset.mode = mode;
  $("live-status").textContent = text;
}

/** After a reload or a switch, pick up the conversation's last turn (its reply is shown last). */
async function resumeLastTurn() {
  const turnId = [...$("messages").children].at(-1)?.dataset.turnId;
  if (turnId) await resumeTurn(turnId, { replyShown: true });
}

/** Pick up a turn where it stands. */
async function resumeTurn(turnId, { replyShown }) {
  const turn = await get(conversationPath(`/turns/${turnId}`));
  if (WAITING.has(turn.status)) return watchTurn(turn.id);
  if (turn.status === "requires_action") {
    state.inFlight.add(turn.id);
    $("cancel-turn").hidden = false;
  }
  // A turn that ended after the messages were loaded, before the page subscribed, sent its frames
  // to no one: its reply is loaded now.
  if (!replyShown) return finishTurn(turn);
  showTurn(turn);
}

$("rename").addEventListener("click", () => {
  $("rename-form").hidden = false;
  $("rename-title").value = state.conversation.title ?? "";
  $("rename-title").focus();
});
$("rename-cancel").addEventListener("click", () => { $("rename-form").hidden = true; $("rename").focus(); });
$("rename-form").addEventListener("submit", act(async () => {
  await refreshThread(await patch(ownPath(), { title: $("rename-title").value.trim() }));
  $("rename-form").hidden = true;
}));

$("archive").addEventListener("click", act(async () => {
  if (!confirm("Archive this? It takes no new messages after that.")) return;
  await refreshThread(await post(ownPath("/archive")));
}));

// A job ends by hand here (or by its agent's finish_job tool): completed with a summary and a link,
// or failed with a reason; the one note box is whichever the button asks for.
for (const [button, outcome] of [["complete-job", "complete"], ["fail-job", "fail"]]) {
  $(button).addEventListener("click", act(async () => {
    const note = $("job-note").value.trim() || null;
    const link = $("job-link").value.trim() || null;
    const body = outcome === "complete" ? { summary: note, result_link: link } : { reason: note };
    await refreshThread(await post(ownPath(`/${outcome}`), body));
    $("job-outcome-form").reset();
  }));
}

$("branch-select").addEventListener("change", act(async () => {
  state.viewLeaf = $("branch-select").value;
  await loadMessages();
}));

// ----------------------------------------------------------------------------------- messages

async function loadMessages() {
  // Loads overlap (a send's, a finished turn's, a rating's) and their answers can arrive out of
  // order: only the latest one started may render, or an older answer hides a newer reply.
  const load = ++state.loads;
  const path = conversationPath();
  const conversation = await get(path);
  const branches = (await get(`${path}/branches`)).data;
  const leaf = state.viewLeaf ?? conversation.leaf_message_id;
  const query = `?order=desc&limit=${MESSAGES_SHOWN}${leaf ? `&branch=${leaf}` : ""}`;
  const messages = (await get(`${path}/messages${query}`)).data.reverse();
  if (load !== state.loads || conversation.id !== state.conversation?.id) return;
  state.conversation = conversation;
  $("branch-select").replaceChildren(...branches.map((branch, index) => h("option", {
    value: branch.leaf_message_id,
    selected: branch.leaf_message_id === leaf,
  }, `${index + 1} of ${branches.length}${branch.is_current ? " (current)" : ""}`)));
  $("branch-select").disabled = branches.length < 2;
  renderMessages(messages);
}

function renderMessages(messages) {
  const lastReply = messages.findLast((message) => message.role === "assistant" && message.message_type !== "tool_calls");
  $("messages").replaceChildren(
    ...messages.map((message) => renderMessage(message, message === lastReply)),
    ...state.bubbles.values(),
  );
}

const AUTHORS = { user: "You", assistant: "Agent", tool: "Tool", system: "System" };

function renderMessage(message, isLastReply) {
  const item = h("li", { class: `message ${message.role}`, "data-turn-id": message.turn_id ?? false },
    h("p", { class: "author" }, AUTHORS[message.role] ?? message.role));
  if (message.message_type === "tool_calls") {
    for (const toolCall of message.tool_calls) {
      item.append(h("p", { class: "tool" }, `Called ${toolCall.function?.name}(${toolCall.function?.arguments ?? ""})`));
    }
  } else {
    item.append(h("p", { class: "content" }, message.content));
  }
  if (message.attachments.length > 0) {
    item.append(h("ul", { class: "attachments", "aria-label": "Attachments" }, message.attachments.map((attachment) =>
      h("li", {}, `Attached: ${attachment.filename ?? attachment.file_id}`))));
  }
  if (message.role === "user") {
    item.append(h("div", { class: "row actions" },
      h("button", { type: "button", onclick: () => editMessage(item, message) }, "Edit")));
  }
  if (message.role === "assistant" && message.message_type !== "tool_calls") {
    item.append(h("div", { class: "row actions" },
      feedbackButton(message, "like", "Like"),
      feedbackButton(message, "dislike", "Dislike"),
      isLastReply && h("button", { type: "button", onclick: act(() => regenerate(message.id)) }, "Regenerate"),
    ));
  }
  return item;
}

/** Edit in place: the new version is a sibling branch of the message, answered by a new turn. */
function editMessage(item, message) {
  const textarea = h("textarea", { id: "edit-input", rows: "3", required: true });
  textarea.value = message.content;
  const form = h("form", { class: "stack", onsubmit: act(async () => {
    const accepted = await post(conversationPath(`/messages/${message.id}/edit`), { content: textarea.value });
    await showAccepted(accepted);
  }) },
  h("label", { for: "edit-input" }, "Edited message"),
  textarea,
  h("div", { class: "row" },
    h("button", { type: "submit" }, "Save and resend"),
    h("button", { type: "button", onclick: act(loadMessages) }, "Cancel")));
  item.querySelector(".content").replaceWith(form);
  item.querySelector(".actions").remove();
  textarea.focus();
}

function feedbackButton(message, rating, label) {
  const pressed = (rating === "like" ? message.likes : message.dislikes).includes(FEEDBACK_USER);
  return h("button", {
    type: "button",
    "aria-pressed": String(pressed),
    onclick: act(async () => {
      await put(conversationPath(`/messages/${message.id}/feedback`), {
        rating: pressed ? null : rating,
        user_id: FEEDBACK_USER,
      });
      await loadMessages();
    }),
  }, label);
}

/** A message, an edit or a regenerate was accepted: show the branch it made and wait for its turn. */
async function showAccepted(accepted) {
  state.viewLeaf = null;
  await loadMessages();
  if (accepted.turn) watchTurn(accepted.turn.id);
}

export async function send(content, attachments = []) {
  await state.ready;
  // A message sent while an older branch is shown continues that branch.
  const parent = state.viewLeaf && { parent_message_id: state.viewLeaf };
  await showAccepted(await post(conversationPath("/messages"), { content, attachments, ...parent }));
}

async function regenerate(messageId) {
  await state.ready;
  await showAccepted(await post(conversationPath(`/messages/${messageId}/regenerate`)));
}

/** Upload the composer's file (multipart through the API, as on the Files screen) to attach it. */
async function uploadAttachment(file) {
  const inboxes = (await get("/v1/inboxes?limit=100")).data;
  const inbox = inboxes.find((candidate) => candidate.name === ATTACHMENTS_INBOX)
    ?? await post("/v1/inboxes", { name: ATTACHMENTS_INBOX });
  const form = new FormData();
  form.append("file", file);
  const uploaded = await call("POST", `/v1/inboxes/${inbox.id}/files`, { body: form });
  return { file_id: uploaded.id, filename: uploaded.name };
}

$("composer").addEventListener("submit", act(async () => {
  const file = $("attach-input").files[0];
  const attachments = file ? [await uploadAttachment(file)] : [];
  await send($("message-input").value, attachments);
  $("composer").reset();
  $("message-input").focus();
}));
$("message-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("composer").requestSubmit();
});

$("cancel-turn").addEventListener("click", act(async () => {
  for (const turnId of state.inFlight) await post(conversationPath(`/turns/${turnId}/cancel`));
}));

// -------------------------------------------------------------------------------------- turns

/** Wait for a turn: its frames drive it when the conversation is live, a long poll otherwise. */
function watchTurn(turnId) {
  if (state.settled.has(turnId)) return;
  state.inFlight.add(turnId);
  const item = bubble(turnId);
  $("cancel-turn").hidden = false;
  if (!state.live) return poll(turnId);
  expectFrames(item, turnId);
}

/** Long-poll the turn if its frames stop before it ends; each frame puts that off again. */
function expectFrames(item, turnId) {
  clearTimeout(item.quiet);
  if (item.polled) return;
  item.quiet = setTimeout(() => {
    if (state.inFlight.has(turnId) && state.bubbles.get(turnId) === item) {
      item.polled = true;
      poll(turnId);
    }
  }, QUIET_FRAMES_MS);
}

async function poll(turnId) {
  const conversationId = state.conversation.id;
  try {
    let turn;
    do {
      turn = await get(conversationPath(`/turns/${turnId}${LONG_POLL}`));
      if (state.conversation?.id !== conversationId) return;
    } while (WAITING.has(turn.status));
    await finishTurn(turn);
  } catch (error) {
    showError(error);
  }
}

/** The reply of a turn as it streams in: the last model call's text is the reply. */
function bubble(turnId) {
  let item = state.bubbles.get(turnId);
  if (!item) {
    item = h("li", { class: "message assistant streaming", "aria-busy": "true", "data-turn-id": turnId },
      h("p", { class: "author" }, "Agent"),
      h("p", { class: "content" }),
      h("p", { class: "muted progress" }, "Thinking…"));
    item.modelCall = 0;
    state.bubbles.set(turnId, item);
    $("messages").append(item);
  }
  return item;
}

function onFrame(frame) {
  if (frame.conversation_id !== state.conversation?.id || state.settled.has(frame.turn_id)) return;
  const item = bubble(frame.turn_id);
  if (state.inFlight.has(frame.turn_id)) expectFrames(item, frame.turn_id);
  const content = item.querySelector(".content");
  const progress = item.querySelector(".progress");
  switch (frame.type) {
    case "turn.started":
      content.textContent = "";
      progress.textContent = "Writing…";
      break;
    case "message.delta":
      if (frame.model_call !== item.modelCall) {
        item.modelCall = frame.model_call;
        content.textContent = "";
      }
      content.textContent += frame.text;
      break;
    case "tool_call.delta":
      if (frame.name) progress.textContent = `Calling ${frame.name}…`;
      break;
    case "step":
      progress.textContent = `Step: ${stepLabel(frame.step)}`;
      break;
    case "turn.requires_action":
    case "turn.completed":
    case "turn.failed":
    case "turn.cancelled":
      // The frame carries the reply; the turn also has the steps, sources and follow-ups.
      get(conversationPath(`/turns/${frame.turn_id}`)).then(finishTurn).catch(showError);
      break;
  }
}

async function finishTurn(turn) {
  if (state.settled.has(turn.id) || turn.conversation_id !== state.conversation?.id) return;
  const paused = turn.status === "requires_action";
  if (!paused) {
    state.settled.add(turn.id);
    state.inFlight.delete(turn.id);
  }
  state.bubbles.get(turn.id)?.remove();
  state.bubbles.delete(turn.id);
  $("cancel-turn").hidden = state.inFlight.size === 0;
  await loadMessages();
  showTurn(turn);
  await state.onChange(); // the list's message counts and order changed
}

/** What a person needs to see of a turn that stopped: its tool calls to answer, its details. */
function showTurn(turn) {
  renderToolCalls(turn.status === "requires_action" ? turn : null);
  renderTurnDetails(turn);
}

function stepLabel(step) {
  return [step.type, step.name].filter(Boolean).join(": ");
}

function renderTurnDetails(turn) {
  const details = $("turn-details");
  const steps = turn.steps ?? [];
  const sources = turn.sources ?? [];
  const followUps = turn.follow_ups ?? [];
  // Only the parts this turn has: a missing part is false or null, and is left out.
  const parts = [
    h("p", { class: "muted" }, `Last turn: ${turn.status}`,
      turn.usage?.total_tokens != null && ` · ${turn.usage.total_tokens} tokens`),
    turn.error && h("p", { class: "error" }, `The turn failed: ${turn.error.message} (${turn.error.type})`),
    steps.length > 0 && h("details", {},
      h("summary", {}, `Steps (${steps.length})`),
      h("ol", {}, steps.map((step) => h("li", {}, stepLabel(step), duration(step))))),
    sources.length > 0 && h("section", { "aria-label": "Sources" },
      h("h3", {}, "Sources"),
      h("ul", { class: "sources" }, sources.map((source) => h("li", {},
        h("strong", {}, source.filename || source.chunk_id), source.cited && " (cited)",
        h("blockquote", {}, (source.display_text || source.content).slice(0, 300)))))),
    followUps.length > 0 && h("section", { "aria-label": "Follow-up questions" },
      h("h3", {}, "Follow-up questions"),
      h("div", { class: "row" }, followUps.map((question) =>
        h("button", { type: "button", onclick: act(() => send(question)) }, question)))),
  ];
  details.replaceChildren(...parts.filter(Boolean));
  details.hidden = false;
}

function duration(step) {
  if (!step.started_at || !step.ended_at) return "";
  return ` (${Date.parse(step.ended_at) - Date.parse(step.started_at)} ms)`;
}

function renderToolCalls(turn) {
  const panel = $("tool-calls");
  panel.hidden = !turn;
  if (!turn) return;
  const calls = turn.required_action.submit_tool_outputs.tool_calls;
  const form = $("tool-outputs-form");
  form.replaceChildren(
    ...calls.map((toolCall, index) => h("fieldset", {},
      h("legend", {}, `${toolCall.function.name} (${toolCall.id})`),
      h("pre", {}, toolCall.function.arguments),
      h("label", { for: `tool-output-${index}` }, `Output of ${toolCall.function.name}`),
      h("textarea", { id: `tool-output-${index}`, name: toolCall.id, rows: "2", required: true }))),
    h("button", { type: "submit" }, "Submit tool outputs"),
  );
  form.onsubmit = act(async () => {
    const outputs = calls.map((toolCall) => ({ tool_call_id: toolCall.id, output: form.elements[toolCall.id].value }));
    await post(conversationPath(`/turns/${turn.id}/tool-outputs`), { tool_outputs: outputs });
    panel.hidden = true;
    watchTurn(turn.id);
    $("message-input").focus();
  });
  form.querySelector("textarea").focus();
}
