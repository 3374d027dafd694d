// The notes block of a NOTES frame (docs/SYNC.md 4.2): columnar headers, then the data, the whole
// block LZ-2K compressed when that is smaller.
import type { JsonObject } from '../json';
import { isObject } from '../json';
import { ByteReader, ByteWriter, FrameError } from './varint-io';
import { PackedJsonReader, PackedJsonWriter } from './pjson';
import { utf8Encode } from '../util/utf8';
import { MAX_NOTE_ID } from '../rules/names';

/** One note as it crosses the link. Exactly one of body / record, or neither; none when deleted. */
export interface WireNote {
  /** The sender's change counter for this change. */
  counter: number;
  /** Unix seconds of the change (0 = unknown). */
  time: number;
  id?: string;
  deleted?: boolean;
  /** A JSON body. */
  body?: JsonObject;
  /** A templated body: the binary record of the notefile's template. */
  record?: Uint8Array;
  payload?: Uint8Array;
  /** Where the note was made, when the card knew: degrees and unix seconds of the fix. */
  where?: { lat: number; lon: number; time: number };
}

export const MAX_BLOCK = 8192;

const F_JSON = 0x01, F_RECORD = 0x02, F_PAYLOAD = 0x04, F_DELETED = 0x08, F_ID = 0x10, F_STEP = 0x20, F_TIME = 0x40, F_EXT = 0x80;
const X_WHERE = 0x01;
export const ENCODING_LZ = 0x01;

/**
 * History for LZ-2K before every notes block: field names that devices commonly send, so even a
 * block's first spelling of a key is a short match. Changing it changes the protocol version.
 */
export const NOTES_DICTIONARY: Uint8Array = utf8Encode(
  'sensortimestampstatuserrorcountvaluelevelbatteryvoltagecurrentpowerenergyspeedheadingaltitude' +
  'latitudelongitudelocationpressurehumiditytemperaturetempseqidnamemodetypeeventmessagealert' +
  'minmaxavgtotalrateintervaldurationstartendstatecodedatavolumeweightflowsignalrssi'
);

/** Pack notes into an uncompressed block (counters must rise from `since`); all must fit MAX_BLOCK. */
export function packBlock(since: number, notes: readonly WireNote[]): Uint8Array {
  const { block, count } = packBlockUpTo(since, notes, MAX_BLOCK);
  if (count < notes.length) throw new FrameError('notes block too large');
  return block;
}

/** Pack as many leading notes as fit `maxBlock` bytes. */
export function packBlockUpTo(since: number, notes: readonly WireNote[], maxBlock: number): { block: Uint8Array; count: number } {
  const head = new ByteWriter(16 + notes.length * 4);
  const data = new ByteWriter(64 + notes.length * 16);
  const bodies = new PackedJsonWriter(data);
  let counter = since;
  let time = 0;
  let count = 0;
  for (const n of notes) {
    if (!Number.isSafeInteger(n.counter) || n.counter <= counter) throw new FrameError('note counters must rise');
    if (!Number.isSafeInteger(n.time) || n.time < 0) throw new FrameError('bad note time');
    if (n.body && n.record) throw new FrameError('a note has either a JSON body or a record');
    if (n.deleted && (n.body || n.record || n.payload)) throw new FrameError('a tombstone has no content');
    const headMark = head.length;
    const dataMark = data.length;
    let flags = 0;
    if (n.body) flags |= F_JSON;
    if (n.record) flags |= F_RECORD;
    if (n.payload) flags |= F_PAYLOAD;
    if (n.deleted) flags |= F_DELETED;
    if (n.id !== undefined) flags |= F_ID;
    if (n.counter !== counter + 1) flags |= F_STEP;
    if (n.time !== time) flags |= F_TIME;
    if (n.where) flags |= F_EXT;
    head.u8(flags);
    if (flags & F_STEP) head.varint(n.counter - counter);
    if (flags & F_TIME) head.zigzag(n.time - time);
    if (n.id !== undefined) head.str(n.id, MAX_NOTE_ID);
    if (n.where) {
      const w = new Uint8Array(16);
      const view = new DataView(w.buffer);
      view.setFloat64(0, n.where.lat, true);
      view.setFloat64(8, n.where.lon, true);
      head.u8(X_WHERE).bytes(w).varint(n.where.time);
    }
    if (n.body) {
      try {
        bodies.value(n.body);
      } catch (e) {
        // Its keys would pass the block's limit: the block ends before it (alone, it must fit).
        if (count === 0 || !(e instanceof FrameError)) throw e;
        head.truncate(headMark);
        data.truncate(dataMark);
        break;
      }
      head.varint(data.length - dataMark);
    } else if (n.record) {
      head.varint(n.record.length);
      data.bytes(n.record);
    }
    if (n.payload) {
      head.varint(n.payload.length);
      data.bytes(n.payload);
    }
    // The count varint takes at most 3 bytes for any block that fits.
    if (3 + head.length + data.length > maxBlock) {
      // Undo this note and stop: keys it interned are never referenced, as no note follows.
      head.truncate(headMark);
      data.truncate(dataMark);
      break;
    }
    counter = n.counter;
    time = n.time;
    count++;
  }
  const block = new ByteWriter(3 + head.length + data.length);
  block.varint(count).bytes(head.finish()).bytes(data.finish());
  return { block: block.finish(), count };
}

