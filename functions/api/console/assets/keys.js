// The API keys screen: list, create (the secret is shown this once) and revoke.

import { del, get, post } from "./api.js";
import { $, act, h } from "./ui.js";

export async function loadKeysView() {
  // A new secret is shown only until the person leaves the screen: coming back, it is gone.
  $("new-secret").hidden = true;
  $("new-secret").replaceChildren();
  await listKeys();
}

async function listKeys() {
  const keys = await get("/v1/api-keys?limit=100");
  $("key-list").replaceChildren(...keys.data.map((key) => h("li", {},
    h("strong", {}, key.name), ` · ${key.role} · ${key.prefix}… · `,
    key.revoked_at
      ? `revoked ${key.revoked_at}`
      : h("button", {
        type: "button",
        "aria-label": `Revoke ${key.name}`,
        onclick: act(async () => {
          if (!confirm(`Revoke the key "${key.name}"? It stops working at once.`)) return;
          await del(`/v1/api-keys/${key.id}`);
          await listKeys();
        }),
      }, "Revoke"))));
}

$("key-form").addEventListener("submit", act(async () => {
  const created = await post("/v1/api-keys", { name: $("key-name").value.trim(), role: $("key-role").value });
  const secret = $("new-secret");
  secret.replaceChildren(`The secret of "${created.name}", shown this once: `, h("code", {}, created.secret));
  secret.hidden = false;
  $("key-name").value = "";
  await listKeys();
}));
