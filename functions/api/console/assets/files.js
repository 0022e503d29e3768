// The Files screen: inboxes, uploads and each file's upload and indexing status.

import { call, get, post } from "./api.js";
import { $, act, h } from "./ui.js";

const INDEX_POLL_MS = 500;
const INDEX_POLL_LIMIT = 120;

export async function loadInboxes() {
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
