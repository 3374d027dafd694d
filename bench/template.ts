// Template benchmark: bytes per note templated vs JSON, and records packed/unpacked per second.
//   npx tsc -p tsconfig.json && node dist/bench/template.js [notes]
// Figures go to docs/PERFORMANCE.md, section "Templates".
import type { JsonObject } from '../src/json';
import { compileTemplate, packNote, templateBytes, unpackNote } from '../src/template';

const HINTS = { temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' };
const COUNT = Number(process.argv[2] ?? 200_000);
const TIME = 1763700000;

// A deterministic generator, so every run measures the same notes.
let seed = 42;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}
const round2 = (v: number) => Math.round(v * 100) / 100;

function sensorBody(): JsonObject {
  return {
    temp: round2(15 + random() * 15),
    humidity: Math.floor(random() * 101),
    pressure: round2(950 + random() * 100),
    battery: round2(3 + random() * 1.2),
    motion: random() < 0.5,
    status: ['ok', 'low', 'fault'][Math.floor(random() * 3)],
  };
}

/** Best of five timed rounds after a warm-up: the machine may be shared. */
function perSecond(label: string, n: number, fn: () => void): number {
  fn();
  let seconds = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    fn();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - start) / 1e9);
  }
  const rate = n / seconds;
  console.log(`${label.padEnd(34)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} /s  (${((seconds / n) * 1e6).toFixed(2)} µs each)`);
  return rate;
}

const template = compileTemplate(HINTS);
const compact = compileTemplate({ ...HINTS, _time: 14 }, { format: 'compact' });
const bodies = Array.from({ length: COUNT }, sensorBody);

let recordBytes = 0;
let compactBytes = 0;
let bodyJson = 0;
let noteJson = 0;
for (const body of bodies) {
  recordBytes += packNote(template, body, undefined, { time: TIME }).length;
  compactBytes += packNote(compact, body, undefined, { time: TIME }).length;
  bodyJson += JSON.stringify(body).length;
  noteJson += JSON.stringify({ body, time: TIME }).length;
}
const avg = (n: number) => n / COUNT;
console.log(`${COUNT.toLocaleString('en-US')} sensor notes ${JSON.stringify(HINTS)}`);
console.log(`templateBytes (the note.template reply)  ${templateBytes(template)}`);
const HEADER = 5; // flags + time
const bodyBytes = recordBytes - HEADER * COUNT;
const line = (label: string, bytes: number, vs?: number) =>
  console.log(`${label.padEnd(42)}${avg(bytes).toFixed(1).padStart(7)} B${vs ? `   JSON/record ${(bytes / vs).toFixed(2)}x` : ''}`);
line('record body (fields only)', bodyBytes);
line('JSON body', bodyJson, bodyBytes);
line('record, with time (flags + time + body)', recordBytes);
line('JSON note {"body":...,"time":...}', noteJson, recordBytes);
line('compact record (_time field)', compactBytes);

const records = bodies.map((b) => packNote(template, b, undefined, { time: TIME }));
perSecond('pack', COUNT, () => {
  for (const b of bodies) packNote(template, b, undefined, { time: TIME });
});
perSecond('unpack', COUNT, () => {
  for (const r of records) unpackNote(template, r);
});
perSecond('pack + unpack', COUNT, () => {
  for (const b of bodies) unpackNote(template, packNote(template, b, undefined, { time: TIME }));
});
perSecond('JSON.stringify + parse (reference)', COUNT, () => {
  for (const b of bodies) JSON.parse(JSON.stringify({ body: b, time: TIME }));
});
