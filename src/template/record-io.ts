// Little-endian byte writer and reader for template records (the record layout: record.ts).
import { fail } from '../errors';
import { utf8Decode, utf8Encode } from '../util/utf8';
import { halfToDecimal, singleToDecimal, toHalfBits } from './float';
import type { IntField } from './layout';

const TWO32 = 2 ** 32;

// One Writer per record, no module-level scratch buffer: a buffer made while XS preloads the
// module would be read-only at run time.
export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  /** `capacity`: the expected record size, so most records never grow the buffer. */
  constructor(capacity: number) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #room(n: number): number {
    const at = this.#pos;
    if (at + n > this.#buf.length) {
      const bigger = new Uint8Array(Math.max(this.#buf.length * 2, at + n));
      bigger.set(this.#buf);
      this.#buf = bigger;
      this.#view = new DataView(bigger.buffer);
    }
    this.#pos = at + n;
    return at;
  }

  u8(v: number): void {
    // #room first: it may replace #buf (`this.#buf[this.#room(1)]` would write the old buffer).
    const at = this.#room(1);
    this.#buf[at] = v;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.u8((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    this.u8(n);
  }

  /** A string of at most `max` UTF-8 bytes (0: any), cut before a partial character. */
  string(v: string, max: number, short: boolean): void {
    let ascii = true;
    for (let i = 0; i < v.length; i++) {
      if (v.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      const n = max > 0 && v.length > max ? max : v.length;
      if (short) this.u8(n);
      else this.varint(n);
      const at = this.#room(n);
      for (let i = 0; i < n; i++) this.#buf[at + i] = v.charCodeAt(i);
      return;
    }
    const bytes = utf8Encode(v);
    let n = bytes.length;
    if (max > 0 && n > max) {
      n = max;
      while (n > 0 && (bytes[n] & 0xc0) === 0x80) n--;
    }
    if (short) this.u8(n);
    else this.varint(n);
    this.bytes(bytes, n);
  }

  bytes(b: Uint8Array, n: number): void {
    const at = this.#room(n);
    this.#buf.set(n === b.length ? b : b.subarray(0, n), at);
  }

  /** Two's complement for signed values; `v` is already range-checked. */
  int(v: number, size: number): void {
    const at = this.#room(size);
    const view = this.#view;
    switch (size) {
      case 1:
        this.#buf[at] = v & 0xff;
        break;
      case 2:
        view.setUint16(at, v & 0xffff, true);
        break;
      case 3:
        view.setUint16(at, v & 0xffff, true);
        this.#buf[at + 2] = (v >> 16) & 0xff;
        break;
      case 4:
        view.setUint32(at, v >>> 0, true);
        break;
      default: {
        // Exact for every integer double: power-of-two scaling and floor lose nothing.
        const hi = Math.floor(v / TWO32);
        view.setUint32(at, v - hi * TWO32, true);
        view.setInt32(at + 4, hi, true);
      }
    }
  }

  float(v: number, size: number): void {
    const at = this.#room(size);
    if (size === 2) this.#view.setUint16(at, toHalfBits(v), true);
    else if (size === 4) this.#view.setFloat32(at, v, true);
    else this.#view.setFloat64(at, v, true);
  }

  /** The record: the buffer itself when the size was right, else a trimmed copy. */
  done(): Uint8Array {
    return this.#pos === this.#buf.length ? this.#buf : this.#buf.slice(0, this.#pos);
  }
}

export function corrupt(): never {
  fail('templated note record is corrupt', 'io');
}

export class Reader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #pos = 0;

  constructor(record: Uint8Array) {
    this.#buf = record;
    this.#view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  }

  get done(): boolean {
    return this.#pos === this.#buf.length;
  }

  #take(n: number): number {
    const at = this.#pos;
    if (at + n > this.#buf.length) corrupt();
    this.#pos = at + n;
    return at;
  }

  u8(): number {
    return this.#buf[this.#take(1)];
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
      if (scale > 2 ** 35) corrupt();
    }
  }

  bytes(n: number): Uint8Array {
    const at = this.#take(n);
    return this.#buf.subarray(at, at + n);
  }

  string(n: number): string {
    const at = this.#take(n);
    return utf8Decode(this.#buf, at, at + n);
  }

  int(f: IntField): number {
    const at = this.#take(f.size);
    const view = this.#view;
    switch (f.size) {
      case 1:
        return f.signed ? view.getInt8(at) : view.getUint8(at);
      case 2:
        return f.signed ? view.getInt16(at, true) : view.getUint16(at, true);
      case 3: {
        const x = view.getUint16(at, true) | (view.getUint8(at + 2) << 16);
        return f.signed ? (x << 8) >> 8 : x;
      }
      case 4:
        return f.signed ? view.getInt32(at, true) : view.getUint32(at, true);
      default:
        return view.getInt32(at + 4, true) * TWO32 + view.getUint32(at, true);
    }
  }

  float(size: number): number {
    const at = this.#take(size);
    if (size === 2) return halfToDecimal(this.#view.getUint16(at, true));
    if (size === 4) return singleToDecimal(this.#view.getFloat32(at, true));
    return this.#view.getFloat64(at, true);
  }

  u32(): number {
    return this.#view.getUint32(this.#take(4), true);
  }

  i32(): number {
    return this.#view.getInt32(this.#take(4), true);
  }
}
