// Compaction: space comes back by retiring the oldest block. Its live notes are copied to the
// head, its small state records (files, trackers, settings) are rewritten from RAM, the rest is
// dropped. The copies are planned before anything is written, so compaction never eats the reserve.
import { utf8Decode } from '../util/utf8';
import { Blocks, StorageFull } from './blocks';
import { ENTRY, RT, Rec, Run, SKIP, alignUp, entryBytes, frame, framedSize, runBody, skipBytes, u16 } from './format';
import type { RamIndex } from './ram-index';
import type { ReadCache } from './read-cache';
import { fileBody, kvBody, parseNoteHead, trackerBody } from './records';
import { EntryNote, appendEntry, continues, entryOf, runFor } from './runs';
import { Found, scanBlock } from './scan';

/** Free blocks a transaction's own new block must leave. Additions stop at 3; deletions (and
 * sync acknowledgements, tracker moves) may take one more, so a full store can still be emptied.
 * Compaction never lowers the count: a retirement starts only when its copies need at most the
 * one block it frees (planned before anything is written), and takes that block transiently.
 * So 2 blocks are free at rest; a power cut in the middle of a retirement leaves at least 1, for
 * redoing the retirement or for a factory reset, which needs no compaction at all. */
export const RESERVE = Object.freeze({ normal: 3, rescue: 2 });

/** What compaction copies: a record, a run entry, a NOTE record that may become an entry, or
 * (`skip`) a change number that is gone, to bridge a gap between live entries of a run. */
interface Copy {
  rec?: Rec;
  entry?: EntryNote;
  skip?: boolean;
}

/** Where the head is, for planning compaction's writes before making them. */
interface Cursor {
  pos: number;
  open: boolean;
  run: Run | undefined;
  /** New blocks taken so far. */
  fresh: number;
}

export class Compactor {
  readonly #log: Blocks;
  readonly #index: RamIndex;
  readonly #cache: ReadCache;
  /** A whole rotation found no room: additions fail fast until a removal (wear). */
  full = false;
  /** Mounted with fewer than RESERVE.rescue free blocks (a retirement cut short): until the next
   * retirement restores them, check() does not count it as a broken reserve. */
  recovering = false;

  constructor(log: Blocks, index: RamIndex, cache: ReadCache) {
    this.#log = log;
    this.#index = index;
    this.#cache = cache;
  }

  /** Make room for `size` bytes at the head for a transaction of `level`: it writes only while
   * at least `level` blocks are free (so additions never use the space a deletion took from the
   * reserve), and takes a new block only when that leaves `level` free. Old blocks are retired
   * until then; a whole rotation without room means the store is full. */
  room(size: number, level: number): void {
    const log = this.#log;
    let rotations = 0;
    for (;;) {
      const free = log.free.length;
      if (free >= level && log.fits(size)) return;
      if (free > level) return log.allocate();
      if (level === RESERVE.normal && this.full) log.tooFull();
      try {
        if (rotations++ > log.count) log.tooFull();
        this.retireOldest();
      } catch (e) {
        if (e instanceof StorageFull) this.full = true;
        throw e;
      }
    }
  }

