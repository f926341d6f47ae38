// Review grid: selection (click, Ctrl/Cmd-click, Shift-click, a whole day or month, "all that
// match"), keyboard navigation, endless scrolling by keyset pages, month headings, and the bulk
// actions for the selection. Every action can be undone (one undo: /api/undo).
import { UNDO_URL, api, el, reloadWith, suggestTags, toast } from "./common.js";

const grid = document.getElementById("grid");
const bar = document.getElementById("bulkbar");
const countLine = document.getElementById("match-count");

const selected = new Set();
// A selection the server resolves: the grid's filter ("all that match"), or the filter narrowed
// to one day or month. { filter: "query string", count: n, label: "..." } or null.
let byFilter = null;
let matchCount = null;
let anchor = null; // last tile clicked, for Shift-click ranges

const tiles = () => (grid ? [...grid.querySelectorAll(".tile")] : []);
const idOf = (tile) => Number(tile.dataset.id);

function selection() {
  return byFilter ? { filter: byFilter.filter } : { ids: [...selected] };
}

function selectedCount() {
  return byFilter ? byFilter.count : selected.size;
}

function inFilter(tile) {
  if (!byFilter) return false;
  if (!byFilter.day && !byFilter.month) return true;
  const day = tile.dataset.day || "";
  return byFilter.day ? day === byFilter.day : day.startsWith(byFilter.month);
}

function paint() {
  if (!bar) return;
  for (const tile of tiles()) {
    const on = byFilter ? inFilter(tile) : selected.has(idOf(tile));
    tile.classList.toggle("selected", on);
    tile.querySelector(".pick").checked = on;
  }
  const n = selectedCount();
  bar.hidden = n === 0;
  document.body.classList.toggle("selecting", n > 0);
  document.getElementById("sel-count").textContent = byFilter
    ? `${byFilter.label}: ${n.toLocaleString()} file${n === 1 ? "" : "s"} selected`
    : `${n.toLocaleString()} selected`;
  const all = document.getElementById("sel-all");
  all.hidden = Boolean(byFilter && !byFilter.day && !byFilter.month) || !matchCount || matchCount <= selected.size;
  all.textContent = `Select all ${(matchCount || 0).toLocaleString()}${matchMore ? "+" : ""} that match`;
  const day = anchor?.dataset.day;
  document.getElementById("sel-day").hidden = !day || Boolean(byFilter);
  document.getElementById("sel-month").hidden = !day || Boolean(byFilter);
}

