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
