// Packed JSON (docs/SYNC.md 4.3): tagged values, short forms for small ints, short strings and
// small containers, decimals as integer mantissas, object keys interned once per block.
import type { Json, JsonObject } from '../json';
import { ByteReader, ByteWriter, FrameError } from './varint-io';
import { utf8Decode, utf8Encode } from '../util/utf8';

export const PJSON_MAX_DEPTH = 16;
export const PJSON_MAX_KEYS = 256;

const T_NULL = 0x00, T_FALSE = 0x01, T_TRUE = 0x02, T_UINT = 0x03, T_NEGINT = 0x04, T_FLOAT = 0x05;
const T_STR = 0x06, T_ARRAY = 0x07, T_OBJECT = 0x08;
const T_DEC_POS = 0x10, T_DEC_NEG = 0x20, T_SHORT_STR = 0x40, T_SHORT_OBJ = 0x60, T_SHORT_ARR = 0x70, T_SMALL_INT = 0x80;

/** Powers of ten up to 10^16, all exact doubles. */
const POW10 = Object.freeze(Array.from({ length: 17 }, (_, i) => 10 ** i));

/** Shortest decimal form m / 10^e (e in 1..16) of a non-integer, when it exists exactly. */
function decimalOf(v: number): { m: number; e: number } | undefined {
  const text = String(Math.abs(v));
  const dot = text.indexOf('.');
  if (dot < 0 || text.indexOf('e') >= 0) return undefined;
  const e = text.length - dot - 1;
  if (e < 1 || e > 16) return undefined;
  const m = Number(text.slice(0, dot) + text.slice(dot + 1));
  if (!Number.isSafeInteger(m) || m / POW10[e] !== Math.abs(v)) return undefined;
  return { m, e };
}

/** Packs values into a writer; keys are interned across every value packed with one instance. */
export class PackedJsonWriter {
  readonly #out: ByteWriter;
  readonly #keys = new Map<string, number>();

  constructor(out: ByteWriter) {
    this.#out = out;
  }

  value(v: Json, depth = 0): void {
    const out = this.#out;
    if (depth > PJSON_MAX_DEPTH) throw new FrameError('JSON nested too deep');
    if (v === null) out.u8(T_NULL);
    else if (v === true) out.u8(T_TRUE);
    else if (v === false) out.u8(T_FALSE);
    else if (typeof v === 'number') this.#number(v);
    else if (typeof v === 'string') {
      const b = utf8Encode(v);
      if (b.length < 32) out.u8(T_SHORT_STR + b.length);
      else out.u8(T_STR).varint(b.length);
      out.bytes(b);
    } else if (Array.isArray(v)) {
      if (v.length < 16) out.u8(T_SHORT_ARR + v.length);
      else out.u8(T_ARRAY).varint(v.length);
      for (const item of v) this.value(item, depth + 1);
    } else {
      const keys = Object.keys(v);
      if (keys.length < 16) out.u8(T_SHORT_OBJ + keys.length);
      else out.u8(T_OBJECT).varint(keys.length);
      for (const k of keys) {
        this.#key(k);
        this.value(v[k], depth + 1);
      }
    }
  }

  #number(v: number): void {
    const out = this.#out;
    if (!Number.isFinite(v)) {
      out.u8(T_NULL); // what JSON.stringify makes of it
    } else if (Number.isSafeInteger(v)) {
      if (v >= 0 && v < 128) out.u8(T_SMALL_INT + v);
      else if (v >= 0) out.u8(T_UINT).varint(v);
      else out.u8(T_NEGINT).varint(-1 - v);
    } else {
      const d = decimalOf(v);
      if (d) {
        out.u8((v < 0 ? T_DEC_NEG : T_DEC_POS) + d.e - 1).varint(d.m);
      } else {
        const f = new Uint8Array(8);
        new DataView(f.buffer).setFloat64(0, v, true);
        out.u8(T_FLOAT).bytes(f);
      }
    }
  }

  #key(k: string): void {
    const index = this.#keys.get(k);
    if (index !== undefined) {
      this.#out.varint(2 * index + 1);
      return;
    }
    if (this.#keys.size >= PJSON_MAX_KEYS) throw new FrameError('too many distinct keys in one block');
    const b = utf8Encode(k);
    this.#out.varint(2 * b.length).bytes(b);
    this.#keys.set(k, this.#keys.size);
  }
}

export class PackedJsonReader {
  readonly #in: ByteReader;
  readonly #keys: string[] = [];

  constructor(input: ByteReader) {
    this.#in = input;
  }

  value(depth = 0): Json {
    const r = this.#in;
    if (depth > PJSON_MAX_DEPTH) throw new FrameError('JSON nested too deep');
    const tag = r.u8();
    if (tag >= T_SMALL_INT) return tag - T_SMALL_INT;
    if (tag >= T_SHORT_ARR) return this.#array(tag - T_SHORT_ARR, depth);
    if (tag >= T_SHORT_OBJ) return this.#object(tag - T_SHORT_OBJ, depth);
    if (tag >= T_SHORT_STR) return utf8Decode(r.take(tag - T_SHORT_STR));
    if (tag >= T_DEC_NEG && tag < T_DEC_NEG + 16) return -r.varint() / POW10[tag - T_DEC_NEG + 1];
    if (tag >= T_DEC_POS && tag < T_DEC_POS + 16) return r.varint() / POW10[tag - T_DEC_POS + 1];
    switch (tag) {
      case T_NULL: return null;
      case T_FALSE: return false;
      case T_TRUE: return true;
      case T_UINT: return r.varint();
      case T_NEGINT: return -1 - r.varint();
      case T_FLOAT: {
        const v = new DataView(r.take(8).slice().buffer).getFloat64(0, true);
        if (!Number.isFinite(v)) throw new FrameError('non-finite number');
        return v;
      }
      case T_STR: return utf8Decode(r.take(r.varint()));
      case T_ARRAY: return this.#array(r.varint(), depth);
      case T_OBJECT: return this.#object(r.varint(), depth);
      default: throw new FrameError(`bad packed JSON tag ${tag}`);
    }
  }

  #array(count: number, depth: number): Json[] {
    if (count > this.#in.remaining) throw new FrameError('truncated');
    const a: Json[] = [];
    for (let i = 0; i < count; i++) a.push(this.value(depth + 1));
    return a;
  }

  #object(count: number, depth: number): JsonObject {
    if (count > this.#in.remaining) throw new FrameError('truncated');
    const o: JsonObject = {};
    for (let i = 0; i < count; i++) {
      const k = this.#key();
      const v = this.value(depth + 1);
      // defineProperty for "__proto__", so it stays data (as JSON.parse makes it).
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      else o[k] = v;
    }
    return o;
  }

  #key(): string {
    const x = this.#in.varint();
    if (x % 2) {
      const k = this.#keys[(x - 1) / 2];
      if (k === undefined) throw new FrameError('unknown key index');
      return k;
    }
    if (this.#keys.length >= PJSON_MAX_KEYS) throw new FrameError('too many distinct keys in one block');
    const k = utf8Decode(this.#in.take(x / 2));
    this.#keys.push(k);
    return k;
  }
}

/** Pack one value on its own (its own key table). */
export function packJson(v: Json): Uint8Array {
  const w = new ByteWriter();
  new PackedJsonWriter(w).value(v);
  return w.finish();
}

export function unpackJson(bytes: Uint8Array): Json {
  const r = new ByteReader(bytes);
  const v = new PackedJsonReader(r).value();
  r.end();
  return v;
}
