// Poly1305 one-time authenticator (RFC 8439 section 2.5).
// Arithmetic mod 2^130-5 on ten 13-bit limbs: every product and sum stays far below 2^53,
// so plain JS numbers are exact and no BigInt is needed (XS allocates for every BigInt).

const LIMB = 8192; // 2^13

/** Ten 13-bit limbs of the little-endian 16 bytes at `at` (zero-padded past `end`), plus `top` at bit 128. */
function load(bytes: Uint8Array, at: number, end: number, top: number, limbs: Float64Array): void {
  let acc = 0;
  let bits = 0;
  let li = 0;
  for (let i = 0; i < 16; i++) {
    const byte = at + i < end ? bytes[at + i] : 0;
    acc |= byte << bits;
    bits += 8;
    if (bits >= 13) {
      limbs[li++] = acc & 0x1fff;
      acc >>>= 13;
      bits -= 13;
    }
  }
  // 128 bits = 9 full limbs + 11 bits left; bit 128 is bit 11 of limb 9.
  limbs[9] = acc | (top << 11);
}

export class Poly1305 {
  #r = new Float64Array(10);
  #h = new Float64Array(10);
  #m = new Float64Array(10);
  #d = new Float64Array(10);
  #s: Uint8Array;
  #buffer = new Uint8Array(16);
  #fill = 0;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError('poly1305 key must be 32 bytes');
    const r = key.slice(0, 16);
    r[3] &= 15; r[7] &= 15; r[11] &= 15; r[15] &= 15;
    r[4] &= 252; r[8] &= 252; r[12] &= 252;
    load(r, 0, 16, 0, this.#r);
    this.#s = key.slice(16, 32);
  }

  update(data: Uint8Array): this {
    let i = 0;
    if (this.#fill > 0) {
      const take = Math.min(16 - this.#fill, data.length);
      this.#buffer.set(data.subarray(0, take), this.#fill);
      this.#fill += take;
      i = take;
      if (this.#fill < 16) return this;
      this.#block(this.#buffer, 0, 16, 1);
      this.#fill = 0;
    }
    for (; i + 16 <= data.length; i += 16) this.#block(data, i, i + 16, 1);
    if (i < data.length) {
      this.#buffer.set(data.subarray(i), 0);
      this.#fill = data.length - i;
    }
    return this;
  }

  /** The 16-byte tag; the object must not be used afterwards. */
  digest(): Uint8Array {
    if (this.#fill > 0) {
      // A short final block gets a 0x01 byte after the message, then zeros.
      this.#buffer[this.#fill] = 1;
      this.#block(this.#buffer, 0, this.#fill + 1, 0);
    }
    const h = this.#h;
    carry(h);
    // h is now < 2^130 with 13-bit limbs; subtract p when h >= p, i.e. when h + 5 >= 2^130.
    const g = new Float64Array(10);
    let c = 5;
    for (let i = 0; i < 10; i++) {
      const v = h[i] + c;
      c = v >= LIMB ? 1 : 0;
      g[i] = v - c * LIMB;
    }
    const useG = c; // 1 when h + 5 overflowed 2^130
    for (let i = 0; i < 10; i++) h[i] = useG ? g[i] : h[i];
    // Add s modulo 2^128 and write the little-endian tag.
    const tag = new Uint8Array(16);
    let acc = 0;
    let bits = 0;
    let li = 0;
    let sum = 0;
    for (let i = 0; i < 16; i++) {
      while (bits < 8) {
        acc += h[li++] * 2 ** bits;
        bits += 13;
      }
      const byte = acc % 256;
      acc = (acc - byte) / 256;
      bits -= 8;
      sum += byte + this.#s[i];
      tag[i] = sum & 0xff;
      sum >>>= 8;
    }
    return tag;
  }

  #block(bytes: Uint8Array, at: number, end: number, top: number): void {
    const m = this.#m;
    const h = this.#h;
    const r = this.#r;
    const d = this.#d;
    load(bytes, at, end, top, m);
    for (let i = 0; i < 10; i++) h[i] += m[i];
    // d = h * r mod 2^130-5: a limb product landing at index >= 10 wraps around times 5.
    for (let i = 0; i < 10; i++) {
      let sum = 0;
      for (let j = 0; j < 10; j++) sum += h[j] * (j <= i ? r[i - j] : 5 * r[i - j + 10]);
      d[i] = sum;
    }
    for (let i = 0; i < 10; i++) h[i] = d[i];
    carry(h);
  }
}

/** Propagate carries so every limb is below 2^13; a carry out of the top wraps around times 5. */
function carry(h: Float64Array): void {
  let c = 0;
  do {
    for (let i = 0; i < 10; i++) {
      const v = h[i] + c;
      c = Math.floor(v / LIMB);
      h[i] = v - c * LIMB;
    }
    h[0] += c * 5;
    c = 0;
  } while (h[0] >= LIMB);
}

export function poly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  return new Poly1305(key).update(message).digest();
}
