// The card's cryptography, written for the core (no host crypto, no BigInt).
export { Sha256, sha256, SHA256_SIZE } from './sha256';
export { HmacSha256, hmacSha256, hkdfExtract, hkdfExpand, hkdfSha256 } from './hmac';
export { chacha20, chacha20Block } from './chacha20';
export { Poly1305, poly1305 } from './poly1305';
export { aeadSeal, aeadOpen, AEAD_TAG } from './aead';
export { constantTimeEqual } from './constant-time';
export { concatBytes } from '../util/concat';
export { toHex, fromHex } from '../util/hex';
