// Sync protocol messages (docs/SYNC.md section 2): types, encode/decode of their content.
// Framing and sealing live in frame.ts; this module only maps message <-> content bytes.
import type { JsonObject } from '../json';
import { ByteReader, ByteWriter, FrameError } from './varint-io';
import { compress, decompress, CompressError } from './compress';
import { packBlock, packBlockUpTo, unpackBlock, MAX_BLOCK, NOTES_DICTIONARY, ENCODING_LZ, type WireNote } from './notes-block';
import { PackedJsonReader, PackedJsonWriter } from './pjson';
import { crc32 } from '../util/crc32';
import { utf8Encode } from '../util/utf8';
import { decodeWeb, encodeWeb, type WebSyncMessage } from './web';
import { DFU_TYPES, decodeDfu, encodeDfu, type DfuMessage } from './dfu';
import { MAX_DEVICE_UID, MAX_NOTE_ID, MAX_NOTEFILE_NAME, MAX_TEMPLATE_DEFINITION, MAX_TEXT } from '../rules/names';

export const PROTOCOL_VERSION = 1;
export const MIN_FRAME = 256;

export const LIMITS = Object.freeze({
  maxFrame: 4096,
  maxBlock: MAX_BLOCK,
  uid: MAX_DEVICE_UID,
  text: MAX_TEXT,
  notefile: MAX_NOTEFILE_NAME,
  noteId: MAX_NOTE_ID,
  template: MAX_TEMPLATE_DEFINITION,
  refuseText: 256,
  inFlight: 4,
  handshakeMs: 30000,
  pingIdleMs: 60000,
  deadIdleMs: 90000,
});

export const MESSAGE_TYPES = Object.freeze({
  hello: 0x01, challenge: 0x02, provision: 0x03, auth: 0x04, welcome: 0x05, refuse: 0x06, resume: 0x07, resumed: 0x08,
  catalog: 0x10, catalogReply: 0x11, template: 0x12,
  notes: 0x20, ack: 0x21, done: 0x22, env: 0x23, skip: 0x24,
  ping: 0x30, pong: 0x31, close: 0x3f,
  web: 0x40, webReply: 0x41, signal: 0x42,
  ...DFU_TYPES,
} as const);

export type MessageName = keyof typeof MESSAGE_TYPES;

export const FEATURE_CONTINUOUS = 0x01;
export const FEATURE_ENCRYPT_ALL = 0x02;
/** SKIP may be sent: a notefile one side cannot take is left out of the session, not the whole sync. */
export const FEATURE_SKIP = 0x04;
/** Firmware download messages (src/sync/dfu.ts) may be sent. */
export const FEATURE_DFU = 0x08;
/** The card may send its first flight (CATALOG, TEMPLATE, NOTES, DONE) right behind AUTH, and the
 * hub answers a NOTES frame that starts beyond what it stored with an ACK instead of a protocol
 * error (docs/SYNC.md section 4.7). Offered by CHALLENGE, since WELCOME comes too late. */
export const FEATURE_PIPELINE = 0x10;
/** The hub issues session tickets: the next session may RESUME (docs/SYNC.md section 3.1). Only with FEATURE_PIPELINE. */
export const FEATURE_RESUME = 0x20;
const KNOWN_FEATURES = FEATURE_CONTINUOUS | FEATURE_ENCRYPT_ALL | FEATURE_SKIP | FEATURE_DFU | FEATURE_PIPELINE | FEATURE_RESUME;

export type RefuseCode = 'version' | 'auth' | 'busy' | 'protocol' | 'product' | 'internal';
const REFUSE_CODES: readonly RefuseCode[] = Object.freeze(['version', 'auth', 'busy', 'protocol', 'product', 'internal']);

