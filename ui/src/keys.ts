// Keyboard helpers: the clerk never needs the mouse.

/** The new selected index in a list after a navigation key, or null if the key is not one. */
export function listMove(key: string, index: number, length: number): number | null {
  if (length <= 0) return null;
  const last = length - 1;
  switch (key) {
    case "ArrowDown":
      return index < 0 ? 0 : Math.min(index + 1, last);
    case "ArrowUp":
      return index <= 0 ? 0 : index - 1;
    case "Home":
      return 0;
    case "End":
      return last;
    case "PageDown":
      return Math.min(Math.max(index, 0) + 5, last);
    case "PageUp":
      return Math.max(index - 5, 0);
    default:
      return null;
  }
}

/** "1".."9" picks the nth item of a short list. */
export function digitPick(key: string, length: number): number | null {
  if (!/^[1-9]$/.test(key)) return null;
  const i = Number(key) - 1;
  return i < length ? i : null;
}

/** M, F or O (and their Hindi initials) pick the sex. */
export function sexFromKey(key: string): "M" | "F" | "O" | null {
  switch (key.toLowerCase()) {
    case "m":
    case "प":
      return "M";
    case "f":
    case "म":
      return "F";
    case "o":
    case "t":
    case "अ":
      return "O";
    default:
      return null;
  }
}

/** The fields Enter and Tab move through, in order: visible, enabled, not skipped. */
export function focusables(root: ParentNode): HTMLElement[] {
  const all = root.querySelectorAll<HTMLElement>(
    "input:not([type=hidden]), select, textarea, button, [tabindex='0']",
  );
  return [...all].filter(
    (el) =>
      !(el as HTMLInputElement).disabled &&
      el.getAttribute("tabindex") !== "-1" &&
      !el.closest("[hidden]") &&
      el.dataset.enterSkip === undefined,
  );
}

/** The element Enter moves to after `current`, or null at the end. */
export function nextField(current: HTMLElement, root: ParentNode): HTMLElement | null {
  const list = focusables(root);
  const i = list.indexOf(current);
  if (i < 0) return list[0] ?? null;
  return list[i + 1] ?? null;
}

/** A short, human key label, e.g. for Ctrl+Enter. */
export function isSubmitChord(e: { key: string; ctrlKey: boolean; metaKey: boolean }): boolean {
  return e.key === "Enter" && (e.ctrlKey || e.metaKey);
}
