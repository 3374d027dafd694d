// Power cut at every flash write/erase of a workload that fills the card to the brim with
// template changes (test/support/fill.ts), then drains part of it with every kind of deletion,
// and fills it again: each request applies fully or not at all, the store's reserve holds after
// every step (Store.check), and a deletion never answers {storage-full}, before or after a cut.
// Steps with many flash operations (compaction rotating the whole log) are cut at 12 of them.
import { RamFlash } from '../../hosts/node/ram-flash';
import { Card } from '../../src/card';
import { cutEverywhere } from '../support/powercut';
import { testHost } from '../support/host';
import { Reply, fillStep, isFull } from '../support/fill';

function send(card: Card, r: object): Reply {
  const reply = card.request(JSON.stringify(r));
  return reply.text === undefined ? {} : JSON.parse(reply.text);
}

/** Deletions, one kind per step; none may ever fail for want of room. */
function drainStep(card: Card, i: number): void {
  const must = (r: Reply, what: string) => {
    if (isFull(r)) throw new Error(`step ${i}: ${what} answered ${r.err}`);
  };
  const db = card.store.file('d.db');
  switch (i % 6) {
    case 0: {
      const id = db && [...db.keyed].find(([, e]) => !(e.flags & 2))?.[0];
      if (id) must(send(card, { req: 'note.delete', file: 'd.db', note: id }), 'note.delete');
      return;
    }
    case 1:
      if (card.store.file('in.qi')?.queued.count) must(send(card, { req: 'note.get', file: 'in.qi', delete: true }), 'note.get delete');
      return;
    case 2: {
      const t = card.store.file('t.qo');
      if (!t?.queued.count) return;
      try {
        card.notefiles.acknowledge('t.qo', t.queued.next(0) + 4); // a hub acknowledgement
      } catch (e) {
        if (String(e).includes('storage-full')) throw new Error(`step ${i}: acknowledge: ${e}`);
        throw e;
      }
      return;
    }
    case 3:
      if (card.store.file('u.qo')) must(send(card, { req: 'note.changes', file: 'u.qo', tracker: 'drain', max: 4, delete: true }), 'note.changes delete');
      return;
    case 4:
      if (card.store.file('j.qo')) must(send(card, { req: i % 12 === 4 ? 'file.clear' : 'file.delete', file: 'j.qo', files: ['j.qo'] }), 'file.clear/delete');
      return;
    default:
      if (db) must(send(card, { req: 'note.changes', file: 'd.db', tracker: 'w', max: 5 }), 'tracker move');
  }
}

/** Fill (until and beyond full) for 60 steps, drain for 12, again and again. */
function step(seed: number) {
  return (card: Card, i: number): void => {
    if (i % 72 >= 60) drainStep(card, i);
    else fillStep(card, seed, i);
  };
}

function state(card: Card): string {
  const files = card.notefiles.names(true).map((name) => {
    const notes = card.notefiles.changes(name, { deleted: true, max: 1e6 }).notes;
    return [name, notes.map((n) => [n.id, n.seq, n.body, n.payload && Array.from(n.payload), n.deleted])];
  });
  return JSON.stringify([card.store.snapshot(), files]);
}

describe.each([
  [512, 4, 11],
  [512, 1, 12],
  [1024, 16, 13],
])('a card filled to the brim under power cuts (%i-byte blocks, %i-byte writes, seed %i)', (blockSize, writeAlign, seed) => {
  it('recovers to before or after at every write/erase, keeps its reserve, and can always be drained', () => {
    const geometry = { size: 8 * blockSize, blockSize, writeAlign };
    let fulls = 0;
    const run = step(seed);
    const { cuts, erases } = cutEverywhere(geometry, 360, {
      mount: (flash: RamFlash) => new Card(testHost(flash)),
      step: (card, i) => {
        if (i % 72 < 60 && card.store.stats().freeBlocks <= 3) fulls++;
        run(card, i);
      },
      state,
      check: (card) => card.store.check(),
    }, 12); // a full store rotates its whole log on every addition: sample those long steps

    expect(fulls).toBeGreaterThan(50); // the workload really ran the card full
    expect(cuts).toBeGreaterThan(1000);
    expect(erases).toBeGreaterThan(3 * 8);
  });
});
