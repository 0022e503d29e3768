// The Chat screen's list: conversations, active or archived, and a new one with an agent.

import { get, post } from "./api.js";
import { openThread, openThreadId } from "./thread.js";
import { $, act, agentOptions, h } from "./ui.js";

export async function loadChat() {
  const agents = await get("/v1/agents?limit=100");
  $("new-agent").replaceChildren(...agentOptions(agents.data, "Workspace default"));
  await loadConversations();
}

async function loadConversations() {
  const status = $("show-archived").checked ? "archived" : "active";
  const conversations = await get(`/v1/conversations?status=${status}&limit=100`);
  $("conversation-list").replaceChildren(...conversations.data.map((conversation) => h("li", {},
    h("button", {
      type: "button",
      class: "link",
      "aria-current": conversation.id === openThreadId() ? "true" : false,
      onclick: act(() => openThread(conversation.id, loadConversations)),
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
  await openThread(conversation.id, loadConversations);
}));