export interface HelloMessage {
  type: 'hello'; version: number; uid: string; sn: string; product: string;
  cardEpoch: Uint8Array; cardNonce: Uint8Array; features: number; maxFrame: number;
}
export interface ChallengeMessage {
  type: 'challenge'; version: number; hubEpoch: Uint8Array; hubNonce: Uint8Array; provision: boolean; maxFrame: number;
  /** flags bit1: the hub grants FEATURE_PIPELINE (only when HELLO asked for it). */
  pipeline?: boolean;
}
/** HELLO's fields and the ticket of the last session: early data (sealed) follows at once, through a DONE. */
export interface ResumeMessage extends Omit<HelloMessage, 'type'> { type: 'resume'; ticket: Uint8Array }
export interface ResumedMessage { type: 'resumed'; hubNonce: Uint8Array; proof: Uint8Array; time: number; project: string; features: number }
export interface ProvisionMessage { type: 'provision'; secret: Uint8Array }
export interface AuthMessage { type: 'auth'; proof: Uint8Array }
export interface WelcomeMessage {
  type: 'welcome'; proof: Uint8Array; time: number; project: string; cardReset: boolean; features: number;
}
export interface RefuseMessage { type: 'refuse'; code: RefuseCode; text: string }
export interface CatalogEntry { name: string; template: number; downUntil: number; pending: number }
export interface CatalogMessage { type: 'catalog'; more: boolean; envModified: number; files: CatalogEntry[] }
export interface CatalogReplyEntry { name: string; upUntil: number; needTemplate: boolean; pending: number }
export interface CatalogReplyMessage { type: 'catalogReply'; more: boolean; files: CatalogReplyEntry[] }
export interface TemplateMessage { type: 'template'; name: string; version: number; definition: Uint8Array }
export interface NotesMessage { type: 'notes'; name: string; since: number; until: number; notes: WireNote[] }
export interface AckMessage { type: 'ack'; name: string; until: number }
export interface DoneMessage { type: 'done' }
export interface EnvMessage { type: 'env'; modified: number; vars: Record<string, string> }
/** The sender leaves notefile `name` out of this session (`text` says why): see docs/SYNC.md 4.5. */
export interface SkipMessage { type: 'skip'; name: string; text: string }
export interface PingMessage { type: 'ping'; token: number }
export interface PongMessage { type: 'pong'; token: number }
export interface CloseMessage { type: 'close' }

export type SyncMessage =
  | HelloMessage | ResumeMessage | ResumedMessage | ChallengeMessage | ProvisionMessage | AuthMessage | WelcomeMessage | RefuseMessage
  | CatalogMessage | CatalogReplyMessage | TemplateMessage | NotesMessage | AckMessage | DoneMessage
  | EnvMessage | SkipMessage | PingMessage | PongMessage | CloseMessage | WebSyncMessage | DfuMessage;

const MAGIC = Object.freeze([0x4f, 0x43, 0x53]); // "OCS"

/** Notefiles whose notes must cross encrypted (E flag). */
export function isSecureNotefile(name: string): boolean {
  return name.endsWith('.qos') || name.endsWith('.qis') || name.endsWith('.dbs');
}

function fixed(r: ByteReader, n: number): Uint8Array {
  return r.take(n).slice();
}

function putFixed(w: ByteWriter, b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new FrameError(`${what} must be ${n} bytes`);
  w.bytes(b);
}

function flagsOf(r: ByteReader, known: number): number {
  const f = r.varint();
  if (f & ~known) throw new FrameError('unknown flag bits');
  return f;
}

/** A block (notes or env) goes compressed when that is smaller. */
function putBlock(w: ByteWriter, block: Uint8Array, dictionary: Uint8Array): void {
  const packed = compress(block, dictionary);
  if (packed.length < block.length) w.u8(ENCODING_LZ).bytes(packed);
  else w.u8(0).bytes(block);
}

