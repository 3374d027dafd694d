// Bounded byte writer/reader for the sync codec: LEB128 varints, zigzag, length-prefixed strings.
// Every read checks its bounds and throws FrameError, so malformed input never crashes or over-reads.
import { utf8Decode, utf8Encode } from '../util/utf8';

export class FrameError extends Error {
  override name = 'FrameError';
}

export class ByteWriter {
  #bytes: Uint8Array;
  #length = 0;

  constructor(capacity = 64) {
    this.#bytes = new Uint8Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  #room(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + n));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  u8(v: number): this {
    this.#room(1);
    this.#bytes[this.#length++] = v;
    return this;
  }

  u32le(v: number): this {
    this.#room(4);
    for (let i = 0; i < 4; i++) this.#bytes[this.#length++] = (v >>> (8 * i)) & 0xff;
    return this;
  }

  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new FrameError(`varint out of range: ${v}`);
    while (v >= 0x80) {
      this.u8((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    return this.u8(v);
  }

  zigzag(v: number): this {
    return this.varint(v < 0 ? -2 * v - 1 : 2 * v);
  }

  bytes(b: Uint8Array): this {
    this.#room(b.length);
    this.#bytes.set(b, this.#length);
    this.#length += b.length;
    return this;
  }

  /** varint length then utf8; `max` bounds the encoded length. */
  str(s: string, max = 0xffff): this {
    const b = utf8Encode(s);
    if (b.length > max) throw new FrameError(`string longer than ${max} bytes`);
    return this.varint(b.length).bytes(b);
  }

  /** Drop everything written after `length` (undo a partial write). */
  truncate(length: number): void {
    this.#length = Math.min(this.#length, length);
  }

  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }
}

export class ByteReader {
  readonly #bytes: Uint8Array;
  #at: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#at = start;
    this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#at;
  }

  u8(): number {
    if (this.#at >= this.#end) throw new FrameError('truncated');
    return this.#bytes[this.#at++];
  }

  u32le(): number {
    const b = this.take(4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  /** Canonical LEB128 below 2^53. */
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i === 8) throw new FrameError('varint too long');
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0 && i > 0) throw new FrameError('varint not canonical');
        if (v > Number.MAX_SAFE_INTEGER) throw new FrameError('varint too large');
        return v;
      }
      scale *= 128;
    }
  }

  zigzag(): number {
    const u = this.varint();
    return u % 2 ? -(u + 1) / 2 : u / 2;
  }

  /** A view of the next n bytes (no copy). */
  take(n: number): Uint8Array {
    if (n > this.#end - this.#at) throw new FrameError('truncated');
    const out = this.#bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  rest(): Uint8Array {
    return this.take(this.#end - this.#at);
  }

  str(max = 0xffff): string {
    const n = this.varint();
    if (n > max) throw new FrameError(`string longer than ${max} bytes`);
    const b = this.take(n);
    return utf8Decode(b);
  }

  /** Messages must be consumed exactly. */
  end(): void {
    if (this.#at !== this.#end) throw new FrameError('trailing bytes');
  }
}
