// The WebSocket API: a live feed of one conversation's turn frames (README "Streaming").

import { post } from "./api.js";

const SUBSCRIBE_TIMEOUT_MS = 5000;
// API Gateway closes a WebSocket idle for 10 minutes.
const PING_EVERY_MS = 5 * 60 * 1000;

/**
 * Connect and subscribe to one conversation; resolves once subscribed, rejects if that fails (the
 * caller then long-polls). `onFrame` gets every turn frame, `onClose` a later loss of the socket.
 */
export async function follow(conversationId, { onFrame, onClose }) {
  // A stream token, not the key: a browser cannot set headers on a WebSocket, and a short-lived
  // token scoped to this conversation is all the socket needs to carry.
  const token = await post("/v1/stream-tokens", { conversation_ids: [conversationId] });
  if (!token.url) throw new Error("this deployment has no WebSocket API");
  const socket = new WebSocket(token.url, ["parley", `parley.token.${token.token}`]);
  let ping;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer to subscribe")), SUBSCRIBE_TIMEOUT_MS);
    socket.onopen = () => socket.send(JSON.stringify({ action: "subscribe", conversation_id: conversationId }));
    socket.onerror = () => reject(new Error("the WebSocket could not connect"));
    socket.onclose = () => reject(new Error("the WebSocket closed"));
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "subscribed") { clearTimeout(timer); resolve(); }
      if (frame.type === "error") { clearTimeout(timer); reject(new Error(frame.error.message)); }
    };
  }).catch((error) => { socket.close(); throw error; });
  ping = setInterval(() => socket.send(JSON.stringify({ action: "ping" })), PING_EVERY_MS);
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.turn_id) onFrame(frame);
  };
  socket.onclose = () => { clearInterval(ping); onClose(); };
  return {
    close() {
      socket.onclose = null;
      clearInterval(ping);
      socket.close();
    },
  };
}
