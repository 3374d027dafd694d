// The card's side of the conflict rule of docs/SYNC.md section 5 (src/rules/conflict.ts). The hub
// resolves conflicts in the up phase; the card meets one only when a hub change to note X arrives
// while its own X is still unsent (continuous sessions, or an edit made during a sync).
import type { InboundNote, Notefiles } from '../notefile/notefiles';
import { resolveConflict } from '../rules/conflict';
import { base64Encode } from '../util/base64';
import type { WireNote } from './notes-block';

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
    const r = resolveConflict(n.id!,
      { side: 'card', counter: mine.seq, time: mine.time ?? 0, deleted: mine.deleted, body: mine.body, payload: mine.payload && base64Encode(mine.payload) },
      { side: 'hub', counter: n.counter, time: n.time, deleted: n.deleted, body: n.body, payload: n.payload && base64Encode(n.payload) });
    // The hub's version applies when it wins (or is the same change); ours otherwise stays X and still goes up.
    if (r.winner === 'theirs') out.push(hub);
    // The loser is kept: the hub's as it came; ours as a local change for the hub.
    if (r.copy?.of === 'theirs') out.push({ ...hub, id: r.copy.id });
    else if (r.copy) out.push({ id: r.copy.id, body: mine.body, payload: mine.payload, time: mine.time, local: true });
  }
  return out;
}
