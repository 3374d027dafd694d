// A small LZ77 compressor for the sync link (format "LZ-2K", specified in docs/SYNC.md).
//
//   stream  = varint(rawLength) group*
//   group   = control byte, then up to 8 items; control bit i (LSB first) 1 = match, 0 = literal
//   literal = 1 byte
//   match   = 2 bytes: (len-3) in the top 5 bits of the first, distance-1 in the low 11 bits;
//             len-3 = 31 adds extension bytes (each added, continuing while a byte is 255)
//
// The window is 2 KB, so the compressor needs about 6 KB of tables and the decompressor none
// beyond its output (the window is the output itself). An optional preset dictionary acts as
// history before the first byte on both sides.

export class CompressError extends Error {
  override name = 'CompressError';
}

export const WINDOW = 2048;
const MIN_MATCH = 3;
const MAX_MATCH = 1024; // long runs split; keeps extension bytes few
const HASH_BITS = 10;
const CHAIN_DEPTH = 8; // candidates tried per position: ratio vs compute on the card
const GOOD_ENOUGH = 32; // stop searching once a match is this long
/** Dictionary + input must index with 16-bit positions. */
export const MAX_COMPRESS_INPUT = 60000;

function hash3(b: Uint8Array, i: number): number {
  return Math.imul((b[i] << 16) | (b[i + 1] << 8) | b[i + 2], 0x9e3779b1) >>> (32 - HASH_BITS);
}

class Out {
  bytes: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }
  push(b: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2 + 16);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = b;
  }
}

export function compress(input: Uint8Array, dictionary: Uint8Array = EMPTY): Uint8Array {
  const dictLength = Math.min(dictionary.length, WINDOW);
  if (input.length + dictLength > MAX_COMPRESS_INPUT) throw new RangeError('compress input too large');
  const src = new Uint8Array(dictLength + input.length);
  src.set(dictionary.subarray(dictionary.length - dictLength));
  src.set(input, dictLength);
  const head = new Uint16Array(1 << HASH_BITS); // position + 1 of the latest occurrence; 0 = none
  const prev = new Uint16Array(WINDOW); // chain links, indexed by position mod WINDOW
  const insert = (pos: number) => {
    if (pos + MIN_MATCH > src.length) return;
    const h = hash3(src, pos);
    prev[pos & (WINDOW - 1)] = head[h];
    head[h] = pos + 1;
  };
  for (let i = 0; i < dictLength; i++) insert(i);

  const out = new Out(input.length / 2 + 16);
  writeVarint(out, input.length);
  let control = 0; // index in out of the current control byte
  let bit = 8;
  let pos = dictLength;
  while (pos < src.length) {
    if (bit === 8) {
      control = out.length;
      out.push(0);
      bit = 0;
    }
    let bestLength = 0;
    let bestDistance = 0;
    if (pos + MIN_MATCH <= src.length) {
      const limit = Math.min(MAX_MATCH, src.length - pos);
      let candidate = head[hash3(src, pos)];
      for (let depth = 0; candidate !== 0 && depth < CHAIN_DEPTH; depth++) {
        const at = candidate - 1;
        const distance = pos - at;
        if (distance > WINDOW || distance <= 0) break;
        if (src[at + bestLength] === src[pos + bestLength]) {
          let n = 0;
          while (n < limit && src[at + n] === src[pos + n]) n++;
          if (n > bestLength) {
            bestLength = n;
            bestDistance = distance;
            if (n === limit || n >= GOOD_ENOUGH) break;
          }
        }
        const next = prev[at & (WINDOW - 1)];
        if (next === 0 || next - 1 >= at) break; // the chain slot was reused: older entries are gone
        candidate = next;
      }
    }
    if (bestLength >= MIN_MATCH) {
      out.bytes[control] |= 1 << bit;
      const code = bestLength - MIN_MATCH;
      const d = bestDistance - 1;
      out.push((Math.min(code, 31) << 3) | (d >> 8));
      out.push(d & 0xff);
      if (code >= 31) {
        let rest = code - 31;
        while (rest >= 255) {
          out.push(255);
          rest -= 255;
        }
        out.push(rest);
      }
      for (let i = 0; i < bestLength; i++) insert(pos + i);
      pos += bestLength;
    } else {
      out.push(src[pos]);
      insert(pos);
      pos++;
    }
    bit++;
  }
  return out.bytes.slice(0, out.length);
}

/**
 * Inverse of compress. Throws CompressError on any malformed input (bad distance, truncation,
 * trailing bytes, declared length above `maxOutput`); never allocates more than maxOutput + dictionary.
 */
export function decompress(input: Uint8Array, maxOutput: number, dictionary: Uint8Array = EMPTY): Uint8Array {
  const dictLength = Math.min(dictionary.length, WINDOW);
  let i = 0;
  let rawLength = 0;
  for (let shift = 1, n = 0; ; n++) {
    if (i >= input.length || n === 4) throw new CompressError('bad length header');
    const b = input[i++];
    rawLength += (b & 0x7f) * shift;
    shift *= 128;
    if (b < 0x80) break;
  }
  if (rawLength > maxOutput) throw new CompressError('declared length exceeds limit');
  const out = new Uint8Array(dictLength + rawLength);
  out.set(dictionary.subarray(dictionary.length - dictLength));
  const end = out.length;
  let o = dictLength;
  let control = 0;
  let bit = 8;
  while (o < end) {
    if (bit === 8) {
      if (i >= input.length) throw new CompressError('truncated');
      control = input[i++];
      bit = 0;
    }
    if (control & (1 << bit)) {
      if (i + 2 > input.length) throw new CompressError('truncated match');
      const b0 = input[i++];
      const distance = (((b0 & 7) << 8) | input[i++]) + 1;
      let length = (b0 >> 3) + MIN_MATCH;
      if (length === 31 + MIN_MATCH) {
        for (;;) {
          if (i >= input.length) throw new CompressError('truncated match length');
          const x = input[i++];
          length += x;
          if (x !== 255) break;
        }
      }
      if (distance > o) throw new CompressError('match before start');
      if (length > end - o) throw new CompressError('match past declared length');
      for (let k = 0; k < length; k++, o++) out[o] = out[o - distance];
    } else {
      if (i >= input.length) throw new CompressError('truncated literal');
      out[o++] = input[i++];
    }
    bit++;
  }
  if (i !== input.length) throw new CompressError('trailing bytes');
  if (bit < 8 && control >> bit !== 0) throw new CompressError('stray control bits');
  return out.subarray(dictLength);
}

function writeVarint(out: Out, n: number): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

const EMPTY = new Uint8Array(0);
