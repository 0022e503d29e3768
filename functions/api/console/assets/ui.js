// What every screen of the console shares: finding and building elements, and showing errors in words.

import { ApiError } from "./api.js";

export const $ = (id) => document.getElementById(id);

/** A DOM element: text children become text nodes, so API data is never parsed as HTML. */
export function h(tag, props = {}, ...children) {
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

// Set by app.js: a 401 means the key stopped working (revoked, or mistyped), so the page signs out.
export const hooks = { unauthorized: () => {} };

/** The API's 422 names each field it refused: "body.tools.0.function.name: Field required". */
function details(error) {
  const fields = (error.details ?? []).filter((detail) => detail.msg);
  return fields.map((detail) => `${(detail.loc ?? []).join(".")}: ${detail.msg}`).join("; ");
}

export function showError(error) {
  const notice = $("notice");
  if (error instanceof ApiError) {
    const why = details(error);
    notice.textContent = `${error.message} (${error.type}${error.status ? `, HTTP ${error.status}` : ""})`
      + (why ? ` ${why}` : "");
  } else {
    notice.textContent = `Something went wrong: ${error.message}`;
  }
  notice.hidden = false;
  if (error instanceof ApiError && error.status === 401) hooks.unauthorized();
}

export function clearError() {
  $("notice").hidden = true;
}

/** An event handler that shows what went wrong, in words, and keeps the control busy meanwhile. */
export function act(handler) {
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

/** Fill an agent picker; `first` is the option that means "no agent chosen". */
export function agentOptions(agents, first) {
  return [h("option", { value: "" }, first), ...agents.map((agent) => h("option", { value: agent.id }, agent.name))];
}
