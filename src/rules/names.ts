// The one set of rules for names, IDs and limits: the card (requests, notefiles), the sync protocol
// (src/sync) and the hub (hub/) all import them, so what the card accepts is exactly what the
// sync can carry and the hub can store. Plain TypeScript with no host imports.
//
// Each check returns the reason text when the value breaks a rule (undefined when it is fine);
// callers wrap it in their own error ({notefile-bad-name} on the card, HTTP 400 on the hub).
import { every, isAlnum } from '../util/chars';
import { utf8Encode } from '../util/utf8';

/** Notefile kinds by extension; a trailing s is encrypted transport. */
export const NOTEFILE_KINDS = Object.freeze(['qo', 'qos', 'qi', 'qis', 'db', 'dbs', 'dbx'] as const);
export type NotefileExt = (typeof NOTEFILE_KINDS)[number];

/** The longest notefile name, in bytes (names are ASCII). */
export const MAX_NOTEFILE_NAME = 64;
/** The longest note ID anywhere (store, wire, hub), conflict copies included; UTF-8 bytes. */
export const MAX_NOTE_ID = 128;
/** The longest suffix the conflict rule adds: "!c" or "!h" and a change counter below 2^53. */
export const MAX_CONFLICT_SUFFIX = 2 + 16;
/** The longest note ID an application may choose: room is left for a conflict copy's suffix. */
export const MAX_USER_NOTE_ID = MAX_NOTE_ID - MAX_CONFLICT_SUFFIX;
/** Note IDs containing this are reserved for conflict copies (docs/SYNC.md section 5). */
export const RESERVED_ID_MARK = '!';
/** Device UIDs: "dev:" and up to 60 more characters, 64 bytes in all. */
export const MAX_DEVICE_UID = 64;
/** Serial numbers, product and project UIDs, in bytes. */
export const MAX_TEXT = 128;
/** The longest template definition (its canonical JSON text), in bytes. */
export const MAX_TEMPLATE_DEFINITION = 2048;
/** The card's health notes (power alerts) and its host's hub.log messages: a device's health log on the hub. */
export const HEALTH_FILE = '_health.qo';
export const HEALTH_LOG_FILE = '_health_host.qo';

/** Letters, digits, `_`, `.` and `-`: notefile names and product UIDs. */
const nameChar = (c: number) => isAlnum(c) || c === 95 || c === 46 || c === 45;
/** Device UIDs also allow `:`. */
const uidChar = (c: number) => nameChar(c) || c === 58;

/**
 * Why `name` is not a notefile name. Names are 1 to 64 ASCII letters, digits, `_`, `-` and `.`,
 * start with a letter or digit (`_` starts the system's own names, allowed when `system`), and
 * end in a kind's extension. (No `,`: the hub's APIs list notefiles comma-separated.)
 */
export function notefileNameError(name: string, system = false): string | undefined {
  if (name === '' || name.length > MAX_NOTEFILE_NAME) return `notefile name must be 1 to ${MAX_NOTEFILE_NAME} bytes: "${name}"`;
  if (name[0] === '_' && !system) return `notefile names starting with _ are reserved for the system: "${name}"`;
  if (name[0] === '.' || name[0] === '-') return `notefile name must start with a letter or digit: "${name}"`;
  for (const c of name) {
    if (!nameChar(c.charCodeAt(0)) || c.length > 1) return `notefile name may hold only letters, digits, _ - and . (not ${JSON.stringify(c)}): "${name}"`;
  }
  if (notefileExt(name) === undefined) return `notefile "${name}" must end in one of ${NOTEFILE_KINDS.map((k) => '.' + k).join(' ')}`;
  return undefined;
}

/** The kind extension of a name, if it ends in one (the rest of the name is not checked). */
export function notefileExt(name: string): NotefileExt | undefined {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1) : '';
  return (NOTEFILE_KINDS as readonly string[]).includes(ext) ? (ext as NotefileExt) : undefined;
}

/**
 * Why `id` is not a note ID. `chosen`: an application names a new note (note.add on the card, the
 * hub's API), so the ID must leave room for a conflict suffix and must not use the reserved `!`;
 * otherwise any stored or received ID (conflict copies included) up to MAX_NOTE_ID bytes.
 */
export function noteIdError(id: string, chosen: boolean): string | undefined {
  const max = chosen ? MAX_USER_NOTE_ID : MAX_NOTE_ID;
  if (id === '' || utf8Encode(id).length > max) return `note: an ID must be 1 to ${max} bytes`;
  if (chosen && id.includes(RESERVED_ID_MARK)) return `note: IDs containing ${RESERVED_ID_MARK} are reserved for conflict copies`;
  if (loneSurrogate(id)) return 'note: an ID must be valid Unicode text';
  return undefined;
}

/** Why `uid` is not a device UID: "dev:" and 1 to 60 of letters, digits, `. _ - :`. */
export function deviceUidError(uid: string): string | undefined {
  const ok = uid.startsWith('dev:') && uid.length > 4 && uid.length <= MAX_DEVICE_UID && every(uid, uidChar, 4);
  return ok ? undefined : `invalid device UID: ${uid}`;
}

/** Why `uid` is not a product UID, e.g. "com.example.you:project": two parts of letters, digits,
 * `. _ -` around one `:`, the first starting with a letter or digit. */
export function productUidError(uid: string): string | undefined {
  const colon = uid.indexOf(':');
  const ok = colon > 0 && colon < uid.length - 1 && uid.length <= MAX_TEXT && isAlnum(uid.charCodeAt(0)) && every(uid, nameChar, 0, colon) && every(uid, nameChar, colon + 1);
  return ok ? undefined : `invalid product UID: ${uid}`;
}

/** Why a serial number, product or other text the handshake carries is too long. */
export function textError(what: string, text: string): string | undefined {
  return utf8Encode(text).length > MAX_TEXT ? `${what}: at most ${MAX_TEXT} bytes` : undefined;
}

/** A lone surrogate does not survive UTF-8: the ID stored or sent would differ from the one given. */
function loneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff || (s.charCodeAt(i + 1) & 0xfc00) !== 0xdc00) return true;
    i++;
  }
  return false;
}
