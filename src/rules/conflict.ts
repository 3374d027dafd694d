// The one conflict rule of docs/SYNC.md section 5, applied by the card (src/sync/merge.ts) and the
// hub (hub/sync/notes.ts) alike, so both sides converge:
//
// - a change received for database note X while the receiver's own X is dirty (changed and not
//   yet acknowledged by the peer) is concurrent with it, unless both versions have the same
//   content (body and payload, or both tombstones): an identical change is no conflict;
// - the version with the later time (whole seconds) wins; equal times: the hub's version;
// - the loser, unless it is a tombstone, is kept as a note of the same notefile with an id
//   derived from the loser alone (its side and change counter), so both sides name it alike.
import type { Json, JsonObject } from '../json';
import { RESERVED_ID_MARK } from './names';

export type Side = 'card' | 'hub';

/** One version of a database note as the rule sees it. */
export interface NoteVersion {
  side: Side;
  /** The change counter of this version on its side. */
  counter: number;
  /** Unix seconds (fractions ignored). */
  time: number;
  deleted?: boolean;
  body?: JsonObject | null;
  /** Base64 (the hub's form; the card encodes its bytes to compare). */
  payload?: string | null;
}

/** What to do with a received version `theirs`: apply it, keep `mine`, and maybe keep the loser as a copy. */
export interface Resolution {
  winner: 'mine' | 'theirs';
  /** The loser kept under this id (absent: no conflict, or the loser is a tombstone). */
  copy?: { id: string; of: 'mine' | 'theirs' };
}

/** The rule: `mine` is the receiver's own version of note `id` when it is dirty, else undefined. */
export function resolveConflict(id: string, mine: NoteVersion | undefined, theirs: NoteVersion): Resolution {
  if (!mine || sameContent(mine, theirs)) return { winner: 'theirs' };
  const [hub, card] = mine.side === 'hub' ? [mine, theirs] : [theirs, mine];
  const winner: Side = conflictWinner(hub, card);
  const loser = winner === 'card' ? hub : card;
  const out: Resolution = { winner: winner === mine.side ? 'mine' : 'theirs' };
  if (!loser.deleted) out.copy = { id: conflictId(id, loser.side, loser.counter), of: loser === mine ? 'mine' : 'theirs' };
  return out;
}

/** Concurrent edits: the later time wins; equal times, the hub's. */
export function conflictWinner(hub: { time: number }, card: { time: number }): Side {
  return Math.floor(card.time) > Math.floor(hub.time) ? 'card' : 'hub';
}

/**
 * The id a losing version is kept under: the note id up to any reserved mark, then the mark, the
 * loser's side and its change counter. Counters are unique per notefile (card) and per device
 * (hub), so ids never collide, and a copy of a copy stays as short as a first copy.
 */
export function conflictId(id: string, loser: Side, counter: number): string {
  const mark = id.indexOf(RESERVED_ID_MARK);
  return `${mark < 0 ? id : id.slice(0, mark)}${RESERVED_ID_MARK}${loser === 'card' ? 'c' : 'h'}${counter}`;
}

/** Two versions with the same content: both tombstones, or equal bodies (member order aside) and payloads. */
export function sameContent(a: NoteVersion, b: NoteVersion): boolean {
  if (a.deleted || b.deleted) return !!a.deleted === !!b.deleted;
  return sameJson(emptyAsNull(a.body), emptyAsNull(b.body)) && (a.payload || '') === (b.payload || '');
}

/** No body and an empty body are the same content (a templated note may read back either way). */
function emptyAsNull(b: JsonObject | null | undefined): JsonObject | null {
  return b && Object.keys(b).length > 0 ? b : null;
}

function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (!Object.prototype.hasOwnProperty.call(b, k) || !sameJson(a[k], b[k])) return false;
  return true;
}
