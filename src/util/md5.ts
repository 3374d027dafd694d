// MD5 (RFC 1321): the card.binary status digest. Incremental so a buffer can be hashed in chunks.
import { toHex } from './hex';

const S = Object.freeze([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);
const K = (() => {
  const k = new Int32Array(64);
  for (let i = 0; i < 64; i++) k[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0;
  return k;
})();

export class Md5 {
  #h = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
  #block = new Uint8Array(64);
  #fill = 0;
  #length = 0;
  #w = new Int32Array(16);

  update(bytes: Uint8Array): this {
    this.#length += bytes.length;
    for (let i = 0; i < bytes.length; i++) {
      this.#block[this.#fill++] = bytes[i];
      if (this.#fill === 64) {
        this.#compress();
        this.#fill = 0;
      }
    }
    return this;
  }

  digest(): Uint8Array {
    const bitLength = this.#length * 8;
    this.update(new Uint8Array([0x80]));
    while (this.#fill !== 56) this.update(new Uint8Array(1));
    const tail = new Uint8Array(8);
    for (let i = 0; i < 8; i++) tail[i] = Math.floor(bitLength / 2 ** (8 * i)) & 0xff;
    this.update(tail);
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = (this.#h[i >> 2] >>> ((i & 3) * 8)) & 0xff;
    return out;
  }

  #compress(): void {
    const w = this.#w;
    const b = this.#block;
    for (let i = 0; i < 16; i++) w[i] = b[i * 4] | (b[i * 4 + 1] << 8) | (b[i * 4 + 2] << 16) | (b[i * 4 + 3] << 24);
    let [a0, b0, c0, d0] = this.#h;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b0 & c0) | (~b0 & d0);
        g = i;
      } else if (i < 32) {
        f = (d0 & b0) | (~d0 & c0);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b0 ^ c0 ^ d0;
        g = (3 * i + 5) & 15;
      } else {
        f = c0 ^ (b0 | ~d0);
        g = (7 * i) & 15;
      }
      const s = S[(i >> 4) * 4 + (i & 3)];
      const x = (a0 + f + K[i] + w[g]) | 0;
      a0 = d0;
      d0 = c0;
      c0 = b0;
      b0 = (b0 + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    const h = this.#h;
    h[0] = (h[0] + a0) | 0;
    h[1] = (h[1] + b0) | 0;
    h[2] = (h[2] + c0) | 0;
    h[3] = (h[3] + d0) | 0;
  }
}

export function md5Hex(bytes: Uint8Array): string {
  return toHex(new Md5().update(bytes).digest());
}
