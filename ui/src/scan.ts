// Telling a keyboard-wedge barcode scanner from a clerk typing. A scanner "types" the code on a
// hospital card in one burst, a few milliseconds between keys, and ends it with Enter; a person
// leaves 80 ms or more between keys on average, and pauses before Enter.

export interface BurstOptions {
  /** The longest gap between two keys of one burst (a hiccup of a busy machine), in ms. */
  maxGapMs: number;
  /** The longest mean gap between the keys of a scan, Enter included, in ms. */
  meanGapMs: number;
  /** The fewest characters a scanned code has. */
  minLength: number;
}

// A scanner sends a key every few milliseconds; the fastest typists average over 80 ms.
export const SCANNER: BurstOptions = { maxGapMs: 100, meanGapMs: 35, minLength: 6 };

/** Follows the keys typed into one field; `enter` says whether the Enter ended a scan. */
export class BurstTracker {
  private text = "";
  private first = -Infinity;
  private last = -Infinity;
  private readonly opts: BurstOptions;

  constructor(opts: BurstOptions = SCANNER) {
    this.opts = opts;
  }

  /** A key went down at `at` (milliseconds, e.g. `performance.now()`). */
  key(key: string, at: number): void {
    if (key === "Enter") return;
    if (key.length !== 1) {
      // Backspace, arrows, Tab: a person editing, not a scanner.
      this.reset();
      return;
    }
    if (at - this.last > this.opts.maxGapMs) {
      this.text = "";
      this.first = at;
    }
    this.text += key;
    this.last = at;
  }

  /** Enter went down at `at`: the code the scanner typed, or null if a person typed it. */
  enter(at: number): string | null {
    const burst = this.text.trim();
    const keys = this.text.length; // the gaps: between the characters, and before Enter
    const fast = at - this.last <= this.opts.maxGapMs && (at - this.first) / Math.max(keys, 1) <= this.opts.meanGapMs;
    this.reset();
    return fast && burst.length >= this.opts.minLength ? burst : null;
  }

  reset(): void {
    this.text = "";
    this.first = -Infinity;
    this.last = -Infinity;
  }
}

/** Calls `onScan` with the code when a scanner's burst ending with Enter lands in `input`. When
 * it answers true, the Enter was the scanner's, not the clerk's: nothing else handles it. */
export function watchScanner(
  input: HTMLInputElement,
  onScan: (code: string) => boolean,
  now: () => number = () => performance.now(),
): void {
  const burst = new BurstTracker();
  input.addEventListener(
    "keydown",
    (e) => {
      if (e.key !== "Enter") {
        if (!e.ctrlKey && !e.altKey && !e.metaKey) burst.key(e.key, now());
        else burst.reset();
        return;
      }
      if (e.ctrlKey || e.metaKey) return;
      const code = burst.enter(now());
      if (code === null || !onScan(code)) return;
      e.preventDefault();
      e.stopImmediatePropagation();
    },
    // Before the field's own Enter handling (next field, open the selected hit).
    { capture: true },
  );
  input.addEventListener("blur", () => burst.reset());
}
