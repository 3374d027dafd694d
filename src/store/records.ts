// Record bodies (docs/STORAGE.md) and the transaction that collects them.
import { utf8Decode, utf8Encode } from '../util/utf8';
import { Builder, FORMAT_JSON, NF, NO_TRACKER, NoteHead, RT, Rec, u16, u32 } from './format';

/** What a note record carries in. */
export interface NoteInput {
  id?: string;
  time: number;
  flags?: number;
  format?: number;
  body?: Uint8Array;
  payload?: Uint8Array;
}

/** Collects one request's records; Store.commit writes them atomically. */
export class Txn {
  readonly recs: Rec[] = [];
  #counterOf: (file: number) => number;
  #counters = new Map<number, number>();
  #nextFile: number;
  /** Only deletions: allowed to use the rescue reserve when the store is full. */
  freeing = true;
  /** Removes something (notes, a notefile, a setting, a tracker): a full store may have room again. */
  frees = false;
  /** What this transaction does to trackers and database notes, per file: Store.commit decides
   * from it which tombstones the change lets go, and drops them in the same transaction. */
  readonly trackerMoves = new Map<number, Map<string, number | undefined>>();
  readonly keyedWrites = new Map<number, Map<string, { seq: number; flags: number }>>();
  readonly unfiled = new Set<number>();
  /** `counterOf` gives a file's next change number as the store knows it now. */
  constructor(counterOf: (file: number) => number, nextFile: number) {
    this.#counterOf = counterOf;
    this.#nextFile = nextFile;
  }

  #seq(file: number): number {
    const seq = this.#counters.get(file) ?? this.#counterOf(file);
    this.#counters.set(file, seq + 1);
    return seq;
  }

  createFile(name: string, flags: number, info = ''): number {
    const id = this.#nextFile++;
    this.#counters.set(id, 1);
    this.recs.push({ type: RT.FILE, body: fileBody(id, 1, flags, name, info) });
    this.freeing = false;
    return id;
  }

  setFileInfo(file: { id: number; counter: number; flags: number; name: string }, info: string): void {
    this.recs.push({ type: RT.FILE, body: fileBody(file.id, this.#counters.get(file.id) ?? file.counter, file.flags, file.name, info) });
    this.freeing = false;
  }

  /** The change number the next note added to `file` in this transaction will get. */
  nextSeq(file: number): number {
    return this.#counters.get(file) ?? this.#counterOf(file);
  }

  /** Returns the note's change number. */
  addNote(file: number, note: NoteInput): number {
    const seq = this.#seq(file);
    this.recs.push({ type: RT.NOTE, body: noteBody(file, seq, note) });
    if (!((note.flags ?? 0) & NF.DELETED)) this.freeing = false;
    else this.frees = true;
    if (note.id !== undefined) mapIn(this.keyedWrites, file).set(note.id, { seq, flags: note.flags ?? 0 });
    return seq;
  }

  /** Forget notes with change numbers in [lo, hi), without tombstones. */
  drop(file: number, ranges: readonly number[]): void {
    this.frees = true;
    for (let i = 0; i < ranges.length; i += 64) {
      const b = new Builder(4 + 8 * 32).u16(file);
      for (const v of ranges.slice(i, i + 64)) b.u32(v);
      this.recs.push({ type: RT.DROP, body: b.done() });
    }
  }

  deleteFile(file: number): void {
    this.recs.push({ type: RT.UNFILE, body: new Builder(2).u16(file).done() });
    this.frees = true;
    this.unfiled.add(file);
  }

  /** `value` undefined deletes the tracker. */
  setTracker(file: number, name: string, value: number | undefined): void {
    // Tracker moves may use the rescue reserve: reading a full store must keep working.
    this.recs.push({ type: RT.TRACKER, body: trackerBody(file, name, value) });
    mapIn(this.trackerMoves, file).set(name, value);
    if (value === undefined) this.frees = true;
  }

  /** `value` undefined deletes the key. */
  setKV(ns: number, key: string, value: string | undefined): void {
    this.recs.push({ type: RT.KV, body: kvBody(ns, key, value) });
    if (value !== undefined) this.freeing = false;
    else this.frees = true;
  }

  wipe(): void {
    this.recs.push({ type: RT.WIPE, body: new Uint8Array(0) });
  }
}

function mapIn<V>(m: Map<number, Map<string, V>>, file: number): Map<string, V> {
  let inner = m.get(file);
  if (!inner) m.set(file, (inner = new Map()));
  return inner;
}

export function fileBody(id: number, counter: number, flags: number, name: string, info: string): Uint8Array {
  const n = utf8Encode(name);
  if (n.length > 255) throw new RangeError('notefile names are at most 255 bytes');
  return new Builder(16 + n.length + info.length).u16(id).u32(counter).u8(flags).u8(n.length).bytes(n).bytes(utf8Encode(info)).done();
}

export function noteBody(file: number, seq: number, note: NoteInput): Uint8Array {
  let flags = (note.flags ?? 0) & (NF.KEYED | NF.DELETED | NF.FROM_HUB | NF.FULL);
  if (note.id !== undefined) flags |= NF.KEYED;
  if (note.body) flags |= NF.BODY;
  if (note.payload) flags |= NF.PAYLOAD;
  const b = new Builder(24 + (note.body?.length ?? 0) + (note.payload?.length ?? 0));
  b.u16(file).u32(seq).u32(note.time).u8(flags).u8(note.format ?? FORMAT_JSON);
  if (note.id !== undefined) {
    const id = utf8Encode(note.id);
    b.u8(id.length).bytes(id);
  }
  if (note.body && note.payload) b.u16(note.body.length);
  if (note.body) b.bytes(note.body);
  if (note.payload) b.bytes(note.payload);
  return b.done();
}

export function trackerBody(file: number, name: string, value: number | undefined): Uint8Array {
  return new Builder(8 + name.length).u16(file).u32(value ?? NO_TRACKER).bytes(utf8Encode(name)).done();
}

export function kvBody(ns: number, key: string, value: string | undefined): Uint8Array {
  const k = utf8Encode(key);
  if (k.length > 255) throw new RangeError('setting keys are at most 255 bytes');
  const b = new Builder(4 + k.length).u8(ns).u8(k.length).bytes(k).u8(value === undefined ? 0 : 1);
  if (value !== undefined) b.bytes(utf8Encode(value));
  return b.done();
}

export function parseNoteHead(b: Uint8Array, at: number, len: number): NoteHead {
  const flags = b[at + 10];
  let o = at + 12;
  let id: string | undefined;
  if (flags & NF.KEYED) {
    const n = b[o];
    id = utf8Decode(b, o + 1, o + 1 + n);
    o += 1 + n;
  }
  const end = at + len;
  let bodyLen = 0;
  let payloadLen = 0;
  if (flags & NF.BODY && flags & NF.PAYLOAD) {
    bodyLen = u16(b, o);
    o += 2;
    payloadLen = end - o - bodyLen;
  } else if (flags & NF.BODY) bodyLen = end - o;
  else if (flags & NF.PAYLOAD) payloadLen = end - o;
  return {
    file: u16(b, at), seq: u32(b, at + 2), time: u32(b, at + 6), flags, format: b[at + 11], id,
    bodyAt: o - at, bodyLen, payloadAt: o + bodyLen - at, payloadLen,
  };
}

