// Reading notes back from flash. A queued note's address is not kept in RAM: its file's span
// table names the one or two blocks that may hold it, and a few scanned blocks stay cached
// (queues are read in order).
import type { Flash } from '../host';
import { ENTRY, MORE, NF, REC_HEAD, RT, Run, u16, u32 } from './format';
import { parseNoteHead } from './records';
import type { ReadonlyFileState } from './ram-index';
import { scanBlock } from './scan';

/** Blocks whose queue-note positions stay cached (each costs 12 bytes per note in the block). */
const CACHED_BLOCKS = 4;

/** A note read back from flash. */
export interface StoredNote {
  file: number;
  seq: number;
  id?: string;
  /** Unix seconds, 0 when the clock was unknown. */
  time: number;
  flags: number;
  format: number;
  body?: Uint8Array;
  payload?: Uint8Array;
}

/** Where one file's queued notes sit in a scanned block. An entry's offset is -1 - (offset of
 * its record); its time is in `times` and its run is the last of `runs` starting at or before it. */
interface BlockNotes {
  block: number;
  file: number;
  seqs: Int32Array;
  offsets: Int32Array;
  times: Uint32Array;
  runs: { from: number; run: Run }[];
}

export class ReadCache {
  readonly #flash: Flash;
  readonly #blockSize: number;
  readonly #recordStart: number;
  readonly #align: number;
  /** Recently scanned blocks: where one file's queued notes sit in each. */
  #cache: BlockNotes[] = [];

  constructor(flash: Flash, blockSize: number, recordStart: number, align: number) {
    this.#flash = flash;
    this.#blockSize = blockSize;
    this.#recordStart = recordStart;
    this.#align = align;
  }

  /** Read a queued note by change number (scans the one or two blocks that may hold it). */
  readQueued(file: ReadonlyFileState, seq: number): StoredNote | undefined {
    if (!file.queued.has(seq)) return undefined;
    for (const c of this.#cache) {
      const i = c.file === file.id ? c.seqs.indexOf(seq) : -1;
      if (i >= 0) return this.#readCached(c, i);
    }
    let found: StoredNote | undefined;
    file.spans.blocksFor(seq, (block) => {
      const c = this.#notesIn(block, file);
      const i = c.seqs.indexOf(seq);
      if (i >= 0) found = this.#readCached(c, i);
      return found !== undefined;
    });
    return found;
  }

  #readCached(c: BlockNotes, i: number): StoredNote {
    const at = c.offsets[i];
    if (at >= 0) return this.readAt(c.block, at);
    let run = c.runs[0].run;
    for (const r of c.runs) if (r.from <= i) run = r.run;
    const body = this.#flash.read(c.block * this.#blockSize - 1 - at, run.len);
    return { file: run.file, seq: c.seqs[i], time: c.times[i], flags: run.flags, format: run.format, body };
  }

  /** After a power cut in the middle of a retirement, a queued note may already have its copy. */
  copiedElsewhere(file: ReadonlyFileState, seq: number, block: number): boolean {
    return file.spans.blocksFor(seq, (other) => other !== block && this.#notesIn(other, file).seqs.indexOf(seq) >= 0);
  }

  /** Where a file's queued notes sit in a block. A few scanned blocks stay cached: queues are read in order. */
  #notesIn(block: number, file: ReadonlyFileState): BlockNotes {
    let hit = this.#cache.find((c) => c.block === block && c.file === file.id);
    if (!hit) {
      // Two passes over the block, counting then filling typed arrays: plain arrays of numbers
      // cost a whole XS slot (16-32 bytes) per element, which the card's heap could not spare.
      const buf = this.#flash.read(block * this.#blockSize, this.#blockSize);
      const visit = (found: (seq: number, offset: number, time: number, run?: Run) => void) =>
        scanBlock(buf, this.#recordStart, this.#align, (r) => {
          if (r.type === ENTRY && r.run!.file === file.id) return found(r.seq!, -1 - r.body, r.time!, r.run);
          if (r.type !== RT.NOTE || u16(buf, r.body) !== file.id || buf[r.body + 10] & NF.KEYED) return;
          found(u32(buf, r.body + 2), r.at, 0);
        });
      let count = 0;
      visit(() => count++);
      const seqs = new Int32Array(count);
      const offsets = new Int32Array(count);
      const times = new Uint32Array(count);
      const runs: { from: number; run: Run }[] = [];
      let n = 0;
      visit((seq, offset, time, run) => {
        const last = runs[runs.length - 1]?.run;
        if (run && (!last || last.flags !== run.flags || last.format !== run.format || last.len !== run.len)) runs.push({ from: n, run });
        seqs[n] = seq;
        offsets[n] = offset;
        times[n++] = time;
      });
      hit = { block, file: file.id, seqs, offsets, times, runs };
      this.#cache.unshift(hit);
      if (this.#cache.length > CACHED_BLOCKS) this.#cache.pop();
    }
    return hit;
  }

  /** The block changed or was freed: its cached positions are stale. */
  forget(block: number): void {
    this.#cache = this.#cache.filter((c) => c.block !== block);
  }

  /** Read the NOTE record at `at` in `block`. */
  readAt(block: number, at: number): StoredNote {
    const base = block * this.#blockSize + at;
    const head = this.#flash.read(base, REC_HEAD);
    const rec = this.#flash.read(base, REC_HEAD + u16(head, 4));
    return decode(rec, 0, block);
  }

  /** Bytes of RAM the cache holds (JS object overheads estimated generously). */
  bytes(): number {
    let n = 0;
    for (const c of this.#cache) n += 64 + c.seqs.byteLength + c.offsets.byteLength + c.times.byteLength + c.runs.length * 48;
    return n;
  }
}

function decode(buf: Uint8Array, at: number, block: number): StoredNote {
  const len = u16(buf, at + 4);
  const b = at + REC_HEAD;
  if ((buf[at + 6] & ~MORE) !== RT.NOTE) throw new Error(`no note record at block ${block} offset ${at}`);
  const h = parseNoteHead(buf, b, len);
  const note: StoredNote = { file: h.file, seq: h.seq, id: h.id, time: h.time, flags: h.flags, format: h.format };
  if (h.flags & NF.BODY) note.body = buf.slice(b + h.bodyAt, b + h.bodyAt + h.bodyLen);
  if (h.flags & NF.PAYLOAD) note.payload = buf.slice(b + h.payloadAt, b + h.payloadAt + h.payloadLen);
  return note;
}
