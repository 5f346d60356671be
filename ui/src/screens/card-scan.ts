// The patient's cards at the registration screen: the ABHA card's QR code (a 2D scanner types
// its JSON payload into whichever field has focus) and the hospital card's UHID barcode (a
// keyboard-wedge scanner types it, ending with Enter, into the search box or the UHID field).

import { looksLikeQr, parseAbhaQr } from "../abha";
import type { PatientForm } from "../api";
import { t } from "../i18n";
import { watchScanner } from "../scan";
import { formFromAbha } from "../validate";

export { looksLikeQr };

/** Puts back a field's length limit, lifted while a scanner typed a QR payload into it. */
export function restoreLimit(input: HTMLInputElement | HTMLSelectElement): void {
  const limit = input.dataset.limit;
  if (input instanceof HTMLInputElement && limit && !input.hasAttribute("maxlength")) {
    input.setAttribute("maxlength", limit);
  }
}

/** True once a QR payload typed into a field is complete (its JSON closed and readable). */
export function qrComplete(value: string): boolean {
  return value.trim().endsWith("}") && parseAbhaQr(value).ok;
}

export type AbhaCard =
  | { ok: true; filled: Partial<Record<keyof PatientForm, string>> }
  | { ok: false; message: string };

/** The form fields an ABHA card's QR payload fills, or what to tell the clerk. */
export function readAbhaCard(raw: string, today: string): AbhaCard {
  const parsed = parseAbhaQr(raw);
  if (!parsed.ok) {
    return { ok: false, message: parsed.error === "not_abha" ? t("reg.qr_not_abha") : t("reg.qr_not_json") };
  }
  return { ok: true, filled: formFromAbha(parsed.data, today) as Partial<Record<keyof PatientForm, string>> };
}

/**
 * A QR payload a scanner is typing into a form field. While it comes in, the field's length
 * limit is lifted (or it would cut the payload short); once complete, the field gets back its
 * own value and `take` the payload. Returns false when the field holds no payload.
 */
export function qrInField(input: HTMLInputElement, own: string, take: (payload: string) => void): boolean {
  if (!looksLikeQr(input.value)) return false;
  input.removeAttribute("maxlength");
  if (qrComplete(input.value)) {
    const payload = input.value;
    input.value = own;
    restoreLimit(input);
    take(payload);
  }
  return true;
}

/** The "Scan ABHA card" field (F6): Enter, or a complete payload, takes it. */
export function wireQrField(qr: HTMLInputElement, take: (payload: string) => void): void {
  qr.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      take(qr.value);
      qr.value = "";
    }
  });
  qr.addEventListener("input", () => {
    if (qrComplete(qr.value)) {
      take(qr.value);
      qr.value = "";
    }
  });
}

/**
 * A hospital card's UHID scanned into `input`: `onCard` gets the code (a QR payload is left to
 * the ABHA handling). Wire it before the field's other key handlers: the scanner's Enter is
 * then consumed here.
 */
export function wireCardScanner(input: HTMLInputElement, onCard: (code: string) => void): void {
  watchScanner(input, (code) => {
    if (looksLikeQr(code) || looksLikeQr(input.value)) return false;
    onCard(code);
    return true;
  });
}
