// The Agents screen: agents (create and edit: instructions, provider, model, tools) and providers
// (create; an API key is sent once and never shown back: the API answers only has_secret).

import { get, patch, post } from "./api.js";
import { $, act, h } from "./ui.js";

// The agent the form edits, or null when it creates one.
let editing = null;

export async function loadAgents() {
  const [agents, providers] = await Promise.all([get("/v1/agents?limit=100"), get("/v1/providers?limit=100")]);
  const providerNames = new Map(providers.data.map((provider) => [provider.id, provider.name]));
  $("agent-list").replaceChildren(...agents.data.map((agent) => h("li", {},
    h("strong", {}, agent.name), ` · ${providerNames.get(agent.provider_id) ?? agent.provider_id} · ${agent.model}`,
    agent.tools.length > 0 && ` · tools: ${agent.tools.map((tool) => tool.function.name).join(", ")}`,
    " ",
    h("button", { type: "button", "aria-label": `Edit ${agent.name}`, onclick: () => startEditing(agent) }, "Edit"))));
  const chosen = $("agent-provider").value;
  $("agent-provider").replaceChildren(...providers.data.map((provider) =>
    h("option", { value: provider.id, selected: provider.id === chosen }, `${provider.name} (${provider.kind})`)));
  $("provider-list").replaceChildren(...providers.data.map((provider) => h("li", {},
    h("strong", {}, provider.name),
    [` · ${provider.kind}`, provider.base_url, provider.default_model && `model ${provider.default_model}`,
      provider.has_secret ? "API key stored" : "no API key"].filter(Boolean).join(" · "))));
}

function startEditing(agent) {
  editing = agent;
  $("agent-form-title").textContent = `Edit ${agent.name}`;
  $("agent-submit").textContent = "Save agent";
  $("agent-cancel").hidden = false;
  $("agent-name").value = agent.name;
  $("agent-provider").value = agent.provider_id;
  $("agent-model").value = agent.model;
  $("agent-instructions").value = agent.instructions;
  $("agent-tools").value = agent.tools.length ? JSON.stringify(agent.tools, null, 2) : "";
  $("agent-tools").dataset.shown = $("agent-tools").value;
  $("agent-name").focus();
}

function stopEditing() {
  editing = null;
  $("agent-form").reset();
  $("agent-tools").dataset.shown = "";
  $("agent-form-title").textContent = "New agent";
  $("agent-submit").textContent = "Create agent";
  $("agent-cancel").hidden = true;
}

/** The tools box, parsed; undefined when it was left as shown (a tool's header values come back
 * REDACTED, so sending them back unchanged would overwrite the stored secrets). */
function toolsChanged() {
  const text = $("agent-tools").value.trim();
  if (text === ($("agent-tools").dataset.shown ?? "").trim()) return undefined;
  if (!text) return [];
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`Tools is not valid JSON (${error.message}): write a list of tool definitions.`);
  }
}

$("agent-cancel").addEventListener("click", stopEditing);

$("agent-form").addEventListener("submit", act(async () => {
  const model = $("agent-model").value.trim();
  const tools = toolsChanged();
  const fields = {
    name: $("agent-name").value.trim(),
    provider_id: $("agent-provider").value,
    instructions: $("agent-instructions").value,
    ...(tools !== undefined && { tools }),
  };
  // Blank model: the provider's default (on an edit, null clears the model the agent had).
  if (editing) await patch(`/v1/agents/${editing.id}`, { ...fields, model: model || null });
  else await post("/v1/agents", { ...fields, ...(model && { model }) });
  stopEditing();
  await loadAgents();
}));

$("provider-form").addEventListener("submit", act(async () => {
  const optional = {
    base_url: $("provider-base-url").value.trim(),
    default_model: $("provider-model").value.trim(),
    api_key: $("provider-key").value,
  };
  await post("/v1/providers", {
    name: $("provider-name").value.trim(),
    kind: $("provider-kind").value,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value)),
  });
  // The key leaves the page with this request: the form forgets it at once.
  $("provider-form").reset();
  await loadAgents();
}));