  /** Retire the oldest block: copy what is live in it to the head, then zero its header. The
   * copies are planned first: a retirement that would need more than the one block it frees
   * is refused ({storage-full}) before anything is written, so compaction never eats the reserve. */
  retireOldest(): void {
    const log = this.#log;
    const block = log.order[0];
    const wasOpen = log.headOpen;
    if (block === log.head) log.headOpen = false;
    const buf = log.flash.read(block * log.blockSize, log.blockSize);
    const refreshed = new Set<string>();
    let keep: Copy[] = [];
    scanBlock(buf, log.recordStart, log.align, (r) => {
      const kept = this.#survivor(buf, r, block, refreshed);
      if (kept) keep.push(kept);
    });
    keep = bridges(keep);
    const need = this.#place(keep, false);
    if (need > 1 || need > log.free.length) {
      log.headOpen = wasOpen; // nothing was written
      log.tooFull();
    }
    this.#place(keep, true);
    log.releaseOldest();
    for (const f of this.#index.files.values()) f.spans.forget(block);
    this.#cache.forget(block);
    if (log.free.length >= RESERVE.rescue) this.recovering = false;
  }

  /** Lay compaction's copies out at the head. Planning (`write` false) only counts the new
   * blocks they need; writing takes the very same decisions, then writes and applies each copy.
   * A NOTE record that may be a run entry becomes one when that costs no more (see #asEntry). */
  #place(copies: readonly Copy[], write: boolean): number {
    const log = this.#log;
    const cur: Cursor = { pos: log.headPos, open: log.head >= 0 && log.headOpen, run: log.run, fresh: 0 };
    const end = alignUp(1, log.align); // the zero unit that ends an open run
    const fits = (n: number) => cur.open && cur.pos + n + (cur.run ? end : 0) <= log.blockSize;
    const fresh = () => {
      cur.fresh++;
      cur.pos = log.recordStart;
      cur.open = true;
      cur.run = undefined;
      if (write) log.allocate();
    };
    copies.forEach((c, i) => {
      if (c.skip) {
        // Bridge the gap when the head's run continues into it and that costs no more than a new run.
        const bytes = this.#bridge(copies, i, cur);
        if (!bytes) return;
        const r = cur.run!;
        const next = { ...r, next: r.next + 1, time: c.entry!.time, step: c.entry!.time - r.time };
        if (write) {
          const out = new Uint8Array(bytes).fill(0xff);
          out.set(skipBytes(r, c.entry!.time));
          log.write(out, next, true);
        }
        cur.pos += bytes;
        cur.run = next;
        if (write && cur.pos !== log.headPos) throw new Error('compaction plan and head disagree');
        return;
      }
      const e = c.entry && (!c.rec || this.#asEntry(copies, i, cur)) ? c.entry : undefined;
      if (e) {
        const r = cur.run;
        const n = cur.open && r && continues(r, e) ? alignUp(entryBytes(r, e.time, e.record).length, log.align) : -1;
        if (r && n > 0 && cur.pos + n <= log.blockSize) {
          if (write && !appendEntry(log, e)) throw new Error('compaction plan and head disagree');
          cur.pos += n;
          cur.run = { ...r, next: r.next + 1, time: e.time, step: e.time - r.time };
        } else {
          const run = runFor(e);
          const head = frame([{ type: RT.RUN, body: runBody(run) }], log.align, false);
          const bytes = new Uint8Array(head.length + alignUp(entryBytes(run, e.time, e.record).length, log.align)).fill(0xff);
          if (!fits(bytes.length)) fresh();
          if (write) {
            bytes.set(head);
            bytes.set(entryBytes(run, e.time, e.record), head.length);
            log.write(bytes, { ...run, next: e.seq + 1 });
          }
          cur.pos += (cur.run ? end : 0) + bytes.length;
          cur.run = { ...run, next: e.seq + 1 };
        }
        if (write) this.#index.applyQueued(e.file, e.seq, log.head);
      } else {
        const rec = c.rec!;
        const size = framedSize([rec], log.align);
        if (!fits(size)) fresh();
        if (write) {
          const at = log.write(frame([rec], log.align, false));
          this.#index.apply(rec.type, rec.body, 0, rec.body.length, log.head, at);
        }
        cur.pos += (cur.run ? end : 0) + size;
        cur.run = undefined;
      }
      if (write && cur.pos !== log.headPos) throw new Error('compaction plan and head disagree');
    });
    return cur.fresh;
  }

  /** The bytes of the skip slot copies[i] when the head's run bridges the gap it is in, else 0.
   * A gap is bridged when the head's run continues into it, its skips and the live entry after
   * it fit in the block, and the skips cost no more than a new run would (RUN record, the zero
   * unit ending this run, and what the entry after it may grow by). */
  #bridge(copies: readonly Copy[], i: number, cur: Cursor): number {
    const align = this.#log.align;
    let r = cur.run;
    if (!cur.open || !r || !continues(r, copies[i].entry!)) return 0;
    let bytes = 0;
    let first = 0;
    let j = i;
    for (; copies[j].skip; j++) {
      const n = alignUp(skipBytes(r, copies[j].entry!.time).length, align);
      if (j === i) first = n;
      bytes += n;
      r = { ...r, next: r.next + 1, time: copies[j].entry!.time, step: copies[j].entry!.time - r.time };
    }
    const e = copies[j].entry!; // bridges() leaves only skips followed by a live entry of the run
    const entry = alignUp(entryBytes(r, e.time, e.record).length, align);
    const newRun = framedSize([{ type: RT.RUN, body: runBody(r) }], align) + alignUp(1, align) + alignUp(4, align);
    return bytes <= newRun && cur.pos + bytes + entry <= this.#log.blockSize ? first : 0;
  }

