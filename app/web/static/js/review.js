// Review grid: selection (click, Ctrl/Cmd-click, Shift-click, "all that match"), keyboard
// navigation, endless scrolling by keyset pages, and the bulk actions for the selection.
import { api, el, reloadWith, toast } from "./common.js";

const grid = document.getElementById("grid");
const bar = document.getElementById("bulkbar");
const countLine = document.getElementById("match-count");
const TIME_UNDO = "/api/time/undo";
const TAG_UNDO = "/api/tags/undo";

const selected = new Set();
let allMatching = false; // "select all that match": the server resolves the filter
let matchCount = null;
let anchor = null; // last tile clicked, for Shift-click ranges

const tiles = () => [...grid.querySelectorAll(".tile")];
const idOf = (tile) => Number(tile.dataset.id);

function selection() {
  return allMatching ? { filter: grid.dataset.filter } : { ids: [...selected] };
}

function selectedCount() {
  return allMatching ? matchCount || 0 : selected.size;
}

function paint() {
  for (const tile of tiles()) {
    const on = allMatching || selected.has(idOf(tile));
    tile.classList.toggle("selected", on);
    tile.querySelector(".pick").checked = on;
  }
  const n = selectedCount();
  bar.hidden = n === 0;
  document.getElementById("sel-count").textContent = allMatching
    ? `All ${n.toLocaleString()} matching files selected`
    : `${n.toLocaleString()} selected`;
  const all = document.getElementById("sel-all");
  all.hidden = allMatching || !matchCount || matchCount <= selected.size;
  all.textContent = `Select all ${(matchCount || 0).toLocaleString()} that match`;
}

function toggle(tile, on) {
  const id = idOf(tile);
  if (allMatching) {
    // leaving "all that match": keep what is loaded, minus this one
    allMatching = false;
    for (const t of tiles()) selected.add(idOf(t));
  }
  if (on === undefined) on = !selected.has(id);
  if (on) selected.add(id);
  else selected.delete(id);
}

function selectRange(from, to) {
  const list = tiles();
  const [a, b] = [list.indexOf(from), list.indexOf(to)].sort((x, y) => x - y);
  for (const tile of list.slice(a, b + 1)) toggle(tile, true);
}

function clearSelection() {
  selected.clear();
  allMatching = false;
  paint();
}

if (grid) {
  grid.addEventListener("click", (event) => {
    const tile = event.target.closest(".tile");
    if (!tile) return;
    const onBox = event.target.classList.contains("pick");
    if (event.shiftKey && anchor) {
      event.preventDefault();
      selectRange(anchor, tile);
    } else if (event.ctrlKey || event.metaKey || onBox) {
      if (!onBox) event.preventDefault();
      toggle(tile);
      anchor = tile;
    } else {
      return; // a plain click opens the file
    }
    paint();
  });

  // Keyboard: arrows move between pictures, Space selects, Shift+arrows extend, Enter opens.
  grid.addEventListener("keydown", (event) => {
    const tile = event.target.closest(".tile");
    if (!tile) return;
    const list = tiles();
    const i = list.indexOf(tile);
    const columns = Math.max(1, Math.round(grid.clientWidth / tile.getBoundingClientRect().width));
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns }[event.key];
    if (step) {
      const next = list[Math.min(list.length - 1, Math.max(0, i + step))];
      event.preventDefault();
      if (event.shiftKey) {
        if (!anchor) anchor = tile;
        toggle(tile, true);
        toggle(next, true);
        paint();
      }
      next.querySelector("a.open").focus();
      if (i + step >= list.length - columns) loadMore();
    } else if (event.key === " ") {
      event.preventDefault();
      toggle(tile);
      anchor = tile;
      paint();
    } else if (event.key === "a" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      for (const t of list) toggle(t, true);
      paint();
    } else if (event.key === "Escape") {
      clearSelection();
    }
  });
}

document.getElementById("sel-clear")?.addEventListener("click", clearSelection);
document.getElementById("sel-all")?.addEventListener("click", () => {
  allMatching = true;
  paint();
});

