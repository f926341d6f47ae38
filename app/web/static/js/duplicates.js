// Duplicates page: keyboard shortcuts (1-9 keep only that one, A keep all, U undo).
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
  const cards = [...document.querySelectorAll(".candidate-card .keep-this")];
  if (/^[1-9]$/.test(event.key) && cards[Number(event.key) - 1]) {
    event.preventDefault();
    cards[Number(event.key) - 1].click();
  } else if (event.key === "a" || event.key === "A") {
    document.getElementById("keep-all")?.click();
  }
});