function takeBlock(r: ByteReader, dictionary: Uint8Array): Uint8Array {
  const encoding = r.u8();
  if (encoding & ~ENCODING_LZ) throw new FrameError('unknown block encoding');
  const rest = r.rest();
  if (!(encoding & ENCODING_LZ)) return rest;
  try {
    return decompress(rest, MAX_BLOCK, dictionary);
  } catch (e) {
    if (e instanceof CompressError) throw new FrameError(`bad compressed block: ${e.message}`);
    throw e;
  }
}

const NO_DICTIONARY = new Uint8Array(0);

/** NOTES content around an already packed block. */
function notesContent(m: NotesMessage, block: Uint8Array): Uint8Array {
  if (m.until < m.since) throw new FrameError('until before since');
  const w = new ByteWriter(block.length + 32);
  w.str(m.name, LIMITS.notefile).varint(m.since).varint(m.until);
  putBlock(w, block, NOTES_DICTIONARY);
  return w.finish();
}

/** The content bytes of a message (what goes after the type byte, before sealing). */
export function encodeMessage(m: SyncMessage): Uint8Array {
  const w = new ByteWriter(64);
  switch (m.type) {
    case 'hello':
    case 'resume':
      w.bytes(Uint8Array.from(MAGIC)).u8(m.version).str(m.uid, LIMITS.uid).str(m.sn, LIMITS.text).str(m.product, LIMITS.text);
      putFixed(w, m.cardEpoch, 8, 'cardEpoch');
      putFixed(w, m.cardNonce, 16, 'cardNonce');
      w.varint(m.features).varint(m.maxFrame);
      if (m.type === 'resume') putFixed(w, m.ticket, 16, 'ticket');
      break;
    case 'resumed':
      putFixed(w, m.hubNonce, 16, 'hubNonce');
      putFixed(w, m.proof, 32, 'proof');
      w.varint(m.time).str(m.project, LIMITS.text).varint(m.features);
      break;
    case 'challenge':
      w.u8(m.version);
      putFixed(w, m.hubEpoch, 8, 'hubEpoch');
      putFixed(w, m.hubNonce, 16, 'hubNonce');
      w.varint((m.provision ? 1 : 0) | (m.pipeline ? 2 : 0)).varint(m.maxFrame);
      break;
    case 'provision':
      putFixed(w, m.secret, 32, 'secret');
      break;
    case 'auth':
      putFixed(w, m.proof, 32, 'proof');
      break;
    case 'welcome':
      putFixed(w, m.proof, 32, 'proof');
      w.varint(m.time).str(m.project, LIMITS.text).varint(m.cardReset ? 1 : 0).varint(m.features);
      break;
    case 'refuse':
      w.u8(REFUSE_CODES.indexOf(m.code) + 1);
      putRefuseText(w, m.text);
      break;
    case 'catalog':
      w.varint(m.more ? 1 : 0).varint(m.envModified).varint(m.files.length);
      for (const f of m.files) w.str(f.name, LIMITS.notefile).u32le(f.template).varint(f.downUntil).varint(f.pending);
      break;
    case 'catalogReply':
      w.varint(m.more ? 1 : 0).varint(m.files.length);
      for (const f of m.files) w.str(f.name, LIMITS.notefile).varint(f.upUntil).varint(f.needTemplate ? 1 : 0).varint(f.pending);
      break;
    case 'template':
      if (m.definition.length > LIMITS.template) throw new FrameError('template too large');
      w.str(m.name, LIMITS.notefile).u32le(m.version).bytes(m.definition);
      break;
    case 'notes':
      if (m.notes.length && m.notes[m.notes.length - 1].counter > m.until) throw new FrameError('note counter beyond until');
      return notesContent(m, packBlock(m.since, m.notes));
    case 'ack':
      w.str(m.name, LIMITS.notefile).varint(m.until);
      break;
    case 'env': {
      w.varint(m.modified);
      const block = new ByteWriter();
      new PackedJsonWriter(block).value(m.vars);
      if (block.length > MAX_BLOCK) throw new FrameError('environment too large');
      putBlock(w, block.finish(), NO_DICTIONARY);
      break;
    }
    case 'skip':
      w.str(m.name, LIMITS.notefile).str(m.text.slice(0, LIMITS.refuseText), 4 * LIMITS.refuseText);
      break;
    case 'ping':
    case 'pong':
      w.varint(m.token);
      break;
    case 'done':
    case 'close':
      break;
    case 'web':
    case 'webReply':
    case 'signal':
      return encodeWeb(m);
    default:
      return encodeDfu(m);
  }
  return w.finish();
}

