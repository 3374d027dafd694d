// A log-structured store over raw NOR flash (docs/STORAGE.md).
//
// Every change is a record appended to the head block; a request's records are framed as one
// transaction and written in one flash write, then applied to the RAM index by the same code
// that replays the log at boot, so what the card answers is exactly what a reboot rebuilds.
// Store coordinates the parts, one job each: the RAM index (ram-index.ts), block allocation
// and wear (blocks.ts), runs of templated queue notes (runs.ts), compaction (compaction.ts),
// reading notes back (read-cache.ts) and tombstone purging by the notefile layer's policy
// (purge.ts). Record bodies and Txn: records.ts; reading blocks back: scan.ts.
import { fail } from '../errors';
import type { Flash } from '../host';
import { ENTRY, REC_HEAD, RT, SKIP, alignUp, frame, framedSize } from './format';
import { Blocks } from './blocks';
import { Compactor, RESERVE } from './compaction';
import { PurgePolicy, addPurges } from './purge';
import { RamIndex, ReadonlyFileState } from './ram-index';
import { ReadCache, StoredNote } from './read-cache';
import { Txn } from './records';
import { entryOf, putEntry } from './runs';
import { scanBlock } from './scan';

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
  /** Problems met while mounting (shown by check()). */
  readonly mountProblems: string[] = [];

  readonly #index = new RamIndex(this.mountProblems);
  readonly #log: Blocks;
  readonly #cache: ReadCache;
  readonly #compactor: Compactor;
  /** Which tombstones a commit drops: none until the notefile layer says (purgeWith). */
  #purge: PurgePolicy | undefined;

  constructor(flash: Flash) {
    this.#log = new Blocks(flash, (block) => this.#cache.forget(block));
    this.flash = flash;
    this.blockSize = this.#log.blockSize;
    this.align = this.#log.align;
    this.blocks = this.#log.count;
    this.recordStart = this.#log.recordStart;
    this.capacity = this.#log.capacity;
    this.#cache = new ReadCache(flash, this.blockSize, this.recordStart, this.align);
    this.#compactor = new Compactor(this.#log, this.#index, this.#cache);
    this.#mount();
  }

  /** The notefile layer's rule for which tombstones may be dropped (src/notefile/notefiles.ts). */
  purgeWith(policy: PurgePolicy): void {
    this.#purge = policy;
  }

  // ---- reading the index ----

  file(name: string): ReadonlyFileState | undefined {
    return this.#index.byName.get(name);
  }

  fileById(id: number): ReadonlyFileState | undefined {
    return this.#index.files.get(id);
  }

  /** Named files, in creation order. */
  files(): ReadonlyFileState[] {
    return this.#index.named();
  }

  kv(ns: number, key: string): string | undefined {
    return this.#index.kv.get(ns + '\0' + key);
  }

  kvKeys(ns: number): string[] {
    const prefix = ns + '\0';
    const out: string[] = [];
    for (const k of this.#index.kv.keys()) if (k.startsWith(prefix)) out.push(k.slice(prefix.length));
    return out;
  }

  /** Read a keyed note (or tombstone). */
  readKeyed(file: ReadonlyFileState, id: string): StoredNote | undefined {
    const e = file.keyed.get(id);
    return e && this.#cache.readAt(e.block, e.offset);
  }

  /** Read a queued note by change number (scans the one or two blocks that may hold it). */
  readQueued(file: ReadonlyFileState, seq: number): StoredNote | undefined {
    return this.#cache.readQueued(file, seq);
  }

  // ---- changing ----

  begin(): Txn {
    return new Txn((file) => this.#index.files.get(file)?.counter ?? 1, this.#index.nextFile);
  }

  /** Write a transaction and apply it. Durable when this returns; all or nothing on a power cut. */
  commit(tx: Txn): void {
    if (!tx.recs.length) return;
    if (this.#purge) addPurges(tx, this.#index, this.#purge);
    const entry = tx.recs.length === 1 && tx.recs[0].type === RT.NOTE ? entryOf(tx.recs[0].body, 0, tx.recs[0].body.length, this.capacity) : undefined;
    if (entry) {
      putEntry(this.#log, entry, RESERVE.normal, (size, level) => this.#compactor.room(size, level));
      this.#index.applyQueued(entry.file, entry.seq, this.#log.head);
      return;
    }
    const size = framedSize(tx.recs, this.align);
    if (size > this.capacity) fail(`too big: one change may take at most ${this.capacity} bytes of flash, this one needs ${size}`, 'too-big');
    this.#compactor.room(size, tx.freeing ? RESERVE.rescue : RESERVE.normal);
    this.#writeTxn(tx);
    // Only a removal can make room in a full store: until then additions fail fast, without
    // rotating the whole log again (wear).
    if (tx.frees) this.#compactor.full = false;
  }

  #writeTxn(tx: Txn): void {
    let o = this.#log.write(frame(tx.recs, this.align, true));
    for (const r of tx.recs) {
      this.#index.apply(r.type, r.body, 0, r.body.length, this.#log.head, o);
      o += alignUp(REC_HEAD + r.body.length, this.align);
    }
  }

  /** Factory reset: forget everything but the given settings, atomically. It needs no
   * compaction: the WIPE goes at the head, or in a free block (the reserve always keeps one);
   * then every older block is retired, and nothing in them survives. */
  wipe(keep: (tx: Txn) => void): void {
    const log = this.#log;
    const tx = this.begin();
    tx.wipe();
    keep(tx);
    const size = framedSize(tx.recs, this.align);
    if (!log.fits(size)) {
      if (!log.free.length) log.tooFull();
      log.allocate();
    }
    this.#writeTxn(tx);
    this.#compactor.full = false;
    while (log.order[0] !== log.head) this.#compactor.retireOldest();
  }

  // ---- boot ----

  #mount(): void {
    const log = this.#log;
    const found = log.mount();
    for (const block of found) {
      const buf = this.flash.read(block * this.blockSize, this.blockSize);
      const end = scanBlock(buf, this.recordStart, this.align, (r) => {
        if (r.type === ENTRY) this.#index.applyQueued(r.run!.file, r.seq!, block);
        else if (r.type !== SKIP) this.#index.apply(r.type, buf, r.body, r.len, block, r.at);
      });
      if (block === found[found.length - 1]) {
        log.head = block;
        log.headPos = end.end;
        log.headOpen = end.clean;
        log.run = end.run;
      }
    }
    for (const f of this.#index.files.values()) {
      if (!f.name) this.mountProblems.push(`file ${f.id} has records but no FILE record`);
    }
    this.#compactor.recovering = log.order.length > 0 && log.free.length < RESERVE.rescue;
  }

  // ---- figures and checks ----

  stats(): StoreStats {
    const log = this.#log;
    let min = Infinity;
    let max = 0;
    for (let b = 0; b < this.blocks; b++) {
      min = Math.min(min, log.erases[b]);
      max = Math.max(max, log.erases[b]);
    }
    const inUse = log.order.length;
    return {
      blocks: this.blocks,
      blockSize: this.blockSize,
      freeBlocks: log.free.length,
      usedBytes: inUse ? (inUse - 1) * this.blockSize + log.headPos : 0,
      minErases: min,
      maxErases: max,
      files: this.files().length,
    };
  }

  /** Bytes of RAM the index and its lookup cache hold beyond an empty store's, counted from
   * their structures (JS object overheads estimated generously). */
  indexBytes(): number {
    return this.#index.bytes() + this.#cache.bytes();
  }

  /** Rebuild the index from flash and compare it with the live one; also read every note back. */
  check(): string[] {
    const log = this.#log;
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
        const n = this.#cache.readAt(e.block, e.offset);
        if (n.id !== id || n.seq !== e.seq) problems.push(`${f.name}: note ${id} is not where the index says`);
      }
    }
    // The reserve: deletions, acknowledgements and a factory reset must always find room.
    if (log.free.length < RESERVE.rescue && !this.#compactor.recovering) {
      problems.push(`reserve broken: ${log.free.length} free blocks, at least ${RESERVE.rescue} must stay free`);
    }
    const seqs = new Set<number>();
    for (const block of log.order) {
      if (seqs.has(log.seq[block])) problems.push(`two blocks with sequence ${log.seq[block]}`);
      seqs.add(log.seq[block]);
    }
    return problems;
  }

  /** A canonical text of the index (for checks and tests). */
  snapshot(): string {
    return this.#index.snapshot();
  }
}

export { StorageFull } from './blocks';
export type { PurgePolicy } from './purge';
export type { KeyedEntry, ReadonlyFileState } from './ram-index';
export type { StoredNote } from './read-cache';
export { Txn } from './records';
export type { NoteInput } from './records';
