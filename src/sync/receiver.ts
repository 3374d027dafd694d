// The receiver rule of docs/SYNC.md section 4.1, shared by the card's sync engine and the hub's
// device listener so both sides apply exactly the same logic (the conflict rule of section 5 is
// in src/rules/conflict.ts).
import { FrameError } from './varint-io';
import type { NotesMessage } from './messages';
import type { WireNote } from './notes-block';

/**
 * Receiving a NOTES frame when `stored` changes of its notefile are already committed: the notes
 * to apply (counter > stored) and the new stored value, to commit together. A frame that starts
 * beyond `stored` would leave a gap: FrameError.
 */
export function acceptNotes(stored: number, m: NotesMessage): { apply: WireNote[]; stored: number } {
  if (m.since > stored) throw new FrameError(`gap in ${m.name}: since ${m.since} beyond ${stored}`);
  return { apply: m.notes.filter((n) => n.counter > stored), stored: Math.max(stored, m.until) };
}
