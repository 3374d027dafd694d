// The bytes on flash (docs/STORAGE.md). Little-endian throughout.
//
// Block:  [magic u32][seq u32][crc u32][0xFFFFFFFF][erases u32][pad to writeAlign] records...
//         Zeroing the first 16 bytes retires a block; no erase can turn zeros back into a valid header.
// Record: [crc u32][len u16][tag u8][body: len bytes][0xFF pad to writeAlign]
//         crc covers len, tag and body. tag = type | MORE; MORE = "the transaction continues".
// Run:    a RUN record, then entries of templated queue notes (see Run below).
import { crc32 } from '../util/crc32';

export const BLOCK_MAGIC = 0x3153434f; // "OCS1"
export const HEADER_SEAL = 16; // bytes zeroed to retire a block
export const REC_HEAD = 7;
export const MORE = 0x80;

export const RT = Object.freeze({
  /** A notefile: id, change counter, flags, name, info (JSON text). */
  FILE: 1,
  /** A note: file, seq, time, flags, format, [id], body, payload. */
  NOTE: 2,
  /** Queue/db notes with seq in [lo, hi) ranges are gone. */
  DROP: 3,
  /** A notefile is gone with everything in it. */
  UNFILE: 4,
  /** A change tracker's position, or its deletion. */
  TRACKER: 5,
  /** A key/value setting in a namespace, or its deletion. */
  KV: 6,
  /** Factory reset: everything before this record is forgotten. */
  WIPE: 7,
  /** A run header: queue notes of one file follow it as compact entries (see Run below). */
  RUN: 8,
});

/** Not a record type: what scanBlock reports for one entry of a run. */
export const ENTRY = 0x100;
/** Not a record type: a skip slot of a run (a change number that is gone, see Run below). */
export const SKIP = 0x101;

/** A run of templated queue notes: one RUN record (file u16, first change number u32, base time
 * u32, note flags u8, format u8, record length u16), then entries appended one flash write each:
 *   [time step, varint][record: length bytes][check u16]   padded with 0xFF to writeAlign
 * Change numbers are consecutive. Times are delta-of-delta coded: an entry's time is the previous
 * entry's (the first's: the base time) plus the previous delta plus the zigzag-coded difference
 * stored as `time step` (+ 1, so the varint never starts with 0x00): a sensor reporting at a
 * steady interval, give or take a minute, spends one byte on its time. The check is crc32's low
 * 16 bits over time step and record, its high byte never 0xFF, so an entry whose write was cut
 * short (programmed in order) never checks. A 0x00 byte where an entry would start ends the run;
 * it is written in front of whatever the head writes next.
 * A skip slot holds a change number that is gone (compaction bridges a gap of a run with skips
 * rather than starting a new run, so a copy is never larger than the run it copies):
 *   [0x80 0x00][time step, varint][check u16 over both]   padded with 0xFF to writeAlign
 * (no varint starts 0x80 0x00: its value is at least 1). It keeps the time chain of the entry
 * it replaces, so the entries after it are copied byte for byte. */
export interface Run {
  file: number;
  /** The change number of the next entry. */
  next: number;
  /** The time of the last entry (the base time before the first), and the delta that led to it. */
  time: number;
  step: number;
  flags: number;
  format: number;
  len: number;
}

export const RUN_BODY = 14;

export function runBody(r: Run): Uint8Array {
  const b = new Uint8Array(RUN_BODY);
  put16(b, 0, r.file);
  put32(b, 2, r.next);
  put32(b, 6, r.time);
  b[10] = r.flags;
  b[11] = r.format;
  put16(b, 12, r.len);
  return b;
}

export function parseRun(b: Uint8Array, at: number): Run {
  return { file: u16(b, at), next: u32(b, at + 2), time: u32(b, at + 6), step: 0, flags: b[at + 10], format: b[at + 11], len: u16(b, at + 12) };
}

export function entryCheck(b: Uint8Array, from: number, to: number): number {
  const c = crc32(b.subarray(from, to)) & 0xffff;
  return c >= 0xff00 ? c & 0xfeff : c;
}

