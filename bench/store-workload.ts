// Store workloads written without Node APIs, so the XS lane can run them too.
import { RamFlash } from '../hosts/node/ram-flash';
import { Card } from '../src/card';
import type { Flash, Host } from '../src/host';

export const SMALL_NOTE = '{"temp":21.5,"humidity":40}';

/** A minimal host around a flash: fixed wall clock, counter-based randomness. */
export function benchHost(flash: Flash): Host {
  let t = 0;
  let r = 1;
  return {
    flash,
    clock: { now: () => t++, wall: () => 1_700_000_000_000, schedule: () => 0, cancel: () => undefined },
    random: { bytes: (n) => Uint8Array.from({ length: n }, () => (r = (r * 1103515245 + 12345) >>> 0) >>> 24) },
    log: { log: () => undefined },
    info: { platform: 'bench', binaryMax: 1024 },
  };
}

/** Queue `count` small notes in data.qo through the request path. Returns the card. */
export function queueNotes(card: Card, count: number, file = 'data.qo'): void {
  const line = `{"req":"note.add","file":"${file}","body":${SMALL_NOTE}}`;
  for (let i = 0; i < count; i++) {
    const reply = card.request(line);
    if (reply.text && reply.text.indexOf('"err"') >= 0) throw new Error(`note ${i}: ${reply.text}`);
  }
}

/** The RAM workload: 10,000 notes queued in one notefile on a 1 MB flash. Returns the card so
 * the caller can measure its heap before/after; `indexBytes` is the store's own estimate. */
export function tenThousandNotes(flash: Flash = new RamFlash({ size: 256 * 4096 })): { card: Card; indexBytes: number } {
  const card = new Card(benchHost(flash));
  queueNotes(card, 10_000);
  return { card, indexBytes: card.store.indexBytes() };
}
