// The receiver and merge rules of docs/SYNC.md sections 4.1 and 5, shared by the card's sync
// engine and the hub's device listener so both sides apply exactly the same logic.
import { FrameError } from './bytes';
import type { NotesMessage } from './messages';
import type { WireNote } from './notes';

/**
 * Receiving a NOTES frame when `stored` changes of its notefile are already committed: the notes
 * to apply (counter > stored) and the new stored value, to commit together. A frame that starts
 * beyond `stored` would leave a gap: FrameError.
 */
export function acceptNotes(stored: number, m: NotesMessage): { apply: WireNote[]; stored: number } {
  if (m.since > stored) throw new FrameError(`gap in ${m.name}: since ${m.since} beyond ${stored}`);
  return { apply: m.notes.filter((n) => n.counter > stored), stored: Math.max(stored, m.until) };
}

export type Side = 'card' | 'hub';

/** Concurrent edits of one database note: the later time wins; equal times, the hub's. */
export function conflictWinner(hub: { time: number }, card: { time: number }): Side {
  return card.time > hub.time ? 'card' : 'hub';
}

/** The id under which a losing version is kept: derived from the loser alone, so both sides agree. */
export function conflictId(id: string, loser: Side, counter: number): string {
  return `${id}!${loser === 'card' ? 'c' : 'h'}${counter}`;
}
