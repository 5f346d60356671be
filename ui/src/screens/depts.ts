// The department picker: only today's departments, with rooms; digits 1–9, arrows and Enter.

import type { Department } from "../api";
import { h } from "../dom";
import { digitPick, listMove } from "../keys";
import { lang, t } from "../i18n";

// The session's last department, so the next patient (new or returning) starts where the clerk
// works.
let last = "";

export function lastDepartment(): string {
  return last;
}

export function rememberDepartment(code: string): void {
  last = code;
}

export interface Picker {
  el: HTMLElement;
  value(): string;
  set(code: string): void;
  focus(): void;
}

export function deptPicker(
  id: string,
  depts: Department[],
  selected: string,
  onPick: (code: string) => void,
  onEnter: () => void,
  showCodes = true,
): Picker {
  let value = depts.some((d) => d.code === selected) ? selected : (depts[0]?.code ?? "");
  const items: HTMLElement[] = depts.map((d, i) =>
    h(
      "div",
      {
        class: "dept",
        role: "radio",
        id: `${id}-${d.code}`,
        "data-code": d.code,
        "aria-checked": "false",
        title: `${d.code} · ${d.name} · ${d.room}`,
        onclick: () => {
          choose(d.code);
          group.focus();
        },
      },
      h("span", { class: "dept-key" }, i < 9 ? String(i + 1) : ""),
      h(
        "span",
        { class: "dept-text" },
        h("span", { class: "dept-name" }, lang() === "hi" ? d.name_local : d.name),
        h("span", { class: "dept-room" }, d.room),
      ),
      showCodes ? h("span", { class: "dept-code" }, d.code) : null,
    ),
  );
  const group = h(
    "div",
    {
      class: "depts",
      id,
      role: "radiogroup",
      tabindex: 0,
      "aria-label": t("reg.department"),
    },
    items.length ? items : h("p", { class: "muted" }, t("reg.no_departments")),
  );
  function paint(): void {
    for (const it of items) {
      const on = it.dataset.code === value;
      it.classList.toggle("selected", on);
      it.setAttribute("aria-checked", on ? "true" : "false");
    }
    group.setAttribute("aria-activedescendant", value ? `${id}-${value}` : "");
    group.dataset.value = value;
  }
  function choose(code: string): void {
    value = code;
    paint();
    onPick(code);
  }
  group.addEventListener("keydown", (e) => {
    const idx = depts.findIndex((d) => d.code === value);
    const pick = digitPick(e.key, depts.length);
    if (pick !== null) {
      e.preventDefault();
      choose(depts[pick].code);
      return;
    }
    const key = e.key === "ArrowRight" ? "ArrowDown" : e.key === "ArrowLeft" ? "ArrowUp" : e.key;
    const moved = listMove(key, idx, depts.length);
    if (moved !== null && key !== "Home" && key !== "End") {
      e.preventDefault();
      choose(depts[moved].code);
      return;
    }
    if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      if (value) onEnter();
    }
  });
  paint();
  return {
    el: group,
    value: () => value,
    set: (code: string) => choose(code),
    focus: () => group.focus(),
  };
}
