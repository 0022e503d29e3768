// The Parley console: a client of the public /v1 API and the WebSocket API, nothing more.
// This module signs in and out and switches screens; each screen is a module of its own.

import { get, session } from "./api.js";
import { loadAgents } from "./agents.js";
import { loadChat } from "./conversations.js";
import { loadInboxes } from "./files.js";
import { loadJobsView } from "./jobs.js";
import { loadKeysView } from "./keys.js";
import { closeThread } from "./thread.js";
import { $, act, clearError, hooks, showError } from "./ui.js";

const VIEWS = { chat: loadChat, jobs: loadJobsView, files: loadInboxes, agents: loadAgents, keys: loadKeysView };
// Conversations and jobs share the one thread pane: it moves into whichever of the two is shown.
const THREAD_VIEWS = new Set(["chat", "jobs"]);

// ---------------------------------------------------------------------------- sign in / out

async function enter() {
  const workspaces = await get("/v1/workspaces");
  const names = workspaces.data.map((workspace) => workspace.name).join(", ");
  $("who").textContent = names ? `Workspace: ${names}` : "";
  for (const id of ["nav", "who", "sign-out"]) $(id).hidden = false;
  $("view-sign-in").hidden = true;
  await showView("chat");
  $("new-title").focus(); // where a person starts: a new conversation
}

function signOut() {
  session.signOut();
  closeThread();
  for (const id of ["nav", "who", "sign-out", ...Object.keys(VIEWS).map((view) => `view-${view}`)]) {
    $(id).hidden = true;
  }
  $("view-sign-in").hidden = false;
  $("api-key").value = "";
  $("api-key").focus();
}
hooks.unauthorized = signOut;

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

async function showView(name) {
  for (const view of Object.keys(VIEWS)) $(`view-${view}`).hidden = view !== name;
  for (const button of $("nav").querySelectorAll("button")) {
    if (button.dataset.view === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (THREAD_VIEWS.has(name)) {
    closeThread();
    $(`view-${name}`).append($("conversation"));
  }
  await VIEWS[name]();
}

for (const button of $("nav").querySelectorAll("button")) {
  button.addEventListener("click", act(() => showView(button.dataset.view)));
}

// ---------------------------------------------------------------------------------- start up

if (session.key) enter().catch(showError);
else $("api-key").focus();