function toggle(tile, on) {
  const id = idOf(tile);
  if (byFilter) {
    // leaving a filter selection: keep what is loaded and selected, then change this one
    for (const t of tiles()) if (inFilter(t)) selected.add(idOf(t));
    byFilter = null;
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
  byFilter = null;
  paint();
}

// The grid's filter narrowed to one day ("2019-06-15") or month ("2019-06").
async function selectPeriod(period) {
  const params = new URLSearchParams(grid.dataset.filter);
  let from = period;
  let to = period;
  if (period.length === 7) {
    const [y, m] = period.split("-").map(Number);
    from = `${period}-01`;
    to = `${period}-${String(new Date(y, m, 0).getDate()).padStart(2, "0")}`;
  }
  params.set("from", from);
  params.set("to", to);
  const filter = params.toString();
  try {
    const data = await api(`${grid.dataset.countUrl}?${filter}`);
    const label = period.length === 7 ? `The whole month ${period}` : `The whole day ${period}`;
    selected.clear();
    byFilter = { filter, count: data.count, label, day: period.length === 10 ? period : null, month: period.length === 7 ? period : null };
    paint();
  } catch (err) {
    toast(err.message, { error: true });
  }
}

if (grid) {
  grid.addEventListener("click", (event) => {
    const month = event.target.closest(".select-month");
    if (month) {
      selectPeriod(month.dataset.month);
      return;
    }
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
  selected.clear();
  byFilter = { filter: grid.dataset.filter, count: matchCount || 0, label: "All that match" };
  paint();
});
document.getElementById("sel-day")?.addEventListener("click", () => anchor && selectPeriod(anchor.dataset.day));
document.getElementById("sel-month")?.addEventListener("click", () => anchor && selectPeriod(anchor.dataset.day.slice(0, 7)));

// --- endless scrolling: the "More" link's next keyset page is fetched and appended -------
let loading = false;
async function loadMore() {
  const link = document.getElementById("next-page");
  if (!grid || !link || loading) return;
  loading = true;
  try {
    const url = new URL(link.href);
    const response = await fetch(`${grid.dataset.tilesUrl}${url.search}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error("More files could not be loaded.");
    const heads = grid.querySelectorAll(".month-head");
    const last = heads.length ? heads[heads.length - 1].dataset.month : null;
    const start = grid.children.length;
    grid.insertAdjacentHTML("beforeend", await response.text());
    // the page boundary repeats the month heading that is already shown
    const first = grid.children[start];
    if (first?.classList.contains("month-head") && first.dataset.month === last) first.remove();
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
let matchMore = false;
async function countMatches() {
  if (!countLine) return;
  try {
    const data = await api(countLine.dataset.countUrl);
    matchCount = data.count;
    matchMore = Boolean(data.more);
    countLine.textContent = data.more
      ? `More than ${data.count.toLocaleString()} files`
      : `${data.count.toLocaleString()} file${data.count === 1 ? "" : "s"}`;
    paint();
  } catch (err) {
    countLine.textContent = err.message;
  }
}
countMatches();

// --- the timeline bar: one column per month (its height: how many files), red where a day
// looks wrong; a click starts the grid at that month, keeping the filters -------------------
async function drawTimeline() {
  const nav = document.getElementById("timeline");
  if (!nav) return;
  try {
    const data = await api(nav.dataset.url);
    if (data.months.length < 2) return;
    const base = new URLSearchParams(grid ? grid.dataset.filter : "");
    const bars = el("div", { class: "bars" });
    for (const m of data.months) {
      base.set("month", m.month);
      const cls = ["m", m.spike ? "spike" : "", m.month === nav.dataset.month ? "here" : "", m.year_label ? "year-start" : ""];
      const link = el("a", { class: cls.filter(Boolean).join(" "), href: `?${base}`, title: m.title, "aria-label": m.title },
        el("span", { class: `bar h${m.height}` }));
      if (m.year_label) link.dataset.year = m.year_label;
      bars.append(link);
    }
    nav.replaceChildren(bars);
    if (data.spikes.length) {
      nav.append(el("ul", { class: "spikes" }, ...data.spikes.slice(0, 4).map((s) =>
        el("li", {}, el("a", { href: `?from=${s.day}&to=${s.day}`, text: s.label }), `: ${s.why}`))));
    }
    nav.hidden = false;
  } catch {
    /* the grid works without it */
  }
}
drawTimeline();

// --- auto-apply filters that are choices (text fields wait for Enter / Show) -------------
const filters = document.getElementById("filters");
filters?.addEventListener("change", (event) => {
  if (event.target.matches("select, input[type=checkbox], input[type=date]")) filters.requestSubmit();
});

// --- bulk actions --------------------------------------------------------------------
async function act(url, body = {}) {
  try {
    const data = await api(url, { method: "POST", body: { selection: selection(), ...body } });
    if (data.job_url) {
      toast(data.message, { action: "Follow it", onAction: () => (window.location.href = data.job_url) });
      return;
    }
    reloadWith(data.message, data.batch ? { url: UNDO_URL, batch: data.batch } : null);
  } catch (err) {
    toast(err.message, { error: true });
  }
}

const ACTIONS = {
  confirm: () => act("/api/time/confirm"),
  "leave-out": () => act("/api/files/leave-out"),
  include: () => act("/api/files/include"),
  rotate: () => act("/api/files/rotate", { degrees: 90 }),
};
for (const button of bar?.querySelectorAll("[data-action]") || []) {
  button.addEventListener("click", () => {
    const action = button.dataset.action;
    if (ACTIONS[action]) ACTIONS[action]();
    else act(`/api/jobs/start/${action}`);
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
  act("/api/time/set", { text: document.getElementById("bulk-set-text").value });
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
document.getElementById("shift-apply")?.addEventListener("click", () => act("/api/time/shift", { minutes: shiftMinutes() }));

async function showSelectionTags() {
  const list = document.getElementById("bulk-tags");
  try {
    const data = await api("/api/tags/of-selection", { method: "POST", body: { selection: selection() } });
    list.replaceChildren(...(data.tags.length ? data.tags.map((t) => {
      const remove = el("button", { type: "button", text: "×", "aria-label": `Remove tag ${t.name}` });
      remove.addEventListener("click", () => act("/api/tags/remove", { tags: [t.name] }));
      return el("li", { class: "chip" }, `${t.name} (${t.count.toLocaleString()})`, remove);
    }) : [el("li", { class: "muted", text: "None." })]));
  } catch (err) {
    list.replaceChildren(el("li", { class: "error-text", text: err.message }));
  }
}
document.getElementById("bulk-tag")?.addEventListener("submit", (event) => {
  event.preventDefault();
  act("/api/tags/add", { tags: [document.getElementById("bulk-tag-text").value] });
});
const tagInput = document.getElementById("bulk-tag-text");
suggestTags(tagInput, "bulk-tag-suggestions");

// "Confirm all sure dates": the same form, answered with a message that offers Undo.
document.getElementById("confirm-high")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!window.confirm(event.target.dataset.ask)) return;
  try {
    const data = await api("/api/time/confirm-high", { method: "POST", body: {} });
    reloadWith(data.message, data.count ? { url: UNDO_URL, batch: data.batch } : null);
  } catch (err) {
    toast(err.message, { error: true });
  }
});

paint();
