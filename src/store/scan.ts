// Reading a block's records back: committed transactions only, and whether the rest is erased.
import { crc32 } from '../util/crc32';
import { MORE, REC_HEAD, alignUp, u16, u32 } from './format';

/** One record found while scanning a block. */
export interface Found {
  type: number;
  /** Offset of the record within the block. */
  at: number;
  /** Offset of its body within the block buffer. */
  body: number;
  len: number;
}

/** Scan a block buffer: committed records in order; `clean` when what follows the last is erased. */
export function scanBlock(buf: Uint8Array, start: number, align: number, visit: (r: Found) => void): { end: number; clean: boolean } {
  let pos = start;
  let pending: Found[] = [];
  let clean = false;
  for (;;) {
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
    }
    pos += alignUp(REC_HEAD + len, align);
  }
  // A transaction that never finished is not part of the log, and nothing may follow it.
  if (pending.length) return { end: pending[0].at, clean: false };
  return { end: pos, clean };
}

function allErased(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0xff) return false;
  return true;
}

