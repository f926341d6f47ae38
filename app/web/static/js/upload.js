// Upload page: drag and drop files or folders (paths kept), per-file and overall progress.
// Each file is one streamed request (raw body); three run at a time.
import { api, el, formatEta } from "./common.js";

const zone = document.getElementById("dropzone");
const panel = document.getElementById("progress-panel");
const list = document.getElementById("filelist");
const overall = document.getElementById("overall");
const PARALLEL = 3;
const KEEP_DONE_ROWS = 200; // finished rows beyond this are removed (problems always stay)
const JUNK = new Set(["thumbs.db", "desktop.ini"]);
const MAX_BYTES = Number(zone.dataset.maxBytes) || Infinity; // the server's per-file limit

function sizeText(n) {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} bytes`;
}
const TOO_LARGE = `larger than the upload limit of ${sizeText(MAX_BYTES)}: import it from a folder on the server instead`;

// The job keeps a note of files refused here, so its page says so after this page is closed.
async function reportRefused(item) {
  try {
    await api(`/api/uploads/${state.jobId}/refused`, { method: "POST", body: { name: item.file.name, path: item.path } });
  } catch {
    /* the page still shows it */
  }
}

const state = {
  jobId: null, queue: [], active: 0, total: 0, done: 0, known: 0, refused: 0, failed: 0,
  bytesTotal: 0, bytesDone: 0, started: 0, finishing: false,
};
const counters = {
  done: document.getElementById("n-done"), total: document.getElementById("n-total"),
  known: document.getElementById("n-known"), refused: document.getElementById("n-refused"),
  failed: document.getElementById("n-failed"),
};

function skip(name) {
  const lower = name.toLowerCase();
  return lower.startsWith(".") || JUNK.has(lower);
}

function showCounts() {
  for (const key of ["done", "total", "known", "refused", "failed"]) counters[key].textContent = state[key].toLocaleString();
  overall.max = Math.max(1, state.bytesTotal);
  overall.value = state.bytesDone;
  const seconds = (performance.now() - state.started) / 1000;
  if (seconds > 2 && state.bytesDone > 0 && state.active) {
    const rate = state.bytesDone / seconds;
    document.getElementById("speed").textContent =
      `${(rate / 1048576).toFixed(1)} MB/s, ${formatEta((state.bytesTotal - state.bytesDone) / rate)} left`;
  } else if (!state.active) {
    document.getElementById("speed").textContent = "";
  }
}

// Files from a drop: folders are walked, each file keeps its path inside the dropped folder.
async function filesFromDrop(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  async function walk(entry) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\/+/, "") });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  }
  for (const entry of entries) await walk(entry);
  return out;
}

function addRow(item) {
  const name = el("span", { class: "fname", text: item.path, title: item.path });
  const status = el("span", { class: "fstate", text: "waiting" });
  const bar = el("progress", { max: Math.max(1, item.file.size), value: 0 });
  const row = el("li", {}, name, status, bar);
  list.append(row);
  item.row = row;
  item.status = status;
  item.bar = bar;
}

function finishRow(item, text, kind) {
  item.status.textContent = text;
  item.status.classList.add(kind);
  item.bar.remove();
  if (kind === "good") {
    item.row.dataset.good = "1";
    const good = list.querySelectorAll("li[data-good]");
    if (good.length > KEEP_DONE_ROWS) good[0].remove();
  } else {
    item.row.title = text;
    list.prepend(item.row); // problems to the top, where they are seen
  }
}

function send(item) {
  return new Promise((resolve) => {
    const params = new URLSearchParams({ name: item.file.name, path: item.path, modified: String(item.file.lastModified || "") });
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/uploads/${state.jobId}/files?${params}`);
    xhr.setRequestHeader("X-CSRFToken", document.querySelector('meta[name="csrf-token"]').content);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    let last = 0;
    xhr.upload.onprogress = (event) => {
      item.bar.value = event.loaded;
      state.bytesDone += event.loaded - last;
      last = event.loaded;
      showCounts();
    };
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { data = {}; }
      state.bytesDone += item.file.size - last;
      resolve({ status: xhr.status, data });
    };
    xhr.onerror = () => {
      state.bytesDone -= last;
      resolve({ status: 0, data: { error: "The connection to MediaParser was lost." } });
    };
    item.status.textContent = "sending";
    xhr.send(item.file);
  });
}

