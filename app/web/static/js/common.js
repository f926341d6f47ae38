// Shared helpers for every page: API calls with the CSRF token, messages, confirmations.

const csrfMeta = document.querySelector('meta[name="csrf-token"]');
// The one undo: any action's batch, whatever its kind (dates, duplicates, tags, leave out, turn).
export const UNDO_URL = "/api/undo";
export const csrfToken = csrfMeta ? csrfMeta.content : "";

// Call a JSON endpoint; throws an Error whose message is the server's message for people.
export async function api(url, { method = "GET", body, signal } = {}) {
  const options = { method, headers: { Accept: "application/json" }, signal, credentials: "same-origin" };
  if (method !== "GET") options.headers["X-CSRFToken"] = csrfToken;
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new Error("MediaParser cannot be reached. Is the server still running?");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && data.error) || `The server answered ${response.status}.`;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return data;
}

let toastTimer = null;

// A short message at the bottom of the screen, optionally with one action (e.g. Undo).
export function toast(message, { action, onAction, error = false, timeout = 8000 } = {}) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.replaceChildren();
  box.classList.toggle("toast-error", error);
  const text = document.createElement("span");
  text.textContent = message;
  box.append(text);
  if (action && onAction) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action;
    button.addEventListener("click", () => {
      box.hidden = true;
      onAction();
    });
    box.append(button);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "link";
  close.textContent = "Close";
  close.setAttribute("aria-label", "Close message");
  close.addEventListener("click", () => (box.hidden = true));
  box.append(close);
  box.hidden = false;
  clearTimeout(toastTimer);
  if (timeout) toastTimer = setTimeout(() => (box.hidden = true), timeout);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function formatNumber(n) {
  return (n || 0).toLocaleString();
}

export function formatEta(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return "less than a minute";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// Forms that need a second thought: <form data-confirm="Really?">.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// After an action that changes the page: reload, then show its message (with Undo).
export function reloadWith(message, undo) {
  sessionStorage.setItem("mp-toast", JSON.stringify({ message, undo }));
  window.location.reload();
}

export function undoAction(undo) {
  return async () => {
    try {
      const data = await api(undo.url, { method: "POST", body: { batch: undo.batch } });
      reloadWith(data.message || "Undone.");
    } catch (err) {
      toast(err.message, { error: true });
    }
  };
}

export function showResult(message, undo) {
  if (undo && undo.batch) toast(message, { action: "Undo", onAction: undoAction(undo), timeout: 15000 });
  else toast(message);
}

const pending = sessionStorage.getItem("mp-toast");
if (pending) {
  sessionStorage.removeItem("mp-toast");
  try {
    const { message, undo } = JSON.parse(pending);
    showResult(message, undo);
  } catch {
    /* ignore a damaged message */
  }
}

// 119.33 -> "1 h 59 min"; 2880 -> "2 days"; 45 -> "45 min".
export function formatMinutes(total) {
  let m = Math.round(Math.abs(total));
  const days = Math.floor(m / 1440);
  m -= days * 1440;
  const hours = Math.floor(m / 60);
  const minutes = m - hours * 60;
  const parts = [];
  if (days) parts.push(`${days} day${days === 1 ? "" : "s"}`);
  if (hours) parts.push(`${hours} h`);
  if (minutes || !parts.length) parts.push(`${minutes} min`);
  return parts.join(" ");
}

// Offer the library's tags that match what is typed in `input`, in the <datalist> `listId`.
export function suggestTags(input, listId) {
  let timer = null;
  input?.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const data = await api(`/api/tags?q=${encodeURIComponent(input.value)}`);
        document.getElementById(listId).replaceChildren(...data.tags.map((t) => el("option", { value: t })));
      } catch { /* suggestions are a nicety */ }
    }, 150);
  });
}
