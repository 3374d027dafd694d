// Poly1305 one-time authenticator (RFC 8439 section 2.5).
// Arithmetic mod p = 2^130-5 on six 22-bit limbs (132 bits; 2^132 = 20 mod p). A limb product is
// below 2^49.4 and a sum of six below 2^52, so plain JS numbers stay exact: no BigInt (XS
// allocates for every BigInt), and 36 multiplications per block instead of 100 with 13-bit limbs.

const LIMB = 4194304; // 2^22
const TOP = 1048576; // 2^20: bit 130 is bit 20 of limb 5

/** Six 22-bit limbs of the little-endian 16 bytes at `at` (zero past `end`), plus `top` at bit 128. */
function load(bytes: Uint8Array, at: number, end: number, top: number, limbs: Float64Array): void {
  let acc = 0;
  let bits = 0;
  let li = 0;
  for (let i = 0; i < 16; i++) {
    acc |= (at + i < end ? bytes[at + i] : 0) << bits;
    bits += 8;
    if (bits >= 22) {
      limbs[li++] = acc & 0x3fffff;
      acc >>>= 22;
      bits -= 22;
    }
  }
  // 128 bits = 5 limbs + 18 bits; bit 128 is bit 18 of limb 5.
  limbs[5] = acc + top * 262144;
}

export class Poly1305 {
  #r = new Float64Array(6);
  #h = new Float64Array(6);
  #m = new Float64Array(6);
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
    // Fold the bits above 130 (times 5) until h < 2^130.
    while (h[5] >= TOP) {
      const over = Math.floor(h[5] / TOP);
      h[5] -= over * TOP;
      h[0] += over * 5;
      carry(h);
    }
    // h mod p: subtract p when h + 5 reaches 2^130.
    const g = new Float64Array(6);
    let c = 5;
    for (let i = 0; i < 6; i++) {
      const v = h[i] + c;
      c = v >= LIMB ? 1 : 0;
      g[i] = v - c * LIMB;
    }
    const useG = g[5] >= TOP ? 1 : 0;
    g[5] -= useG * TOP;
    for (let i = 0; i < 6; i++) h[i] = useG ? g[i] : h[i];
    // Add s modulo 2^128 and write the little-endian tag.
    const tag = new Uint8Array(16);
    let acc = 0;
    let bits = 0;
    let li = 0;
    let sum = 0;
    for (let i = 0; i < 16; i++) {
      while (bits < 8) {
        acc += h[li++] * 2 ** bits;
        bits += 22;
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
    load(bytes, at, end, top, m);
    const h0 = h[0] + m[0], h1 = h[1] + m[1], h2 = h[2] + m[2], h3 = h[3] + m[3], h4 = h[4] + m[4], h5 = h[5] + m[5];
    const r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r5 = r[5];
    // A product landing at limb 6 or above wraps around times 20 (2^132 = 20 mod p).
    const s1 = 20 * r1, s2 = 20 * r2, s3 = 20 * r3, s4 = 20 * r4, s5 = 20 * r5;
    h[0] = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
    h[1] = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
    h[2] = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
    h[3] = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
    h[4] = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
    h[5] = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;
    carry(h);
  }
}

/** Propagate carries so every limb is below 2^22; a carry out of the top wraps around times 20. */
function carry(h: Float64Array): void {
  let c = 0;
  do {
    for (let i = 0; i < 6; i++) {
      const v = h[i] + c;
      c = Math.floor(v / LIMB);
      h[i] = v - c * LIMB;
    }
    h[0] += c * 20;
    c = 0;
  } while (h[0] >= LIMB);
}

export function poly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  return new Poly1305(key).update(message).digest();
}
