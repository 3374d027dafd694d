// Power cut at every flash write/erase of a scripted request workload: after the reboot every
// acknowledged request is there, the interrupted one applied fully or not at all, and the store
// passes its own consistency check.
import { RamFlash } from '../../hosts/node/ram-flash';
import { Card } from '../../src/card';
import { cutEverywhere } from '../support/powercut';
import { testHost } from '../support/host';

function send(card: Card, r: object): void {
  card.request(JSON.stringify(r));
}

function step(card: Card, i: number): void {
  const pad = 'p'.repeat(i % 23);
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      return send(card, { req: 'note.add', body: { i, pad } });
    case 4:
      return send(card, card.store.file('cfg.db')?.keyed.get('k' + (i % 5))
        ? { req: 'note.update', file: 'cfg.db', note: 'k' + (i % 5), body: { i } }
        : { req: 'note.add', file: 'cfg.db', note: 'k' + (i % 5), body: { i, pad } });
    case 5:
      return send(card, { req: 'note.delete', file: 'cfg.db', note: 'k' + ((i + 2) % 5) });
    case 6:
      return send(card, { req: 'note.changes', file: 'data.qo', tracker: 'reader', max: 3, delete: true });
    case 7:
      return send(card, { req: 'note.changes', file: 'cfg.db', tracker: 'watch', deleted: true, max: 2 });
    case 8:
      if (i % 30 === 8) return send(card, { req: 'env.set', name: 'e' + (i % 4), text: String(i) });
      if (i % 30 === 18) return send(card, { req: 'var.set', name: 'v', value: i });
      return send(card, { req: 'hub.set', product: `com.example:p${i % 3}` });
    default:
      if (i % 40 === 9) return send(card, { req: 'file.clear', file: 'data.qo' });
      if (i % 20 === 19) return card.notefiles.applyFromHub('in.qi', [{ body: { i } }]);
      return send(card, { req: 'note.get', file: 'in.qi', delete: true });
  }
}

/** Everything a user could read back: the index plus every note's contents. */
function state(card: Card): string {
  const files = card.notefiles.names(true).map((name) => {
    const f = card.store.file(name)!;
    const all = card.notefiles.changes(name, { deleted: true, max: 1e6 });
    return [name, f.counter, [...f.trackers].sort(), all.notes.map((n) => [n.id, n.seq, n.body, n.deleted])];
  });
  return JSON.stringify([card.store.snapshot(), files]);
}

describe('Card under power cuts', () => {
  it('keeps every acknowledged request through a cut at each of 2,000+ write/erase points', () => {
    const geometry = { size: 12 * 1024, blockSize: 1024, writeAlign: 4 };
    const { cuts, erases } = cutEverywhere(geometry, 1900, {
      mount: (flash: RamFlash) => new Card(testHost(flash)),
      step,
      state,
      check: (card) => card.store.check(),
    });
    expect(cuts).toBeGreaterThanOrEqual(2000);
    expect(erases).toBeGreaterThan(5 * 12); // compaction wrapped the log many times
  });
});
