// Jobs: progress refreshes every second while a job is active; the buttons work without reloading;
// a finished job shows its next step at once. On an import's page, its tags can be removed at once.
import { UNDO_URL, api, formatEta, reloadWith, toast } from "./common.js";

const ACTIVE = new Set(["pending", "running"]);
const FINAL = new Set(["completed", "failed", "cancelled"]);

function figures(job) {
  const parts = [`${job.done.toLocaleString()} of ${job.total.toLocaleString()} file${job.total === 1 ? "" : "s"}`];
  if (job.errors) parts.push(`${job.errors.toLocaleString()} could not be read`);
  if (job.skipped) parts.push(`${job.skipped.toLocaleString()} skipped`);
  if (job.duplicates) parts.push(`${job.duplicates.toLocaleString()} already in the library`);
  if (job.rate) parts.push(`${job.rate} files/s`);
  if (job.eta_seconds !== null && job.eta_seconds !== undefined) parts.push(`${formatEta(job.eta_seconds)} left`);
  return parts.join(" · ");
}

function render(card, job) {
  const before = card.dataset.status;
  card.dataset.status = job.status;
  const badge = card.querySelector('[data-field="status_badge"]');
  badge.className = `badge status-${job.status}`;
  badge.textContent = job.status.charAt(0).toUpperCase() + job.status.slice(1);
  const bar = card.querySelector('[data-field="bar"]');
  bar.max = Math.max(1, job.total);
  bar.value = job.done;
  card.querySelector('[data-field="figures"]').textContent = figures(job);
  card.querySelector('[data-field="status_text"]').textContent = job.status_text + (job.message ? ` ${job.message}` : "");
  card.querySelector('[data-action="pause"]').hidden = !job.can_pause;
  card.querySelector('[data-action="resume"]').hidden = !job.can_resume;
  card.querySelector('[data-action="cancel"]').hidden = !job.can_cancel;
  const next = card.querySelector('[data-field="next"]');
  if (next && job.next) {
    next.href = job.next.url;
    next.textContent = job.next.label;
    next.hidden = false;
  }
  const none = document.querySelector('[data-field="no-problems"]');
  if (none && FINAL.has(job.status) && none.dataset.final) none.textContent = none.dataset.final;
  // the list of failed files and an import's tags are server-rendered: reload once when a job
  // ends with problems, or when an import ends on its own page
  const ended = before !== job.status && FINAL.has(job.status);
  const ownPage = document.getElementById("problems");
  if (ended && ownPage && ((job.problems && document.querySelector('[data-field="no-problems"]')) || job.kind === "import")) {
    window.location.reload();
  }
}

function cards() {
  return [...document.querySelectorAll(".job[data-job-id]")];
}

async function refresh() {
  const watched = cards().filter((c) => !FINAL.has(c.dataset.status));
  if (watched.length) {
    try {
      const data = await api(`/api/jobs?ids=${watched.map((c) => c.dataset.jobId).join(",")}`);
      for (const job of data.jobs) {
        const card = document.querySelector(`.job[data-job-id="${job.id}"]`);
        if (card) render(card, job);
      }
    } catch (err) {
      toast(err.message, { error: true, timeout: 3000 });
    }
  }
  const busy = cards().some((c) => ACTIVE.has(c.dataset.status));
  setTimeout(refresh, busy ? 1000 : 4000);
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const card = form.closest(".job[data-job-id]");
  if (!card || !form.dataset.action || event.defaultPrevented) return;
  event.preventDefault();
  try {
    const data = await api(`/api/jobs/${card.dataset.jobId}/${form.dataset.action}`, { method: "POST", body: {} });
    render(card, data.job);
    toast(data.message);
  } catch (err) {
    toast(err.message, { error: true });
  }
});

setTimeout(refresh, 1000);

const removeTags = document.getElementById("remove-import-tags");
removeTags?.addEventListener("click", async () => {
  const job = document.getElementById("made-tags").dataset.job;
  try {
    const data = await api(`/api/jobs/${job}/tags/remove`, { method: "POST", body: {} });
    reloadWith(data.message, { url: UNDO_URL, batch: data.batch });
  } catch (err) {
    toast(err.message, { error: true });
  }
});
