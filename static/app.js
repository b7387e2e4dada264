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
// 行政区划: a code field gets three lists (省 → 市 → 区县) from /divisions; choosing fills the
// code. The code can still be typed; without this file the field is a plain input.
async function divisionsUnder(parent) {
  const response = await fetch("/divisions?parent=" + encodeURIComponent(parent || ""), { credentials: "same-origin" });
  return response.ok ? response.json() : [];
}
function fillSelect(select, items, chosen, placeholder) {
  select.replaceChildren(new Option(placeholder, ""));
  for (const [code, name] of items) select.add(new Option(name, code, false, code === chosen));
  select.hidden = items.length === 0;
}
async function regionPicker(input) {
  const box = document.createElement("span");
  box.className = "region-picker";
  const steps = ["请选择省份", "请选择地市", "请选择区县"].map((placeholder) => {
    const s = document.createElement("select");
    s.dataset.placeholder = placeholder;
    s.setAttribute("aria-label", placeholder);
    s.hidden = true;
    box.appendChild(s);
    return s;
  });
  input.before(box);
  const code = input.value.trim();
  const chosen = /^\d{6}$/.test(code) ? [code.slice(0, 2) + "0000", code.slice(0, 4) + "00", code] : ["", "", ""];
  let parent = "";
  for (let i = 0; i < steps.length; i++) {
    if (i > 0 && !chosen[i - 1]) break;
    fillSelect(steps[i], await divisionsUnder(parent), chosen[i], steps[i].dataset.placeholder);
    parent = chosen[i];
  }
  steps.forEach((select, i) => {
    select.disabled = input.disabled;
    select.addEventListener("change", async () => {
      for (const later of steps.slice(i + 1)) { later.replaceChildren(); later.hidden = true; }
      if (select.value) {
        input.value = select.value;
        if (i + 1 < steps.length) fillSelect(steps[i + 1], await divisionsUnder(select.value), "", steps[i + 1].dataset.placeholder);
      }
      const name = document.getElementById("region-name-" + input.id.replace(/^f-/, ""));
      if (name) name.textContent = steps.filter((s) => !s.hidden && s.value).map((s) => s.selectedOptions[0].text).join("");
    });
  });
}
for (const input of document.querySelectorAll("input[data-region]")) regionPicker(input);
