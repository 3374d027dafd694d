// A NOR flash emulated in a file, so the card's storage survives simulator restarts.
// True NOR rules: erase sets a block to 0xFF; a write may only clear bits (writing a 1 over a 0
// is an error, as it would silently not happen on real hardware); writes honour the alignment.
import * as fs from 'fs';
import type { Flash } from '../../src/host';

export interface FileFlashOptions {
  size?: number;
  blockSize?: number;
  writeAlign?: number;
}

export class FileFlash implements Flash {
  readonly size: number;
  readonly blockSize: number;
  readonly writeAlign: number;
  readonly path: string;
  #fd: number;
  #image: Uint8Array; // mirror of the file: reads never touch the disk

  constructor(path: string, options: FileFlashOptions = {}) {
    this.path = path;
    this.blockSize = options.blockSize ?? 4096;
    this.writeAlign = options.writeAlign ?? 4;
    const existing = fs.existsSync(path) ? fs.statSync(path).size : 0;
    this.size = options.size ?? (existing || 4 * 1024 * 1024);
    if (this.size % this.blockSize) throw new Error(`flash size ${this.size} is not a multiple of the ${this.blockSize}-byte block`);
    // the card's notes, settings and keys: private to the user (tightened if an older version made it readable)
    this.#fd = fs.openSync(path, existing ? 'r+' : 'w+', 0o600);
    if (fs.fstatSync(this.#fd).mode & 0o077) fs.fchmodSync(this.#fd, 0o600);
    this.#image = new Uint8Array(this.size).fill(0xff);
    if (existing) {
      if (existing !== this.size) throw new Error(`${path} holds ${existing} bytes, expected ${this.size}`);
      fs.readSync(this.#fd, this.#image, 0, this.size, 0);
    } else {
      fs.writeSync(this.#fd, this.#image, 0, this.size, 0);
    }
  }

  read(offset: number, length: number): Uint8Array {
    this.#check(offset, length);
    return this.#image.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    this.#check(offset, data.length);
    if (offset % this.writeAlign || data.length % this.writeAlign) {
      throw new Error(`flash write at ${offset} of ${data.length} bytes is not ${this.writeAlign}-byte aligned`);
    }
    for (let i = 0; i < data.length; i++) {
      if (data[i] & ~this.#image[offset + i] & 0xff) throw new Error(`flash write at ${offset + i} would set a cleared bit`);
    }
    this.#image.set(data, offset);
    fs.writeSync(this.#fd, data, 0, data.length, offset);
  }

  erase(block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.size / this.blockSize) throw new Error(`no flash block ${block}`);
    const offset = block * this.blockSize;
    this.#image.fill(0xff, offset, offset + this.blockSize);
    fs.writeSync(this.#fd, this.#image, offset, this.blockSize, offset);
  }

  close(): void {
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }

  #check(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new Error(`flash access ${offset}+${length} outside 0..${this.size}`);
    }
  }
}
