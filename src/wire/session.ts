// The serial line discipline: bytes in, one reply per request line out.
// Lines end in '\n', '\r\n' or a bare '\r' (what terminal programs send on Enter); the '\n' of a
// '\r\n' is skipped even when it arrives in a later read. An empty line is the hosts' resync
// handshake and gets exactly "\r\n". After a card.binary.put reply the next line is encoded
// binary data, streamed into the binary buffer; there only '\n' ends it ('\r' is a data byte).
import { utf8Decode, utf8Encode } from '../util/utf8';
import type { BinaryBuffer } from './binary';
import { sealReply } from './envelope';

/** A reply as the session writes it: text + "\r\n", then raw trailer bytes, then `after`. */
export interface Reply {
  /** Undefined for a cmd: no reply at all. */
  text?: string;
  trailer?: Uint8Array;
  after?: () => void;
  /** The reply comes later (web.*): `later` is called with what writes it. Until then the
   * session holds further input, as a card busy with a request does. */
  later?: (send: (reply: Reply) => void) => void;
}

/** What the session drives: the card (src/card.ts). */
export interface LineCard {
  readonly binary: BinaryBuffer;
  /** Answer one request line (without its line ending). Never throws. */
  request(text: string): Reply;
}

/** Longest request line accepted, in bytes (not counting the line ending). */
export const MAX_LINE = 16384;

/** The line buffer's size between lines. It doubles (up to maxLine) for a longer line and drops
 * back once that line is handled: a device cannot spare maxLine bytes for the session's whole
 * life (a card booting in place, after card.restart, had that much less room than at power-on). */
const LINE_START = 256;

const CRLF = new Uint8Array([13, 10]);

export class SerialSession<C extends LineCard = LineCard> {
  /** Undefined while the host boots a new card (card.restart): input is dropped meanwhile,
   * as a rebooting card's UART would. */
  card: C | undefined;
  readonly maxLine: number;
  #write: (bytes: Uint8Array) => void;
  #line: Uint8Array;
  #length = 0;
  #overflow = false;
  /** The last line ended at a '\r': a '\n' right after it is the rest of that line ending. */
  #afterCr = false;
  /** The host resynchronised (an empty line): what it has not read yet is stale (the transport
   * may drop it) before the answering CRLF is written. */
  onResync: (() => void) | undefined;
  /** A reply is outstanding (Reply.later): input waits in #held, at most a line's worth. */
  #waiting = false;
  #held: Uint8Array[] = [];
  #heldBytes = 0;

  constructor(card: C, write: (bytes: Uint8Array) => void, maxLine = MAX_LINE) {
    this.card = card;
    this.maxLine = maxLine;
    this.#write = write;
    this.#line = new Uint8Array(Math.min(LINE_START, maxLine));
  }

  /** A new host is on the line (a new connection): forget a half-received line of the old one. */
  reset(): void {
    this.#length = 0;
    this.#overflow = false;
    this.#afterCr = false;
    if (this.#line.length > LINE_START) this.#line = new Uint8Array(LINE_START);
    this.card?.binary.abortPut('the host connection changed');
  }

  receive(bytes: Uint8Array): void {
    const card = this.card;
    if (!card) return;
    if (this.#waiting) return this.#hold(bytes);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      const afterCr = this.#afterCr;
      this.#afterCr = false;
      if (afterCr && b === 10) continue;
      const binary = card.binary;
      if (binary.receiving) {
        if (b === 10) {
          if (binary.receivedNothing) {
            binary.abortPut('binary data expected, got an empty line');
            this.#resync();
          } else binary.endPut();
        } else binary.receiveByte(b);
        continue;
      }
      if (b !== 10 && b !== 13) {
        if (this.#length === this.#line.length && this.#length < this.maxLine) this.#grow();
        if (this.#length < this.#line.length) this.#line[this.#length++] = b;
        else this.#overflow = true;
        continue;
      }
      this.#afterCr = b === 13;
      const end = this.#length;
      const overflow = this.#overflow;
      this.#length = 0;
      this.#overflow = false;
      if (overflow) this.#send(sealReply({ err: `request longer than ${this.maxLine} bytes {too-big}` }, undefined, undefined));
      else if (end === 0) this.#resync();
      else this.#handle(utf8Decode(this.#line, 0, end));
      if (this.#line.length > LINE_START) this.#line = new Uint8Array(LINE_START);
      if (this.#waiting) return this.#hold(bytes.subarray(i + 1));
    }
  }

  #grow(): void {
    const line = new Uint8Array(Math.min(this.#line.length * 2, this.maxLine));
    line.set(this.#line);
    this.#line = line;
  }

  /** Input while a reply is outstanding: kept (bounded: a host waits for its answer) for after it. */
  #hold(bytes: Uint8Array): void {
    const room = this.maxLine + 2 - this.#heldBytes;
    if (bytes.length === 0 || room <= 0) return;
    const kept = bytes.slice(0, room);
    this.#held.push(kept);
    this.#heldBytes += kept.length;
  }

  #answer(reply: Reply): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    if (reply.text !== undefined) this.#send(reply.text, reply.trailer);
    reply.after?.();
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (let i = 0; i < held.length; i++) {
      if (this.#waiting) this.#hold(held[i]);
      else this.receive(held[i]);
    }
  }

  #resync(): void {
    this.onResync?.();
    this.#write(CRLF);
  }

  #handle(text: string): void {
    const reply = this.card!.request(text);
    if (reply.later) {
      this.#waiting = true;
      reply.later((r) => this.#answer(r));
      return;
    }
    if (reply.text !== undefined) this.#send(reply.text, reply.trailer);
    else if (reply.trailer) this.#write(reply.trailer);
    reply.after?.();
  }

  /** One piece: hosts read the reply line (and a binary line after it) as a unit, and a
   * transport that has to drop output drops a whole reply, never half of one. */
  #send(text: string, trailer?: Uint8Array): void {
    const body = utf8Encode(text);
    const out = new Uint8Array(body.length + 2 + (trailer?.length ?? 0));
    out.set(body);
    out.set(CRLF, body.length);
    if (trailer) out.set(trailer, body.length + 2);
    this.#write(out);
  }
}
