// Runs the ABHA QR target (abha_qr.fuzz.ts) on Node.js: first every seed under
// fuzz/corpus/abha_qr, then inputs from fast-check generators (QR-shaped JSON objects with the
// card's keys and awkward values, scanner damage such as typographic quotes and a trailing Enter,
// seeds cut and spliced, and any text) until the time is up. A failing input is shrunk, written
// to $FUZZ_ARTIFACTS (default fuzz/artifacts/abha_qr) and the run exits 1.
//
//   node run.js SECONDS CORPUS_DIR [SEED]

import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";

import { fuzz } from "./abha_qr.fuzz";

const seconds = Number(process.argv[2] ?? "30");
const corpusDir = process.argv[3] ?? "fuzz/corpus/abha_qr";
const seed = Number(process.argv[4] ?? Date.now() % 2_147_483_647);
const artifacts = process.env.FUZZ_ARTIFACTS ?? "fuzz/artifacts/abha_qr";

const seeds = fs.existsSync(corpusDir)
  ? fs.readdirSync(corpusDir).map((f) => fs.readFileSync(path.join(corpusDir, f), "utf8"))
  : [];

let execs = 0;
function run(text: string): void {
  execs += 1;
  fuzz(Buffer.from(text, "utf8"));
}

for (const s of seeds) run(s);

const KEYS = [
  "hidn", "hid", "phr", "abhaNumber", "abha_address", "healthIdNumber", "healthId", "name",
  "fullName", "gender", "sex", "dob", "dateOfBirth", "yob", "yearOfBirth", "dayOfBirth",
  "monthOfBirth", "mobile", "phone", "address", "dist name", "district_name", "state name",
  "state_name", "pincode", "pin", "statelgd", "distlgd", " HIDN ", "__proto__", "constructor",
  "toString",
];
const PIECES = [
  "-", "91", "1234", "5678", "9012", "-1234-", "@abdm", "@sbx", "@", " ", "  ", "\t", "\n",
  "/", ".", "12/3/1985", "29/02/2023", "31-04-2000", "1978", "0000", "2200", "1849", "M",
  "female", "T", "+91", "0", "98765 43210", "800001", "0800001", "सुनीता", "দেবী", "\u00a0",
  "\u201c", "\u201d", "\uFEFF", "\\u0000", "1e3", "NaN",
];
const piece = fc.oneof(
  fc.constantFrom(...PIECES),
  fc.string({ maxLength: 8 }),
  fc.integer({ min: 0, max: 99_999_999_999_999 }).map(String),
);
const valueText = fc.array(piece, { maxLength: 5 }).map((p) => p.join(""));
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: valueText },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(valueText, { maxLength: 2 }),
  fc.dictionary(fc.constantFrom(...KEYS), valueText, { maxKeys: 2 }),
);
// Most real QRs carry an ABHA number or address, so most generated ones do too.
const digits14 = fc
  .array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 })
  .map((d) => d.join(""));
const abhaId = fc.oneof(
  digits14.map((d) => ["hidn", `${d.slice(0, 2)}-${d.slice(2, 6)}-${d.slice(6, 10)}-${d.slice(10)}`]),
  digits14.map((d) => ["hidn", d]),
  fc.stringMatching(/^[a-zA-Z0-9._]{1,34}$/).map((l) => ["hid", `${l}@abdm`]),
  fc.stringMatching(/^[a-zA-Z0-9._ ]{1,34}$/).map((l) => ["phr", l]),
);
const qrObject = fc
  .tuple(
    fc.option(abhaId, { freq: 4 }),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), value), {
      maxLength: 10,
    }),
  )
  .map(([id, entries]) => {
    const o: Record<string, unknown> = {};
    if (id) o[id[0]] = id[1];
    for (const [k, v] of entries) o[k] = v;
    return JSON.stringify(o);
  });
const damage = (text: string, kind: number, at: number, ins: string): string => {
  const i = text.length === 0 ? 0 : at % (text.length + 1);
  switch (kind) {
    case 0:
      return text.replace(/"/g, (_, n: number) => (n % 2 === 0 ? "\u201c" : "\u201d"));
    case 1:
      return `${text}\r\n`;
    case 2:
      return `\uFEFF  ${text}`;
    case 3:
      return text.slice(0, i);
    case 4:
      return text.slice(0, i) + ins + text.slice(i);
    default:
      return text;
  }
};
const damaged = (base: fc.Arbitrary<string>) =>
  fc
    .tuple(base, fc.nat(5), fc.nat(), fc.oneof(piece, fc.constantFrom('"', "{", "}", ",", ":")))
    .map(([t, k, at, ins]) => damage(t, k, at, ins));
const fromSeeds =
  seeds.length > 0 ? [damaged(fc.constantFrom(...seeds))] : ([] as fc.Arbitrary<string>[]);
const input = fc.oneof(
  { weight: 4, arbitrary: qrObject },
  { weight: 3, arbitrary: damaged(qrObject) },
  ...fromSeeds.map((a) => ({ weight: 3, arbitrary: a })),
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
);

const started = Date.now();
const result = fc.check(
  fc.property(input, (text) => {
    run(text);
  }),
  { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000 },
);
const secs = ((Date.now() - started) / 1000).toFixed(1);
if (result.failed && result.counterexample) {
  const [text] = result.counterexample;
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `crash-seed-${seed}`);
  fs.writeFileSync(file, text);
  console.error(`abha_qr: FAILED after ${execs} execs (seed ${seed}): ${String(result.errorInstance)}`);
  console.error(`abha_qr: input written to ${file}: ${JSON.stringify(text)}`);
  process.exit(1);
}
console.log(`abha_qr: ${execs} execs in ${secs} s, ${seeds.length} seeds, seed ${seed}: no failure`);
