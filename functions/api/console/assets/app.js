// The Parley console: a client of the public /v1 API and the WebSocket API, nothing more.

import { ApiError, call, del, get, patch, post, put, session } from "./api.js";
import { follow } from "./live.js";

const $ = (id) => document.getElementById(id);
const WAITING = new Set(["queued", "running"]);
const LONG_POLL = "?wait=10";
const MESSAGES_SHOWN = 100;
// Feedback is one rating per end user; the console rates as one user of its own.
const FEEDBACK_USER = "console";
const INDEX_POLL_MS = 500;
const INDEX_POLL_LIMIT = 120;
// A live turn whose first frame is this late is long-polled as well: its worker may have looked for
// subscribers just before this page subscribed.
const FIRST_FRAME_GRACE_MS = 3000;

const state = {
  conversation: null, // the open conversation, as the API returned it
  viewLeaf: null, // the branch shown (a leaf message id); null follows the conversation's leaf
  live: null, // the WebSocket feed of the open conversation, or null (then turns are long-polled)
  ready: Promise.resolve(), // settles once the open conversation is live or polled: send after it
  bubbles: new Map(), // turn id → the reply being streamed in
  inFlight: new Set(), // turn ids this page is waiting for
  settled: new Set(), // turn ids that ended: a late frame or poll must not bring them back
};

/** A DOM element: text children become text nodes, so API data is never parsed as HTML. */
function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value != null) element.setAttribute(name, value);
  }
  element.append(...children.flat().filter((child) => child != null && child !== false));
  return element;
}

// ------------------------------------------------------------------------------------ errors

function showError(error) {
  const notice = $("notice");
  notice.textContent = error instanceof ApiError
    ? `${error.message} (${error.type}${error.status ? `, HTTP ${error.status}` : ""})`
    : `Something went wrong: ${error.message}`;
  notice.hidden = false;
  if (error instanceof ApiError && error.status === 401) signOut();
}

function clearError() {
  $("notice").hidden = true;
}

/** An event handler that shows what went wrong, in words, and keeps the control busy meanwhile. */
function act(handler) {
  return async (event) => {
    if (event.type === "submit") event.preventDefault();
    const control = event.submitter ?? event.currentTarget;
    clearError();
    control.disabled = true;
    try {
      await handler(event);
    } catch (error) {
      showError(error);
    } finally {
      control.disabled = false;
    }
  };
}

// ---------------------------------------------------------------------------- sign in / out

async function enter() {
  const workspaces = await get("/v1/workspaces");
  const names = workspaces.data.map((workspace) => workspace.name).join(", ");
  $("who").textContent = names ? `Workspace: ${names}` : "";
  for (const id of ["nav", "who", "sign-out"]) $(id).hidden = false;
  $("view-sign-in").hidden = true;
  await showView("chat");
}

function signOut() {
  session.signOut();
  closeConversation();
  for (const id of ["nav", "who", "sign-out", "view-chat", "view-files", "view-agents", "view-keys"]) {
    $(id).hidden = true;
  }
  $("view-sign-in").hidden = false;
  $("api-key").value = "";
  $("api-key").focus();
}

$("sign-in-form").addEventListener("submit", act(async () => {
  session.signIn($("api-key").value.trim());
  try {
    await enter();
  } catch (error) {
    session.signOut();
    throw error;
  }
}));
$("sign-out").addEventListener("click", () => { clearError(); signOut(); });

// ------------------------------------------------------------------------------------- views

const VIEWS = { chat: loadChat, files: loadInboxes, agents: loadAgents, keys: loadKeys };

