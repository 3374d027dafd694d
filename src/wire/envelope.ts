// The request envelope: req/cmd, id and crc around a JSON object.
import { CardError, ErrorTag } from '../errors';
import { Json, JsonObject, isObject } from '../json';
import { every, isHex, isSpace } from '../util/chars';
import { crc32 } from '../util/crc32';
import { utf8Encode } from '../util/utf8';

/** Bounds that keep a hostile line from costing unbounded stack or RAM. */
export const MAX_DEPTH = 32;
export const MAX_NUMBER_CHARS = 40;

export interface Envelope {
  name: string;
  /** false for "cmd": no reply at all, not even an error. */
  wantsReply: boolean;
  args: JsonObject;
  id?: Json;
  /** The request's crc sequence text ("SSSS"), when it carried a crc. */
  crcSeq?: string;
}

/** What can be said about a line that failed to open: enough to shape its error reply. */
export class EnvelopeError extends CardError {
  override name = 'EnvelopeError';
  wantsReply = true;
  id?: Json;
  crcSeq?: string;
}


/** Parse one request line (without its line ending). Throws EnvelopeError. */
export function openEnvelope(text: string): Envelope {
  let parsed: unknown;
  try {
    checkBounds(text);
    parsed = JSON.parse(text);
    if (!isObject(parsed)) throw new EnvelopeError('request must be a JSON object', 'io');
  } catch (e) {
    const err = e instanceof EnvelopeError ? e : new EnvelopeError('request is not valid JSON', 'io');
    // Unreadable, so judge by its text: what looks like a cmd never gets a reply.
    err.wantsReply = !memberNamed(text, 'cmd') || memberNamed(text, 'req');
    throw err;
  }
  // What is known so far shapes the error reply: cmd gets none, id is echoed, crc is answered.
  const context: { wantsReply: boolean; id?: Json; crcSeq?: string } = {
    wantsReply: parsed.req !== undefined || parsed.cmd === undefined, // only a pure cmd goes unanswered
    id: parsed.id,
  };
  const reject = (why: string, ...tags: ErrorTag[]): never => {
    throw Object.assign(new EnvelopeError(why, ...tags), context);
  };

  if (parsed.crc !== undefined) {
    const checked = typeof parsed.crc === 'string' ? checkCrc(text) : undefined;
    if (!checked) return reject('crc: malformed, expected "SSSS:CCCCCCCC"', 'io');
    context.crcSeq = checked.seq;
    if (!checked.ok) reject('crc mismatch: request corrupted in transit', 'io');
  }

  const req = parsed.req;
  const cmd = parsed.cmd;
  if (req !== undefined && cmd !== undefined) reject('request has both req and cmd', 'syntax');
  const name = req ?? cmd;
  if (name === undefined) reject('request has neither req nor cmd', 'syntax');
  if (typeof name !== 'string' || name === '') reject('req: must be a request name string', 'syntax');

  const args: JsonObject = {};
  for (const key of Object.keys(parsed)) {
    if (key !== 'req' && key !== 'cmd' && key !== 'crc' && key !== 'id') args[key] = parsed[key];
  }
  return { name: name as string, args, ...context };
}

/**
 * Find the crc member and verify it against the request text without it. note-python writes
 * `,"crc":...` (or `{"crc":...}` in an empty object); note-c may put a space instead of the comma.
 */
function checkCrc(text: string): { seq: string; ok: boolean } | undefined {
  let start = text.lastIndexOf('"crc"');
  let last: { seq: string; crc: string; length: number } | undefined;
  while (start >= 0 && !(last = crcMemberAt(text, start))) start = start > 0 ? text.lastIndexOf('"crc"', start - 1) : -1;
  if (!last) return undefined;
  const seq = last.seq;
  const want = parseInt(last.crc, 16) >>> 0;
  const end = start + last.length;
  let before = start;
  while (before > 0 && (text[before - 1] === ' ' || text[before - 1] === '\t')) before--;
  const candidates = [text.slice(0, start) + text.slice(end)];
  if (text[before - 1] === ',') candidates.unshift(text.slice(0, before - 1) + text.slice(end));
  else if (before < start) candidates.unshift(text.slice(0, before) + text.slice(end));
  for (const c of candidates) if (crc32(utf8Encode(c)) === want) return { seq, ok: true };
  return { seq, ok: false };
}

/** Reject lines nested too deeply or carrying absurdly long numbers, before JSON.parse. */
function checkBounds(text: string): void {
  let depth = 0;
  let inString = false;
  let numberRun = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_DEPTH) throw new EnvelopeError(`request nested deeper than ${MAX_DEPTH} levels`, 'syntax');
    } else if (c === 125 || c === 93) depth--;
    const numeric = (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;
    numberRun = numeric ? numberRun + 1 : 0;
    if (numberRun > MAX_NUMBER_CHARS) throw new EnvelopeError(`number longer than ${MAX_NUMBER_CHARS} characters`, 'syntax');
  }
}

/** Serialize a reply: compact JSON, id echoed, crc appended last when the request had one. */
export function sealReply(members: JsonObject, id: Json | undefined, crcSeq: string | undefined): string {
  const out: JsonObject = {};
  for (const key of Object.keys(members)) if (key !== 'crc' && key !== 'id') out[key] = members[key];
  if (id !== undefined) out.id = id;
  let text = JSON.stringify(out);
  if (crcSeq !== undefined) {
    const crc = crc32(utf8Encode(text)).toString(16).toUpperCase().padStart(8, '0');
    const member = `"crc":"${crcSeq}:${crc}"`;
    // note-c finds the member at a fixed distance from the end and turns the character before
    // it into '}': a comma, or for an empty object a space ("{ "crc":...}" checks as "{}").
    text = `${text.slice(0, -1)}${text.length === 2 ? ' ' : ','}${member}}`;
  }
  return text;
}

/** `"crc":"SSSS:CCCCCCCC"` (hex, spaces allowed around the colon) at `at`, or undefined. No
 * RegExp: the XS engine's RegExp crashed the card under memory pressure (src/util/chars.ts). */
function crcMemberAt(text: string, at: number): { seq: string; crc: string; length: number } | undefined {
  let i = at + 5;
  while (isSpace(text.charCodeAt(i))) i++;
  if (text[i++] !== ':') return undefined;
  while (isSpace(text.charCodeAt(i))) i++;
  if (text[i] !== '"' || text[i + 5] !== ':' || text[i + 14] !== '"') return undefined;
  if (!every(text, isHex, i + 1, i + 5) || !every(text, isHex, i + 6, i + 14)) return undefined;
  return { seq: text.slice(i + 1, i + 5), crc: text.slice(i + 6, i + 14), length: i + 15 - at };
}

/** The text has `"name"` followed by a colon (judging an unparseable line). */
function memberNamed(text: string, name: string): boolean {
  const key = `"${name}"`;
  for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + 1)) {
    let i = at + key.length;
    while (isSpace(text.charCodeAt(i))) i++;
    if (text[i] === ':') return true;
  }
  return false;
}
