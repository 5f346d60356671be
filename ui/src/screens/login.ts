// Clerk login (PIN or password, offline), or creating the first admin on a fresh counter.

import { api, ApiError } from "../api";
import { context, go, loadDepartments, notify, refreshFrame, registerScreen, setSession, showError } from "../app";
import { h, mount } from "../dom";
import { errorMessage, t } from "../i18n";

function field(id: string, label: string, type: string, autocomplete: string): HTMLElement {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, name: id, type, autocomplete, spellcheck: "false", autocapitalize: "off" }),
    h("div", { class: "msg", id: `msg-${id}` }),
  );
}

registerScreen("login", () => ({
  render(root: HTMLElement) {
    const c = context();
    const first = c.info.needs_first_admin;
    const form = h(
      "form",
      { class: "card login", id: "login-form", novalidate: true },
      h("h1", {}, first ? t("login.first_title") : t("login.title")),
      first ? h("p", { class: "muted" }, t("login.first_help")) : null,
      c.created && first ? h("p", { class: "muted" }, t("app.created", { counter: c.info.counter })) : null,
      field("login-user", t("login.user"), "text", "username"),
      field("login-secret", t("login.secret"), "password", first ? "new-password" : "current-password"),
      first ? h("p", { class: "hint" }, t("login.secret_rule")) : null,
      h("div", { class: "msg form-msg", id: "login-error", role: "alert" }),
      h("button", { type: "submit", class: "primary big", id: "login-submit" }, first ? t("login.first_submit") : t("login.submit")),
    );
    const user = form.querySelector<HTMLInputElement>("#login-user");
    const secret = form.querySelector<HTMLInputElement>("#login-secret");
    const error = form.querySelector<HTMLElement>("#login-error");
    user?.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        secret?.focus();
      }
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void (async () => {
        if (!user || !secret || !error) return;
        error.textContent = "";
        if (!user.value.trim()) {
          user.focus();
          error.textContent = t("err.required");
          return;
        }
        try {
          const s = first
            ? await api.firstAdmin(user.value, secret.value)
            : await api.login(user.value, secret.value);
          if (first) c.info.needs_first_admin = false;
          setSession(s);
          await loadDepartments();
          refreshFrame();
          go("register", { focus: "name" });
        } catch (err) {
          secret.value = "";
          secret.focus();
          if (err instanceof ApiError) error.textContent = errorMessage(err.code, err.message);
          else showError(err);
        }
      })();
    });
    mount(root, h("section", { class: "login-wrap" }, form));
    notify("");
    user?.focus();
  },
}));
