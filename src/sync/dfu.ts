// Firmware download messages (docs/SYNC.md section 8, feature `dfu`): the card asks the hub about
// the image an environment variable (_fw, _fwc) names, then reads it chunk by chunk, each chunk
// carrying the CRC-32 of its bytes. Kept apart from messages.ts, which only dispatches here.
import type { JsonObject } from '../json';
import { compress, decompress, CompressError } from './compress';
import { PackedJsonReader, PackedJsonWriter } from './pjson';
import { ByteReader, ByteWriter, FrameError } from './varint-io';
import { crc32 } from '../util/crc32';

/** Bytes of image per FW_DATA: half a 4 KB flash block, so a chunk never straddles an erase. */
export const DFU_CHUNK = 2048;
/** FW_GET requests a card keeps outstanding: a window, so a link with a long round trip stays busy
 * (cellular at 115,200 baud and 600 ms RTT needs ~5 chunks in flight). Chunks still arrive, and
 * are written and verified, in order; a cut link only loses what had not reached the card yet. */
export const DFU_IN_FLIGHT = 8;
const MAX_NAME = 200;
const MAX_TEXT = 256;

export const DFU_TYPES = Object.freeze({ fwQuery: 0x48, fwInfo: 0x49, fwGet: 0x4a, fwData: 0x4b, fwStatus: 0x4c } as const);

/** Which image: the host's (`_fw`, dfu.status name "user") or the card's own (`_fwc`, "card"). */
export type DfuKind = 'user' | 'card';
const KINDS: readonly DfuKind[] = Object.freeze(['user', 'card']);

/** card->hub: tell me about image `name`. */
export interface FwQueryMessage { type: 'fwQuery'; kind: DfuKind; name: string }
/** hub->card: the image's description (dfu.status body), or why there is none (`error`). */
export interface FwInfoMessage { type: 'fwInfo'; kind: DfuKind; name: string; error: string; body: JsonObject }
/** card->hub: send bytes [offset, offset+length) of image `name`. */
export interface FwGetMessage { type: 'fwGet'; kind: DfuKind; name: string; offset: number; length: number }
/** hub->card: bytes of image `name` at `offset`; `crc` = CRC-32 of `data`. */
export interface FwDataMessage { type: 'fwData'; kind: DfuKind; name: string; offset: number; crc: number; data: Uint8Array }
/** card->hub: where the card's handling of image `name` stands (mode, text, the host's version). */
export interface FwStatusMessage { type: 'fwStatus'; kind: DfuKind; name: string; mode: string; text: string; version: string }

export type DfuMessage = FwQueryMessage | FwInfoMessage | FwGetMessage | FwDataMessage | FwStatusMessage;

function kindOf(r: ByteReader): DfuKind {
  const k = KINDS[r.u8() - 1];
  if (!k) throw new FrameError('unknown firmware kind');
  return k;
}

export function encodeDfu(m: DfuMessage): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(KINDS.indexOf(m.kind) + 1).str(m.name, MAX_NAME);
  switch (m.type) {
    case 'fwQuery':
      break;
    case 'fwInfo':
      w.str(m.error.slice(0, MAX_TEXT), 4 * MAX_TEXT);
      new PackedJsonWriter(w).value(m.body);
      break;
    case 'fwGet':
      w.varint(m.offset).varint(m.length);
      break;
    case 'fwData': {
      w.varint(m.offset).u32le(m.crc);
      // compressed only when that is smaller (most firmware compresses a little; random data not at all)
      const packed = compress(m.data);
      if (packed.length < m.data.length) w.u8(1).bytes(packed);
      else w.u8(0).bytes(m.data);
      break;
    }
    case 'fwStatus':
      w.str(m.mode, 32).str(m.text.slice(0, MAX_TEXT), 4 * MAX_TEXT).str(m.version.slice(0, MAX_TEXT), 4 * MAX_TEXT);
      break;
  }
  return w.finish();
}

/** Decode a firmware message's content, or undefined when `type` is none of them. */
export function decodeDfu(type: number, r: ByteReader): DfuMessage | undefined {
  switch (type) {
    case DFU_TYPES.fwQuery:
      return { type: 'fwQuery', kind: kindOf(r), name: r.str(MAX_NAME) };
    case DFU_TYPES.fwInfo: {
      const kind = kindOf(r);
      const name = r.str(MAX_NAME);
      const error = r.str(4 * MAX_TEXT);
      const body = new PackedJsonReader(r).value();
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FrameError('firmware body must be an object');
      return { type: 'fwInfo', kind, name, error, body };
    }
    case DFU_TYPES.fwGet: {
      const kind = kindOf(r);
      const name = r.str(MAX_NAME);
      const offset = r.varint();
      const length = r.varint();
      if (length > DFU_CHUNK) throw new FrameError('firmware chunk too long');
      return { type: 'fwGet', kind, name, offset, length };
    }
    case DFU_TYPES.fwData: {
      const kind = kindOf(r);
      const name = r.str(MAX_NAME);
      const offset = r.varint();
      const crc = r.u32le();
      const encoding = r.u8();
      if (encoding > 1) throw new FrameError('unknown chunk encoding');
      let data: Uint8Array = r.rest().slice();
      if (encoding === 1) {
        try {
          data = decompress(data, DFU_CHUNK);
        } catch (e) {
          if (e instanceof CompressError) throw new FrameError(`bad compressed chunk: ${e.message}`);
          throw e;
        }
      }
      if (data.length > DFU_CHUNK) throw new FrameError('firmware chunk too long');
      return { type: 'fwData', kind, name, offset, crc, data };
    }
    case DFU_TYPES.fwStatus: {
      const kind = kindOf(r);
      const name = r.str(MAX_NAME);
      return { type: 'fwStatus', kind, name, mode: r.str(32), text: r.str(4 * MAX_TEXT), version: r.str(4 * MAX_TEXT) };
    }
    default:
      return undefined;
  }
}

/** A FW_DATA for `data` (the hub's side). */
export function fwData(kind: DfuKind, name: string, offset: number, data: Uint8Array): FwDataMessage {
  return { type: 'fwData', kind, name, offset, crc: crc32(data), data };
}
