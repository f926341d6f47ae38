// Check dates: each reason's answer is previewed (what every file's date is now, what it
// becomes), then done as one action with Undo.
import { UNDO_URL, api, el, reloadWith, toast } from "./common.js";

for (const section of document.querySelectorAll(".reason")) {
  const reason = section.dataset.reason;
  const box = section.querySelector(".triage-preview");
  let chosen = null;
  let expected = null;

  for (const button of section.querySelectorAll(".answer")) {
    button.addEventListener("click", async () => {
      try {
        const data = await api("/api/triage/preview", { method: "POST", body: { reason, answer: button.dataset.answer } });
        chosen = button.dataset.answer;
        expected = data.count;
        box.querySelector("tbody").replaceChildren(
          ...data.rows.map((r) => el("tr", {}, el("td", { text: r.name }), el("td", { text: r.now }), el("td", { text: r.after }))),
        );
        const more = data.count > data.rows.length ? ` The first ${data.rows.length} are shown.` : "";
        box.querySelector(".preview-summary").textContent = `${data.label}: ${data.count.toLocaleString()} file${data.count === 1 ? "" : "s"} would change.${more}`;
        box.hidden = false;
        box.querySelector(".apply").focus();
      } catch (err) {
        toast(err.message, { error: true });
      }
    });
  }
  box.querySelector(".cancel").addEventListener("click", () => {
    box.hidden = true;
    chosen = null;
  });
  box.querySelector(".apply").addEventListener("click", async () => {
    if (!chosen) return;
    try {
      const data = await api("/api/triage/apply", { method: "POST", body: { reason, answer: chosen, expected } });
      reloadWith(data.message, { url: UNDO_URL, batch: data.batch });
    } catch (err) {
      toast(err.message, { error: true });
    }
  });
}
