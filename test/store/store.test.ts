import { RamFlash } from '../../hosts/node/ram-flash';
import { NF } from '../../src/store/format';
import { SeqSet } from '../../src/store/seqset';
import { Store } from '../../src/store/store';
import { utf8Decode, utf8Encode } from '../../src/util/utf8';

const text = (b?: Uint8Array) => (b ? utf8Decode(b) : undefined);

describe('SeqSet', () => {
  it('keeps runs merged and counts', () => {
    const s = new SeqSet();
    for (const n of [1, 2, 3, 5, 4, 10, 9]) s.add(n);
    expect(s.toArray()).toEqual([1, 6, 9, 11]);
    expect(s.count).toBe(7);
    s.remove(2, 4);
    expect(s.toArray()).toEqual([1, 2, 4, 6, 9, 11]);
    expect(s.next(2)).toBe(4);
    expect(s.next(6)).toBe(9);
    expect(s.next(11)).toBe(-1);
    expect(s.countFrom(5)).toBe(3);
    expect(s.has(3)).toBe(false);
    expect(s.has(10)).toBe(true);
  });
});

describe.each([1, 4, 8, 16])('Store with %i-byte write alignment', (writeAlign) => {
  it('keeps queued and keyed notes across reboots and compaction', () => {
    const flash = new RamFlash({ size: 8 * 4096, writeAlign });
    let store = new Store(flash);
    let tx = store.begin();
    const q = tx.createFile('data.qo', 1);
    const d = tx.createFile('cfg.db', 1);
    store.commit(tx);
    const live = new Map<number, string>();
    // Enough churn to wrap the 8-block flash several times.
    for (let i = 0; i < 3000; i++) {
      tx = store.begin();
      const body = `{"i":${i},"pad":"${'x'.repeat(i % 40)}"}`;
      live.set(tx.addNote(q, { time: 1000 + i, body: utf8Encode(body) }), body);
      store.commit(tx);
      if (live.size > 40) {
        const first = Math.min(...live.keys());
        tx = store.begin();
        tx.drop(q, [first, first + 1]);
        store.commit(tx);
        live.delete(first);
      }
      if (i % 50 === 0) {
        tx = store.begin();
        tx.addNote(d, { id: 'k' + (i % 7), time: 0, body: utf8Encode(`{"v":${i}}`) });
        store.commit(tx);
      }
    }
    expect(store.check()).toEqual([]);
    expect(store.stats().maxErases).toBeGreaterThan(3);
    expect(store.stats().maxErases - store.stats().minErases).toBeLessThanOrEqual(2);
    store = new Store(flash);
    expect(store.check()).toEqual([]);
    const f = store.file('data.qo')!;
    expect(f.total).toBe(live.size);
    for (const [seq, body] of live) expect(text(store.readQueued(f, seq)?.body)).toBe(body);
    const db = store.file('cfg.db')!;
    expect(text(store.readKeyed(db, 'k0')?.body)).toBe('{"v":2800}');
    expect(store.readKeyed(db, 'k0')?.flags! & NF.KEYED).toBeTruthy();
  });
});

describe('Store limits', () => {
  it('reports storage full without losing anything, and recovers after deletes', () => {
    const flash = new RamFlash({ size: 6 * 4096, writeAlign: 4 });
    const store = new Store(flash);
    let tx = store.begin();
    const q = tx.createFile('data.qo', 0);
    store.commit(tx);
    let added = 0;
    let error: unknown;
    for (;;) {
      tx = store.begin();
      tx.addNote(q, { time: 0, body: utf8Encode('{"fill":"' + 'y'.repeat(100) + '"}') });
      try {
        store.commit(tx);
        added++;
      } catch (e) {
        error = e;
        break;
      }
    }
    expect(String((error as Error).message)).toMatch(/storage full/);
    const f = store.file('data.qo')!;
    expect(f.total).toBe(added);
    expect(new Store(flash).file('data.qo')!.total).toBe(added);
    tx = store.begin();
    tx.drop(q, [1, 11]);
    store.commit(tx);
    tx = store.begin();
    tx.addNote(q, { time: 0, body: utf8Encode('{"after":1}') });
    store.commit(tx);
    expect(store.check()).toEqual([]);
  });
});
