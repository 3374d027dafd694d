// Session keys and handshake proofs (docs/SYNC.md section 3).
import { hkdfExpand, hkdfExtract, hmacSha256 } from '../crypto/hmac';
import { sha256 } from '../crypto/sha256';
import { concatBytes } from '../util/concat';
import { utf8Encode } from '../util/utf8';

export interface SessionKeys {
  authKey: Uint8Array;
  /** card -> hub */
  upKey: Uint8Array;
  /** hub -> card */
  downKey: Uint8Array;
}

const INFO = utf8Encode('opencard sync v1');

export function deriveSessionKeys(secret: Uint8Array, uid: string, cardNonce: Uint8Array, hubNonce: Uint8Array): SessionKeys {
  const prk = hkdfExtract(concatBytes(cardNonce, hubNonce), secret);
  const okm = hkdfExpand(prk, concatBytes(INFO, utf8Encode(uid)), 96);
  return { authKey: okm.slice(0, 32), upKey: okm.slice(32, 64), downKey: okm.slice(64, 96) };
}

/** SHA-256 of the HELLO content followed by the CHALLENGE content, exactly as they crossed. */
export function transcriptHash(helloContent: Uint8Array, challengeContent: Uint8Array): Uint8Array {
  return sha256(helloContent, challengeContent);
}

export function handshakeProof(authKey: Uint8Array, role: 'card' | 'hub', transcript: Uint8Array): Uint8Array {
  return hmacSha256(authKey, utf8Encode(role), transcript);
}
