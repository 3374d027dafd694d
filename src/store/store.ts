// A log-structured store over raw NOR flash (docs/STORAGE.md).
//
// Every change is a record appended to the head block; a request's records are framed as one
// transaction and written in one flash write, then applied to the RAM index by the same code
// that replays the log at boot, so what the card answers is exactly what a reboot rebuilds.
// Space comes back by retiring the oldest block: its live notes are copied to the head, its
// small state records (files, trackers, settings) are rewritten from RAM, the rest is dropped.
// A templated queue note is an entry appended to the head's run (format.ts, Run): a few bytes
// and one flash write instead of a record.
// Record bodies and Txn: records.ts; reading blocks back: scan.ts.
import { CardError, fail } from '../errors';
import type { Flash } from '../host';
import { utf8Decode } from '../util/utf8';
import { crc32 } from '../util/crc32';
import {
  BLOCK_MAGIC, ENTRY, FF, FORMAT_JSON, HEADER_SEAL, MORE, NF, NO_TRACKER, REC_HEAD, RT, Rec, Run, SKIP, alignUp, entryBytes,
  frame, framedSize, put32, runBody, skipBytes, u16, u32,
} from './format';
import { Txn, fileBody, kvBody, parseNoteHead, trackerBody } from './records';
import { Found, scanBlock } from './scan';
import { SeqSet } from './seqset';
import { SpanTable } from './spans';

/** A keyed (database) note's place in the index: db files are small, so they stay in RAM. */
export interface KeyedEntry {
  seq: number;
  flags: number;
  block: number;
  offset: number;
}

/** Blocks whose queue-note positions stay cached (each costs 12 bytes per note in the block). */
const CACHED_BLOCKS = 4;

/** The tracker the sync engine owns: notes below it have been sent to the hub. */
export const HUB_TRACKER = '\u0001hub';

/** A notefile as the index knows it. Read by src/notefile; changed only through transactions. */
export class FileState {
  readonly id: number;
  name = ''; // '' until its FILE record is replayed
  flags = 0;
  /** Free-form JSON text owned by the notefile layer (template definition, ...). */
  info = '';
  /** The next change number. */
  counter = 1;
  /** Live unkeyed (queue) notes by change number, and where to look for them. */
  readonly queued = new SeqSet();
  readonly spans = new SpanTable();
  /** Keyed (database) notes and tombstones by id. */
  readonly keyed = new Map<string, KeyedEntry>();
  keyedLive = 0;
  readonly trackers = new Map<string, number>();
  /** The blocks holding the latest FILE and TRACKER records: compaction rewrites only those. */
  fileAt = -1;
  readonly trackerAt = new Map<string, number>();
  constructor(id: number) {
    this.id = id;
  }
  get total(): number {
    return this.queued.count + this.keyedLive;
  }
}

/** A note read back from flash. */
export interface StoredNote {
  file: number;
  seq: number;
  id?: string;
  /** Unix seconds, 0 when the clock was unknown. */
  time: number;
  flags: number;
  format: number;
  body?: Uint8Array;
  payload?: Uint8Array;
}

/** A queue note written as a run entry (templated, body only). */
interface EntryNote {
  file: number;
  seq: number;
  time: number;
  flags: number;
  format: number;
  record: Uint8Array;
}

/** Where one file's queued notes sit in a scanned block. An entry's offset is -1 - (offset of
 * its record); its time is in `times` and its run is the last of `runs` starting at or before it. */
interface BlockNotes {
  block: number;
  file: number;
  seqs: Int32Array;
  offsets: Int32Array;
  times: Uint32Array;
  runs: { from: number; run: Run }[];
}

/** Free blocks a transaction's own new block must leave. Additions stop at 3; deletions (and
 * sync acknowledgements, tracker moves) may take one more, so a full store can still be emptied.
 * Compaction never lowers the count: a retirement starts only when its copies need at most the
 * one block it frees (planned before anything is written), and takes that block transiently.
 * So 2 blocks are free at rest; a power cut in the middle of a retirement leaves at least 1, for
 * redoing the retirement or for a factory reset, which needs no compaction at all. */
const RESERVE = Object.freeze({ normal: 3, rescue: 2 });

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

export class StorageFull extends CardError {
  override name = 'StorageFull';
}

export interface StoreStats {
  blocks: number;
  blockSize: number;
  freeBlocks: number;
  /** Bytes of flash the log occupies (in-use blocks, counted to the write position of the head). */
  usedBytes: number;
  minErases: number;
  maxErases: number;
  files: number;
}

export class Store {
  readonly flash: Flash;
  readonly blockSize: number;
  readonly align: number;
  readonly blocks: number;
  /** Offset of the first record in a block. */
  readonly recordStart: number;
  /** The largest transaction (framed bytes) that fits in a block. */
  readonly capacity: number;

