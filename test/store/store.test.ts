import { RamFlash } from '../../hosts/node/ram-flash';
import { ENTRY, NF, RT, SKIP, alignUp, entryBytes } from '../../src/store/format';
import { scanBlock } from '../../src/store/scan';
import { cutEverywhere } from '../support/powercut';
import { crc32 } from '../../src/util/crc32';
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

describe.each([1, 4, 16])('Runs of templated queue notes (%i-byte alignment)', (writeAlign) => {
  /** A 17-byte packed record (format 1 says "templated" to the store). */
  const record = (i: number) => Uint8Array.from({ length: 17 }, (_, k) => Math.imul(i + 1, 2654435761 + k * 40503) >>> 24);
  const entrySize = alignUp(1 + 17 + 2, writeAlign); // delta varint, record, check

  function setup(): { flash: RamFlash; store: Store; q: number } {
    const flash = new RamFlash({ size: 8 * 4096, writeAlign });
    const store = new Store(flash);
    const tx = store.begin();
    const q = tx.createFile('s.qo', 1);
    store.commit(tx);
    return { flash, store, q };
  }
  function add(store: Store, q: number, i: number, time: number, body = record(i), flags = 0): number {
    const tx = store.begin();
    const seq = tx.addNote(q, { time, format: 1, body, flags });
    store.commit(tx);
    return seq;
  }

  it('appends one entry per note, keeps appending after a reboot, and reads every field back', () => {
    let { flash, store, q } = setup();
    add(store, q, 0, 1000);
    const times = new Map<number, number>([[1, 1000]]);
    for (let i = 1; i < 40; i++) {
      if (i === 20) store = new Store(flash); // the run resumes after a reboot
      const before = store.stats().usedBytes;
      times.set(add(store, q, i, 1000 + 60 * i), 1000 + 60 * i);
      expect(store.stats().usedBytes - before).toBe(entrySize);
    }
    // Anything that cannot continue the run starts another: an earlier time, a large leap,
    // another record length, other flags. All read back exactly, before and after a reboot.
    times.set(add(store, q, 40, 500), 500);
    times.set(add(store, q, 41, 5_000_000_000 / 2), 2_500_000_000);
    times.set(add(store, q, 42, 2_500_000_001, record(42).subarray(0, 9)), 2_500_000_001);
    times.set(add(store, q, 43, 2_500_000_002, record(43), NF.FULL), 2_500_000_002);
    for (const s of [store, new Store(flash)]) {
      expect(s.check()).toEqual([]);
      const f = s.file('s.qo')!;
      expect(f.queued.count).toBe(44);
      for (const [seq, time] of times) {
        const n = s.readQueued(f, seq)!;
        expect([n.seq, n.time, n.format, n.flags & ~NF.FULL]).toEqual([seq, time, 1, NF.BODY]);
        expect(n.body).toEqual(seq === 43 ? record(42).subarray(0, 9) : record(seq - 1));
        expect(!!(n.flags & NF.FULL)).toBe(seq === 44);
      }
    }
  });

  it('never takes an entry whose write was cut short, even one missing only its last byte', () => {
    const { flash, store, q } = setup();
    for (let i = 0; i < 5; i++) add(store, q, i, 1000 + i);
    // A record whose check's high byte would be 0xFF without the rule that it never is.
    let i = 5;
    for (; i < 100_000; i++) {
      const bytes = entryBytes({ file: q, next: 6, time: 1004, step: 1, flags: NF.BODY, format: 1, len: 17 }, 1005, record(i));
      if ((crc32(bytes.subarray(0, 18)) & 0xffff) >= 0xff00) break;
    }
    expect(i).toBeLessThan(100_000);
    const image = flash.bytes.slice();
    add(store, q, i, 1005);
    let at = 0;
    while (flash.bytes[at] === image[at]) at++;
    for (let k = 0; k < 20; k++) {
      const torn = new RamFlash({ size: 8 * 4096, writeAlign, image: flash.bytes });
      torn.bytes.fill(0xff, at + k, at + 20);
      let s = new Store(torn);
      expect(s.check()).toEqual([]);
      expect(s.file('s.qo')!.queued.toArray()).toEqual([1, 6]);
      // The torn block is closed: the next note goes elsewhere and survives.
      add(s, q, 99, 2000);
      s = new Store(torn);
      expect(s.check()).toEqual([]);
      expect(s.readQueued(s.file('s.qo')!, 6)!.body).toEqual(record(99));
    }
  });

  it('compaction bridges gaps in a run with skip slots: the copy is never larger, and a cut anywhere in it is safe', () => {
    // Step 0: two files; steps 1-60: a run of 60 notes at a steady interval; step 61: four of them
    // go (gaps inside the run); then the second file fills the store until compaction copies the run.
    const geometry = { size: 8 * 1024, blockSize: 1024, writeAlign };
    const small = (i: number) => record(i).subarray(0, 3);
    const step = (store: Store, i: number) => {
      const tx = store.begin();
      if (i === 0) {
        tx.createFile('s.qo', 1);
        tx.createFile('p.qo', 1);
      } else if (i <= 60) tx.addNote(store.file('s.qo')!.id, { time: 1000 + 60 * (i - 1), format: 1, body: small(i - 1) });
      else if (i === 61) tx.drop(store.file('s.qo')!.id, [10, 11, 20, 22, 30, 31]);
      else {
        const p = store.file('p.qo')!;
        tx.drop(p.id, [0, p.counter - 2]); // p.qo keeps its last notes only: the log turns over
        tx.addNote(p.id, { time: i, body: new Uint8Array(200).fill(i) });
      }
      store.commit(tx);
    };
    const seqsOf = (f: { queued: Pick<SeqSet, 'next'> }) => {
      const out: number[] = [];
      for (let seq = f.queued.next(0); seq >= 0; seq = f.queued.next(seq + 1)) out.push(seq);
      return out;
    };
    const state = (store: Store) => {
      const f = store.file('s.qo');
      const notes = f ? seqsOf(f).map((seq) => { const n = store.readQueued(f, seq)!; return [seq, n.time, Array.from(n.body!)]; }) : [];
      return JSON.stringify([store.snapshot(), notes]);
    };
    const { cuts } = cutEverywhere(geometry, 100, { mount: (flash) => new Store(flash), step, state, check: (s) => s.check() });
    expect(cuts).toBeGreaterThan(100);
    // The same steps without cuts: the copy of the run is one run (two if it straddles a block
    // end) with a skip slot for each change number of a gap, none for a leading or trailing one.
    const flash = new RamFlash(geometry);
    const store = new Store(flash);
    const slots = () => {
      const out = { runs: 0, entries: 0, skips: 0, bytes: 0 };
      const q = store.file('s.qo')!.id;
      for (let b = 0; b < 8; b++) {
        if (flash.bytes[b * 1024] !== 0x4f) continue; // "OCS1": a block in use (retired ones are zeroed)
        scanBlock(flash.bytes.subarray(b * 1024, (b + 1) * 1024), store.recordStart, writeAlign, (r) => {
          if (r.type === RT.RUN && new DataView(flash.bytes.buffer, b * 1024 + r.body, 2).getUint16(0, true) === q) {
            out.runs++;
            out.bytes += alignUp(r.len + 7, writeAlign);
          }
          if (r.type === ENTRY && r.run!.file === q) {
            out.entries++;
            out.bytes += alignUp(r.body + r.len + 2 - r.at, writeAlign);
          }
          if (r.type === SKIP && r.run!.file === q) {
            out.skips++;
            out.bytes += alignUp(r.body + 2 - r.at, writeAlign);
          }
        });
      }
      return out;
    };
    for (let i = 0; i < 62; i++) step(store, i);
    const original = slots();
    expect(original).toMatchObject({ entries: 60, skips: 0 });
    let i = 62;
    while (slots().skips === 0 && i < 100) step(store, i++);
    const copied = slots();
    expect(copied.skips).toBe(4);
    expect(copied.entries).toBe(56);
    expect(copied.runs).toBeLessThanOrEqual(2);
    expect(copied.bytes).toBeLessThanOrEqual(original.bytes + (copied.runs - original.runs) * alignUp(7 + 14, writeAlign));
    const again = new Store(flash);
    expect(again.check()).toEqual([]);
    const f = again.file('s.qo')!;
    expect(seqsOf(f)).toEqual([...Array(60).keys()].map((k) => k + 1).filter((seq) => ![10, 20, 21, 30].includes(seq)));
    for (const seq of seqsOf(f)) {
      const n = again.readQueued(f, seq)!;
      expect([n.time, n.body]).toEqual([1000 + 60 * (seq - 1), small(seq - 1)]);
    }
  });

  it('compaction carries live entries forward as runs, gaps and all', () => {
    const { flash, store, q } = setup();
    const live = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      live.set(add(store, q, i, 1000 + i), i);
      if (live.size > 300) {
        // Consume unevenly: leaves gaps in the change numbers compaction copies.
        const seqs = [...live.keys()];
        const tx = store.begin();
        tx.drop(q, [seqs[0], seqs[0] + 1, seqs[7], seqs[7] + 1]);
        store.commit(tx);
        live.delete(seqs[0]);
        live.delete(seqs[7]);
      }
    }
    expect(store.stats().maxErases).toBeGreaterThan(3);
    for (const s of [store, new Store(flash)]) {
      expect(s.check()).toEqual([]);
      const f = s.file('s.qo')!;
      expect(f.queued.count).toBe(live.size);
      for (const [seq, i] of live) {
        const n = s.readQueued(f, seq)!;
        expect([n.time, n.body]).toEqual([1000 + i, record(i)]);
      }
    }
  });
});

