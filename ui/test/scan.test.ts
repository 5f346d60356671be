import { describe, expect, it } from "vitest";
import { BurstTracker, watchScanner } from "../src/scan";

/** Types `text` into the tracker, one key every `gap` ms from `start`; returns the last key's time. */
function type(b: BurstTracker, text: string, start: number, gap: number): number {
  let at = start;
  for (const ch of text) {
    b.key(ch, at);
    at += gap;
  }
  return at - gap;
}

describe("telling a barcode scanner from a clerk typing", () => {
  it("a fast burst ending with Enter is a scan", () => {
    const b = new BurstTracker();
    const last = type(b, "DHP000000101", 1000, 8);
    expect(b.enter(last + 10)).toBe("DHP000000101");
  });

  it("typing by hand is not, even ending with Enter", () => {
    const b = new BurstTracker();
    const last = type(b, "DHP000000101", 1000, 140);
    expect(b.enter(last + 200)).toBeNull();
  });

  it("a fast burst with a pause before Enter is a fast typist, not a scanner", () => {
    const b = new BurstTracker();
    const last = type(b, "Sunita Devi", 0, 10);
    expect(b.enter(last + 600)).toBeNull();
  });

  it("only the burst counts: what was typed before it is left out", () => {
    const b = new BurstTracker();
    type(b, "abc", 0, 150);
    const last = type(b, "DHP000000102", 5000, 5);
    expect(b.enter(last + 5)).toBe("DHP000000102");
  });

  it("a busy machine's hiccup inside a scan still leaves a scan", () => {
    const b = new BurstTracker();
    let last = type(b, "DHP000", 0, 10);
    last = type(b, "000101", last + 90, 10);
    expect(b.enter(last + 10)).toBe("DHP000000101");
  });

  it("a fast typist with no pause is still a person", () => {
    const b = new BurstTracker();
    const last = type(b, "Ramesh", 0, 85);
    expect(b.enter(last + 85)).toBeNull();
  });

  it("a short burst (two keys pressed together) is not a code", () => {
    const b = new BurstTracker();
    const last = type(b, "34", 0, 5);
    expect(b.enter(last + 5)).toBeNull();
  });

  it("editing keys end a burst", () => {
    const b = new BurstTracker();
    let last = type(b, "DHP000", 0, 5);
    b.key("Backspace", last + 5);
    last = type(b, "000101", last + 10, 5);
    expect(b.enter(last + 5)).toBe("000101");
    expect(b.enter(last + 6)).toBeNull(); // one Enter, one scan
  });

  it("watchScanner takes the scanner's Enter, and leaves a person's to the field", () => {
    document.body.innerHTML = `<input id="f">`;
    const input = document.getElementById("f") as HTMLInputElement;
    let clock = 0;
    const scans: string[] = [];
    let enters = 0;
    watchScanner(input, (code) => (scans.push(code), true), () => clock);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") enters++;
    });
    const press = (key: string, gap: number) => {
      clock += gap;
      input.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
    };
    for (const ch of "DHP000000101") press(ch, 6);
    press("Enter", 6);
    expect(scans).toEqual(["DHP000000101"]);
    expect(enters).toBe(0);
    for (const ch of "Ramesh") press(ch, 150);
    press("Enter", 300);
    expect(scans).toEqual(["DHP000000101"]);
    expect(enters).toBe(1);
  });

  it("a scan the handler declines goes on to the field", () => {
    document.body.innerHTML = `<input id="f">`;
    const input = document.getElementById("f") as HTMLInputElement;
    let clock = 0;
    let enters = 0;
    watchScanner(input, () => false, () => clock);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") enters++;
    });
    for (const ch of '{"hidn":"x"}') {
      clock += 5;
      input.dispatchEvent(new KeyboardEvent("keydown", { key: ch }));
    }
    clock += 5;
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(enters).toBe(1);
  });
});