async function worker() {
  while (state.queue.length) {
    const item = state.queue.shift();
    if (item.file.size > MAX_BYTES) {
      state.done += 1;
      state.refused += 1;
      state.bytesDone += item.file.size;
      finishRow(item, TOO_LARGE, "bad");
      await reportRefused(item);
      showCounts();
      continue;
    }
    state.active += 1;
    let result = await send(item);
    if (result.status === 0 || result.status >= 500) {
      item.status.textContent = "retrying";
      result = await send(item); // one retry for a dropped connection or a busy server
    }
    state.active -= 1;
    state.done += 1;
    if (result.status === 201) {
      if (result.data.already_in_library) {
        state.known += 1;
        finishRow(item, "already in library", "good");
      } else {
        finishRow(item, "uploaded", "good");
      }
    } else if (result.status === 422) {
      state.refused += 1;
      finishRow(item, result.data.error || "refused", "bad");
    } else if (result.status === 413) {
      // the web server refused it before MediaParser saw it (a plain 413, no message)
      state.refused += 1;
      finishRow(item, result.data.error || TOO_LARGE, "bad");
      await reportRefused(item);
    } else {
      state.failed += 1;
      finishRow(item, result.data.error || `failed (${result.status})`, "bad");
    }
    showCounts();
  }
}

async function start(items) {
  items = items.filter((item) => !skip(item.file.name));
  if (!items.length) return;
  panel.hidden = false;
  if (!state.jobId) {
    try {
      const batch = await api(zone.dataset.createUrl, { method: "POST", body: {} });
      state.jobId = batch.job_id;
      document.getElementById("job-link").href = `/jobs/${state.jobId}`;
      state.started = performance.now();
    } catch (err) {
      document.getElementById("progress-title").textContent = err.message;
      return;
    }
  }
  document.getElementById("progress-title").textContent = "Uploading…";
  for (const item of items) {
    addRow(item);
    state.queue.push(item);
    state.total += 1;
    state.bytesTotal += item.file.size;
  }
  showCounts();
  const runners = [];
  while (state.active + runners.length < PARALLEL && runners.length < state.queue.length) runners.push(worker());
  await Promise.all(runners);
  if (!state.active && !state.queue.length) await finished();
}

async function finished() {
  if (state.finishing) return;
  state.finishing = true;
  const title = document.getElementById("progress-title");
  const sent = state.done - state.refused - state.failed;
  title.textContent = `Upload finished: ${sent.toLocaleString()} of ${state.total.toLocaleString()} files sent.`;
  try {
    await api(`/api/uploads/${state.jobId}/finish`, { method: "POST", body: {} });
  } catch (err) {
    title.textContent += ` ${err.message}`;
  }
  state.finishing = false;
  if (sent > 0) followJob();
}

let following = false;
async function followJob() {
  if (following) return;
  following = true;
  const after = document.getElementById("after");
  after.hidden = false;
  const line = document.getElementById("job-line");
  const bar = document.getElementById("job-progress");
  for (;;) {
    try {
      const job = await api(`/api/jobs/${state.jobId}`);
      bar.max = Math.max(1, job.total);
      bar.value = job.done;
      const eta = job.eta_seconds !== null ? `, ${formatEta(job.eta_seconds)} left` : "";
      line.textContent = `${job.done.toLocaleString()} of ${job.total.toLocaleString()} files read${eta}. ${job.status_text}`;
      if (["completed", "failed", "cancelled"].includes(job.status)) {
        const review = document.getElementById("review-link");
        review.href = `/?job=${state.jobId}`;
        review.hidden = job.status !== "completed";
        break;
      }
    } catch (err) {
      line.textContent = err.message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  following = false;
}

zone.addEventListener("dragover", (event) => {
  event.preventDefault();
  zone.classList.add("over");
});
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", async (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  start(await filesFromDrop(event.dataTransfer));
});
document.getElementById("pick-files").addEventListener("change", (event) => {
  start([...event.target.files].map((file) => ({ file, path: file.name })));
  event.target.value = "";
});
document.getElementById("pick-folder").addEventListener("change", (event) => {
  start([...event.target.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
  event.target.value = "";
});
window.addEventListener("beforeunload", (event) => {
  if (state.active || state.queue.length) event.preventDefault();
});
