// The notice over the register and today screens: what the hospital's configuration changes from
// today ("From today: General Medicine (MED) fee Rs 10 → Rs 15"), what is published to come, and
// a configuration this counter did not take. The frame (app.ts) polls `config_status` and
// redraws it; the words are `config-words.ts`'s.

import type { ConfigStatus, Department } from "../api";
import { noticeLines } from "../config-words";
import type { LocalNames, NoticeLine } from "../config-words";
import { h } from "../dom";
import { t } from "../i18n";

/** The departments' local names by code, for the changes' words in Hindi. */
export function localNames(departments: Department[]): LocalNames {
  return Object.fromEntries(departments.map((d) => [d.code, d.name_local]));
}

export interface NoticeOptions {
  names: LocalNames;
  /** The logged-in user: a line one user hid shows again for the next. */
  user: string;
  admin: boolean;
  /** False over the screens that show no notice. */
  shown: boolean;
  /** Called when the user hides a line, to draw the notice again. */
  repaint: () => void;
}

// Lines a user has read and hidden, until the app restarts: the register screen then has its
// room back. A refused configuration cannot be hidden; it stays until one is taken.
const hidden = new Set<string>();

function lineKey(l: NoticeLine, user: string): string {
  return `${user}\u0000${l.kind}\u0000${l.config}`;
}

function lineEl(l: NoticeLine, o: NoticeOptions): HTMLElement {
  const refused = l.kind === "refused";
  return h(
    "div",
    {
      class: `notice ${refused ? "error" : "info"} config-line`,
      id: l.kind === "upcoming" ? `config-upcoming-${l.day}` : `config-${l.kind}`,
      role: refused ? "alert" : "status",
      "data-kind": l.kind,
      "data-day": l.day,
      "data-config": l.config,
    },
    h("span", { class: "config-head" }, l.head),
    l.items.flatMap((item, i) => [i ? " · " : " ", h("span", { class: "config-change" }, item)]),
    refused && o.admin ? ` ${t("cfg.refused_admin")}` : null,
    refused
      ? null
      : h(
          "button",
          {
            type: "button",
            class: "link config-hide",
            title: t("cfg.hide"),
            "aria-label": t("cfg.hide"),
            onclick: () => {
              hidden.add(lineKey(l, o.user));
              o.repaint();
            },
          },
          "✕",
        ),
  );
}

/** The notice, hidden when there is nothing (left) to say or `shown` is false. */
export function configNotice(st: ConfigStatus | null, o: NoticeOptions): HTMLElement {
  const lines = o.shown ? noticeLines(st, o.names).filter((l) => !hidden.has(lineKey(l, o.user))) : [];
  return h("div", { id: "config-notice", class: "config-notice", hidden: !lines.length }, lines.map((l) => lineEl(l, o)));
}
