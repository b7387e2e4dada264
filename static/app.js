// dengji — small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.toggle");
  if (!button) return;
  const item = button.closest("li");
  const open = button.getAttribute("aria-expanded") === "true";
  const existing = item.querySelector(":scope > ul.tree");
  if (open) {
    if (existing) existing.hidden = true;
    button.setAttribute("aria-expanded", "false");
    button.textContent = "+";
    return;
  }
  if (existing) {
    existing.hidden = false;
  } else {
    const response = await fetch(button.dataset.children, { credentials: "same-origin" });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const list = holder.querySelector("ul.tree");
    if (list) item.appendChild(list);
  }
  button.setAttribute("aria-expanded", "true");
  button.textContent = "−";
});
// 全选: a heading checkbox selects the first-column checkboxes of its table.
document.addEventListener("change", (event) => {
  const all = event.target.closest("#survey-select-all, #select-all");
  if (!all) return;
  const table = all.closest("table");
  for (const box of table.querySelectorAll("tbody tr td:first-child input[type=checkbox]")) {
    box.checked = all.checked;
  }
});
