// Block allocation and wear: which blocks are in use (oldest first) and free, their erase
// counts, and the head block where every write goes.
import { CardError } from '../errors';
import type { Flash } from '../host';
import { crc32 } from '../util/crc32';
import { BLOCK_MAGIC, HEADER_SEAL, Run, alignUp, put32, u32 } from './format';

export class StorageFull extends CardError {
  override name = 'StorageFull';
}

export class Blocks {
  readonly flash: Flash;
  readonly blockSize: number;
  readonly align: number;
  readonly count: number;
  /** Offset of the first record in a block. */
  readonly recordStart: number;
  /** The largest transaction (framed bytes) that fits in a block. */
  readonly capacity: number;
  readonly seq: Uint32Array; // 0 = free
  readonly erases: Uint32Array;
  order: number[] = []; // blocks in use, oldest first
  readonly free: number[] = [];
  maxSeq = 0;
  head = -1;
  headPos = 0;
  headOpen = false;
  /** The run the head block ends in, open for more entries. */
  run: Run | undefined;
  /** Called before the head changes: cached reads of it go stale. */
  readonly #changed: (block: number) => void;

  constructor(flash: Flash, changed: (block: number) => void) {
    this.flash = flash;
    this.#changed = changed;
    this.blockSize = flash.blockSize;
    this.align = Math.max(1, flash.writeAlign);
    this.count = Math.floor(flash.size / flash.blockSize);
    if (this.count < 6) throw new RangeError('the store needs at least 6 flash blocks');
    // The 16-byte header seal must be one aligned write.
    if (HEADER_SEAL % this.align) throw new RangeError(`write alignment ${this.align} must divide ${HEADER_SEAL}`);
    this.recordStart = HEADER_SEAL + alignUp(4, this.align);
    this.capacity = this.blockSize - this.recordStart;
    this.seq = new Uint32Array(this.count);
    this.erases = new Uint32Array(this.count);
  }

  /** Read every block header: erase counts, free blocks; returns the in-use blocks, oldest first. */
  mount(): number[] {
    const found: number[] = [];
    let maxErases = 0;
    const unknown: number[] = [];
    for (let block = 0; block < this.count; block++) {
      const h = this.flash.read(block * this.blockSize, this.recordStart);
      const erases = u32(h, 16);
      if (erases !== 0xffffffff) {
        this.erases[block] = erases;
        maxErases = Math.max(maxErases, erases);
      } else unknown.push(block);
      if (u32(h, 0) === BLOCK_MAGIC && u32(h, 8) === headerCrc(h) && u32(h, 4) !== 0) {
        this.seq[block] = u32(h, 4);
        found.push(block);
      } else this.free.push(block);
    }
    for (const block of unknown) this.erases[block] = maxErases;
    found.sort((a, b) => this.seq[a] - this.seq[b]);
    this.order = found;
    for (const block of found) this.maxSeq = Math.max(this.maxSeq, this.seq[block]);
    return found;
  }

  /** Append bytes at the head; returns where they start. Anything but an entry (`append`) first
   * ends an open run with a zero byte, in the same write. `run` is the run open after it.
   * A failed write closes the head: nothing may follow a torn record. */
  write(bytes: Uint8Array, run?: Run, append = false): number {
    this.#changed(this.head);
    let out = bytes;
    if (this.run && !append) {
      out = new Uint8Array(alignUp(1, this.align) + bytes.length); // zeros: the run's end
      out.set(bytes, out.length - bytes.length);
    }
    try {
      this.flash.write(this.head * this.blockSize + this.headPos, out);
    } catch (e) {
      this.headOpen = false;
      this.run = undefined;
      throw e;
    }
    const at = this.headPos + out.length - bytes.length;
    this.headPos += out.length;
    this.run = run;
    return at;
  }

  /** Whether `size` bytes (plus the end of an open run) fit at the head. */
  fits(size: number): boolean {
    const end = this.run ? alignUp(1, this.align) : 0;
    return this.head >= 0 && this.headOpen && this.headPos + size + end <= this.blockSize;
  }

  tooFull(): never {
    throw new StorageFull(`storage full: the ${(this.count * this.blockSize) >> 10} KB notefile store has no room left; delete or sync notes`, 'storage-full', 'too-big');
  }

  /** Take the least-worn free block as the new head. */
  allocate(): void {
    let pick = 0;
    for (let i = 1; i < this.free.length; i++) if (this.erases[this.free[i]] < this.erases[this.free[pick]]) pick = i;
    const block = this.free[pick];
    this.headOpen = false;
    this.flash.erase(block);
    this.erases[block]++;
    const seq = ++this.maxSeq;
    const header = new Uint8Array(this.recordStart).fill(0xff);
    put32(header, 0, BLOCK_MAGIC);
    put32(header, 4, seq);
    put32(header, 16, this.erases[block]);
    put32(header, 8, headerCrc(header));
    this.flash.write(block * this.blockSize, header);
    this.free.splice(pick, 1);
    this.seq[block] = seq;
    this.order.push(block);
    this.head = block;
    this.headPos = this.recordStart;
    this.headOpen = true;
    this.run = undefined;
  }

  /** Free the oldest block (its live contents already copied): zero its header. */
  releaseOldest(): void {
    const block = this.order[0];
    this.flash.write(block * this.blockSize, new Uint8Array(HEADER_SEAL));
    this.order.shift();
    this.seq[block] = 0;
    this.free.push(block);
  }
}

function headerCrc(h: Uint8Array): number {
  const b = new Uint8Array(12);
  b.set(h.subarray(0, 8));
  b.set(h.subarray(16, 20), 8);
  return crc32(b);
}
