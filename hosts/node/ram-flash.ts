// A NOR flash held in RAM, with the real device's rules enforced and power cuts on demand.
// Written without Node APIs so the XS lane and benchmarks can use it as well.
import type { Flash } from '../../src/host';

export interface RamFlashOptions {
  size?: number;
  blockSize?: number;
  writeAlign?: number;
  /** Seed for the torn-operation pattern (deterministic tests). */
  seed?: number;
  /** Start from these contents (a copy of another flash's `bytes`). */
  image?: Uint8Array;
}

export class PowerCut extends Error {
  override name = 'PowerCut';
}

export class RamFlash implements Flash {
  readonly size: number;
  readonly blockSize: number;
  readonly writeAlign: number;
  readonly bytes: Uint8Array;
  readonly eraseCounts: Uint32Array;
  /** Write and erase operations since creation (reads are free). */
  ops = 0;
  bytesWritten = 0;
  bytesErased = 0;
  #cutAt = 0; // the op number that is torn, then power is off; 0 = never
  #off = false;
  #rng: number;

  constructor(options: RamFlashOptions = {}) {
    this.blockSize = options.blockSize ?? 4096;
    this.size = options.size ?? 64 * this.blockSize;
    this.writeAlign = options.writeAlign ?? 4;
    if (this.size % this.blockSize) throw new RangeError('size must be a multiple of blockSize');
    this.bytes = new Uint8Array(this.size).fill(0xff);
    if (options.image) this.bytes.set(options.image.subarray(0, this.size));
    this.eraseCounts = new Uint32Array(this.size / this.blockSize);
    this.#rng = (options.seed ?? 1) >>> 0 || 1;
  }

  get powered(): boolean {
    return !this.#off;
  }

  /** Arm a power cut: the `n`th write/erase from now (1 = the next one) is torn, then every op throws. */
  cutAfter(n: number): void {
    this.#cutAt = this.ops + n;
  }

  /** Power back on; the torn state stays as it was left. */
  reboot(): void {
    this.#off = false;
    this.#cutAt = 0;
  }

  read(offset: number, length: number): Uint8Array {
    this.#alive();
    this.#range(offset, length);
    return this.bytes.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    this.#alive();
    this.#range(offset, data.length);
    if (offset % this.writeAlign || data.length % this.writeAlign) {
      throw new RangeError(`flash write at ${offset} of ${data.length} bytes is not ${this.writeAlign}-byte aligned`);
    }
    for (let i = 0; i < data.length; i++) {
      if (data[i] & ~this.bytes[offset + i] & 0xff) {
        throw new RangeError(`flash write at ${offset + i} would set a cleared bit (NOR rule)`);
      }
    }
    if (this.#tearing()) {
      // Bytes before `torn` are programmed, the byte at `torn` only partly, the rest not at all.
      const torn = this.#random(data.length);
      for (let i = 0; i < torn; i++) this.bytes[offset + i] = data[i];
      if (torn < data.length) this.bytes[offset + torn] &= data[torn] | this.#random(256);
      this.#cut();
    }
    this.ops++;
    this.bytesWritten += data.length;
    this.bytes.set(data, offset);
  }

  erase(block: number): void {
    this.#alive();
    if (!Number.isInteger(block) || block < 0 || block >= this.eraseCounts.length) throw new RangeError(`no flash block ${block}`);
    const start = block * this.blockSize;
    if (this.#tearing()) {
      // An interrupted erase leaves an arbitrary mix: here, a random stretch reads erased.
      const a = this.#random(this.blockSize);
      const b = a + this.#random(this.blockSize - a + 1);
      this.bytes.fill(0xff, start + a, start + b);
      this.#cut();
    }
    this.ops++;
    this.eraseCounts[block]++;
    this.bytesErased += this.blockSize;
    this.bytes.fill(0xff, start, start + this.blockSize);
  }

  #tearing(): boolean {
    return this.#cutAt !== 0 && this.ops + 1 >= this.#cutAt;
  }

  #cut(): never {
    this.ops++;
    this.#off = true;
    throw new PowerCut('power cut');
  }

  #alive(): void {
    if (this.#off) throw new PowerCut('flash is unpowered');
  }

  #range(offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`flash access ${offset}+${length} outside 0..${this.size}`);
    }
  }

  /** xorshift32: deterministic, no host globals. */
  #random(below: number): number {
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x >>> 0;
    return below > 0 ? this.#rng % below : 0;
  }
}
