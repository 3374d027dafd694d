// Runs: a templated queue note is an entry appended to the head's run (format.ts, Run), a few
// bytes and one flash write instead of a record.
import type { Blocks } from './blocks';
import { FORMAT_JSON, NF, RT, Run, alignUp, entryBytes, frame, runBody } from './format';
import { parseNoteHead } from './records';

/** A queue note written as a run entry (templated, body only). */
export interface EntryNote {
  file: number;
  seq: number;
  time: number;
  flags: number;
  format: number;
  record: Uint8Array;
}

/** A note record that can be a run entry: a templated queue note with a body and no payload. */
export function entryOf(buf: Uint8Array, b: number, len: number, capacity: number): EntryNote | undefined {
  const h = parseNoteHead(buf, b, len);
  const ok = h.id === undefined && h.flags & NF.BODY && !(h.flags & (NF.PAYLOAD | NF.DELETED)) && h.format !== FORMAT_JSON;
  if (!ok || h.bodyLen < 1 || h.bodyLen + 64 > capacity) return undefined;
  const record = buf.slice(b + h.bodyAt, b + h.bodyAt + h.bodyLen);
  return { file: h.file, seq: h.seq, time: h.time, flags: h.flags, format: h.format, record };
}

/** Whether entry `e` is the next one of run `r`. */
export function continues(r: Run, e: EntryNote): boolean {
  return r.file === e.file && r.next === e.seq && r.flags === e.flags && r.format === e.format && r.len === e.record.length;
}

/** A new run whose first entry is `e`. */
export function runFor(e: EntryNote): Run {
  return { file: e.file, next: e.seq, time: e.time, step: 0, flags: e.flags, format: e.format, len: e.record.length };
}

/** Append `e` to the head's open run when it continues it and fits: one flash write. */
export function appendEntry(log: Blocks, e: EntryNote): boolean {
  const r = log.run;
  if (!r || !log.headOpen || r.file !== e.file || r.next !== e.seq || r.flags !== e.flags || r.format !== e.format) return false;
  if (r.len !== e.record.length) return false;
  const entry = entryBytes(r, e.time, e.record);
  const bytes = new Uint8Array(alignUp(entry.length, log.align)).fill(0xff);
  bytes.set(entry);
  if (log.headPos + bytes.length > log.blockSize) return false;
  log.write(bytes, { ...r, next: r.next + 1, time: e.time, step: e.time - r.time }, true);
  return true;
}

/** Write a queue note as an entry of the head's run, or as the first entry of a new run
 * (its RUN record and the entry in one flash write), after `room` made room for it at `level`. */
export function putEntry(log: Blocks, e: EntryNote, level: number, room: (size: number, level: number) => void): void {
  if (log.free.length < level || !appendEntry(log, e)) {
    const run = runFor(e);
    const head = frame([{ type: RT.RUN, body: runBody(run) }], log.align, false);
    const entry = entryBytes(run, e.time, e.record);
    room(head.length + alignUp(entry.length, log.align), level);
    if (!appendEntry(log, e)) {
      const bytes = new Uint8Array(head.length + alignUp(entry.length, log.align)).fill(0xff);
      bytes.set(head);
      bytes.set(entry, head.length);
      log.write(bytes, { ...run, next: e.seq + 1 });
    }
  }
}