/** Unpack a block; every counter must be in (since, until]. */
export function unpackBlock(block: Uint8Array, since: number, until: number): WireNote[] {
  const r = new ByteReader(block);
  const count = r.varint();
  if (count > block.length) throw new FrameError('bad note count');
  interface Head { note: WireNote; flags: number; bodyLength: number; payloadLength: number }
  const heads: Head[] = [];
  let counter = since;
  let time = 0;
  for (let i = 0; i < count; i++) {
    const flags = r.u8();
    if ((flags & F_JSON) && (flags & F_RECORD)) throw new FrameError('note has body and record');
    if ((flags & F_DELETED) && (flags & (F_JSON | F_RECORD | F_PAYLOAD))) throw new FrameError('tombstone with content');
    const step = flags & F_STEP ? r.varint() : 1;
    if (step < 1) throw new FrameError('note counters must rise');
    counter += step;
    if (counter > until) throw new FrameError('note counter beyond until');
    if (flags & F_TIME) time += r.zigzag();
    if (time < 0 || !Number.isSafeInteger(time)) throw new FrameError('bad note time');
    const note: WireNote = { counter, time };
    if (flags & F_ID) note.id = r.str(MAX_NOTE_ID);
    if (flags & F_EXT) {
      const ext = r.u8();
      if (ext !== X_WHERE) throw new FrameError('unknown note extension');
      const view = new DataView(r.take(16).slice().buffer);
      const lat = view.getFloat64(0, true);
      const lon = view.getFloat64(8, true);
      if (!(Math.abs(lat) <= 90 && Math.abs(lon) <= 180)) throw new FrameError('bad location');
      note.where = { lat, lon, time: r.varint() };
    }
    if (flags & F_DELETED) note.deleted = true;
    const bodyLength = flags & (F_JSON | F_RECORD) ? r.varint() : 0;
    const payloadLength = flags & F_PAYLOAD ? r.varint() : 0;
    heads.push({ note, flags, bodyLength, payloadLength });
  }
  const bodies = new PackedJsonReader(r);
  const notes: WireNote[] = [];
  for (const h of heads) {
    if (h.flags & F_JSON) {
      const before = r.remaining;
      if (h.bodyLength > before) throw new FrameError('truncated');
      const body = bodies.value();
      if (before - r.remaining !== h.bodyLength) throw new FrameError('body length mismatch');
      if (!isObject(body)) throw new FrameError('a note body must be an object');
      h.note.body = body;
    } else if (h.flags & F_RECORD) {
      h.note.record = r.take(h.bodyLength).slice();
    }
    if (h.flags & F_PAYLOAD) h.note.payload = r.take(h.payloadLength).slice();
    notes.push(h.note);
  }
  r.end();
  return notes;
}