  #files = new Map<number, FileState>();
  #byName = new Map<string, FileState>();
  #kv = new Map<string, string>(); // ns + "\0" + key -> value text
  #kvAt = new Map<string, number>(); // ns + "\0" + key -> block of its latest record
  #nextFile = 1;
  #blockSeq: Uint32Array; // 0 = free
  #erases: Uint32Array;
  #order: number[] = []; // blocks in use, oldest first
  #free: number[] = [];
  #maxSeq = 0;
  #head = -1;
  #headPos = 0;
  #headOpen = false;
  /** The run the head block ends in, open for more entries. */
  #run: Run | undefined;
  #full = false;
  /** Mounted with fewer than RESERVE.rescue free blocks (a retirement cut short): until the next
   * retirement restores them, check() does not count it as a broken reserve. */
  #recovering = false;
  /** Recently scanned blocks: where one file's queued notes sit in each. */
  #cache: BlockNotes[] = [];
  /** Problems met while mounting (shown by check()). */
  readonly mountProblems: string[] = [];

  constructor(flash: Flash) {
    this.flash = flash;
    this.blockSize = flash.blockSize;
    this.align = Math.max(1, flash.writeAlign);
    this.blocks = Math.floor(flash.size / flash.blockSize);
    if (this.blocks < 6) throw new RangeError('the store needs at least 6 flash blocks');
    // The 16-byte header seal must be one aligned write.
    if (HEADER_SEAL % this.align) throw new RangeError(`write alignment ${this.align} must divide ${HEADER_SEAL}`);
    this.recordStart = HEADER_SEAL + alignUp(4, this.align);
    this.capacity = this.blockSize - this.recordStart;
    this.#blockSeq = new Uint32Array(this.blocks);
    this.#erases = new Uint32Array(this.blocks);
    this.#mount();
  }

  // ---- reading the index ----

  file(name: string): FileState | undefined {
    return this.#byName.get(name);
  }

  fileById(id: number): FileState | undefined {
    return this.#files.get(id);
  }

  /** Named files, in creation order. */
  files(): FileState[] {
    const out: FileState[] = [];
    for (const f of this.#files.values()) if (f.name) out.push(f);
    return out.sort((a, b) => a.id - b.id);
  }

  kv(ns: number, key: string): string | undefined {
    return this.#kv.get(ns + '\0' + key);
  }

  kvKeys(ns: number): string[] {
    const prefix = ns + '\0';
    const out: string[] = [];
    for (const k of this.#kv.keys()) if (k.startsWith(prefix)) out.push(k.slice(prefix.length));
    return out;
  }

  /** Read a keyed note (or tombstone). */
  readKeyed(file: FileState, id: string): StoredNote | undefined {
    const e = file.keyed.get(id);
    return e && this.#readAt(e.block, e.offset);
  }

  /** Read a queued note by change number (scans the one or two blocks that may hold it). */
  readQueued(file: FileState, seq: number): StoredNote | undefined {
    if (!file.queued.has(seq)) return undefined;
    for (const c of this.#cache) {
      const i = c.file === file.id ? c.seqs.indexOf(seq) : -1;
      if (i >= 0) return this.#readCached(c, i);
    }
    let found: StoredNote | undefined;
    file.spans.blocksFor(seq, (block) => {
      const c = this.#notesIn(block, file);
      const i = c.seqs.indexOf(seq);
      if (i >= 0) found = this.#readCached(c, i);
      return found !== undefined;
    });
    return found;
  }

  #readCached(c: BlockNotes, i: number): StoredNote {
    const at = c.offsets[i];
    if (at >= 0) return this.#readAt(c.block, at);
    let run = c.runs[0].run;
    for (const r of c.runs) if (r.from <= i) run = r.run;
    const body = this.flash.read(c.block * this.blockSize - 1 - at, run.len);
    return { file: run.file, seq: c.seqs[i], time: c.times[i], flags: run.flags, format: run.format, body };
  }

  /** After a power cut in the middle of a retirement, a queued note may already have its copy. */
  #copiedElsewhere(file: FileState, seq: number, block: number): boolean {
    return file.spans.blocksFor(seq, (other) => other !== block && this.#notesIn(other, file).seqs.indexOf(seq) >= 0);
  }

  /** Where a file's queued notes sit in a block. A few scanned blocks stay cached: queues are read in order. */
  #notesIn(block: number, file: FileState): BlockNotes {
    let hit = this.#cache.find((c) => c.block === block && c.file === file.id);
    if (!hit) {
      const seqs: number[] = [];
      const offsets: number[] = [];
      const times: number[] = [];
      const runs: { from: number; run: Run }[] = [];
      const buf = this.flash.read(block * this.blockSize, this.blockSize);
      scanBlock(buf, this.recordStart, this.align, (r) => {
        if (r.type === ENTRY && r.run!.file === file.id) {
          const last = runs[runs.length - 1]?.run;
          if (!last || last.flags !== r.run!.flags || last.format !== r.run!.format || last.len !== r.run!.len) runs.push({ from: seqs.length, run: r.run! });
          seqs.push(r.seq!);
          offsets.push(-1 - r.body);
          times.push(r.time!);
          return;
        }
        if (r.type !== RT.NOTE || u16(buf, r.body) !== file.id || buf[r.body + 10] & NF.KEYED) return;
        seqs.push(u32(buf, r.body + 2));
        offsets.push(r.at);
        times.push(0);
      });
      hit = { block, file: file.id, seqs: Int32Array.from(seqs), offsets: Int32Array.from(offsets), times: Uint32Array.from(times), runs };
      this.#cache.unshift(hit);
      if (this.#cache.length > CACHED_BLOCKS) this.#cache.pop();
    }
    return hit;
  }

  #forget(block: number): void {
    this.#cache = this.#cache.filter((c) => c.block !== block);
  }

