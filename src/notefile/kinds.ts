// Notefile names and kinds (REFERENCE.md section 3).
import { fail } from '../errors';
import { utf8Encode } from '../util/utf8';

export const KINDS = Object.freeze(['qo', 'qos', 'qi', 'qis', 'db', 'dbs', 'dbx'] as const);
export type Kind = (typeof KINDS)[number];

export interface NotefileKind {
  kind: Kind;
  /** A queue (notes have generated IDs and are consumed), else a database (caller IDs). */
  queue: boolean;
  /** Card -> hub queue. */
  outbound: boolean;
  /** Hub -> card queue. */
  inbound: boolean;
  /** Takes part in the hub sync (everything but .dbx). */
  synced: boolean;
  /** Encrypted transport (trailing s). */
  secure: boolean;
}

export const DEFAULT_ADD_FILE = 'data.qo';
export const DEFAULT_GET_FILE = 'data.qi';
/** The longest notefile name we store (bytes fit the record's length byte). */
export const MAX_NAME = 100;

/** The kind of a notefile name; fails with {notefile-bad-name} naming the file. */
export function kindOf(name: string, system = false): NotefileKind {
  if (name === '' || utf8Encode(name).length > MAX_NAME) fail(`notefile name must be 1 to ${MAX_NAME} bytes: "${name}"`, 'notefile-bad-name');
  if (name.includes(',')) fail(`notefile name may not contain a comma: "${name}"`, 'notefile-bad-name');
  if (!system && name.startsWith('_')) fail(`notefile names starting with _ are reserved for the system: "${name}"`, 'notefile-bad-name');
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1) : '';
  if (!(KINDS as readonly string[]).includes(ext)) {
    fail(`notefile "${name}" must end in one of ${KINDS.map((k) => '.' + k).join(' ')}`, 'notefile-bad-name');
  }
  const kind = ext as Kind;
  return {
    kind,
    queue: kind[0] === 'q',
    outbound: kind === 'qo' || kind === 'qos',
    inbound: kind === 'qi' || kind === 'qis',
    synced: kind !== 'dbx',
    secure: kind === 'qos' || kind === 'qis' || kind === 'dbs',
  };
}
