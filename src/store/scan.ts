// Reading a block's records back: committed transactions only, and whether the rest is erased.
import { crc32 } from '../util/crc32';
import { ENTRY, MORE, REC_HEAD, RT, Run, SKIP, alignUp, entryCheck, parseRun, u16, u32 } from './format';

/** One record found while scanning a block, or one entry of a run (type ENTRY), or a skip slot
 * (type SKIP: a change number of the run that is gone; len 0). */
export interface Found {
  type: number;
  /** Offset of the record (or entry) within the block. */
  at: number;
  /** Offset of its body (an entry: its packed record) within the block buffer. */
  body: number;
  len: number;
  /** An entry: its run (file, flags, format), change number and time. */
  run?: Run;
  seq?: number;
  time?: number;
}

/** Scan a block buffer: committed records in order; `clean` when what follows the last is
 * erased; `run` when the block ends, clean, inside a run that can still be appended to. */
export function scanBlock(buf: Uint8Array, start: number, align: number, visit: (r: Found) => void): { end: number; clean: boolean; run?: Run } {
  let pos = start;
  let pending: Found[] = [];
  let clean = false;
  let run: Run | undefined;
  for (;;) {
    if (run) {
      if (allErased(buf, pos, buf.length)) {
        clean = true;
        break;
      }
      if (buf[pos] === 0) {
        run = undefined; // the run was ended: records follow
        pos += alignUp(1, align);
        continue;
      }
      const skip = buf[pos] === 0x80 && buf[pos + 1] === 0x00;
      const e = readEntry(buf, pos, run, skip);
      if (e < 0) break; // a torn entry ends the block
      if (skip) visit({ type: SKIP, at: pos, body: e - 2, len: 0, run, seq: run.next, time: run.time });
      else visit({ type: ENTRY, at: pos, body: e - 2 - run.len, len: run.len, run, seq: run.next, time: run.time });
      run = { ...run, next: run.next + 1 };
      pos = alignUp(e, align);
      continue;
    }
    if (pos + REC_HEAD > buf.length) {
      clean = pos >= buf.length || allErased(buf, pos, buf.length);
      break;
    }
    if (allErased(buf, pos, pos + REC_HEAD)) {
      clean = allErased(buf, pos, buf.length);
      break;
    }
    const len = u16(buf, pos + 4);
    if (pos + REC_HEAD + len > buf.length) break;
    if (crc32(buf.subarray(pos + 4, pos + REC_HEAD + len)) !== u32(buf, pos)) break;
    const tag = buf[pos + 6];
    pending.push({ type: tag & ~MORE, at: pos, body: pos + REC_HEAD, len });
    if (!(tag & MORE)) {
      for (const r of pending) visit(r);
      pending = [];
      if ((tag & ~MORE) === RT.RUN) run = parseRun(buf, pos + REC_HEAD);
    }
    pos += alignUp(REC_HEAD + len, align);
  }
  // A transaction that never finished is not part of the log, and nothing may follow it.
  if (pending.length) return { end: pending[0].at, clean: false };
  return { end: pos, clean, run: clean ? run : undefined };
}

/** Reads the entry (or skip slot) at `pos` of `run`; on success advances run.time and .step and
 * returns its end, else -1. */
function readEntry(buf: Uint8Array, pos: number, run: Run, skip: boolean): number {
  let d = 0;
  let scale = 1;
  let o = skip ? pos + 2 : pos;
  for (;;) {
    if (o >= buf.length || scale > 0x10000000) return -1;
    const b = buf[o++];
    d += (b & 0x7f) * scale;
    scale *= 0x80;
    if (!(b & 0x80)) break;
  }
  const end = o + (skip ? 0 : run.len) + 2;
  if (d < 1 || end > buf.length || entryCheck(buf, pos, end - 2) !== u16(buf, end - 2)) return -1;
  const step = run.step + ((d - 1) % 2 ? -d / 2 : (d - 1) / 2);
  if (run.time + step < 0 || run.time + step > 0xffffffff) return -1;
  run.time += step;
  run.step = step;
  return end;
}

function allErased(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0xff) return false;
  return true;
}
