// The hospital's configuration for every counter in words, with no DOM: each change a
// publication makes (the core lists them, `parchi_app::published::changes`), and the lines of
// the notice a clerk sees (what changes from today, what is coming, one this counter refused).

import type { ConfigChange, ConfigStatus, PublishedView } from "./api";
import { has, lang, t } from "./i18n";
import type { Key } from "./i18n";

/** The departments' local names by code, so a change reads in Hindi with the Hindi name. */
export type LocalNames = Record<string, string>;

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;

/** A date as the screens show one, with its weekday: "Mon 07-12-2026". */
export function shownDay(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return iso;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const wd = WEEKDAYS[d.getUTCDay()];
  return `${t(`day.${wd}`)} ${m[3]}-${m[2]}-${m[1]}`;
}

/** "General Medicine (MED)", in Hindi with the local name when there is one. */
function who(c: ConfigChange, names: LocalNames): string {
  const local = lang() === "hi" ? names[c.code] : "";
  const name = local || c.name;
  return name ? `${name} (${c.code})` : c.code;
}

/** Weekday abbreviations ("Mon, Wed") in the screen's language. */
function days(text: string): string {
  return text.replace(/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b/g, (d) => t(`day.${d}` as Key));
}

/** Category codes ("bpl, staff") as the screens name them; none, said so. */
function categories(text: string): string {
  const codes = text.split(",").map((c) => c.trim()).filter(Boolean);
  if (!codes.length) return t("cfg.none");
  return codes.map((c) => (has(`cat.${c}`) ? t(`cat.${c}` as Key) : c)).join(", ");
}

/** One change in words, in the screen's language: "General Medicine (MED) fee Rs 10 → Rs 15". */
export function changeWords(c: ConfigChange, names: LocalNames = {}): string {
  let before = c.before;
  let after = c.after;
  if (c.kind === "waived") {
    before = categories(before);
    after = categories(after);
  } else if (c.kind === "days") {
    before = days(before);
    after = days(after);
  }
  return t(`cfg.change.${c.kind}`, { who: who(c, names), code: c.code, before, after });
}

export type NoticeKind = "today" | "upcoming" | "refused";

/** One line of the notice: a heading ("From today:") and the changes in words. */
export interface NoticeLine {
  kind: NoticeKind;
  /** The configuration's ID. */
  config: string;
  /** The day it comes (or came) into force, `YYYY-MM-DD`. */
  day: string;
  head: string;
  /** The changes in words; past `max` of them, the last says how many more there are. */
  items: string[];
}

function line(kind: NoticeKind, p: PublishedView, head: string, names: LocalNames, max: number): NoticeLine {
  const words = p.changes.map((c) => changeWords(c, names));
  const items = words.length > max ? [...words.slice(0, max), t("cfg.more", { n: words.length - max })] : words;
  return { kind, config: p.config, day: p.effective_from, head, items };
}

/** What the notice says: what changed today (if the configuration in force took effect today),
 * each configuration to come, soonest first, and the one this counter did not take. A
 * publication that changes nothing a clerk would see says nothing. At most `max` changes are
 * listed per line. */
export function noticeLines(st: ConfigStatus | null, names: LocalNames = {}, max = 6): NoticeLine[] {
  if (!st) return [];
  const out: NoticeLine[] = [];
  if (st.changed_today && st.in_force && st.in_force.changes.length) {
    out.push(line("today", st.in_force, t("cfg.from_today"), names, max));
  }
  for (const p of st.upcoming) {
    if (p.changes.length) out.push(line("upcoming", p, t("cfg.from_day", { day: shownDay(p.effective_from) }), names, max));
  }
  if (st.refused) {
    const r = st.refused;
    out.push({
      kind: "refused",
      config: r.config,
      day: r.effective_from,
      head: t("cfg.refused", { day: shownDay(r.effective_from), reason: r.reason }),
      items: [],
    });
  }
  return out;
}
