// Home: the steps' counts stay current while an import runs; "Undo" on any recent change.
import { UNDO_URL, api, reloadWith, toast } from "./common.js";

for (const button of document.querySelectorAll(".undo-action")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const data = await api(UNDO_URL, { method: "POST", body: { batch: button.dataset.batch } });
      reloadWith(data.message);
    } catch (err) {
      button.disabled = false;
      toast(err.message, { error: true });
    }
  });
}

// While files are being read, the counts move: reload them every few seconds, and the whole
// page once the import is done (the reasons and next steps may change).
const steps = document.getElementById("steps");
async function refresh() {
  try {
    const data = await api(steps.dataset.liveUrl);
    for (const node of steps.querySelectorAll("[data-count]")) {
      const value = node.dataset.count === "ready" ? data.export.ready : data[node.dataset.count];
      if (typeof value === "number") node.textContent = value.toLocaleString();
    }
    if (!data.importing.length) {
      window.location.reload();
      return;
    }
  } catch {
    /* the next round tries again */
  }
  setTimeout(refresh, 3000);
}
if (steps && document.querySelector('[data-field="importing"]')) setTimeout(refresh, 3000);
