// HMAC-SHA256 (RFC 2104 / 4231) and HKDF-SHA256 (RFC 5869).
import { Sha256, sha256, SHA256_BLOCK, SHA256_SIZE } from './sha256';

export class HmacSha256 {
  #inner = new Sha256();
  #outerPad = new Uint8Array(SHA256_BLOCK);

  constructor(key: Uint8Array) {
    const k = new Uint8Array(SHA256_BLOCK);
    k.set(key.length > SHA256_BLOCK ? sha256(key) : key);
    const innerPad = new Uint8Array(SHA256_BLOCK);
    for (let i = 0; i < SHA256_BLOCK; i++) {
      innerPad[i] = k[i] ^ 0x36;
      this.#outerPad[i] = k[i] ^ 0x5c;
    }
    this.#inner.update(innerPad);
  }

  update(data: Uint8Array): this {
    this.#inner.update(data);
    return this;
  }

  digest(): Uint8Array {
    return new Sha256().update(this.#outerPad).update(this.#inner.digest()).digest();
  }
}

/** HMAC-SHA256 over the concatenation of `parts`. */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = new HmacSha256(key);
  for (const p of parts) mac.update(p);
  return mac.digest();
}

export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmacSha256(salt.length ? salt : new Uint8Array(SHA256_SIZE), ikm);
}

export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length < 0 || length > 255 * SHA256_SIZE) throw new RangeError('hkdf length');
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 0, at = 0; at < length; i++) {
    previous = hmacSha256(prk, previous, info, Uint8Array.of(i + 1));
    out.set(previous.subarray(0, Math.min(SHA256_SIZE, length - at)), at);
    at += SHA256_SIZE;
  }
  return out;
}

export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(hkdfExtract(salt, ikm), info, length);
}
