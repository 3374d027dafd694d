// The RAM index: what a replay of the log rebuilds (files, their notes and trackers, settings).
// `apply` is the one place it changes, live and at boot alike.
import { utf8Decode } from '../util/utf8';
import { NF, NO_TRACKER, RT, u16, u32 } from './format';
import { parseNoteHead } from './records';
import { SeqSet } from './seqset';
import { SpanTable } from './spans';

/** A keyed (database) note's place in the index: db files are small, so they stay in RAM. */
export interface KeyedEntry {
  seq: number;
  flags: number;
  block: number;
  offset: number;
}

/** A notefile as code outside the store sees it: read-only, changed only through transactions. */
export interface ReadonlyFileState {
  readonly id: number;
  readonly name: string;
  readonly flags: number;
  readonly info: string;
  readonly counter: number;
  readonly queued: Pick<SeqSet, 'count' | 'has' | 'next' | 'countFrom' | 'toArray'>;
  readonly spans: Pick<SpanTable, 'blocksFor'>;
  readonly keyed: ReadonlyMap<string, Readonly<KeyedEntry>>;
  readonly keyedLive: number;
  readonly trackers: ReadonlyMap<string, number>;
  readonly total: number;
}

/** A notefile as the index knows it (src/store only). */
export class FileState implements ReadonlyFileState {
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

export class RamIndex {
  readonly files = new Map<number, FileState>();
  readonly byName = new Map<string, FileState>();
  readonly kv = new Map<string, string>(); // ns + "\0" + key -> value text
  readonly kvAt = new Map<string, number>(); // ns + "\0" + key -> block of its latest record
  nextFile = 1;
  /** Where unknown records are reported (the store's mount problems). */
  readonly #problems: string[];

  constructor(problems: string[]) {
    this.#problems = problems;
  }

  /** Named files, in creation order. */
  named(): FileState[] {
    const out: FileState[] = [];
    for (const f of this.files.values()) if (f.name) out.push(f);
    return out.sort((a, b) => a.id - b.id);
  }

  fileFor(id: number): FileState {
    let f = this.files.get(id);
    if (!f) {
      f = new FileState(id);
      this.files.set(id, f);
    }
    if (id >= this.nextFile) this.nextFile = id + 1;
    return f;
  }

  applyQueued(file: number, seq: number, block: number): void {
    const f = this.fileFor(file);
    f.counter = Math.max(f.counter, seq + 1);
    f.queued.add(seq);
    f.spans.note(block, seq);
  }

  apply(type: number, buf: Uint8Array, b: number, len: number, block: number, at: number): void {
    switch (type) {
      case RT.RUN: // its entries are applied one by one
        break;
      case RT.FILE: {
        const f = this.fileFor(u16(buf, b));
        f.counter = Math.max(f.counter, u32(buf, b + 2));
        f.flags = buf[b + 6];
        const n = buf[b + 7];
        const name = utf8Decode(buf, b + 8, b + 8 + n);
        if (f.name !== name) {
          if (f.name) this.byName.delete(f.name);
          f.name = name;
          this.byName.set(name, f);
        }
        f.info = utf8Decode(buf, b + 8 + n, b + len);
        f.fileAt = block;
        break;
      }
      case RT.NOTE: {
        const h = parseNoteHead(buf, b, len);
        const f = this.fileFor(h.file);
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
        const f = this.fileFor(u16(buf, b));
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
        const f = this.files.get(id);
        if (id >= this.nextFile) this.nextFile = id + 1;
        if (!f) break;
        this.files.delete(id);
        if (f.name && this.byName.get(f.name) === f) this.byName.delete(f.name);
        break;
      }
      case RT.TRACKER: {
        const f = this.fileFor(u16(buf, b));
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
          this.kv.set(key, utf8Decode(buf, o + 1, b + len));
          this.kvAt.set(key, block);
        } else {
          this.kv.delete(key);
          this.kvAt.delete(key);
        }
        break;
      }
      case RT.WIPE:
        this.files.clear();
        this.byName.clear();
        this.kv.clear();
        this.kvAt.clear();
        break;
      default:
        this.#problems.push(`unknown record type ${type} at block ${block} offset ${at}`);
    }
  }

  /** Bytes of RAM the index holds beyond an empty one's (JS object overheads estimated generously). */
  bytes(): number {
    let n = 0;
    for (const f of this.files.values()) {
      n += 200 + f.name.length * 2 + f.info.length * 2;
      n += f.queued.runs * 2 * 16 + f.spans.bytes();
      n += f.keyed.size * 96;
      n += f.trackers.size * 64;
    }
    for (const [k, v] of this.kv) n += 64 + (k.length + v.length) * 2;
    return n;
  }

  /** A canonical text of the index (for checks and tests). */
  snapshot(): string {
    const files = this.named().map((f) => ({
      id: f.id, name: f.name, flags: f.flags, info: f.info, counter: f.counter,
      queued: f.queued.toArray(),
      keyed: [...f.keyed].map(([id, e]) => [id, e.seq, e.flags]).sort(),
      trackers: [...f.trackers].sort(),
    }));
    return JSON.stringify({ files, kv: [...this.kv].sort() });
  }
}