  /** Whether the NOTE record copies[i] (a templated queue note) goes as a run entry: when it
   * continues the head's run, when an entry that must go in a run follows it, or when the
   * notes that would form its run cost less as one than as records. */
  #asEntry(copies: readonly Copy[], i: number, cur: Cursor): boolean {
    const align = this.#log.align;
    const e = copies[i].entry!;
    const r = cur.run;
    if (cur.open && r && continues(r, e) && cur.pos + alignUp(entryBytes(r, e.time, e.record).length, align) <= this.#log.blockSize) return true;
    let run = runFor(e);
    let asRun = framedSize([{ type: RT.RUN, body: runBody(run) }], align) + alignUp(1, align);
    let asRecords = 0;
    for (let j = i; j < copies.length; j++) {
      const x = copies[j].entry;
      if (!x || !continues(run, x)) break;
      if (!copies[j].rec) return true;
      asRun += alignUp(entryBytes(run, x.time, x.record).length, align);
      asRecords += framedSize([copies[j].rec!], align);
      run = { ...run, next: run.next + 1, time: x.time, step: x.time - run.time };
    }
    return asRun <= asRecords;
  }

  /** What a record in a retiring block becomes: a copy (templated queue notes as run entries),
   * a fresh rewrite from RAM, or nothing. */
  #survivor(buf: Uint8Array, r: Found, block: number, refreshed: Set<string>): Copy | undefined {
    const files = this.#index.files;
    const b = r.body;
    switch (r.type) {
      case ENTRY:
      case SKIP: {
        // Every slot of a run comes back: a live entry, or a skip that may bridge a gap (bridges()).
        const e = r.run!;
        const f = files.get(e.file);
        if (!f) return undefined;
        const live = r.type === ENTRY && f.queued.has(r.seq!) && !this.#cache.copiedElsewhere(f, r.seq!, block);
        const record = r.type === ENTRY ? buf.slice(b, b + r.len) : new Uint8Array(e.len);
        const entry = { file: e.file, seq: r.seq!, time: r.time!, flags: e.flags, format: e.format, record };
        return live ? { entry } : { entry, skip: true };
      }
      case RT.NOTE: {
        const f = files.get(u16(buf, b));
        if (!f) return undefined;
        const h = parseNoteHead(buf, b, r.len);
        const live = h.id !== undefined
          ? f.keyed.get(h.id)?.block === block && f.keyed.get(h.id)?.offset === r.at
          : f.queued.has(h.seq) && !this.#cache.copiedElsewhere(f, h.seq, block);
        if (!live) return undefined;
        return { rec: { type: RT.NOTE, body: buf.slice(b, b + r.len) }, entry: entryOf(buf, b, r.len, this.#log.capacity) };
      }
      // State records: only the latest one of each object is rewritten (from RAM, the same size);
      // older ones are superseded, so compaction's copies never outgrow what they replace.
      case RT.FILE: {
        const f = files.get(u16(buf, b));
        if (!f || !f.name || f.fileAt !== block || refreshed.has('f' + f.id)) return undefined;
        refreshed.add('f' + f.id);
        return { rec: { type: RT.FILE, body: fileBody(f.id, f.counter, f.flags, f.name, f.info) } };
      }
      case RT.TRACKER: {
        const f = files.get(u16(buf, b));
        const name = utf8Decode(buf, b + 6, b + r.len);
        const value = f?.trackers.get(name);
        if (!f || value === undefined || f.trackerAt.get(name) !== block || refreshed.has('t' + f.id + '\0' + name)) return undefined;
        refreshed.add('t' + f.id + '\0' + name);
        return { rec: { type: RT.TRACKER, body: trackerBody(f.id, name, value) } };
      }
      case RT.KV: {
        const ns = buf[b];
        const key = utf8Decode(buf, b + 2, b + 2 + buf[b + 1]);
        const k = ns + '\0' + key;
        const value = this.#index.kv.get(k);
        if (value === undefined || this.#index.kvAt.get(k) !== block || refreshed.has('k' + k)) return undefined;
        refreshed.add('k' + k);
        return { rec: { type: RT.KV, body: kvBody(ns, key, value) } };
      }
      default:
        // WIPE: nothing older than the oldest block is left to forget.
        // DROP / UNFILE: whatever they cancelled lives only in blocks older than this one, all gone.
        return undefined;
    }
  }
}

/** Skips are worth keeping only between live entries of one run: drop leading and trailing ones. */
function bridges(copies: readonly Copy[]): Copy[] {
  const out: Copy[] = [];
  const follows = (a: EntryNote | undefined, b: EntryNote) =>
    !!a && a.file === b.file && a.seq + 1 === b.seq && a.flags === b.flags && a.format === b.format && a.record.length === b.record.length;
  for (let i = 0; i < copies.length; i++) {
    const c = copies[i];
    if (!c.skip) {
      out.push(c);
      continue;
    }
    if (!follows(out[out.length - 1]?.entry, c.entry!)) continue;
    let last = c.entry!;
    let j = i + 1;
    while (j < copies.length && copies[j].skip && follows(last, copies[j].entry!)) last = copies[j++].entry!;
    const next = copies[j];
    if (next && !next.skip && !next.rec && next.entry && follows(last, next.entry)) out.push(c);
  }
  return out;
}
