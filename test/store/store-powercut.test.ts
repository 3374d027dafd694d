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

/** A pseudo-random mix of every kind of transaction, the same for a given (seed, step). */
function randomStep(seed: number) {
  return (store: Store, i: number): void => {
    let x = (seed * 2654435761 + i * 40503) >>> 0 || 1;
    const rnd = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const names = ['a.qo', 'b.db', 'c.qi', 'd.dbx'];
    const name = names[rnd(names.length)];
    const f = store.file(name);
    const tx = store.begin();
    const op = rnd(100);
    if (!f) tx.createFile(name, name.endsWith('dbx') ? 0 : 1, op < 50 ? '' : '{"t":1}');
    const id = f ? f.id : undefined;
    if (id === undefined) {
      // Just created (the transaction holds only the FILE record).
    } else if (op < 40) {
      const keyed = !name.includes('.q');
      for (let n = rnd(3) + 1; n > 0; n--) {
        tx.addNote(id, { id: keyed ? 'k' + rnd(6) : undefined, time: i, body: utf8Encode(`{"r":${rnd(1000)},"p":"${'q'.repeat(rnd(60))}"}`) });
      }
    } else if (op < 55) {
      const first = f!.queued.next(rnd(3) ? 0 : f!.counter - 5);
      if (first >= 0) tx.drop(id, [first, first + 1 + rnd(3)]);
      else if (f!.keyed.size) tx.addNote(id, { id: [...f!.keyed.keys()][rnd(f!.keyed.size)], time: i, flags: 2 });
    } else if (op < 70) {
      tx.setTracker(id, 't' + rnd(2), rnd(4) ? f!.counter - rnd(4) : undefined);
    } else if (op < 80) {
      tx.setTracker(id, '\u0001hub', f!.counter - rnd(3));
    } else if (op < 88) {
      tx.setKV(1 + rnd(2), 'key' + rnd(4), rnd(5) ? `"${'v'.repeat(rnd(80))}"` : undefined);
    } else if (op < 93) {
      tx.setFileInfo(f!, `{"t":${rnd(9)}}`);
    } else if (op < 97) {
      tx.deleteFile(id);
    } else {
      store.wipe((w) => w.setKV(1, 'device', '"dev:1"'));
      return;
    }
    store.commit(tx);
  };
}

describe.each([11, 12, 13, 14, 15, 16, 17, 18])('Store under power cuts, random workload %i', (seed) => {
  it('every cut recovers to before or after, and the store checks clean', () => {
    const { cuts, erases } = cutEverywhere({ size: 8 * 1024, blockSize: 1024, writeAlign: 4 }, 400, {
      mount: (flash) => new Store(flash),
      step: randomStep(seed),
      state: (s) => s.snapshot(),
      check: (s) => s.check(),
    });
    expect(cuts).toBeGreaterThan(400);
    expect(erases).toBeGreaterThan(2 * 8);
  });
});
