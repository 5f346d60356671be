// The form pieces the setup and the admin's publishing table share: a plain text input and a
// labelled field with its hint and the line where the core's verdict on it is shown.

import { h } from "./dom";

export function input(id: string, value: string, attrs: Record<string, string> = {}): HTMLInputElement {
  return h("input", { id, name: id, type: "text", value, spellcheck: "false", autocomplete: "off", ...attrs });
}

export function field(id: string, label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h(
    "div",
    { class: "field", id: `field-${id}` },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint" }, hint) : null,
    h("div", { class: "msg", id: `msg-${id}` }),
  );
}