async function showView(name) {
  for (const view of Object.keys(VIEWS)) $(`view-${view}`).hidden = view !== name;
  for (const button of $("nav").querySelectorAll("button")) {
    if (button.dataset.view === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  await VIEWS[name]();
}

for (const button of $("nav").querySelectorAll("button")) {
  button.addEventListener("click", act(() => showView(button.dataset.view)));
}

// ------------------------------------------------------------------------------ conversations

async function loadChat() {
  const agents = await get("/v1/agents?limit=100");
  $("new-agent").replaceChildren(
    h("option", { value: "" }, "Workspace default"),
    ...agents.data.map((agent) => h("option", { value: agent.id }, agent.name)),
  );
  await loadConversations();
}

async function loadConversations() {
  const status = $("show-archived").checked ? "archived" : "active";
  const conversations = await get(`/v1/conversations?status=${status}&limit=100`);
  $("conversation-list").replaceChildren(...conversations.data.map((conversation) => h("li", {},
    h("button", {
      type: "button",
      class: "link",
      "aria-current": conversation.id === state.conversation?.id ? "true" : false,
      onclick: act(() => openConversation(conversation.id)),
    }, conversation.title || "Untitled", h("span", { class: "muted" }, ` · ${conversation.message_count} messages`)),
  )));
}

$("show-archived").addEventListener("change", act(loadConversations));

$("new-conversation-form").addEventListener("submit", act(async () => {
  const title = $("new-title").value.trim();
  const agentId = $("new-agent").value;
  const conversation = await post("/v1/conversations", {
    ...(title && { title }),
    ...(agentId && { agent_id: agentId }),
  });
  $("new-title").value = "";
  await openConversation(conversation.id);
}));

function conversationPath(suffix = "") {
  return `/v1/conversations/${state.conversation.id}${suffix}`;
}

function closeConversation() {
  state.live?.close();
  Object.assign(state, { conversation: null, viewLeaf: null, live: null });
  state.bubbles.clear();
  state.inFlight.clear();
  $("conversation").hidden = true;
}

async function openConversation(id) {
  closeConversation();
  state.conversation = await get(`/v1/conversations/${id}`);
  $("conversation").hidden = false;
  $("rename-form").hidden = true;
  $("tool-calls").hidden = true;
  $("turn-details").hidden = true;
  renderTitle();
  await loadConversations();
  await loadMessages();
  state.ready = goLive();
  await state.ready;
  await resumeLastTurn();
  $("message-input").focus();
}

function renderTitle() {
  const { title, status } = state.conversation;
  $("conversation-title").textContent = (title || "Untitled") + (status === "archived" ? " (archived)" : "");
  $("archive").hidden = status === "archived";
  $("composer").hidden = status === "archived";
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

/** After a reload or a switch, pick up the conversation's last turn where it stands. */
async function resumeLastTurn() {
  const last = [...$("messages").children].at(-1);
  const turnId = last?.dataset.turnId;
  if (!turnId) return;
  const turn = await get(conversationPath(`/turns/${turnId}`));
  if (WAITING.has(turn.status)) return watchTurn(turn.id);
  if (turn.status === "requires_action") {
    state.inFlight.add(turn.id);
    $("cancel-turn").hidden = false;
  }
  showTurn(turn);
}

$("rename").addEventListener("click", () => {
  $("rename-form").hidden = false;
  $("rename-title").value = state.conversation.title ?? "";
  $("rename-title").focus();
});
$("rename-cancel").addEventListener("click", () => { $("rename-form").hidden = true; $("rename").focus(); });
$("rename-form").addEventListener("submit", act(async () => {
  state.conversation = await patch(conversationPath(), { title: $("rename-title").value.trim() });
  $("rename-form").hidden = true;
  renderTitle();
  await loadConversations();
}));

$("archive").addEventListener("click", act(async () => {
  if (!confirm("Archive this conversation? It takes no new messages after that.")) return;
  await post(conversationPath("/archive"));
  closeConversation();
  await loadConversations();
}));

$("branch-select").addEventListener("change", act(async () => {
  state.viewLeaf = $("branch-select").value;
  await loadMessages();
}));

// ----------------------------------------------------------------------------------- messages

async function loadMessages() {
  state.conversation = await get(conversationPath());
  const branches = (await get(conversationPath("/branches"))).data;
  const leaf = state.viewLeaf ?? state.conversation.leaf_message_id;
  $("branch-select").replaceChildren(...branches.map((branch, index) => h("option", {
    value: branch.leaf_message_id,
    selected: branch.leaf_message_id === leaf,
  }, `${index + 1} of ${branches.length}${branch.is_current ? " (current)" : ""}`)));
  $("branch-select").disabled = branches.length < 2;
  const query = `?order=desc&limit=${MESSAGES_SHOWN}${leaf ? `&branch=${leaf}` : ""}`;
  const messages = (await get(conversationPath(`/messages${query}`))).data.reverse();
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
  if (message.role === "assistant" && message.message_type !== "tool_calls") {
    item.append(h("div", { class: "row actions" },
      feedbackButton(message, "like", "Like"),
      feedbackButton(message, "dislike", "Dislike"),
      isLastReply && h("button", { type: "button", onclick: act(() => regenerate(message.id)) }, "Regenerate"),
    ));
  }
  return item;
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

async function send(content) {
  await state.ready;
  // A message sent while an older branch is shown continues that branch.
  const parent = state.viewLeaf && { parent_message_id: state.viewLeaf };
  const accepted = await post(conversationPath("/messages"), { content, ...parent });
  state.viewLeaf = null;
  await loadMessages();
  if (accepted.turn) watchTurn(accepted.turn.id);
}

async function regenerate(messageId) {
  await state.ready;
  const accepted = await post(conversationPath(`/messages/${messageId}/regenerate`));
  state.viewLeaf = null;
  await loadMessages();
  watchTurn(accepted.turn.id);
}

$("composer").addEventListener("submit", act(async () => {
  const content = $("message-input").value;
  await send(content);
  $("message-input").value = "";
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
  setTimeout(() => {
    if (!item.framed && state.inFlight.has(turnId) && state.bubbles.get(turnId) === item) poll(turnId);
  }, FIRST_FRAME_GRACE_MS);
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
  item.framed = true;
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
  await loadConversations(); // their message counts and order changed
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

// -------------------------------------------------------------------------------------- files

async function loadInboxes() {
  const inboxes = (await get("/v1/inboxes?limit=100")).data;
  const chosen = $("inbox-select").value;
  $("inbox-select").replaceChildren(...inboxes.map((inbox) =>
    h("option", { value: inbox.id, selected: inbox.id === chosen }, inbox.name)));
  $("upload-form").hidden = inboxes.length === 0;
  await loadFiles();
}

async function loadFiles() {
  const inboxId = $("inbox-select").value;
  const files = inboxId ? (await get(`/v1/inboxes/${inboxId}/files?limit=100`)).data : [];
  $("file-rows").replaceChildren(...files.map(fileRow));
}

function fileRow(file) {
  const indexing = file.index_status === "failed"
    ? `failed: ${file.index_error}`
    : [file.index_status ?? "not indexed", file.chunk_count != null && `${file.chunk_count} chunks`].filter(Boolean).join(", ");
  return h("tr", { "data-file-id": file.id },
    h("td", {}, file.name),
    h("td", {}, `${file.size} bytes`),
    h("td", {}, file.status + (file.error ? `: ${file.error}` : "")),
    h("td", { class: "index-status" }, indexing));
}

$("inbox-select").addEventListener("change", act(loadFiles));

$("inbox-form").addEventListener("submit", act(async () => {
  const name = $("new-inbox").value.trim();
  if (!name) throw new Error("Name the new inbox first.");
  const inbox = await post("/v1/inboxes", { name });
  $("new-inbox").value = "";
  await loadInboxes();
  $("inbox-select").value = inbox.id;
  await loadFiles();
}));

$("upload-form").addEventListener("submit", act(async () => {
  // Through the API (multipart, same origin), not a presigned PUT: the bucket has no CORS rule,
  // and one naming the API's origin would make the template circular.
  const form = new FormData();
  form.append("file", $("file-input").files[0]);
  let file = await call("POST", `/v1/inboxes/${$("inbox-select").value}/files`, { body: form });
  $("file-input").value = "";
  await loadFiles();
  for (let attempt = 0; attempt < INDEX_POLL_LIMIT && file.index_status === "pending"; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, INDEX_POLL_MS));
    file = await get(`/v1/files/${file.id}`);
    document.querySelector(`tr[data-file-id="${file.id}"]`)?.replaceWith(fileRow(file));
  }
}));

// ------------------------------------------------------------------------------------- agents

async function loadAgents() {
  const [agents, providers] = await Promise.all([get("/v1/agents?limit=100"), get("/v1/providers?limit=100")]);
  const providerNames = new Map(providers.data.map((provider) => [provider.id, provider.name]));
  $("agent-list").replaceChildren(...agents.data.map((agent) => h("li", {},
    h("strong", {}, agent.name), ` · ${providerNames.get(agent.provider_id) ?? agent.provider_id} · ${agent.model}`,
    agent.tools?.length ? ` · tools: ${agent.tools.map((tool) => tool.function.name).join(", ")}` : "")));
  $("agent-provider").replaceChildren(...providers.data.map((provider) =>
    h("option", { value: provider.id }, `${provider.name} (${provider.kind})`)));
}

$("agent-form").addEventListener("submit", act(async () => {
  const model = $("agent-model").value.trim();
  await post("/v1/agents", {
    name: $("agent-name").value.trim(),
    provider_id: $("agent-provider").value,
    instructions: $("agent-instructions").value,
    ...(model && { model }),
  });
  $("agent-form").reset();
  await loadAgents();
}));

// ----------------------------------------------------------------------------------- API keys

async function loadKeys() {
  const keys = await get("/v1/api-keys?limit=100");
  $("key-list").replaceChildren(...keys.data.map((key) => h("li", {},
    h("strong", {}, key.name), ` · ${key.role} · ${key.prefix}… · `,
    key.revoked_at
      ? `revoked ${key.revoked_at}`
      : h("button", {
        type: "button",
        onclick: act(async () => {
          if (!confirm(`Revoke the key "${key.name}"? It stops working at once.`)) return;
          await del(`/v1/api-keys/${key.id}`);
          await loadKeys();
        }),
      }, "Revoke"))));
}

$("key-form").addEventListener("submit", act(async () => {
  const created = await post("/v1/api-keys", { name: $("key-name").value.trim(), role: $("key-role").value });
  const secret = $("new-secret");
  secret.replaceChildren(`The secret of "${created.name}", shown this once: `, h("code", {}, created.secret));
  secret.hidden = false;
  $("key-name").value = "";
  await loadKeys();
}));

// ---------------------------------------------------------------------------------- start up

if (session.key) enter().catch(showError);
else $("api-key").focus();
