// ChaCha20-Poly1305 AEAD (RFC 8439 section 2.8).
import { chacha20, chacha20Block } from './chacha20';
import { Poly1305 } from './poly1305';
import { constantTimeEqual } from './constant-time';

export const AEAD_TAG = 16;

function tagOf(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const mac = new Poly1305(chacha20Block(key, nonce, 0).subarray(0, 32));
  const pad = new Uint8Array(16);
  mac.update(aad).update(pad.subarray(0, (16 - (aad.length % 16)) % 16));
  mac.update(ciphertext).update(pad.subarray(0, (16 - (ciphertext.length % 16)) % 16));
  const lengths = new Uint8Array(16);
  writeLe64(lengths, 0, aad.length);
  writeLe64(lengths, 8, ciphertext.length);
  return mac.update(lengths).digest();
}

function writeLe64(out: Uint8Array, at: number, n: number): void {
  for (let i = 0; i < 8; i++) {
    out[at + i] = n % 256;
    n = Math.floor(n / 256);
  }
}

/** Encrypt and authenticate: returns ciphertext followed by the 16-byte tag. */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const ciphertext = chacha20(key, nonce, 1, plaintext);
  const out = new Uint8Array(ciphertext.length + AEAD_TAG);
  out.set(ciphertext);
  out.set(tagOf(key, nonce, aad, ciphertext), ciphertext.length);
  return out;
}

/** Verify then decrypt; undefined when the tag does not match (nothing is decrypted then). */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < AEAD_TAG) return undefined;
  const ciphertext = sealed.subarray(0, sealed.length - AEAD_TAG);
  const tag = sealed.subarray(sealed.length - AEAD_TAG);
  if (!constantTimeEqual(tagOf(key, nonce, aad, ciphertext), tag)) return undefined;
  return chacha20(key, nonce, 1, ciphertext);
}
