/** What every hub service shares: the store, the clock, the Hub's events, and the error type. */
import type { Store } from '../store/types';
import { notefileExt, notefileNameError } from '../../src/rules/names';

/** A failure with the HTTP status it maps to. */
export class HubError extends Error {
  override name = 'HubError';
  readonly status: number;
  /** seconds, sent as Retry-After (429, 503) */
  readonly retryAfter?: number;
  constructor(status: number, message: string, retryAfter?: number) { super(message); this.status = status; this.retryAfter = retryAfter; }
}

/** Who calls the HTTP API: a user's token or a project client's. */
export type Principal =
  | { kind: 'user'; userId: number; username: string; account: string; tokenId: string }
  | { kind: 'client'; clientId: string; projectUID: string; account: string; tokenId: string };

/** Milliseconds since the epoch; injected so tests can move time (default Date.now). */
export type Clock = () => number;

/** Hub events: 'events' (EventRecord[] stored), 'notes' ({deviceUID, file}), 'env' ({scope, ownerUID}),
 * 'signal' (a SignalDelivery: the listener marks it delivered when a session of the device took it),
 * 'dfu' (a DfuRecord just stored: a phase of a device's update), 'delivery' (a RouteLogRecord: a route's attempt, just logged). */
export type Emit = (event: 'events' | 'notes' | 'env' | 'signal' | 'dfu' | 'delivery', payload: unknown) => void;

/** A signal on its way to a device (never stored). */
export interface SignalDelivery {
  deviceUID: string; text: string; delivered: boolean;
  /** set by the listener that has a session of the device (one per device across the processes) */
  held?: boolean;
}

/** Handed to every service: the services are the only code that touches the store. */
export interface ServiceContext {
  readonly store: Store;
  readonly now: Clock;
  readonly emit: Emit;
}

/** The clock in the store's unit, seconds. */
export const seconds = (ctx: ServiceContext): number => ctx.now() / 1000;

/** Notefile name check shared by every entry point: the card's rules (src/rules/names.ts), with
 * the system's own `_` names allowed; the kind by extension. */
export function notefileKind(file: string): 'qi' | 'qo' | 'db' | 'dbx' {
  const error = notefileNameError(file, true);
  if (error !== undefined) throw new HubError(400, error);
  const ext = notefileExt(file)!;
  return ext === 'dbx' ? ext : ext.slice(0, 2) as 'qi' | 'qo' | 'db';
}
