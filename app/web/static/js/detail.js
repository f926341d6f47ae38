// File detail: confirm, choose a clue, type a date, correct a camera's clock, tags, leave out,
// turn; the video loads only when asked for; ← → keys. Every change offers Undo (/api/undo).
import { UNDO_URL, api, el, formatMinutes, reloadWith, suggestTags, toast } from "./common.js";

const root = document.getElementById("detail");
const fileId = Number(root.dataset.file);
const selection = { ids: [fileId] };
const TIME_UNDO = UNDO_URL;
const TAG_UNDO = UNDO_URL;

async function act(url, body, undoUrl = UNDO_URL) {
  try {
    const data = await api(url, { method: "POST", body });
    reloadWith(data.message, data.batch ? { url: undoUrl, batch: data.batch } : null);
  } catch (err) {
    toast(err.message, { error: true });
  }
}

// The video: its poster frame until Play is pressed (loading the original slows the page).
const play = document.getElementById("play");
play?.addEventListener("click", () => {
  const video = el("video", { controls: true, autoplay: true, preload: "auto", src: play.dataset.src });
  if (play.dataset.poster) video.poster = play.dataset.poster;
  play.replaceWith(video);
  video.focus();
});

document.getElementById("leave-out")?.addEventListener("click", () => act("/api/files/leave-out", { selection }));
document.getElementById("include")?.addEventListener("click", () => act("/api/files/include", { selection }));
document.getElementById("turn-right")?.addEventListener("click", () => act("/api/files/rotate", { selection, degrees: 90 }));
document.getElementById("turn-left")?.addEventListener("click", () => act("/api/files/rotate", { selection, degrees: 270 }));

document.getElementById("confirm")?.addEventListener("click", () => act("/api/time/confirm", { selection }, TIME_UNDO));

for (const button of document.querySelectorAll(".use-candidate")) {
  button.addEventListener("click", () =>
    act("/api/time/choose", { file_id: fileId, source: button.dataset.source }, TIME_UNDO));
}

// The offset comes from what is typed ("14:30 +02:00"), else from the zone at that date.
document.getElementById("set-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act("/api/time/set", { selection, text: document.getElementById("set-text").value }, TIME_UNDO);
});

// "This photo was taken at ...": preview first, then apply to the camera's files within the
// window (or this one). The shift is exact, to the second, and shown as such.
const takenText = document.getElementById("taken-text");
const takenDays = document.getElementById("taken-days");
const takenPreview = document.getElementById("taken-preview");
const takenBody = (scope) => ({ file_id: fileId, text: takenText.value, scope, days: takenDays.value === "" ? "all" : Number(takenDays.value) });

function scopeText(data) {
  const left = [];
  if (data.outside) left.push(`${data.outside} taken more than ${data.days} days away`);
  if (data.other_bodies) left.push(`${data.other_bodies} from another camera of the same model`);
  if (data.not_clock) left.push(`${data.not_clock} whose date did not come from the camera's clock`);
  const window = data.days === null ? "at any time" : `within ${data.days} days of this photo`;
  return `Camera: ${data.camera}, photos taken ${window}, from every import.` + (left.length ? ` Not changed: ${left.join(", ")}.` : "");
}

document.getElementById("taken-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const data = await api("/api/time/taken-at/preview", { method: "POST", body: takenBody("camera") });
    const body = takenPreview.querySelector("tbody");
    body.replaceChildren(...data.rows.map((r) => el("tr", {}, el("td", { text: r.name }), el("td", { text: r.before }), el("td", { text: r.after }))));
    document.getElementById("taken-summary").textContent = data.count
      ? `The camera was ${data.shift} ${data.later ? "behind" : "ahead"}. ${data.count} file${data.count === 1 ? "" : "s"} from this camera would change${data.count > data.rows.length ? ` (first ${data.rows.length} shown)` : ""}:`
      : data.message || "Nothing would change.";
    document.getElementById("taken-scope").textContent = data.count ? scopeText(data) : "";
    takenPreview.hidden = false;
    document.getElementById("taken-apply").hidden = !data.count;
  } catch (err) {
    toast(err.message, { error: true });
  }
});
document.getElementById("taken-apply").addEventListener("click", () =>
  act("/api/time/taken-at", takenBody("camera"), TIME_UNDO));
document.getElementById("taken-one").addEventListener("click", () =>
  act("/api/time/taken-at", takenBody("file"), TIME_UNDO));

// tags
const tagText = document.getElementById("tag-text");
document.getElementById("tag-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act("/api/tags/add", { selection, tags: [tagText.value] }, TAG_UNDO);
});
for (const button of document.querySelectorAll(".remove-tag")) {
  button.addEventListener("click", () => act("/api/tags/remove", { selection, tags: [button.dataset.tag] }, TAG_UNDO));
}
suggestTags(tagText, "tag-suggestions");

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select, video") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "ArrowLeft" || event.key === "k") document.getElementById("prev")?.click();
  else if (event.key === "ArrowRight" || event.key === "j") document.getElementById("next")?.click();
  else if (event.key === "c" || event.key === "C") document.getElementById("confirm")?.click();
  else if (event.key === "Escape") window.location.href = document.querySelector(".pager a:not(.button)").href;
});
