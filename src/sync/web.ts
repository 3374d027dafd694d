// Web requests through the hub's proxy routes (web.*) and signals (hub.signal): the WEB,
// WEB_REPLY and SIGNAL messages of docs/SYNC.md section 4.6, carried by a continuous session.
// A body longer than one frame crosses as several messages of the same id (`more` set on all but
// the last); each side bounds what it reassembles.
import { ByteReader, ByteWriter, FrameError } from './varint-io';

/** Bytes of an answer one card reply carries (the Notecard's limit), and of a signal. */
export const WEB_MAX_REPLY = 8192;
/** Bytes of a request body the card sends in one web request (a request line is at most 16 KB). */
export const WEB_MAX_REQUEST = 16384;
/** Longest route alias, name (path and query), method and content type on the wire. */
export const WEB_MAX_ROUTE = 128;
export const WEB_MAX_NAME = 1024;
const MAX_SHORT = 128;
/** Web requests one session has outstanding at once (the hub refuses more). */
export const WEB_IN_FLIGHT = 4;

export const WEB_METHODS = Object.freeze(['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT']);

/** One web request as the card's web.* handlers hand it to the sync. */
export interface WebCall {
  method: string;
  route: string;
  name: string;
  /** MIME type of the body ('' = none given). */
  content: string;
  /** Time the card waits for the answer. */
  seconds: number;
  /** Upload fragments (web.post offset/total) and download ranges (offset/max); 0 = not given. */
  offset: number;
  total: number;
  max: number;
  /** md5 of the whole body (verify); '' = none. */
  status: string;
  body: Uint8Array;
}

/** card -> hub: one web request (or a piece of its body). */
export interface WebMessage extends WebCall {
  type: 'web';
  id: number;
  more: boolean;
}

/** hub -> card: the answer to WEB `id` (or a piece of it); `error` = `body` is the error text. */
export interface WebReplyMessage {
  type: 'webReply';
  id: number;
  result: number;
  content: string;
  error: boolean;
  more: boolean;
  body: Uint8Array;
}

/** hub -> card: a signal, the JSON text of {body?, payload?}. */
export interface SignalMessage {
  type: 'signal';
  body: Uint8Array;
}

export type WebSyncMessage = WebMessage | WebReplyMessage | SignalMessage;

export function encodeWeb(m: WebSyncMessage): Uint8Array {
  const w = new ByteWriter(m.body.length + 64);
  switch (m.type) {
    case 'web':
      w.varint(m.id).str(m.method, MAX_SHORT).str(m.route, WEB_MAX_ROUTE).str(m.name, WEB_MAX_NAME).str(m.content, MAX_SHORT);
      w.varint(m.seconds).varint(m.offset).varint(m.total).varint(m.max).str(m.status, MAX_SHORT).varint(m.more ? 1 : 0);
      break;
    case 'webReply':
      w.varint(m.id).varint(m.result).str(m.content, MAX_SHORT).varint((m.more ? 1 : 0) | (m.error ? 2 : 0));
      break;
    case 'signal':
      if (m.body.length > WEB_MAX_REPLY) throw new FrameError('signal too large');
      break;
  }
  return w.bytes(m.body).finish();
}

export function decodeWeb(type: 'web' | 'webReply' | 'signal', r: ByteReader): WebSyncMessage {
  if (type === 'signal') {
    if (r.remaining > WEB_MAX_REPLY) throw new FrameError('signal too large');
    return { type, body: r.rest().slice() };
  }
  if (type === 'webReply') {
    const id = r.varint();
    const result = r.varint();
    const content = r.str(MAX_SHORT);
    const flags = r.varint();
    if (flags & ~3) throw new FrameError('unknown flag bits');
    return { type, id, result, content, more: (flags & 1) !== 0, error: (flags & 2) !== 0, body: r.rest().slice() };
  }
  const id = r.varint();
  const method = r.str(MAX_SHORT);
  const route = r.str(WEB_MAX_ROUTE);
  const name = r.str(WEB_MAX_NAME);
  const content = r.str(MAX_SHORT);
  const seconds = r.varint();
  const offset = r.varint();
  const total = r.varint();
  const max = r.varint();
  const status = r.str(MAX_SHORT);
  const flags = r.varint();
  if (flags & ~1) throw new FrameError('unknown flag bits');
  return { type, id, method, route, name, content, seconds, offset, total, max, status, more: flags === 1, body: r.rest().slice() };
}

/** `m` as messages whose content fits `room` bytes each (the body cut into pieces, `more` on all but the last). */
export function splitWeb<M extends WebMessage | WebReplyMessage>(m: M, room: number): M[] {
  const head = encodeWeb({ ...m, body: new Uint8Array(0), more: true }).length;
  const piece = room - head;
  if (piece < 16) throw new FrameError('frame too small for a web message');
  const out: M[] = [];
  let at = 0;
  do {
    const end = Math.min(m.body.length, at + piece);
    out.push({ ...m, body: m.body.subarray(at, end), more: end < m.body.length });
    at = end;
  } while (at < m.body.length);
  return out;
}

/** Reassembles the pieces of one body, refusing more than `limit` bytes. */
export class Pieces {
  readonly limit: number;
  #parts: Uint8Array[] = [];
  #length = 0;
  constructor(limit: number) {
    this.limit = limit;
  }
  /** False when the body would exceed the limit (what came so far is dropped). */
  add(piece: Uint8Array): boolean {
    if (this.#length + piece.length > this.limit) {
      this.#parts = [];
      return false;
    }
    this.#parts.push(piece);
    this.#length += piece.length;
    return true;
  }
  get length(): number {
    return this.#length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
