// What the rest of the card may ask of the sync: the engine implements it on hosts with a network.
import type { JsonObject } from '../json';
import type { WebCall } from './web';

export type { WebCall };

/** Where requests ask for a sync. */
export interface SyncHook {
  /** Sync soon (hub.sync, note.add sync:true and friends). */
  request(): void;
}

/** The sync engine as request handlers see it. */
export interface SyncControl extends SyncHook, WebControl {
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

/** What the hub answered: the target's status and body, or why there is none. */
export type WebAnswer =
  | { ok: true; result: number; content: string; body: Uint8Array }
  | { ok: false; result: number; error: string };

/** Web requests and signals over the live session (the sync engine implements it). */
export interface WebControl {
  /** Why a web request cannot go now (undefined: it can): not continuous, offline. */
  webUnavailable(): string | undefined;
  /** Send `call`; `done` is called once, with the answer or a failure (never synchronously). */
  web(call: WebCall, done: (answer: WebAnswer) => void): void;
  /** The oldest signal the hub sent (JSON text of {body?, payload?}), removed; and how many are left. */
  nextSignal(): { signal: string | undefined; left: number };
  /** Signals waiting to be read. */
  pendingSignals(): number;
  /** Call `done` (never synchronously) when a signal arrives or after `ms`; a newer wait replaces it. */
  awaitSignal(ms: number, done: () => void): void;
  /** A session with the hub is up now. */
  readonly connected: boolean;
}
