// Store benchmarks: node dist/bench/store.js (add --expose-gc for the RAM figure).
// Figures go to docs/PERFORMANCE.md, section "Store".
import { RamFlash } from '../hosts/node/ram-flash';
import { Card } from '../src/card';
import { SMALL_NOTE, benchHost, queueNotes, tenThousandNotes } from './store-workload';

function throughput(): void {
  // Warm the JIT on a throwaway card so the first window measures the store, not the compiler.
  queueNotes(new Card(benchHost(new RamFlash({ size: 256 * 4096 }))), 20_000);
  const flash = new RamFlash({ size: 2048 * 4096, writeAlign: 4 });
  const card = new Card(benchHost(flash));
  const total = 100_000;
  const window = 1_000;
  (globalThis as { gc?: () => void }).gc?.();
  let t0 = performance.now();
  queueNotes(card, window);
  const early = (performance.now() - t0) / window;
  const start = performance.now();
  queueNotes(card, total - 2 * window);
  (globalThis as { gc?: () => void }).gc?.();
  t0 = performance.now();
  queueNotes(card, window);
  const late = (performance.now() - t0) / window;
  const all = performance.now() - start + early * window + late * window;
  console.log(`note.add x ${total}: ${(total / (all / 1000)).toFixed(0)} notes/s`);
  console.log(`time per add: ${(early * 1000).toFixed(1)} us at 1,000 stored, ${(late * 1000).toFixed(1)} us at ~100,000 stored (ratio ${(late / early).toFixed(2)})`);
  const t1 = performance.now();
  const again = new Card(benchHost(flash));
  console.log(`mount (replay) of ${again.store.file('data.qo')!.total} notes on 8 MB: ${(performance.now() - t1).toFixed(0)} ms`);
}

function bytesPerNote(): void {
  for (const writeAlign of [1, 4, 8, 16]) {
    const flash = new RamFlash({ size: 64 * 4096, writeAlign });
    const card = new Card(benchHost(flash));
    queueNotes(card, 10);
    const before = card.store.stats().usedBytes;
    const n = 2000;
    queueNotes(card, n);
    const per = (card.store.stats().usedBytes - before) / n;
    console.log(`align ${writeAlign}: ${per.toFixed(1)} flash bytes per note of ${SMALL_NOTE.length} JSON bytes (+${(per - SMALL_NOTE.length).toFixed(1)})`);
  }
}

function writeAmplification(): void {
  // Steady state: the host adds, the hub acknowledges every 10 notes (the .qo leaves the card).
  const flash = new RamFlash({ size: 64 * 4096, writeAlign: 4 });
  const card = new Card(benchHost(flash));
  const rounds = 30_000;
  const erasedBefore = flash.bytesErased;
  for (let i = 0; i < rounds; i++) {
    queueNotes(card, 10);
    card.notefiles.acknowledge('data.qo', card.store.file('data.qo')!.counter);
  }
  const noteBytes = rounds * 10 * SMALL_NOTE.length;
  const s = card.store.stats();
  console.log(`add+ack (10 per sync): erased ${((flash.bytesErased - erasedBefore) / noteBytes).toFixed(2)} bytes per note byte; erases min ${s.minErases} max ${s.maxErases}`);
  // One-by-one consumption of an inbound queue (note.get delete:true after each arrival).
  const f2 = new RamFlash({ size: 64 * 4096, writeAlign: 4 });
  const c2 = new Card(benchHost(f2));
  const body = JSON.parse(SMALL_NOTE);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    c2.notefiles.applyFromHub('data.qi', [{ body }]);
    c2.request('{"req":"note.get","delete":true}');
  }
  console.log(`inbound + note.get delete (1 by 1): erased ${(f2.bytesErased / (n * SMALL_NOTE.length)).toFixed(2)} bytes per note byte`);
}

function ram(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const estimate = tenThousandNotes().indexBytes; // also warms the JIT
  if (!gc) {
    console.log(`10,000 queued notes: index estimate ${estimate} bytes; run with --expose-gc for the heap figure`);
    return;
  }
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const growth: number[] = [];
  for (let round = 0; round < 5; round++) {
    const h0 = heap();
    const empty = new Card(benchHost(new RamFlash({ size: 256 * 4096 })));
    const h1 = heap();
    const full = tenThousandNotes(new RamFlash({ size: 256 * 4096 })).card;
    const h2 = heap();
    growth.push(h2 - h1 - (h1 - h0));
    void empty;
    void full;
  }
  growth.sort((a, b) => a - b);
  console.log(`10,000 queued notes: index estimate ${estimate} bytes; Node heap of such a card minus an empty card's: median ${(growth[2] / 1024).toFixed(1)} KB (runs ${growth.map((g) => (g / 1024).toFixed(1)).join(', ')} KB)`);
}

throughput();
bytesPerNote();
writeAmplification();
ram();
