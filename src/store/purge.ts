// Tombstone purging, as the store applies it. Which tombstones may go is the notefile layer's
// rule (a PurgePolicy it hands the store); the store only applies it at commit time.
import { NF } from './format';
import type { RamIndex, ReadonlyFileState } from './ram-index';
import type { Txn } from './records';

/** Which tombstones may be dropped: given a file and its trackers as they will be once the
 * transaction applies, a test for one tombstone (its change number and note flags). */
export type PurgePolicy = (file: ReadonlyFileState, trackers: ReadonlyMap<string, number>) => (seq: number, flags: number) => boolean;

/** Tombstones the policy lets go once `tx` applies are dropped by `tx` itself. Purging is thus
 * an explicit record, never a side effect of replay order: what a reboot rebuilds cannot depend
 * on which old records were compacted. */
export function addPurges(tx: Txn, index: RamIndex, policy: PurgePolicy): void {
  const files = new Set<number>([...tx.trackerMoves.keys(), ...tx.keyedWrites.keys()]);
  for (const id of files) {
    const f = index.files.get(id);
    if (!f || tx.unfiled.has(id)) continue;
    const trackers = new Map(f.trackers);
    for (const [name, v] of tx.trackerMoves.get(id) ?? []) {
      if (v === undefined) trackers.delete(name);
      else trackers.set(name, v);
    }
    const purgeable = policy(f, trackers);
    const tombstones = new Map<string, { seq: number; flags: number }>();
    // Without a tracker move, only this transaction's own tombstones can have become purgeable.
    if (tx.trackerMoves.has(id)) for (const [nid, e] of f.keyed) if (e.flags & NF.DELETED) tombstones.set(nid, e);
    for (const [nid, w] of tx.keyedWrites.get(id) ?? []) tombstones.set(nid, w);
    const ranges: number[] = [];
    for (const t of tombstones.values()) {
      if (!(t.flags & NF.DELETED) || !purgeable(t.seq, t.flags)) continue;
      ranges.push(t.seq, t.seq + 1);
    }
    if (ranges.length) tx.drop(id, ranges);
  }
}
