// What the rest of the card may ask of the sync: the engine implements it on hosts with a network.
import type { JsonObject } from '../json';

/** Where requests ask for a sync. */
export interface SyncHook {
  /** Sync soon (hub.sync, note.add sync:true and friends). */
  request(): void;
}

/** The sync engine as request handlers see it. */
export interface SyncControl extends SyncHook {
  /** hub.set changed the configuration. */
  reconfigure(): void;
  readonly running: boolean;
  /** hub.sync.status */
  status(): JsonObject;
  /** hub.status */
  connection(): JsonObject;
  /** Write the traffic counted so far to the `usage` setting (card.usage.get reads it). */
  flushUsage(): void;
  /** Why notefile `name` was left out of the last sync. */
  skippedReason(name: string): string | undefined;
}
