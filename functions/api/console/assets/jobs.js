// The Jobs screen's list: jobs by status, and a new one (README "Jobs"). An open job is a thread like
// a conversation, with its lifecycle (complete, fail, archive) in the thread pane.

import { get, post } from "./api.js";
import { openThread, openThreadId } from "./thread.js";
import { $, act, agentOptions, h } from "./ui.js";

export async function loadJobsView() {
  const agents = await get("/v1/agents?limit=100");
  $("job-agent").replaceChildren(...agentOptions(agents.data, "Workspace default"));
  await loadJobs();
}

async function loadJobs() {
  const jobs = await get(`/v1/jobs?status=${$("job-status").value}&limit=100`);
  $("job-list").replaceChildren(...jobs.data.map((job) => h("li", {},
    h("button", {
      type: "button",
      class: "link",
      "aria-current": job.id === openThreadId() ? "true" : false,
      onclick: act(() => openThread(job.id, loadJobs)),
    }, job.title || "Untitled", h("span", { class: "muted" }, ` · ${job.status} · ${job.message_count} messages`)),
  )));
}

$("job-status").addEventListener("change", act(loadJobs));

$("new-job-form").addEventListener("submit", act(async () => {
  const title = $("job-title").value.trim();
  const agentId = $("job-agent").value;
  const prompt = $("job-prompt").value.trim();
  const job = await post("/v1/jobs", {
    ...(title && { title }),
    ...(agentId && { agent_id: agentId }),
    ...(prompt && { prompt }),
  });
  $("new-job-form").reset();
  // Only an active job is listed by default: show that list, where the new job is.
  $("job-status").value = "active";
  await openThread(job.id, loadJobs, { turnId: job.first_turn_id });
}));
