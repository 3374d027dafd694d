import { cutEverywhere } from '../support/powercut';
import { Store } from '../../src/store/store';
import { utf8Encode } from '../../src/util/utf8';

/** A deterministic workload of store transactions: step i does the same thing on every run. */
function step(store: Store, i: number, extra = ''): void {
  const tx = store.begin();
  const q = store.file('a.qo')?.id;
  const d = store.file('b.db')?.id;
  if (q === undefined || d === undefined) {
    if (q === undefined) tx.createFile('a.qo', 1);
    if (d === undefined) tx.createFile('b.db', 1);
    store.commit(tx);
    return;
  }
  const f = store.file('a.qo')!;
  switch (i % 6) {
    case 0:
    case 1:
    case 2:
      tx.addNote(q, { time: i, body: utf8Encode(`{"n":${i},"s":"${'z'.repeat(i % 50)}${extra}"}`) });
      break;
    case 3: {
      const first = f.queued.next(0);
      if (first >= 0) tx.drop(q, [first, first + 3]);
      tx.setTracker(q, 't', f.counter - 3);
      break;
    }
    case 4:
      tx.addNote(d, { id: 'k' + (i % 5), time: i, body: utf8Encode(`{"v":${i}}`) });
      tx.setKV(1, 'cfg', `{"i":${i}}`);
      break;
    case 5:
      tx.addNote(d, { id: 'k' + ((i + 2) % 5), time: i, flags: 2 });
      break;
  }
  store.commit(tx);
}

describe.each([
  [1024, 8, 500],
  [1024, 1, 500],
  [4096, 16, 700],
])('Store under power cuts (%i-byte blocks, %i-byte writes)', (blockSize, writeAlign, steps) => {
  it('recovers to the state before or after the interrupted transaction, at every write/erase', () => {
    const { cuts, erases } = cutEverywhere({ size: 8 * blockSize, blockSize, writeAlign }, steps, {
      mount: (flash) => new Store(flash),
      step: blockSize === 4096 ? (s, i) => step(s, i, 'x'.repeat(300)) : step,
      state: (s) => s.snapshot(),
      check: (s) => s.check(),
    });
    expect(cuts).toBeGreaterThan(steps);
    expect(erases).toBeGreaterThan(2 * 8); // the log wrapped around the flash
  });
});
