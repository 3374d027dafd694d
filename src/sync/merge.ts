// The card's side of the conflict rule of docs/SYNC.md section 5. The hub resolves conflicts in
// the up phase; the card meets one only when a hub change to note X arrives while its own X is
// still unsent (continuous sessions, or an edit made during a sync). Both sides apply the same
// rule and name the loser the same way, so they converge and nothing written is lost.
import type { InboundNote, Notefiles } from '../notefile/notefiles';
import type { WireNote } from './notes';
import { conflictId, conflictWinner } from './tracker';

/** The writes that apply hub notes `incoming` to database notefile `name`. */
export function mergeFromHub(notefiles: Notefiles, name: string, incoming: readonly WireNote[]): InboundNote[] {
  const out: InboundNote[] = [];
  for (const n of incoming) {
    const hub: InboundNote = { id: n.id, body: n.body, payload: n.payload, deleted: n.deleted, time: n.time };
    const mine = n.id === undefined ? undefined : notefiles.dirty(name, n.id);
    if (!mine) {
      out.push(hub);
      continue;
    }
    if (conflictWinner({ time: n.time }, { time: mine.time ?? 0 }) === 'card') {
      // Ours stays X and still goes up; the hub's version is kept beside it.
      if (!n.deleted) out.push({ ...hub, id: conflictId(n.id!, 'hub', n.counter) });
    } else {
      out.push(hub);
      // Ours lost: kept (unless a deletion) under its conflict id, as a local change for the hub.
      if (!mine.deleted) out.push({ id: conflictId(mine.id, 'card', mine.seq), body: mine.body, payload: mine.payload, time: mine.time, local: true });
    }
  }
  return out;
}