  #readAt(block: number, at: number): StoredNote {
    const base = block * this.blockSize + at;
    const head = this.flash.read(base, REC_HEAD);
    const rec = this.flash.read(base, REC_HEAD + u16(head, 4));
    return this.#decode(rec, 0, block);
  }

  #decode(buf: Uint8Array, at: number, block: number): StoredNote {
    const len = u16(buf, at + 4);
    const b = at + REC_HEAD;
    if ((buf[at + 6] & ~MORE) !== RT.NOTE) throw new Error(`no note record at block ${block} offset ${at}`);
    const h = parseNoteHead(buf, b, len);
    const note: StoredNote = { file: h.file, seq: h.seq, id: h.id, time: h.time, flags: h.flags, format: h.format };
    if (h.flags & NF.BODY) note.body = buf.slice(b + h.bodyAt, b + h.bodyAt + h.bodyLen);
    if (h.flags & NF.PAYLOAD) note.payload = buf.slice(b + h.payloadAt, b + h.payloadAt + h.payloadLen);
    return note;
  }

  // ---- changing ----

  begin(): Txn {
    return new Txn((file) => this.#files.get(file)?.counter ?? 1, this.#nextFile);
  }

  /** Write a transaction and apply it. Durable when this returns; all or nothing on a power cut. */
  commit(tx: Txn): void {
    if (!tx.recs.length) return;
    this.#purges(tx);
    const entry = tx.recs.length === 1 && tx.recs[0].type === RT.NOTE ? this.#entryOf(tx.recs[0].body, 0, tx.recs[0].body.length) : undefined;
    if (entry) {
      this.#putEntry(entry, RESERVE.normal);
      return;
    }
    const size = framedSize(tx.recs, this.align);
    if (size > this.capacity) fail(`too big: one change may take at most ${this.capacity} bytes of flash, this one needs ${size}`, 'too-big');
    this.#room(size, tx.freeing ? RESERVE.rescue : RESERVE.normal);
    let o = this.#write(frame(tx.recs, this.align, true));
    for (const r of tx.recs) {
      this.#apply(r.type, r.body, 0, r.body.length, this.#head, o);
      o += alignUp(REC_HEAD + r.body.length, this.align);
    }
    // Only a removal can make room in a full store: until then additions fail fast, without
    // rotating the whole log again (wear).
    if (tx.frees) this.#full = false;
  }

  /** A note record that can be a run entry: a templated queue note with a body and no payload. */
  #entryOf(buf: Uint8Array, b: number, len: number): EntryNote | undefined {
    const h = parseNoteHead(buf, b, len);
    const ok = h.id === undefined && h.flags & NF.BODY && !(h.flags & (NF.PAYLOAD | NF.DELETED)) && h.format !== FORMAT_JSON;
    if (!ok || h.bodyLen < 1 || h.bodyLen + 64 > this.capacity) return undefined;
    const record = buf.slice(b + h.bodyAt, b + h.bodyAt + h.bodyLen);
    return { file: h.file, seq: h.seq, time: h.time, flags: h.flags, format: h.format, record };
  }

  /** Write a queue note as an entry of the head's run, or as the first entry of a new run
   * (its RUN record and the entry in one flash write). Then apply it. */
  #putEntry(e: EntryNote, level: number): void {
    if (this.#free.length < level || !this.#appendEntry(e)) {
      const run: Run = { file: e.file, next: e.seq, time: e.time, step: 0, flags: e.flags, format: e.format, len: e.record.length };
      const head = frame([{ type: RT.RUN, body: runBody(run) }], this.align, false);
      const entry = entryBytes(run, e.time, e.record);
      this.#room(head.length + alignUp(entry.length, this.align), level);
      if (!this.#appendEntry(e)) {
        const bytes = new Uint8Array(head.length + alignUp(entry.length, this.align)).fill(0xff);
        bytes.set(head);
        bytes.set(entry, head.length);
        this.#write(bytes, { ...run, next: e.seq + 1 });
      }
    }
    this.#applyQueued(e.file, e.seq, this.#head);
  }

  /** Append `e` to the head's open run when it continues it and fits: one flash write. */
  #appendEntry(e: EntryNote): boolean {
    const r = this.#run;
    if (!r || !this.#headOpen || r.file !== e.file || r.next !== e.seq || r.flags !== e.flags || r.format !== e.format) return false;
    if (r.len !== e.record.length) return false;
    const entry = entryBytes(r, e.time, e.record);
    const bytes = new Uint8Array(alignUp(entry.length, this.align)).fill(0xff);
    bytes.set(entry);
    if (this.#headPos + bytes.length > this.blockSize) return false;
    this.#write(bytes, { ...r, next: r.next + 1, time: e.time, step: e.time - r.time }, true);
    return true;
  }

  /** Append bytes at the head; returns where they start. Anything but an entry (`append`) first
   * ends an open run with a zero byte, in the same write. `run` is the run open after it.
   * A failed write closes the head: nothing may follow a torn record. */
  #write(bytes: Uint8Array, run?: Run, append = false): number {
    this.#forget(this.#head);
    let out = bytes;
    if (this.#run && !append) {
      out = new Uint8Array(alignUp(1, this.align) + bytes.length); // zeros: the run's end
      out.set(bytes, out.length - bytes.length);
    }
    try {
      this.flash.write(this.#head * this.blockSize + this.#headPos, out);
    } catch (e) {
      this.#headOpen = false;
      this.#run = undefined;
      throw e;
    }
    const at = this.#headPos + out.length - bytes.length;
    this.#headPos += out.length;
    this.#run = run;
    return at;
  }

  /** Whether `size` bytes (plus the end of an open run) fit at the head. */
  #fits(size: number): boolean {
    const end = this.#run ? alignUp(1, this.align) : 0;
    return this.#head >= 0 && this.#headOpen && this.#headPos + size + end <= this.blockSize;
  }

  /** Make room for `size` bytes at the head for a transaction of `level`: it writes only while
   * at least `level` blocks are free (so additions never use the space a deletion took from the
   * reserve), and takes a new block only when that leaves `level` free. Old blocks are retired
   * until then; a whole rotation without room means the store is full. */
  #room(size: number, level: number): void {
    let rotations = 0;
    for (;;) {
      const free = this.#free.length;
      if (free >= level && this.#fits(size)) return;
      if (free > level) return this.#allocate();
      if (level === RESERVE.normal && this.#full) this.#tooFull();
      try {
        if (rotations++ > this.blocks) this.#tooFull();
        this.#retireOldest();
      } catch (e) {
        if (e instanceof StorageFull) this.#full = true;
        throw e;
      }
    }
  }

  #tooFull(): never {
    throw new StorageFull(`storage full: the ${(this.blocks * this.blockSize) >> 10} KB notefile store has no room left; delete or sync notes`, 'storage-full', 'too-big');
  }

  /** Take the least-worn free block as the new head. */
  #allocate(): void {
    let pick = 0;
    for (let i = 1; i < this.#free.length; i++) if (this.#erases[this.#free[i]] < this.#erases[this.#free[pick]]) pick = i;
    const block = this.#free[pick];
    this.#headOpen = false;
    this.flash.erase(block);
    this.#erases[block]++;
    const seq = ++this.#maxSeq;
    const header = new Uint8Array(this.recordStart).fill(0xff);
    put32(header, 0, BLOCK_MAGIC);
    put32(header, 4, seq);
    put32(header, 16, this.#erases[block]);
    put32(header, 8, headerCrc(header));
    this.flash.write(block * this.blockSize, header);
    this.#free.splice(pick, 1);
    this.#blockSeq[block] = seq;
    this.#order.push(block);
    this.#head = block;
    this.#headPos = this.recordStart;
    this.#headOpen = true;
    this.#run = undefined;
  }

  /** Retire the oldest block: copy what is live in it to the head, then zero its header. The
   * copies are planned first: a retirement that would need more than the one block it frees
   * is refused ({storage-full}) before anything is written, so compaction never eats the reserve. */
  #retireOldest(): void {
    const block = this.#order[0];
    const wasOpen = this.#headOpen;
    if (block === this.#head) this.#headOpen = false;
    const buf = this.flash.read(block * this.blockSize, this.blockSize);
    const refreshed = new Set<string>();
    let keep: Copy[] = [];
    scanBlock(buf, this.recordStart, this.align, (r) => {
      const kept = this.#survivor(buf, r, block, refreshed);
      if (kept) keep.push(kept);
    });
    keep = bridges(keep);
    const need = this.#place(keep, false);
    if (need > 1 || need > this.#free.length) {
      this.#headOpen = wasOpen; // nothing was written
      this.#tooFull();
    }
    this.#place(keep, true);
    this.flash.write(block * this.blockSize, new Uint8Array(HEADER_SEAL));
    this.#order.shift();
    this.#blockSeq[block] = 0;
    this.#free.push(block);
    for (const f of this.#files.values()) f.spans.forget(block);
    this.#forget(block);
    if (this.#free.length >= RESERVE.rescue) this.#recovering = false;
  }

  /** Lay compaction's copies out at the head. Planning (`write` false) only counts the new
   * blocks they need; writing takes the very same decisions, then writes and applies each copy.
   * A NOTE record that may be a run entry becomes one when that costs no more (see #asEntry). */
  #place(copies: readonly Copy[], write: boolean): number {
    const cur: Cursor = { pos: this.#headPos, open: this.#head >= 0 && this.#headOpen, run: this.#run, fresh: 0 };
    const end = alignUp(1, this.align); // the zero unit that ends an open run
    const fits = (n: number) => cur.open && cur.pos + n + (cur.run ? end : 0) <= this.blockSize;
    const fresh = () => {
      cur.fresh++;
      cur.pos = this.recordStart;
      cur.open = true;
      cur.run = undefined;
      if (write) this.#allocate();
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
          this.#write(out, next, true);
        }
        cur.pos += bytes;
        cur.run = next;
        if (write && cur.pos !== this.#headPos) throw new Error('compaction plan and head disagree');
        return;
      }
      const e = c.entry && (!c.rec || this.#asEntry(copies, i, cur)) ? c.entry : undefined;
      if (e) {
        const r = cur.run;
        const n = cur.open && r && continues(r, e) ? alignUp(entryBytes(r, e.time, e.record).length, this.align) : -1;
        if (r && n > 0 && cur.pos + n <= this.blockSize) {
          if (write && !this.#appendEntry(e)) throw new Error('compaction plan and head disagree');
          cur.pos += n;
          cur.run = { ...r, next: r.next + 1, time: e.time, step: e.time - r.time };
        } else {
          const run: Run = { file: e.file, next: e.seq, time: e.time, step: 0, flags: e.flags, format: e.format, len: e.record.length };
          const head = frame([{ type: RT.RUN, body: runBody(run) }], this.align, false);
          const bytes = new Uint8Array(head.length + alignUp(entryBytes(run, e.time, e.record).length, this.align)).fill(0xff);
          if (!fits(bytes.length)) fresh();
          if (write) {
            bytes.set(head);
            bytes.set(entryBytes(run, e.time, e.record), head.length);
            this.#write(bytes, { ...run, next: e.seq + 1 });
          }
          cur.pos += (cur.run ? end : 0) + bytes.length;
          cur.run = { ...run, next: e.seq + 1 };
        }
        if (write) this.#applyQueued(e.file, e.seq, this.#head);
      } else {
        const rec = c.rec!;
        const size = framedSize([rec], this.align);
        if (!fits(size)) fresh();
        if (write) {
          const at = this.#write(frame([rec], this.align, false));
          this.#apply(rec.type, rec.body, 0, rec.body.length, this.#head, at);
        }
        cur.pos += (cur.run ? end : 0) + size;
        cur.run = undefined;
      }
      if (write && cur.pos !== this.#headPos) throw new Error('compaction plan and head disagree');
    });
    return cur.fresh;
  }

  /** The bytes of the skip slot copies[i] when the head's run bridges the gap it is in, else 0.
   * A gap is bridged when the head's run continues into it, its skips and the live entry after
   * it fit in the block, and the skips cost no more than a new run would (RUN record, the zero
   * unit ending this run, and what the entry after it may grow by). */
  #bridge(copies: readonly Copy[], i: number, cur: Cursor): number {
    let r = cur.run;
    if (!cur.open || !r || !continues(r, copies[i].entry!)) return 0;
    let bytes = 0;
    let first = 0;
    let j = i;
    for (; copies[j].skip; j++) {
      const n = alignUp(skipBytes(r, copies[j].entry!.time).length, this.align);
      if (j === i) first = n;
      bytes += n;
      r = { ...r, next: r.next + 1, time: copies[j].entry!.time, step: copies[j].entry!.time - r.time };
    }
    const e = copies[j].entry!; // bridges() leaves only skips followed by a live entry of the run
    const entry = alignUp(entryBytes(r, e.time, e.record).length, this.align);
    const newRun = framedSize([{ type: RT.RUN, body: runBody(r) }], this.align) + alignUp(1, this.align) + alignUp(4, this.align);
    return bytes <= newRun && cur.pos + bytes + entry <= this.blockSize ? first : 0;
  }

  /** Whether the NOTE record copies[i] (a templated queue note) goes as a run entry: when it
   * continues the head's run, when an entry that must go in a run follows it, or when the
   * notes that would form its run cost less as one than as records. */
  #asEntry(copies: readonly Copy[], i: number, cur: Cursor): boolean {
    const e = copies[i].entry!;
    const r = cur.run;
    if (cur.open && r && continues(r, e) && cur.pos + alignUp(entryBytes(r, e.time, e.record).length, this.align) <= this.blockSize) return true;
    let run: Run = { file: e.file, next: e.seq, time: e.time, step: 0, flags: e.flags, format: e.format, len: e.record.length };
    let asRun = framedSize([{ type: RT.RUN, body: runBody(run) }], this.align) + alignUp(1, this.align);
    let asRecords = 0;
    for (let j = i; j < copies.length; j++) {
      const x = copies[j].entry;
      if (!x || !continues(run, x)) break;
      if (!copies[j].rec) return true;
      asRun += alignUp(entryBytes(run, x.time, x.record).length, this.align);
      asRecords += framedSize([copies[j].rec!], this.align);
      run = { ...run, next: run.next + 1, time: x.time, step: x.time - run.time };
    }
    return asRun <= asRecords;
  }

  /** What a record in a retiring block becomes: a copy (templated queue notes as run entries),
   * a fresh rewrite from RAM, or nothing. */
  #survivor(buf: Uint8Array, r: Found, block: number, refreshed: Set<string>): Copy | undefined {
    const b = r.body;
    switch (r.type) {
      case ENTRY:
      case SKIP: {
        // Every slot of a run comes back: a live entry, or a skip that may bridge a gap (bridges()).
        const e = r.run!;
        const f = this.#files.get(e.file);
        if (!f) return undefined;
        const live = r.type === ENTRY && f.queued.has(r.seq!) && !this.#copiedElsewhere(f, r.seq!, block);
        const record = r.type === ENTRY ? buf.slice(b, b + r.len) : new Uint8Array(e.len);
        const entry = { file: e.file, seq: r.seq!, time: r.time!, flags: e.flags, format: e.format, record };
        return live ? { entry } : { entry, skip: true };
      }
      case RT.NOTE: {
        const f = this.#files.get(u16(buf, b));
        if (!f) return undefined;
        const h = parseNoteHead(buf, b, r.len);
        const live = h.id !== undefined
          ? f.keyed.get(h.id)?.block === block && f.keyed.get(h.id)?.offset === r.at
          : f.queued.has(h.seq) && !this.#copiedElsewhere(f, h.seq, block);
        if (!live) return undefined;
        return { rec: { type: RT.NOTE, body: buf.slice(b, b + r.len) }, entry: this.#entryOf(buf, b, r.len) };
      }
      // State records: only the latest one of each object is rewritten (from RAM, the same size);
      // older ones are superseded, so compaction's copies never outgrow what they replace.
      case RT.FILE: {
        const f = this.#files.get(u16(buf, b));
        if (!f || !f.name || f.fileAt !== block || refreshed.has('f' + f.id)) return undefined;
        refreshed.add('f' + f.id);
        return { rec: { type: RT.FILE, body: fileBody(f.id, f.counter, f.flags, f.name, f.info) } };
      }
      case RT.TRACKER: {
        const f = this.#files.get(u16(buf, b));
        const name = utf8Decode(buf, b + 6, b + r.len);
        const value = f?.trackers.get(name);
        if (!f || value === undefined || f.trackerAt.get(name) !== block || refreshed.has('t' + f.id + '\0' + name)) return undefined;
        refreshed.add('t' + f.id + '\0' + name);
        return { rec: { type: RT.TRACKER, body: trackerBody(f.id, name, value) } };
      }
      case RT.KV: {
        const ns = buf[b];
        const key = utf8Decode(buf, b + 2, b + 2 + buf[b + 1]);
        const value = this.kv(ns, key);
        const k = ns + '\0' + key;
        if (value === undefined || this.#kvAt.get(k) !== block || refreshed.has('k' + k)) return undefined;
        refreshed.add('k' + k);
        return { rec: { type: RT.KV, body: kvBody(ns, key, value) } };
      }
      default:
        // WIPE: nothing older than the oldest block is left to forget.
        // DROP / UNFILE: whatever they cancelled lives only in blocks older than this one, all gone.
        return undefined;
    }
  }

  /** Factory reset: forget everything but the given settings, atomically. It needs no
   * compaction: the WIPE goes at the head, or in a free block (the reserve always keeps one);
   * then every older block is retired, and nothing in them survives. */
  wipe(keep: (tx: Txn) => void): void {
    const tx = this.begin();
    tx.wipe();
    keep(tx);
    const size = framedSize(tx.recs, this.align);
    if (!this.#fits(size)) {
      if (!this.#free.length) this.#tooFull();
      this.#allocate();
    }
    let o = this.#write(frame(tx.recs, this.align, true));
    for (const r of tx.recs) {
      this.#apply(r.type, r.body, 0, r.body.length, this.#head, o);
      o += alignUp(REC_HEAD + r.body.length, this.align);
    }
    this.#full = false;
    while (this.#order[0] !== this.#head) this.#retireOldest();
  }

  // ---- the one place state changes (live and at boot) ----

  #fileFor(id: number): FileState {
    let f = this.#files.get(id);
    if (!f) {
      f = new FileState(id);
      this.#files.set(id, f);
    }
    if (id >= this.#nextFile) this.#nextFile = id + 1;
    return f;
  }

  #applyQueued(file: number, seq: number, block: number): void {
    const f = this.#fileFor(file);
    f.counter = Math.max(f.counter, seq + 1);
    f.queued.add(seq);
    f.spans.note(block, seq);
  }

  #apply(type: number, buf: Uint8Array, b: number, len: number, block: number, at: number): void {
    switch (type) {
      case RT.RUN: // its entries are applied one by one
        break;
      case RT.FILE: {
        const f = this.#fileFor(u16(buf, b));
        f.counter = Math.max(f.counter, u32(buf, b + 2));
        f.flags = buf[b + 6];
        const n = buf[b + 7];
        const name = utf8Decode(buf, b + 8, b + 8 + n);
        if (f.name !== name) {
          if (f.name) this.#byName.delete(f.name);
          f.name = name;
          this.#byName.set(name, f);
        }
        f.info = utf8Decode(buf, b + 8 + n, b + len);
        f.fileAt = block;
        break;
      }
      case RT.NOTE: {
        const h = parseNoteHead(buf, b, len);
        const f = this.#fileFor(h.file);
        f.counter = Math.max(f.counter, h.seq + 1);
        if (h.id === undefined) {
          f.queued.add(h.seq);
          f.spans.note(block, h.seq);
          break;
        }
        const old = f.keyed.get(h.id);
        if (old && old.seq > h.seq) break;
        if (old && !(old.flags & NF.DELETED)) f.keyedLive--;
        f.keyed.set(h.id, { seq: h.seq, flags: h.flags, block, offset: at });
        if (!(h.flags & NF.DELETED)) f.keyedLive++;
        break;
      }
      case RT.DROP: {
        const f = this.#fileFor(u16(buf, b));
        for (let o = b + 2; o + 8 <= b + len; o += 8) {
          const lo = u32(buf, o);
          const hi = u32(buf, o + 4);
          f.queued.remove(lo, hi);
          for (const [id, e] of f.keyed) {
            if (e.seq < lo || e.seq >= hi) continue;
            if (!(e.flags & NF.DELETED)) f.keyedLive--;
            f.keyed.delete(id);
          }
        }
        break;
      }
      case RT.UNFILE: {
        const id = u16(buf, b);
        const f = this.#files.get(id);
        if (id >= this.#nextFile) this.#nextFile = id + 1;
        if (!f) break;
        this.#files.delete(id);
        if (f.name && this.#byName.get(f.name) === f) this.#byName.delete(f.name);
        break;
      }
      case RT.TRACKER: {
        const f = this.#fileFor(u16(buf, b));
        const value = u32(buf, b + 2);
        const name = utf8Decode(buf, b + 6, b + len);
        if (value === NO_TRACKER) {
          f.trackers.delete(name);
          f.trackerAt.delete(name);
        } else {
          f.trackers.set(name, value);
          f.trackerAt.set(name, block);
        }
        break;
      }
      case RT.KV: {
        const key = buf[b] + '\0' + utf8Decode(buf, b + 2, b + 2 + buf[b + 1]);
        const o = b + 2 + buf[b + 1];
        if (buf[o]) {
          this.#kv.set(key, utf8Decode(buf, o + 1, b + len));
          this.#kvAt.set(key, block);
        } else {
          this.#kv.delete(key);
          this.#kvAt.delete(key);
        }
        break;
      }
      case RT.WIPE:
        this.#files.clear();
        this.#byName.clear();
        this.#kv.clear();
        this.#kvAt.clear();
        break;
      default:
        this.mountProblems.push(`unknown record type ${type} at block ${block} offset ${at}`);
    }
  }

  /** Tombstones that every tracker (and, for synced files, the hub) will have passed once `tx`
   * applies are dropped by `tx` itself. Purging is thus an explicit record, never a side effect
   * of replay order: what a reboot rebuilds cannot depend on which old records were compacted. */
  #purges(tx: Txn): void {
    const files = new Set<number>([...tx.trackerMoves.keys(), ...tx.keyedWrites.keys()]);
    for (const id of files) {
      const f = this.#files.get(id);
      if (!f || tx.unfiled.has(id)) continue;
      const trackers = new Map(f.trackers);
      for (const [name, v] of tx.trackerMoves.get(id) ?? []) {
        if (v === undefined) trackers.delete(name);
        else trackers.set(name, v);
      }
      let floor = Infinity;
      for (const [name, v] of trackers) if (name !== HUB_TRACKER) floor = Math.min(floor, v);
      const hub = f.flags & FF.SYNCED ? trackers.get(HUB_TRACKER) ?? 0 : Infinity;
      const tombstones = new Map<string, { seq: number; flags: number }>();
      // Without a tracker move, only this transaction's own tombstones can have become purgeable.
      if (tx.trackerMoves.has(id)) for (const [nid, e] of f.keyed) if (e.flags & NF.DELETED) tombstones.set(nid, e);
      for (const [nid, w] of tx.keyedWrites.get(id) ?? []) tombstones.set(nid, w);
      const ranges: number[] = [];
      for (const t of tombstones.values()) {
        if (!(t.flags & NF.DELETED) || t.seq >= floor) continue;
        if (t.seq >= hub && !(t.flags & NF.FROM_HUB)) continue;
        ranges.push(t.seq, t.seq + 1);
      }
      if (ranges.length) tx.drop(id, ranges);
    }
  }

  // ---- boot ----

  #mount(): void {
    const found: number[] = [];
    let maxErases = 0;
    const unknown: number[] = [];
    for (let block = 0; block < this.blocks; block++) {
      const h = this.flash.read(block * this.blockSize, this.recordStart);
      const erases = u32(h, 16);
      if (erases !== 0xffffffff) {
        this.#erases[block] = erases;
        maxErases = Math.max(maxErases, erases);
      } else unknown.push(block);
      if (u32(h, 0) === BLOCK_MAGIC && u32(h, 8) === headerCrc(h) && u32(h, 4) !== 0) {
        this.#blockSeq[block] = u32(h, 4);
        found.push(block);
      } else this.#free.push(block);
    }
    for (const block of unknown) this.#erases[block] = maxErases;
    found.sort((a, b) => this.#blockSeq[a] - this.#blockSeq[b]);
    this.#order = found;
    for (const block of found) {
      this.#maxSeq = Math.max(this.#maxSeq, this.#blockSeq[block]);
      const buf = this.flash.read(block * this.blockSize, this.blockSize);
      const end = scanBlock(buf, this.recordStart, this.align, (r) => {
        if (r.type === ENTRY) this.#applyQueued(r.run!.file, r.seq!, block);
        else if (r.type !== SKIP) this.#apply(r.type, buf, r.body, r.len, block, r.at);
      });
      if (block === found[found.length - 1]) {
        this.#head = block;
        this.#headPos = end.end;
        this.#headOpen = end.clean;
        this.#run = end.run;
      }
    }
    for (const f of this.#files.values()) {
      if (!f.name) this.mountProblems.push(`file ${f.id} has records but no FILE record`);
    }
    this.#recovering = this.#order.length > 0 && this.#free.length < RESERVE.rescue;
  }

  // ---- figures and checks ----

  stats(): StoreStats {
    let min = Infinity;
    let max = 0;
    for (let b = 0; b < this.blocks; b++) {
      min = Math.min(min, this.#erases[b]);
      max = Math.max(max, this.#erases[b]);
    }
    const inUse = this.#order.length;
    return {
      blocks: this.blocks,
      blockSize: this.blockSize,
      freeBlocks: this.#free.length,
      usedBytes: inUse ? (inUse - 1) * this.blockSize + this.#headPos : 0,
      minErases: min,
      maxErases: max,
      files: this.files().length,
    };
  }

  /** Bytes of RAM the index and its lookup cache hold beyond an empty store's, counted from
   * their structures (JS object overheads estimated generously). */
  indexBytes(): number {
    let n = 0;
    for (const f of this.#files.values()) {
      n += 200 + f.name.length * 2 + f.info.length * 2;
      n += f.queued.runs * 2 * 16 + f.spans.bytes();
      n += f.keyed.size * 96;
      n += f.trackers.size * 64;
    }
    for (const [k, v] of this.#kv) n += 64 + (k.length + v.length) * 2;
    for (const c of this.#cache) n += 64 + c.seqs.byteLength + c.offsets.byteLength + c.times.byteLength + c.runs.length * 48;
    return n;
  }

  /** Rebuild the index from flash and compare it with the live one; also read every note back. */
  check(): string[] {
    const problems = [...this.mountProblems];
    const fresh = new Store(this.flash);
    problems.push(...fresh.mountProblems);
    const a = this.snapshot();
    const b = fresh.snapshot();
    if (a !== b) problems.push(`index differs from a replay of flash:\n live ${a}\n replay ${b}`);
    for (const f of this.files()) {
      for (let s = f.queued.next(0); s >= 0; s = f.queued.next(s + 1)) {
        const n = this.readQueued(f, s);
        if (!n || n.seq !== s || n.file !== f.id) problems.push(`${f.name}: queued note ${s} not found on flash`);
      }
      for (const [id, e] of f.keyed) {
        const n = this.#readAt(e.block, e.offset);
        if (n.id !== id || n.seq !== e.seq) problems.push(`${f.name}: note ${id} is not where the index says`);
      }
    }
    // The reserve: deletions, acknowledgements and a factory reset must always find room.
    if (this.#free.length < RESERVE.rescue && !this.#recovering) {
      problems.push(`reserve broken: ${this.#free.length} free blocks, at least ${RESERVE.rescue} must stay free`);
    }
    const seqs = new Set<number>();
    for (const block of this.#order) {
      if (seqs.has(this.#blockSeq[block])) problems.push(`two blocks with sequence ${this.#blockSeq[block]}`);
      seqs.add(this.#blockSeq[block]);
    }
    return problems;
  }

  /** A canonical text of the index (for checks and tests). */
  snapshot(): string {
    const files = this.files().map((f) => ({
      id: f.id, name: f.name, flags: f.flags, info: f.info, counter: f.counter,
      queued: f.queued.toArray(),
      keyed: [...f.keyed].map(([id, e]) => [id, e.seq, e.flags]).sort(),
      trackers: [...f.trackers].sort(),
    }));
    return JSON.stringify({ files, kv: [...this.#kv].sort() });
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

/** Whether entry `e` is the next one of run `r`. */
function continues(r: Run, e: EntryNote): boolean {
  return r.file === e.file && r.next === e.seq && r.flags === e.flags && r.format === e.format && r.len === e.record.length;
}

function headerCrc(h: Uint8Array): number {
  const b = new Uint8Array(12);
  b.set(h.subarray(0, 8));
  b.set(h.subarray(16, 20), 8);
  return crc32(b);
}

export { Txn } from './records';
export type { NoteInput } from './records';
