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

const RESUME_INFO = utf8Encode('opencard resume v1');
const EARLY_INFO = utf8Encode('opencard early v1');

/** Full handshake: ikm = the device secret. Resumed session (`resumed`): ikm = the ticket's resumption secret. */
export function deriveSessionKeys(secret: Uint8Array, uid: string, cardNonce: Uint8Array, hubNonce: Uint8Array, resumed = false): SessionKeys {
  const prk = hkdfExtract(concatBytes(cardNonce, hubNonce), secret);
  const okm = hkdfExpand(prk, concatBytes(resumed ? RESUME_INFO : INFO, utf8Encode(uid)), 96);
  return { authKey: okm.slice(0, 32), upKey: okm.slice(32, 64), downKey: okm.slice(64, 96) };
}

/** SHA-256 of the HELLO content followed by the CHALLENGE content, exactly as they crossed. */
export function transcriptHash(helloContent: Uint8Array, challengeContent: Uint8Array): Uint8Array {
  return sha256(helloContent, challengeContent);
}

export function handshakeProof(authKey: Uint8Array, role: 'card' | 'hub', transcript: Uint8Array): Uint8Array {
  return hmacSha256(authKey, utf8Encode(role), transcript);
}

/** The key of a RESUME's early data (card -> hub): the resumption secret and the RESUME content as
 * it crossed (uid, card nonce, every field), so the early data's tags also authenticate the RESUME. */
export function earlyKey(resumeSecret: Uint8Array, resumeContent: Uint8Array): Uint8Array {
  return hkdfExpand(hkdfExtract(sha256(resumeContent), resumeSecret), EARLY_INFO, 32);
}

/** The ticket both sides derive once a session is established, for the next one to RESUME with:
 * its 16-byte name and the resumption secret (never sent). */
export function sessionTicket(authKey: Uint8Array, transcript: Uint8Array): { id: Uint8Array; secret: Uint8Array } {
  return { id: hmacSha256(authKey, utf8Encode('ticket'), transcript).slice(0, 16), secret: hmacSha256(authKey, utf8Encode('resume'), transcript) };
}
