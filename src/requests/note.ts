// note.add, note.get, note.update, note.delete, note.changes.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { DEFAULT_ADD_FILE, DEFAULT_GET_FILE } from '../notefile/kinds';
import type { Note } from '../notefile/notefiles';
import { base64Decode, base64Encode } from '../util/base64';
import type { Args } from './args';
import type { RequestContext } from './context';
import type { HandlerTable } from './handler';

/** Without a template, a payload is limited to this many bytes. */
export const MAX_PAYLOAD = 250;
/** note.changes returns at most this many notes per call unless `max` says fewer. */
export const MAX_CHANGES = 100;

export function payloadArg(args: Args): Uint8Array | undefined {
  const text = args.string('payload');
  if (text === undefined) return undefined;
  const bytes = base64Decode(text);
  if (!bytes) fail('payload: must be base64', 'bad-arg');
  return bytes;
}

/** One note as replies show it: {body, payload, time}, plus deleted for tombstones where the
 * reply documents it (note.changes; note.get shows a tombstone as a note without body). */
export function noteJson(n: Note, markDeleted = true): JsonObject {
  const out: JsonObject = {};
  if (n.body) out.body = n.body;
  if (n.payload) out.payload = base64Encode(n.payload);
  if (n.time !== undefined) out.time = n.time;
  if (n.deleted && markDeleted) out.deleted = true;
  return out;
}

function noteId(args: Args): string | undefined {
  return args.string('note');
}

function add(card: RequestContext, args: Args): JsonObject {
  const file = args.string('file', DEFAULT_ADD_FILE);
  const k = card.notefiles.kind(file);
  if (k.inbound) fail(`note.add adds to outbound queues and databases; ${file} is an inbound queue`, 'notefile-bad-name');
  const body = args.object('body');
  let payload = payloadArg(args);
  const binary = args.bool('binary');
  const live = args.bool('live');
  if (binary) {
    if (!live) fail('binary: needs "live":true', 'bad-arg');
    if (payload) fail('binary: the payload comes from the binary buffer, not from payload', 'bad-arg');
    if (card.binary.length === 0) fail('binary buffer is empty', 'bad-bin');
    payload = card.binary.bytes().slice();
  } else if (payload && payload.length > MAX_PAYLOAD && !card.templates.get(file)) {
    fail(`payload: at most ${MAX_PAYLOAD} bytes without a template (got ${payload.length})`, 'too-big');
  }
  if (args.has('key')) {
    args.string('key');
    fail('key: per-note public-key encryption is not supported by this card', 'not-supported');
  }
  args.bool('verify'); // we always write before answering
  if (!body && !payload) fail('note.add needs a body or a payload', 'bad-arg');
  const result = card.notefiles.add(file, { id: noteId(args), body, payload, full: args.bool('full') });
  if (args.bool('sync')) card.sync.request();
  const reply: JsonObject = { total: result.total };
  if (args.string('note') === '?') reply.note = result.id;
  if (result.templated) reply.template = true;
  return reply;
}

export const noteRequests: HandlerTable = Object.freeze({
  'note.add': add,

  'note.get': (card, args) => {
    const file = args.string('file', DEFAULT_GET_FILE);
    const k = card.notefiles.kind(file);
    if (k.outbound) fail(`${file} is an outbound queue: its notes are read at the hub`, 'notefile-bad-name');
    args.bool('decrypt'); // transport encryption ends at the card: notes are stored in clear
    const note = card.notefiles.get(file, noteId(args), { delete: args.bool('delete'), deleted: args.bool('deleted') });
    return noteJson(note, false);
  },

  'note.update': (card, args) => {
    const file = args.string('file', DEFAULT_GET_FILE);
    card.notefiles.kind(file);
    const body = args.object('body');
    const payload = payloadArg(args);
    if (payload && payload.length > MAX_PAYLOAD && !card.templates.get(file)) fail(`payload: at most ${MAX_PAYLOAD} bytes without a template`, 'too-big');
    if (!body && !payload) fail('note.update needs a body or a payload', 'bad-arg');
    args.bool('verify');
    card.notefiles.update(file, noteId(args), { body, payload });
    return {};
  },

  'note.delete': (card, args) => {
    const file = args.string('file', DEFAULT_GET_FILE);
    card.notefiles.kind(file);
    args.bool('verify');
    card.notefiles.delete(file, noteId(args));
    return {};
  },

  'note.changes': (card, args) => {
    const file = args.string('file', DEFAULT_GET_FILE);
    card.notefiles.kind(file);
    const result = card.notefiles.changes(file, {
      tracker: args.string('tracker'),
      start: args.bool('start') || args.bool('reset'),
      stop: args.bool('stop'),
      delete: args.bool('delete'),
      deleted: args.bool('deleted'),
      max: args.int('max', 1, 100000, MAX_CHANGES),
    });
    const notes: JsonObject = {};
    for (const n of result.notes) notes[n.id] = noteJson(n);
    return { changes: result.changes, total: result.total, notes };
  },
});