/** Decode content of message type `type` (E bit removed); throws FrameError when malformed. */
export function decodeMessage(type: number, content: Uint8Array): SyncMessage {
  const r = new ByteReader(content);
  const m = decodeContent(type, r);
  r.end();
  return m;
}

function decodeContent(type: number, r: ByteReader): SyncMessage {
  switch (type) {
    case MESSAGE_TYPES.hello:
    case MESSAGE_TYPES.resume: {
      for (const b of MAGIC) if (r.u8() !== b) throw new FrameError('not an opencard sync stream');
      const version = r.u8();
      const uid = r.str(LIMITS.uid);
      const sn = r.str(LIMITS.text);
      const product = r.str(LIMITS.text);
      const cardEpoch = fixed(r, 8);
      const cardNonce = fixed(r, 16);
      // Features are a request: unknown bits are ignored by the hub (it grants the intersection).
      const features = r.varint();
      const maxFrame = frameLimit(r);
      if (type === MESSAGE_TYPES.resume) return { type: 'resume', version, uid, sn, product, cardEpoch, cardNonce, features, maxFrame, ticket: fixed(r, 16) };
      return { type: 'hello', version, uid, sn, product, cardEpoch, cardNonce, features, maxFrame };
    }
    case MESSAGE_TYPES.resumed: {
      const hubNonce = fixed(r, 16);
      const proof = fixed(r, 32);
      const time = r.varint();
      const project = r.str(LIMITS.text);
      return { type: 'resumed', hubNonce, proof, time, project, features: flagsOf(r, KNOWN_FEATURES) };
    }
    case MESSAGE_TYPES.challenge: {
      const version = r.u8();
      const hubEpoch = fixed(r, 8);
      const hubNonce = fixed(r, 16);
      const flags = flagsOf(r, 3);
      const m: ChallengeMessage = { type: 'challenge', version, hubEpoch, hubNonce, provision: (flags & 1) !== 0, maxFrame: frameLimit(r) };
      if (flags & 2) m.pipeline = true;
      return m;
    }
    case MESSAGE_TYPES.provision:
      return { type: 'provision', secret: fixed(r, 32) };
    case MESSAGE_TYPES.auth:
      return { type: 'auth', proof: fixed(r, 32) };
    case MESSAGE_TYPES.welcome: {
      const proof = fixed(r, 32);
      const time = r.varint();
      const project = r.str(LIMITS.text);
      const cardReset = flagsOf(r, 1) === 1;
      return { type: 'welcome', proof, time, project, cardReset, features: flagsOf(r, KNOWN_FEATURES) };
    }
    case MESSAGE_TYPES.refuse: {
      const code = REFUSE_CODES[r.u8() - 1];
      if (!code) throw new FrameError('unknown refuse code');
      return { type: 'refuse', code, text: r.str(4 * LIMITS.refuseText) };
    }
    case MESSAGE_TYPES.catalog: {
      const more = flagsOf(r, 1) === 1;
      const envModified = r.varint();
      const count = r.varint();
      if (count > r.remaining) throw new FrameError('bad catalogue count');
      const files: CatalogEntry[] = [];
      for (let i = 0; i < count; i++) {
        files.push({ name: r.str(LIMITS.notefile), template: r.u32le(), downUntil: r.varint(), pending: r.varint() });
      }
      return { type: 'catalog', more, envModified, files };
    }
    case MESSAGE_TYPES.catalogReply: {
      const more = flagsOf(r, 1) === 1;
      const count = r.varint();
      if (count > r.remaining) throw new FrameError('bad catalogue count');
      const files: CatalogReplyEntry[] = [];
      for (let i = 0; i < count; i++) {
        const name = r.str(LIMITS.notefile);
        const upUntil = r.varint();
        const needTemplate = flagsOf(r, 1) === 1;
        files.push({ name, upUntil, needTemplate, pending: r.varint() });
      }
      return { type: 'catalogReply', more, files };
    }
    case MESSAGE_TYPES.template: {
      const name = r.str(LIMITS.notefile);
      const version = r.u32le();
      if (r.remaining > LIMITS.template) throw new FrameError('template too large');
      return { type: 'template', name, version, definition: r.rest().slice() };
    }
    case MESSAGE_TYPES.notes: {
      const name = r.str(LIMITS.notefile);
      const since = r.varint();
      const until = r.varint();
      if (until < since) throw new FrameError('until before since');
      const notes = unpackBlock(takeBlock(r, NOTES_DICTIONARY), since, until);
      return { type: 'notes', name, since, until, notes };
    }
    case MESSAGE_TYPES.ack:
      return { type: 'ack', name: r.str(LIMITS.notefile), until: r.varint() };
    case MESSAGE_TYPES.done:
      return { type: 'done' };
    case MESSAGE_TYPES.env: {
      const modified = r.varint();
      const block = new ByteReader(takeBlock(r, NO_DICTIONARY));
      const vars = new PackedJsonReader(block).value();
      block.end();
      if (!isStringMap(vars)) throw new FrameError('environment values must be strings');
      return { type: 'env', modified, vars };
    }
    case MESSAGE_TYPES.skip:
      return { type: 'skip', name: r.str(LIMITS.notefile), text: r.str(4 * LIMITS.refuseText) };
    case MESSAGE_TYPES.ping:
      return { type: 'ping', token: r.varint() };
    case MESSAGE_TYPES.pong:
      return { type: 'pong', token: r.varint() };
    case MESSAGE_TYPES.close:
      return { type: 'close' };
    case MESSAGE_TYPES.web:
      return decodeWeb('web', r);
    case MESSAGE_TYPES.webReply:
      return decodeWeb('webReply', r);
    case MESSAGE_TYPES.signal:
      return decodeWeb('signal', r);
    default: {
      const m = decodeDfu(type, r);
      if (!m) throw new FrameError(`unknown message type ${type}`);
      return m;
    }
  }
}

