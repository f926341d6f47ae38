// Duplicates page: keyboard shortcuts (1-9 keep only that picture, A keep all, S skip,
// Z compare at 100 %, U undo), each decision asked about first; and the side-by-side view
// at 100 %, whose panes scroll together.

const dialog = document.getElementById("key-confirm");
const zoom = document.getElementById("zoom");
const zoomButton = document.getElementById("zoom-open");
let pending = null; // what "Yes" does

function ask(question, action) {
  if (!dialog) return;
  pending = action;
  document.getElementById("key-confirm-text").textContent = question;
  dialog.showModal();
  document.getElementById("key-confirm-yes").focus();
}

function answer(yes) {
  const action = pending;
  pending = null;
  if (dialog.open) dialog.close();
  if (dialog.contains(document.activeElement)) document.activeElement.blur(); // keys work again
  if (yes && action) action();
}

if (dialog) {
  document.getElementById("key-confirm-yes").addEventListener("click", () => answer(true));
  document.getElementById("key-confirm-no").addEventListener("click", () => answer(false));
  dialog.addEventListener("cancel", () => (pending = null)); // Esc: no
  dialog.addEventListener("close", () => {
    // (the close event comes later: a new question may be open by then, so it leaves `pending`)
    if (!dialog.open && dialog.contains(document.activeElement)) document.activeElement.blur();
  });
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function keepOnly(index) {
  const cards = [...document.querySelectorAll(".candidate-card")];
  const card = cards[index];
  if (!card) return;
  const others = cards.length - 1;
  ask(
    `Keep only picture ${index + 1} (${card.dataset.name}) and set the other ${plural(others, "file")} aside?`,
    () => card.querySelector(".keep-this").click(),
  );
}

// --- side by side at 100 % -------------------------------------------------------------------

const placed = new WeakMap(); // where this script put a pane: its own scroll events are not followed

function follow(source) {
  // the others scroll to the same place, as a share of what each can scroll
  const mark = placed.get(source);
  placed.delete(source);
  if (mark && Math.abs(mark[0] - source.scrollLeft) <= 1 && Math.abs(mark[1] - source.scrollTop) <= 1) return;
  const x = source.scrollLeft / Math.max(1, source.scrollWidth - source.clientWidth);
  const y = source.scrollTop / Math.max(1, source.scrollHeight - source.clientHeight);
  for (const pane of zoom.querySelectorAll(".zoom-scroll")) {
    if (pane === source) continue;
    const before = [pane.scrollLeft, pane.scrollTop];
    pane.scrollLeft = x * (pane.scrollWidth - pane.clientWidth);
    pane.scrollTop = y * (pane.scrollHeight - pane.clientHeight);
    if (pane.scrollLeft !== before[0] || pane.scrollTop !== before[1]) placed.set(pane, [pane.scrollLeft, pane.scrollTop]);
  }
}

function centre(pane) {
  pane.scrollLeft = (pane.scrollWidth - pane.clientWidth) / 2;
  pane.scrollTop = (pane.scrollHeight - pane.clientHeight) / 2;
}

function showZoom(open) {
  if (!zoom) return;
  zoom.hidden = !open;
  zoomButton.setAttribute("aria-expanded", String(open));
  zoomButton.textContent = open ? "Close the 100 % view" : "Compare at 100 %";
  if (!open) return;
  for (const img of zoom.querySelectorAll("img[data-src]")) {
    // the originals load only when asked for: they can be large
    img.addEventListener("load", () => centre(img.parentElement), { once: true });
    img.src = img.dataset.src;
    img.removeAttribute("data-src");
  }
  zoom.scrollIntoView({ block: "start" });
}

if (zoom) {
  zoomButton.addEventListener("click", () => showZoom(zoom.hidden));
  document.getElementById("zoom-close").addEventListener("click", () => {
    showZoom(false);
    zoomButton.focus();
  });
  for (const pane of zoom.querySelectorAll(".zoom-scroll")) {
    pane.addEventListener("scroll", () => follow(pane), { passive: true });
  }
}

// --- keys ------------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  if (dialog?.open) {
    // the question is open: Enter says yes (Esc, no, is the dialog's own)
    if (event.key === "Enter") {
      event.preventDefault();
      answer(true);
    }
    return;
  }
  if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
  if (!document.getElementById("group")) return;
  const key = event.key.toLowerCase();
  if (/^[1-9]$/.test(key)) {
    event.preventDefault();
    keepOnly(Number(key) - 1);
  } else if (key === "a") {
    event.preventDefault();
    const n = document.querySelectorAll(".candidate-card").length;
    ask(`Keep all ${plural(n, "file")}: they are not duplicates?`, () => document.getElementById("keep-all").click());
  } else if (key === "s") {
    const skip = document.getElementById("skip");
    if (skip) window.location.assign(skip.href); // skipping decides nothing: no question
  } else if (key === "z") {
    showZoom(zoom.hidden);
  } else if (key === "u") {
    const undo = document.getElementById("undo-form");
    if (undo) ask("Undo the last decision?", () => undo.requestSubmit());
  } else if (key === "escape" && zoom && !zoom.hidden) {
    showZoom(false);
  }
});