// --- endless scrolling: the "More" link's next keyset page is fetched and appended -------
let loading = false;
async function loadMore() {
  const link = document.getElementById("next-page");
  if (!link || loading) return;
  loading = true;
  try {
    const url = new URL(link.href);
    const response = await fetch(`${grid.dataset.tilesUrl}${url.search}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error("More files could not be loaded.");
    grid.insertAdjacentHTML("beforeend", await response.text());
    const next = response.headers.get("X-Next-Cursor");
    if (next) {
      url.searchParams.set("after", next);
      link.href = url.toString();
    } else {
      link.remove();
    }
    paint();
  } catch (err) {
    toast(err.message, { error: true });
  } finally {
    loading = false;
  }
}
const more = document.getElementById("more");
if (grid && more && "IntersectionObserver" in window) {
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: "800px" }).observe(more);
  document.getElementById("next-page")?.addEventListener("click", (event) => {
    event.preventDefault();
    loadMore();
  });
}

// --- how many files match (counted after the page is shown) ------------------------------
async function countMatches() {
  if (!countLine) return;
  try {
    const data = await api(countLine.dataset.countUrl);
    matchCount = data.count;
    countLine.textContent = `${data.count.toLocaleString()} file${data.count === 1 ? "" : "s"}`;
    paint();
  } catch (err) {
    countLine.textContent = err.message;
  }
}
countMatches();

// --- auto-apply filters that are choices (text fields wait for Enter / Show) -------------
const filters = document.getElementById("filters");
filters?.addEventListener("change", (event) => {
  if (event.target.matches("select, input[type=checkbox], input[type=date]")) filters.requestSubmit();
});

// --- bulk actions --------------------------------------------------------------------
async function act(url, body, undoUrl) {
  try {
    const data = await api(url, { method: "POST", body: { selection: selection(), ...body } });
    if (data.job_url) {
      toast(data.message, { action: "Follow it", onAction: () => (window.location.href = data.job_url) });
      return;
    }
    reloadWith(data.message, data.batch ? { url: undoUrl, batch: data.batch } : null);
  } catch (err) {
    toast(err.message, { error: true });
  }
}

for (const button of bar?.querySelectorAll("[data-action]") || []) {
  button.addEventListener("click", () => {
    const action = button.dataset.action;
    if (action === "confirm") act("/api/time/confirm", {}, TIME_UNDO);
    else act(`/api/jobs/start/${action}`, {});
  });
}
for (const button of bar?.querySelectorAll("[data-panel]") || []) {
  button.addEventListener("click", () => {
    for (const panel of bar.querySelectorAll(".bulkpanel")) {
      panel.hidden = panel.dataset.for !== button.dataset.panel || !panel.hidden;
    }
    if (button.dataset.panel === "tags") showSelectionTags();
    bar.querySelector(`.bulkpanel[data-for="${button.dataset.panel}"] input`)?.focus();
  });
}

document.getElementById("bulk-set")?.addEventListener("submit", (event) => {
  event.preventDefault();
  act("/api/time/set", { text: document.getElementById("bulk-set-text").value }, TIME_UNDO);
});

function shiftMinutes() {
  const value = (id) => Math.max(0, Number(document.getElementById(id).value) || 0);
  const sign = Number(document.getElementById("shift-dir").value);
  return sign * (value("shift-days") * 1440 + value("shift-hours") * 60 + value("shift-minutes"));
}

document.getElementById("bulk-shift")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const data = await api("/api/time/shift/preview", { method: "POST", body: { selection: selection(), minutes: shiftMinutes() } });
    const body = document.querySelector("#shift-preview tbody");
    body.replaceChildren(...data.rows.map((r) => el("tr", {}, el("td", { text: r.name }), el("td", { text: r.before }), el("td", { text: r.after }))));
    document.getElementById("shift-summary").textContent =
      `${data.count.toLocaleString()} file${data.count === 1 ? "" : "s"} would change${data.count > data.rows.length ? ` (first ${data.rows.length} shown)` : ""}:`;
    document.getElementById("shift-preview").hidden = false;
    document.getElementById("shift-apply").hidden = !data.count;
  } catch (err) {
    toast(err.message, { error: true });
  }
});
document.getElementById("shift-apply")?.addEventListener("click", () => act("/api/time/shift", { minutes: shiftMinutes() }, TIME_UNDO));

async function showSelectionTags() {
  const list = document.getElementById("bulk-tags");
  try {
    const data = await api("/api/tags/of-selection", { method: "POST", body: { selection: selection() } });
    list.replaceChildren(...(data.tags.length ? data.tags.map((t) => {
      const remove = el("button", { type: "button", text: "×", "aria-label": `Remove tag ${t.name}` });
      remove.addEventListener("click", () => act("/api/tags/remove", { tags: [t.name] }, TAG_UNDO));
      return el("li", { class: "chip" }, `${t.name} (${t.count.toLocaleString()})`, remove);
    }) : [el("li", { class: "muted", text: "None." })]));
  } catch (err) {
    list.replaceChildren(el("li", { class: "error-text", text: err.message }));
  }
}
document.getElementById("bulk-tag")?.addEventListener("submit", (event) => {
  event.preventDefault();
  act("/api/tags/add", { tags: [document.getElementById("bulk-tag-text").value] }, TAG_UNDO);
});
const tagInput = document.getElementById("bulk-tag-text");
let suggestTimer = null;
tagInput?.addEventListener("input", () => {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    try {
      const data = await api(`/api/tags?q=${encodeURIComponent(tagInput.value)}`);
      document.getElementById("bulk-tag-suggestions").replaceChildren(...data.tags.map((t) => el("option", { value: t })));
    } catch { /* suggestions are a nicety */ }
  }, 150);
});

paint();
