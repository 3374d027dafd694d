// The card's binary buffer: filled by card.binary.put lines, read by card.binary.get,
// sent whole by note.add {binary:true}. Bytes stream through a COBS decoder straight into
// the buffer, so no encoded line is ever held in RAM.
import { fail } from '../errors';
import { md5Hex } from '../util/md5';
import { CobsDecoder } from './cobs';

interface PendingPut {
  offset: number;
  cobs: number;
  status?: string;
  received: number;
  written: number;
  decoder: CobsDecoder;
}

export class BinaryBuffer {
  readonly max: number;
  #data: Uint8Array | undefined; // allocated on first use: RAM is scarce on the device
  #length = 0;
  #put: PendingPut | undefined;
  /** The reason the last put failed, reported with {bad-bin} until the next good put or a reset. */
  #error: string | undefined;

  constructor(max: number) {
    this.max = max;
  }

  get length(): number {
    return this.#length;
  }

  get lastError(): string | undefined {
    return this.#error;
  }

  /** True while the next serial line is the encoded data of a card.binary.put. */
  get receiving(): boolean {
    return this.#put !== undefined;
  }

  get receivedNothing(): boolean {
    return this.#put?.received === 0;
  }

  bytes(offset = 0, length = this.#length - offset): Uint8Array {
    return (this.#data ?? new Uint8Array(0)).subarray(offset, offset + length);
  }

  md5(): string {
    return md5Hex(this.bytes());
  }

  clear(): void {
    this.#length = 0;
    this.#error = undefined;
    this.#put = undefined;
  }

  /** Replace the contents (web.get and dfu.get binary:true put their bytes here). */
  fill(bytes: Uint8Array): void {
    if (bytes.length > this.max) fail(`binary buffer holds at most ${this.max} bytes`, 'bad-bin', 'too-big');
    this.clear();
    this.#data ??= new Uint8Array(this.max);
    this.#data.set(bytes);
    this.#length = bytes.length;
  }

  /** Arm the buffer for the encoded line that follows a card.binary.put reply. */
  beginPut(cobs: number, offset: number, status: string | undefined): void {
    if (offset !== this.#length) fail(`offset: must equal the current length ${this.#length}`, 'bad-bin');
    // A COBS line of N bytes decodes to at most N-1 bytes.
    if (offset + cobs - 1 > this.max) fail(`binary buffer holds at most ${this.max} bytes`, 'bad-bin', 'too-big');
    this.#data ??= new Uint8Array(this.max);
    const data = this.#data;
    const put: PendingPut = {
      offset,
      cobs,
      status: status?.toLowerCase(),
      received: 0,
      written: 0,
      decoder: new CobsDecoder((b) => {
        if (put.offset + put.written < data.length) data[put.offset + put.written] = b;
        put.written++;
      }),
    };
    this.#put = put;
  }

  receiveByte(byte: number): void {
    const put = this.#put!;
    put.received++;
    if (put.received <= put.cobs) put.decoder.push(byte);
  }

  /** The line ended: validate and commit, or record why not. */
  endPut(): void {
    const put = this.#put!;
    this.#put = undefined;
    let error: string | undefined;
    if (put.received !== put.cobs) error = `received ${put.received} encoded bytes, expected cobs:${put.cobs}`;
    else if (!put.decoder.complete) error = 'data is not valid COBS';
    else if (put.offset + put.written > this.max) error = `binary buffer holds at most ${this.max} bytes`;
    else if (put.status && md5Hex(this.bytes(put.offset, put.written)) !== put.status)
      error = 'md5 of the received data does not match status';
    if (error) {
      this.#error = error;
      return;
    }
    this.#error = undefined;
    this.#length = put.offset + put.written;
  }

  /** A put was interrupted (resync line or a new request instead of data). */
  abortPut(why: string): void {
    if (!this.#put) return;
    this.#put = undefined;
    this.#error = why;
  }
}
