// The serial line discipline: bytes in, one reply per request line out.
// Lines end in '\n' (an optional '\r' before it is dropped); an empty line is the hosts'
// resync handshake and gets exactly "\r\n". After a card.binary.put reply the next line is
// encoded binary data, streamed into the binary buffer.
import type { Card } from '../card';
import { utf8Decode, utf8Encode } from '../util/utf8';
import { sealReply } from './envelope';

/** Longest request line accepted, in bytes (not counting the line ending). */
export const MAX_LINE = 16384;

const CRLF = new Uint8Array([13, 10]);

export class SerialSession {
  /** Undefined while the host boots a new card (card.restart): input is dropped meanwhile,
   * as a rebooting card's UART would. */
  card: Card | undefined;
  readonly maxLine: number;
  #write: (bytes: Uint8Array) => void;
  #line: Uint8Array;
  #length = 0;
  #overflow = false;

  constructor(card: Card, write: (bytes: Uint8Array) => void, maxLine = MAX_LINE) {
    this.card = card;
    this.maxLine = maxLine;
    this.#write = write;
    this.#line = new Uint8Array(maxLine);
  }

  receive(bytes: Uint8Array): void {
    const card = this.card;
    if (!card) return;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      const binary = card.binary;
      if (binary.receiving) {
        if (b === 10) {
          if (binary.receivedNothing) {
            binary.abortPut('binary data expected, got an empty line');
            this.#write(CRLF);
          } else binary.endPut();
        } else binary.receiveByte(b);
        continue;
      }
      if (b !== 10) {
        if (this.#length < this.maxLine) this.#line[this.#length++] = b;
        else this.#overflow = true;
        continue;
      }
      let end = this.#length;
      if (end > 0 && this.#line[end - 1] === 13) end--;
      const overflow = this.#overflow;
      this.#length = 0;
      this.#overflow = false;
      if (overflow) this.#send(sealReply({ err: `request longer than ${this.maxLine} bytes {too-big}` }, undefined, undefined));
      else if (end === 0) this.#write(CRLF);
      else this.#handle(utf8Decode(this.#line, 0, end));
    }
  }

  #handle(text: string): void {
    const reply = this.card!.request(text);
    if (reply.text !== undefined) this.#send(reply.text);
    if (reply.trailer) this.#write(reply.trailer);
    reply.after?.();
  }

  #send(text: string): void {
    const body = utf8Encode(text);
    const out = new Uint8Array(body.length + 2);
    out.set(body);
    out.set(CRLF, body.length);
    this.#write(out); // one piece: hosts read the reply line as a unit
  }
}
