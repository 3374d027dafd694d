// Notefile kinds; the name rules themselves are in src/rules/names.ts.
import { fail } from '../errors';
import { NOTEFILE_KINDS, notefileExt, notefileNameError, type NotefileExt } from '../rules/names';

export const KINDS = NOTEFILE_KINDS;
export type Kind = NotefileExt;

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

/** The kind of a notefile name; fails with {notefile-bad-name} naming the file. */
export function kindOf(name: string, system = false): NotefileKind {
  const error = notefileNameError(name, system);
  if (error !== undefined) fail(error, 'notefile-bad-name');
  return kindByExt(notefileExt(name)!);
}

/** The kind of a notefile already in the store, by its extension alone: a store written by an
 * older build may hold names the rules now refuse; they must still be read, synced or deleted. */
export function storedKindOf(name: string): NotefileKind {
  const ext = notefileExt(name);
  if (ext === undefined) fail(`notefile "${name}" has no kind`, 'notefile-bad-name');
  return kindByExt(ext);
}

function kindByExt(kind: Kind): NotefileKind {
  return {
    kind,
    queue: kind[0] === 'q',
    outbound: kind === 'qo' || kind === 'qos',
    inbound: kind === 'qi' || kind === 'qis',
    synced: kind !== 'dbx',
    secure: kind === 'qos' || kind === 'qis' || kind === 'dbs',
  };
}
