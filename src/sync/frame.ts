// Framing of the sync stream (docs/SYNC.md section 1): varint(n) type body, a streaming reader
// that reassembles frames from arbitrary chunks in one bounded buffer, and sealing with
// ChaCha20-Poly1305 under a per-direction key and sequence number.
import { aeadOpen, aeadSeal, AEAD_TAG } from '../crypto/aead';
import { ByteWriter, FrameError } from './varint-io';
import { decodeMessage, encodeMessage, LIMITS, messageTypeOf, type SyncMessage } from './messages';

export const MAX_FRAME: number = LIMITS.maxFrame;
/** Type-byte bit 7: the content is encrypted. */
export const TYPE_ENCRYPTED = 0x80;

export interface Frame {
  /** The type byte as sent (E bit included). */
  type: number;
  body: Uint8Array;
}

/** varint(n) || type: the frame header, also the AEAD associated data. */
export function frameHeader(type: number, bodyLength: number): Uint8Array {
  return new ByteWriter(4).varint(1 + bodyLength).u8(type).finish();
}

export function encodeFrame(type: number, body: Uint8Array, maxFrame = MAX_FRAME): Uint8Array {
  if (1 + body.length > maxFrame) throw new FrameError('frame too large');
  const header = frameHeader(type, body.length);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** A plain (unsealed) frame carrying a message: only for the handshake. */
export function encodePlain(m: SyncMessage, maxFrame = MAX_FRAME): Uint8Array {
  return encodeFrame(messageTypeOf(m), encodeMessage(m), maxFrame);
}

/**
 * Reassembles frames from a byte stream delivered in arbitrary chunks. Holds at most one frame
 * (maxFrame + header) in RAM; a declared length above the limit or a bad length varint throws
 * FrameError, and the reader stays failed (the connection is to be closed).
 */
export class FrameReader {
  readonly #max: number;
  readonly #buffer: Uint8Array;
  #fill = 0;
  #failed: string | undefined;

  constructor(maxFrame = MAX_FRAME) {
    this.#max = maxFrame;
    this.#buffer = new Uint8Array(maxFrame + 3);
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#fill;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.#failed) throw new FrameError(this.#failed);
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(this.#buffer.length - this.#fill, chunk.length - at);
      this.#buffer.set(chunk.subarray(at, at + take), this.#fill);
      this.#fill += take;
      at += take;
      this.#drain(frames);
    }
    return frames;
  }

  #drain(frames: Frame[]): void {
    for (;;) {
      const b = this.#buffer;
      // Parse the length varint (at most 2 bytes for 4096; 3 allowed for larger limits).
      let n = 0;
      let scale = 1;
      let h = 0;
      for (;;) {
        if (h >= this.#fill) return; // need more bytes
        const x = b[h++];
        n += (x & 0x7f) * scale;
        if (x < 0x80) {
          if (x === 0 && h > 1) this.#fail('non-canonical frame length');
          break;
        }
        scale *= 128;
        if (h === 3) this.#fail('frame length too long');
      }
      if (n < 1 || n > this.#max) this.#fail(`frame length ${n} out of range`);
      if (this.#fill < h + n) return;
      frames.push({ type: b[h], body: b.slice(h + 1, h + n) });
      b.copyWithin(0, h + n, this.#fill);
      this.#fill -= h + n;
    }
  }

  #fail(reason: string): never {
    this.#failed = reason;
    throw new FrameError(reason);
  }
}

function nonceOf(seq: number): Uint8Array {
  const nonce = new Uint8Array(12);
  for (let i = 0, v = seq; i < 8; i++, v = Math.floor(v / 256)) nonce[4 + i] = v % 256;
  return nonce;
}

/** Seals one direction's frames: key + sequence number (0 for the first sealed frame). */
export class FrameSealer {
  readonly #key: Uint8Array;
  #seq = 0;
  readonly #maxFrame: number;

  constructor(key: Uint8Array, maxFrame = MAX_FRAME) {
    this.#key = key;
    this.#maxFrame = maxFrame;
  }

  get sequence(): number {
    return this.#seq;
  }

  /** The largest frame this sealer sends (the smaller of both sides' limits). */
  get maxFrame(): number {
    return this.#maxFrame;
  }

  /** Frame bytes for `content` of message `type`; E set when `encrypt`. */
  seal(type: number, content: Uint8Array, encrypt: boolean): Uint8Array {
    const fullType = encrypt ? type | TYPE_ENCRYPTED : type;
    const bodyLength = content.length + AEAD_TAG;
    if (1 + bodyLength > this.#maxFrame) throw new FrameError('frame too large');
    const header = frameHeader(fullType, bodyLength);
    const nonce = nonceOf(this.#seq++);
    let body: Uint8Array;
    if (encrypt) {
      body = aeadSeal(this.#key, nonce, content, header);
    } else {
      const aad = new Uint8Array(header.length + content.length);
      aad.set(header);
      aad.set(content, header.length);
      body = new Uint8Array(bodyLength);
      body.set(content);
      body.set(aeadSeal(this.#key, nonce, new Uint8Array(0), aad), content.length);
    }
    return encodeFrame(fullType, body, this.#maxFrame);
  }

  sealMessage(m: SyncMessage, encrypt: boolean): Uint8Array {
    return this.seal(messageTypeOf(m), encodeMessage(m), encrypt);
  }
}

/** Opens the peer's sealed frames in order; any failure throws FrameError('authentication failed'). */
export class FrameOpener {
  readonly #key: Uint8Array;
  #seq = 0;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  open(frame: Frame): { type: number; encrypted: boolean; content: Uint8Array } {
    if (frame.body.length < AEAD_TAG) throw new FrameError('authentication failed');
    const header = frameHeader(frame.type, frame.body.length);
    const nonce = nonceOf(this.#seq);
    const encrypted = (frame.type & TYPE_ENCRYPTED) !== 0;
    let content: Uint8Array | undefined;
    if (encrypted) {
      content = aeadOpen(this.#key, nonce, frame.body, header);
    } else {
      const plain = frame.body.subarray(0, frame.body.length - AEAD_TAG);
      const aad = new Uint8Array(header.length + plain.length);
      aad.set(header);
      aad.set(plain, header.length);
      if (aeadOpen(this.#key, nonce, frame.body.subarray(plain.length), aad)) content = plain;
    }
    if (!content) throw new FrameError('authentication failed');
    this.#seq++;
    return { type: frame.type & ~TYPE_ENCRYPTED, encrypted, content };
  }

  openMessage(frame: Frame): { message: SyncMessage; encrypted: boolean } {
    const { type, encrypted, content } = this.open(frame);
    return { message: decodeMessage(type, content), encrypted };
  }
}
