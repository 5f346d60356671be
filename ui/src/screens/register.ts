// The registration screen: find a returning patient as you type (left, `search-panel.ts`), or
// register a new one (right, `patient-form.ts`) with the keyboard alone. The patient's cards (an
// ABHA card's QR code, the hospital card's UHID) are read by `card-scan.ts`.

import { registerScreen } from "../app";
import { h, mount } from "../dom";
import { t } from "../i18n";
import type { Key } from "../i18n";
import { NewPatientForm } from "./patient-form";
import { SearchPanel } from "./search-panel";

function legend(): HTMLElement {
  const key = (k: string, what: Key) => [h("dt", {}, h("kbd", {}, k)), h("dd", {}, t(what))];
  return h(
    "section",
    { class: "card keys", id: "keys", "aria-label": t("keys.title") },
    h("h2", {}, t("keys.title")),
    h(
      "dl",
      {},
      key("F2", "keys.new"),
      key("F3", "keys.find"),
      key("Enter", "keys.next"),
      key("M F O", "keys.sex"),
      key("1–9", "keys.department"),
      key("Ctrl+Enter", "keys.register"),
      key("F6", "keys.scan"),
      key("F8", "keys.quick"),
      key("F4", "keys.today"),
    ),
  );
}

class RegisterScreen {
  private root: HTMLElement | null = null;
  private readonly params: Record<string, unknown>;
  private form: NewPatientForm;
  private search: SearchPanel;

  constructor(params: Record<string, unknown>) {
    this.params = params;
    this.search = new SearchPanel({
      takeQr: (raw) => this.form.takeQr(raw),
      registerWithUhid: (code) => {
        this.form.setUhid(code);
        this.form.focus("name");
      },
    });
    this.form = new NewPatientForm({
      find: (query) => this.search.find(query),
      redraw: () => this.redraw(),
    });
  }

  render(root: HTMLElement): void {
    this.root = root;
    mount(root, h("div", { class: "register" }, h("div", { class: "left-col" }, this.search.el(), legend()), this.form.el()));
    this.search.wire();
    this.form.wire();
    if (this.params.focus === "search") this.search.focus();
    else this.form.focus("name");
  }

  private redraw(): void {
    if (this.root) this.render(this.root);
  }

  onKey(e: KeyboardEvent): boolean {
    if (document.querySelector(".modal")) return false;
    switch (e.key) {
      case "F8":
        e.preventDefault();
        this.form.toggleQuick();
        return true;
      case "F2":
        e.preventDefault();
        this.form.focus("name");
        return true;
      case "F3":
        e.preventDefault();
        this.search.focus();
        return true;
      case "F6":
        e.preventDefault();
        this.form.focus("qr");
        return true;
      default:
        return false;
    }
  }

  dispose(): void {
    this.form.dispose();
    this.search.dispose();
  }
}

registerScreen("register", (params) => new RegisterScreen(params));
