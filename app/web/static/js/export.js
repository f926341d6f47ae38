// Export page: jobs.js keeps the progress card live; when the export ends, reload once so
// the page shows its result summary.
const FINAL = new Set(["completed", "failed", "cancelled"]);
const card = document.querySelector("#jobs .job[data-job-id]");

if (card && !FINAL.has(card.dataset.status)) {
  new MutationObserver(() => {
    if (FINAL.has(card.dataset.status)) window.location.reload();
  }).observe(card, { attributes: true, attributeFilter: ["data-status"] });
}
