// The console's only way to Parley: the public /v1 API, with the signed-in key as a Bearer token.

const KEY_SLOT = "parley.console.apiKey";

// sessionStorage, never localStorage or the URL: the key lives as long as this tab, and never ends
// up in history, access logs or another tab.
export const session = {
  get key() { return sessionStorage.getItem(KEY_SLOT); },
  signIn(key) { sessionStorage.setItem(KEY_SLOT, key); },
  signOut() { sessionStorage.removeItem(KEY_SLOT); },
};

export class ApiError extends Error {
  constructor(status, type, message, details = []) {
    super(message);
    this.status = status;
    this.type = type;
    this.details = details; // a 422's refused fields: [{loc, msg, type}]
  }
}

// The API root is the folder above this module (/console/api.js → /), so a stage or base path in
// front of the API is kept. The page and the API share an origin: no CORS is involved.
const API_ROOT = new URL("..", import.meta.url);

/** Call the API; the decoded JSON body, or an ApiError in words (Parley's error, or the gateway's). */
export async function call(method, path, { json, body } = {}) {
  const headers = { authorization: `Bearer ${session.key}` };
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(new URL(path.replace(/^\//, ""), API_ROOT), { method, headers, body });
  } catch (error) {
    throw new ApiError(0, "network_error", `Parley could not be reached: ${error.message}`);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    // Parley answers {"error": {"type", "message"}}; API Gateway itself (e.g. its authorizer's 401)
    // answers {"message"}.
    const error = data?.error;
    throw new ApiError(
      response.status,
      error?.type ?? "http_error",
      error?.message ?? data?.message ?? `The API answered ${response.status} ${response.statusText}.`,
      Array.isArray(error?.details) ? error.details : [],
    );
  }
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, json = {}) => call("POST", path, { json });
export const patch = (path, json) => call("PATCH", path, { json });
export const put = (path, json) => call("PUT", path, { json });
export const del = (path) => call("DELETE", path);
