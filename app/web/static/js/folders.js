// Folder browser: counts of photos and videos, fetched after the page is shown.
import { api } from "./common.js";

const MAX_COUNTED = 60;

function describe(data) {
  const n = data.count.toLocaleString();
  const word = data.count === 1 ? "photo or video" : "photos and videos";
  return data.complete ? `${n} ${word}` : `more than ${n} ${word}`;
}

async function count(root, path) {
  return api(`/api/folders/count?${new URLSearchParams({ root, path })}`);
}

async function main() {
  const here = document.getElementById("here-count");
  if (!here) return;
  try {
    const data = await count(here.dataset.root, here.dataset.path);
    here.textContent = `This folder holds ${describe(data)} (counting the folders inside it).`;
  } catch (err) {
    here.textContent = err.message;
  }
  const rows = [...document.querySelectorAll("#folders li")].slice(0, MAX_COUNTED);
  for (const row of rows) {
    try {
      const data = await count(row.dataset.root, row.dataset.path);
      row.querySelector(".count").textContent = describe(data);
    } catch {
      row.querySelector(".count").textContent = "";
    }
  }
}

main();
