// Templated notes as the store keeps them: flash bytes per note, templated vs untemplated, and
// the request-path cost. node dist/bench/template-store.js
// Figures go to docs/PERFORMANCE.md, section "Templates" ("In the store").
import { RamFlash } from '../hosts/node/ram-flash';
import { Card } from '../src/card';
import { benchHost } from './store-workload';

const HINTS = { temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' };
const BODY = '{"temp":14.1,"humidity":12,"pressure":14.1,"battery":12.1,"motion":true,"status":"ok"}';
const N = 2000;

function send(card: Card, line: string): string {
  const text = card.request(line).text ?? '';
  if (text.includes('"err"')) throw new Error(`${line}: ${text}`);
  return text;
}

/** Flash bytes the log grows by per note.add of BODY (block headers included). The clock moves
 * `every(i)` seconds before note i (0: every note in the same second). */
function perNote(writeAlign: number, templated: boolean, every: (i: number) => number = () => 0): { bytes: number; record: number } {
  const host = benchHost(new RamFlash({ size: 64 * 4096, writeAlign }));
  let ms = 0;
  host.clock = { ...host.clock, now: () => ms };
  const card = new Card(host);
  if (templated) send(card, `{"req":"note.template","file":"s.qo","body":${JSON.stringify(HINTS)}}`);
  const add = `{"req":"note.add","file":"s.qo","body":${BODY}}`;
  for (let i = 0; i < 10; i++) send(card, add);
  const before = card.store.stats().usedBytes;
  for (let i = 0; i < N; i++) {
    ms += every(i) * 1000;
    send(card, add);
  }
  const f = card.store.file('s.qo')!;
  const record = card.store.readQueued(f, f.queued.next(0))!.body!.length;
  return { bytes: (card.store.stats().usedBytes - before) / N, record };
}

function rate(label: string, fn: (card: Card, i: number) => void, setup: (card: Card) => void): void {
  let best = Infinity;
  const n = 20_000;
  for (let round = 0; round < 3; round++) {
    const card = new Card(benchHost(new RamFlash({ size: 2048 * 4096, writeAlign: 4 })));
    setup(card);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(card, i);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`| ${label} | ${Math.round(n / (best / 1000)).toLocaleString('en-US')}/s | ${((best / n) * 1000).toFixed(1)} µs |`);
}

console.log(`sensor body ${BODY} (${BODY.length} bytes of JSON)\n`);
console.log('| write alignment | untemplated | templated | ratio | record body: JSON vs packed |');
console.log('|---|---|---|---|---|');
for (const align of [1, 4, 8, 16]) {
  const plain = perNote(align, false);
  const tpl = perNote(align, true);
  console.log(`| ${align} | ${plain.bytes.toFixed(1)} B | ${tpl.bytes.toFixed(1)} B | **${(plain.bytes / tpl.bytes).toFixed(2)}x** | ${plain.record} B vs ${tpl.record} B (${(plain.record / tpl.record).toFixed(2)}x) |`);
}

// A sensor's clock: steady intervals with jitter, and irregular (event-driven) gaps.
const jitter = (i: number) => ((i * 2654435761) >>> 0) % 21 - 10;
const clocks: [string, (i: number) => number][] = [
  ['same second', () => 0],
  ['every 60 s', () => 60],
  ['every 300 s ± 10 s', (i) => 300 + jitter(i)],
  ['every 3600 s ± 10 s', (i) => 3600 + jitter(i)],
  ['irregular, 1 s to 2 h', (i) => 1 + (((i * 2654435761) >>> 0) % 7200)],
];
console.log('\n| templated, clock | align 1 | ratio | align 4 | ratio |\n|---|---|---|---|---|');
for (const [label, every] of clocks) {
  const cells = [1, 4].map((align) => {
    const t = perNote(align, true, every).bytes;
    return `${t.toFixed(1)} B | **${(perNote(align, false, every).bytes / t).toFixed(2)}x**`;
  });
  console.log(`| ${label} | ${cells.join(' | ')} |`);
}

console.log('\n| request path (card.request, RamFlash) | rate | each |\n|---|---|---|');
const addLine = `{"req":"note.add","file":"s.qo","body":${BODY}}`;
const setTemplate = (card: Card) => send(card, `{"req":"note.template","file":"s.qo","body":${JSON.stringify(HINTS)}}`);
rate('note.add, untemplated', (card) => send(card, addLine), () => undefined);
rate('note.add, templated', (card) => send(card, addLine), setTemplate);
const fill = (templated: boolean) => (card: Card) => {
  if (templated) setTemplate(card);
  for (let i = 0; i < 20_000; i++) send(card, `{"req":"note.add","file":"s.db","note":"n${i}","body":${BODY}}`);
};
rate('note.get (.db), untemplated', (card, i) => send(card, `{"req":"note.get","file":"s.db","note":"n${i}"}`), fill(false));
rate('note.get (.db), templated', (card, i) => send(card, `{"req":"note.get","file":"s.db","note":"n${i}"}`), (card) => {
  send(card, `{"req":"note.template","file":"s.db","body":${JSON.stringify(HINTS)}}`);
  for (let i = 0; i < 20_000; i++) send(card, `{"req":"note.add","file":"s.db","note":"n${i}","body":${BODY}}`);
});
