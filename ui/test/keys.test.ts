import { describe, expect, it } from "vitest";
import { digitPick, focusables, isSubmitChord, listMove, nextField, sexFromKey } from "../src/keys";

describe("keyboard helpers", () => {
  it("moves a list selection with arrows, Home/End and pages, without wrapping", () => {
    expect(listMove("ArrowDown", -1, 3)).toBe(0);
    expect(listMove("ArrowDown", 2, 3)).toBe(2);
    expect(listMove("ArrowUp", 0, 3)).toBe(0);
    expect(listMove("ArrowUp", 2, 3)).toBe(1);
    expect(listMove("End", 0, 3)).toBe(2);
    expect(listMove("Home", 2, 3)).toBe(0);
    expect(listMove("PageDown", 0, 20)).toBe(5);
    expect(listMove("PageUp", 3, 20)).toBe(0);
    expect(listMove("a", 0, 3)).toBeNull();
    expect(listMove("ArrowDown", 0, 0)).toBeNull();
  });

  it("picks the nth item with digits 1-9", () => {
    expect(digitPick("1", 3)).toBe(0);
    expect(digitPick("3", 3)).toBe(2);
    expect(digitPick("4", 3)).toBeNull();
    expect(digitPick("0", 3)).toBeNull();
    expect(digitPick("x", 3)).toBeNull();
  });

  it("reads the sex from M, F, O keys and Hindi initials", () => {
    expect(sexFromKey("m")).toBe("M");
    expect(sexFromKey("F")).toBe("F");
    expect(sexFromKey("o")).toBe("O");
    expect(sexFromKey("म")).toBe("F");
    expect(sexFromKey("x")).toBeNull();
  });

  it("Enter moves to the next field, skipping hidden and opted-out controls", () => {
    document.body.innerHTML = `
      <form id="f">
        <input id="a">
        <input id="qr" data-enter-skip>
        <div hidden><input id="hidden"></div>
        <input id="b" disabled>
        <div id="seg" tabindex="0"></div>
        <select id="c"><option>x</option></select>
        <button id="d">go</button>
      </form>`;
    const form = document.getElementById("f") as HTMLElement;
    const ids = focusables(form).map((e) => e.id);
    expect(ids).toEqual(["a", "seg", "c", "d"]);
    const a = document.getElementById("a") as HTMLElement;
    expect(nextField(a, form)?.id).toBe("seg");
    expect(nextField(document.getElementById("d") as HTMLElement, form)).toBeNull();
  });

  it("Ctrl+Enter submits", () => {
    expect(isSubmitChord({ key: "Enter", ctrlKey: true, metaKey: false })).toBe(true);
    expect(isSubmitChord({ key: "Enter", ctrlKey: false, metaKey: false })).toBe(false);
  });
});