/** The time step of an entry (or skip) at `time` after run `r`: delta of delta, zigzag + 1, varint. */
function timeStep(r: Run, time: number): number[] {
  const dd = time - r.time - r.step;
  let d = (dd >= 0 ? 2 * dd : -2 * dd - 1) + 1;
  const v: number[] = [];
  while (d >= 0x80) {
    v.push((d % 0x80) | 0x80);
    d = Math.floor(d / 0x80);
  }
  v.push(d);
  return v;
}

/** One entry appended to run `r` (which it does not change), unpadded. */
export function entryBytes(r: Run, time: number, record: Uint8Array): Uint8Array {
  const v = timeStep(r, time);
  const out = new Uint8Array(v.length + record.length + 2);
  out.set(v, 0);
  out.set(record, v.length);
  put16(out, v.length + record.length, entryCheck(out, 0, v.length + record.length));
  return out;
}

/** One skip slot appended to run `r` for a change number that is gone (its time at `time`), unpadded. */
export function skipBytes(r: Run, time: number): Uint8Array {
  const v = timeStep(r, time);
  const out = new Uint8Array(2 + v.length + 2);
  out[0] = 0x80;
  out[1] = 0x00;
  out.set(v, 2);
  put16(out, 2 + v.length, entryCheck(out, 0, 2 + v.length));
  return out;
}

/** Note flags. FULL: added with full:true (a template codec keeps empty values). */
export const NF = Object.freeze({ KEYED: 1, DELETED: 2, FROM_HUB: 4, BODY: 8, PAYLOAD: 16, FULL: 32 });
/** File flags. */
export const FF = Object.freeze({ SYNCED: 1 });
/** Note formats: 0 is JSON text; a template codec claims the others (its template version). */
export const FORMAT_JSON = 0;
export const NO_TRACKER = 0xffffffff;

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
export function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** A record before it is framed: its type and body. */
export interface Rec {
  type: number;
  body: Uint8Array;
}

/** Frame records into one aligned run; every record but the last carries MORE. */
export function frame(recs: readonly Rec[], align: number, atomic: boolean): Uint8Array {
  let size = 0;
  for (const r of recs) size += alignUp(REC_HEAD + r.body.length, align);
  const out = new Uint8Array(size).fill(0xff);
  let o = 0;
  recs.forEach((r, i) => {
    put16(out, o + 4, r.body.length);
    out[o + 6] = r.type | (atomic && i < recs.length - 1 ? MORE : 0);
    out.set(r.body, o + REC_HEAD);
    put32(out, o, crc32(out.subarray(o + 4, o + REC_HEAD + r.body.length)));
    o += alignUp(REC_HEAD + r.body.length, align);
  });
  return out;
}

export function framedSize(recs: readonly Rec[], align: number): number {
  let size = 0;
  for (const r of recs) size += alignUp(REC_HEAD + r.body.length, align);
  return size;
}

/** Grows a record body field by field. */
export class Builder {
  #b: Uint8Array;
  #n = 0;
  constructor(capacity = 32) {
    this.#b = new Uint8Array(capacity);
  }
  #room(n: number): void {
    if (this.#n + n <= this.#b.length) return;
    const bigger = new Uint8Array(Math.max(this.#b.length * 2, this.#n + n));
    bigger.set(this.#b);
    this.#b = bigger;
  }
  u8(v: number): this {
    this.#room(1);
    this.#b[this.#n++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.#room(2);
    put16(this.#b, this.#n, v);
    this.#n += 2;
    return this;
  }
  u32(v: number): this {
    this.#room(4);
    put32(this.#b, this.#n, v);
    this.#n += 4;
    return this;
  }
  bytes(v: Uint8Array): this {
    this.#room(v.length);
    this.#b.set(v, this.#n);
    this.#n += v.length;
    return this;
  }
  done(): Uint8Array {
    return this.#b.slice(0, this.#n);
  }
}

/** The fixed part of a NOTE record body, parsed. */
export interface NoteHead {
  file: number;
  seq: number;
  time: number;
  flags: number;
  format: number;
  id?: string;
  /** Offsets within the record body. */
  bodyAt: number;
  bodyLen: number;
  payloadAt: number;
  payloadLen: number;
}