/** Bytes of REFUSE text a sealed REFUSE carries in the smallest frame: MIN_FRAME - type - code - length(2) - tag. */
const REFUSE_TEXT_BYTES = MIN_FRAME - 1 - 1 - 2 - 16;

/** REFUSE text cut (at a character boundary) so that a REFUSE fits any frame a peer may announce. */
function putRefuseText(w: ByteWriter, text: string): void {
  const b = utf8Encode(text.slice(0, LIMITS.refuseText));
  let end = Math.min(b.length, REFUSE_TEXT_BYTES);
  while (end < b.length && (b[end] & 0xc0) === 0x80) end--;
  w.varint(end).bytes(b.subarray(0, end));
}

/** A peer's announced frame limit: at least MIN_FRAME (a smaller one could not carry a catalogue entry). */
function frameLimit(r: ByteReader): number {
  const n = r.varint();
  if (n < MIN_FRAME) throw new FrameError(`maxFrame ${n} below ${MIN_FRAME}`);
  return n;
}

/** The CRC-32 of a template definition: its version in CATALOG and TEMPLATE. */
export function templateVersion(definition: Uint8Array): number {
  return crc32(definition);
}

function isStringMap(v: unknown): v is Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const k of Object.keys(v)) if (typeof (v as JsonObject)[k] !== 'string') return false;
  return true;
}

