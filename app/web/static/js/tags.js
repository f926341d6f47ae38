// Tags page: rename (a name another tag has merges them), merge the ticked tags into one,
// remove a tag from every file. Each change comes back with Undo.
import { UNDO_URL, api, el, reloadWith, toast } from "./common.js";

async function act(url, body) {
  try {
    const data = await api(url, { method: "POST", body });
    reloadWith(data.message, data.batch ? { url: UNDO_URL, batch: data.batch } : null);
  } catch (err) {
    toast(err.message, { error: true });
  }
}

for (const row of document.querySelectorAll(".tagrow")) {
  const id = row.dataset.id;
  const form = row.querySelector(".rename-form");
  row.querySelector(".rename").addEventListener("click", () => {
    form.hidden = false;
    form.querySelector("input").select();
  });
  form.querySelector(".cancel").addEventListener("click", () => (form.hidden = true));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(`/api/tags/${id}/rename`, { name: form.querySelector("input").value });
  });
  row.querySelector(".delete").addEventListener("click", () => {
    if (window.confirm(`Remove the tag “${row.dataset.name}” from every file? The files stay, and you can undo this.`)) {
      act(`/api/tags/${id}/delete`, {});
    }
  });
}

const mergeForm = document.getElementById("merge-form");
function ticked() {
  return [...document.querySelectorAll(".tagrow")].filter((row) => row.querySelector(".tick").checked);
}
document.getElementById("taglist")?.addEventListener("change", (event) => {
  if (!event.target.classList.contains("tick")) return;
  const rows = ticked();
  mergeForm.hidden = rows.length < 2;
  document.getElementById("merge-count").textContent = `${rows.length} tags ticked`;
  document.getElementById("merge-into").replaceChildren(...rows.map((row) => el("option", { value: row.dataset.id, text: row.dataset.name })));
});
mergeForm?.addEventListener("submit", (event) => {
  event.preventDefault();
  const tags = ticked().map((row) => Number(row.dataset.id));
  act("/api/tags/merge", { tags, into: Number(document.getElementById("merge-into").value) });
});