describe('tombstone purging', () => {
  const setup = () => {
    const store = new Store(new RamFlash({ size: 8 * 1024, blockSize: 1024, writeAlign: 4 }));
    let tx = store.begin();
    const file = tx.createFile('a.db', 0);
    tx.addNote(file, { id: 'x', time: 0, flags: NF.KEYED, body: utf8Encode('{}') });
    store.commit(tx);
    tx = store.begin();
    tx.setTracker(file, 't', 1);
    store.commit(tx);
    return { store, file };
  };
  const remove = (store: Store, file: number) => {
    const tx = store.begin();
    tx.addNote(file, { id: 'x', time: 0, flags: NF.KEYED | NF.DELETED });
    store.commit(tx);
  };

  it('is the policy the store is handed: a bare store keeps every tombstone', () => {
    const { store, file } = setup();
    remove(store, file);
    const tx = store.begin();
    tx.setTracker(file, 't', 99);
    store.commit(tx);
    expect(store.file('a.db')!.keyed.get('x')?.flags).toBe(NF.KEYED | NF.DELETED);
    expect(new Store(store.flash).file('a.db')!.keyed.has('x')).toBe(true);
  });

  it('asks the policy with the trackers as the transaction leaves them, and drops what it allows', () => {
    const { store, file } = setup();
    const asked: string[] = [];
    store.purgeWith((f, trackers) => (seq, flags) => {
      asked.push(`${f.name} ${JSON.stringify([...trackers])} ${seq} ${flags}`);
      return seq < (trackers.get('t') ?? 0);
    });
    remove(store, file); // tombstone 2, tracker at 1: kept
    expect(store.file('a.db')!.keyed.has('x')).toBe(true);
    const tx = store.begin();
    tx.setTracker(file, 't', 3);
    store.commit(tx);
    expect(asked).toEqual([`a.db [["t",1]] 2 ${NF.KEYED | NF.DELETED}`, `a.db [["t",3]] 2 ${NF.KEYED | NF.DELETED}`]);
    expect(store.file('a.db')!.keyed.has('x')).toBe(false);
    expect(new Store(store.flash).file('a.db')!.keyed.has('x')).toBe(false);
    expect(store.check()).toEqual([]);
  });
});