export function messageTypeOf(m: SyncMessage): number {
  return MESSAGE_TYPES[m.type];
}

/**
 * A prefix of `notes` that fills one NOTES frame of `maxFrame` bytes (sealed) as far as it can,
 * as a message: `until` is the given `until` when every note fits, else the last included
 * counter. Starts from what fits MAX_BLOCK uncompressed, then shrinks in proportion to the
 * overshoot of the compressed size: a few compressions per frame, frames about 95% full or more.
 * Throws FrameError when not even the first note fits.
 */
export function fitNotes(
  name: string, since: number, until: number, notes: readonly WireNote[], maxFrame: number = LIMITS.maxFrame,
): { message: NotesMessage; content: Uint8Array; count: number } {
  const room = maxContent(maxFrame);
  type Fit = { message: NotesMessage; content: Uint8Array; count: number };
  const first = packBlockUpTo(since, notes, MAX_BLOCK);
  const attempt = (count: number): Fit => {
    const message: NotesMessage = {
      type: 'notes', name, since, until: count === notes.length ? until : notes[count - 1].counter, notes: notes.slice(0, count),
    };
    if (message.until < (notes[count - 1]?.counter ?? since)) throw new FrameError('note counter beyond until');
    const block = count === first.count ? first.block : packBlockUpTo(since, message.notes, MAX_BLOCK).block;
    return { message, content: notesContent(message, block), count };
  };
  let best: Fit | undefined;
  let failed = first.count + 1; // the smallest count known not to fit
  let count = first.count;
  for (let tries = 0; tries < 6 && count > (best?.count ?? 0) && count < failed; tries++) {
    const fit = attempt(count);
    const size = fit.content.length;
    if (size <= room) best = fit;
    else failed = count;
    // Next guess in proportion to the room, kept strictly between what fits and what does not.
    const guess = Math.floor((count * room * 0.99) / size);
    count = Math.max((best?.count ?? 0) + 1, Math.min(failed - 1, guess));
    if (best && count > best.count && failed - best.count <= Math.max(1, best.count / 50)) break; // within 2%
  }
  if (best) return best;
  if (notes.length === 0) return attempt(0);
  throw new FrameError('note too large for one frame');
}

/** Varint bytes a real frame may need beyond noteFrameError's test frame: since, until, step, dtime. */
const NOTE_SLACK = 4 * 8;

/**
 * Why one note could not cross alone in a NOTES frame of notefile `name` (undefined: it can,
 * whatever its counters and time). `id`: the length in bytes of the longest id it may carry.
 * Measured uncompressed, so it holds even when compression gains nothing: the rule the card's
 * note.add and the hub's API apply, so that what they accept the sync can deliver.
 */
export function noteFrameError(
  name: string, note: { id?: number; body?: JsonObject; record?: Uint8Array; payload?: Uint8Array }, maxFrame: number = LIMITS.maxFrame,
): string | undefined {
  let block: Uint8Array;
  try {
    const id = note.id === undefined ? undefined : 'i'.repeat(note.id);
    block = packBlock(0, [{ counter: 1, time: 0, id, body: note.body, record: note.record, payload: note.payload }]);
  } catch (e) {
    if (e instanceof FrameError) return `the sync cannot carry this note: ${e.message}`;
    throw e;
  }
  const size = 1 + utf8Encode(name).length + 1 + block.length + NOTE_SLACK;
  const room = maxContent(maxFrame);
  return size > room ? `the sync carries at most ${room} bytes per note, this one needs ${size} (too large for one frame)` : undefined;
}

/** Bytes of content a sealed frame of maxFrame can carry: n = type + content + 16-byte tag. */
export function maxContent(maxFrame: number = LIMITS.maxFrame): number {
  return maxFrame - 1 - 16;
}
