// ChaCha20 stream cipher (RFC 8439 section 2.4): 256-bit key, 96-bit nonce, 32-bit block counter.

const SIGMA = Uint32Array.from([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]); // "expand 32-byte k"

function le32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** The 16-word input state for `counter`. */
function initialState(key: Uint8Array, nonce: Uint8Array, counter: number): Uint32Array {
  if (key.length !== 32) throw new RangeError('chacha20 key must be 32 bytes');
  if (nonce.length !== 12) throw new RangeError('chacha20 nonce must be 12 bytes');
  const s = new Uint32Array(16);
  s.set(SIGMA);
  for (let i = 0; i < 8; i++) s[4 + i] = le32(key, i * 4);
  s[12] = counter >>> 0;
  for (let i = 0; i < 3; i++) s[13 + i] = le32(nonce, i * 4);
  return s;
}

/** One 64-byte keystream block from `input` into `out` (x is scratch). */
function block(input: Uint32Array, x: Uint32Array, out: Uint8Array): void {
  x.set(input);
  for (let round = 0; round < 10; round++) {
    quarter(x, 0, 4, 8, 12); quarter(x, 1, 5, 9, 13); quarter(x, 2, 6, 10, 14); quarter(x, 3, 7, 11, 15);
    quarter(x, 0, 5, 10, 15); quarter(x, 1, 6, 11, 12); quarter(x, 2, 7, 8, 13); quarter(x, 3, 4, 9, 14);
  }
  for (let i = 0; i < 16; i++) {
    const v = (x[i] + input[i]) >>> 0;
    out[i * 4] = v;
    out[i * 4 + 1] = v >>> 8;
    out[i * 4 + 2] = v >>> 16;
    out[i * 4 + 3] = v >>> 24;
  }
}

function quarter(x: Uint32Array, a: number, b: number, c: number, d: number): void {
  let t: number;
  x[a] += x[b]; t = x[d] ^ x[a]; x[d] = (t << 16) | (t >>> 16);
  x[c] += x[d]; t = x[b] ^ x[c]; x[b] = (t << 12) | (t >>> 20);
  x[a] += x[b]; t = x[d] ^ x[a]; x[d] = (t << 8) | (t >>> 24);
  x[c] += x[d]; t = x[b] ^ x[c]; x[b] = (t << 7) | (t >>> 25);
}

/** The keystream block for `counter` (RFC 8439 2.3). */
export function chacha20Block(key: Uint8Array, nonce: Uint8Array, counter: number): Uint8Array {
  const out = new Uint8Array(64);
  block(initialState(key, nonce, counter), new Uint32Array(16), out);
  return out;
}

/** XOR `data` with the keystream starting at block `counter`: encrypts and decrypts. */
export function chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, data: Uint8Array): Uint8Array {
  const state = initialState(key, nonce, counter);
  const x = new Uint32Array(16);
  const stream = new Uint8Array(64);
  const out = new Uint8Array(data.length);
  for (let at = 0; at < data.length; at += 64) {
    block(state, x, stream);
    state[12] = (state[12] + 1) >>> 0;
    const n = Math.min(64, data.length - at);
    for (let i = 0; i < n; i++) out[at + i] = data[at + i] ^ stream[i];
  }
  return out;
}
