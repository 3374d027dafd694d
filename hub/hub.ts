/**
 * The Hub: the service layer the HTTP API, the device listener, route delivery and the CLI share
 * (no HTTP in it), split by resource under hub/services/. The services are the only code that
 * touches the store; they read time from one injected clock.
 */
import { EventEmitter } from 'node:events';
import type { Store } from './store/types';
import type { Clock, ServiceContext } from './services/common';
import { AccountService, type AccountOptions } from './services/accounts';
import { ProjectService } from './services/projects';
import { DeviceService } from './services/devices';
import { EventService } from './services/events';
import { NoteService } from './services/notes';
import { EnvironmentService } from './services/environment';
import { FirmwareService } from './services/firmware';
import { RouteService } from './services/routes';
import { DeviceSyncService } from './services/device-sync';
import { relayHubEvents } from './bus';
import { PublishingService } from './services/publishing';

export { HubError, notefileKind, type Clock } from './services/common';
export { LOGIN_FAILURES, OAUTH_TTL, type Principal } from './services/accounts';
export type { IngestNote } from './services/events';

/** A card in the hub's process: answers one request line with its reply line ('' for a cmd). */
export interface LocalCard { request(line: string): Promise<string>; /** request names, for completion */ requests: readonly string[] }

export interface HubOptions extends AccountOptions {
  /** The clock, ms since the epoch (default Date.now): token expiry, throttles, timestamps, route retries. */
  now?: Clock;
}

/**
 * Events emitted: 'events' (EventRecord[] just stored), 'notes' ({deviceUID, file}: the hub side
 * of a device's .qi or .db changed, so a connected device should sync), 'env' ({scope, ownerUID}).
 * On a store shared by several hub processes (store.bus) they are emitted in every process.
 */
export class Hub extends EventEmitter {
  /** For tests and tools that inspect the database; hub code goes through the services. */
  readonly store: Store;
  readonly now: Clock;
  readonly accounts: AccountService;
  readonly projects: ProjectService;
  readonly devices: DeviceService;
  readonly events: EventService;
  readonly notes: NoteService;
  readonly env: EnvironmentService;
  readonly firmware: FirmwareService;
  readonly routes: RouteService;
  readonly deviceSync: DeviceSyncService;
  /**
   * Cards this process hosts (the simulator with --with-hub), by device UID: each answers one
   * request line with its reply line. The dashboard's web terminal reaches these and no others.
   */
  readonly localCards = new Map<string, LocalCard>();

  readonly #relay: { publish: ((event: string, payload: unknown) => void) | null; stop: () => void };
  readonly publishing: PublishingService;

  constructor(store: Store, opts: HubOptions = {}) {
    super();
    this.store = store;
    this.now = opts.now ?? Date.now;
    // a store shared by several hub processes carries every event to the others too
    const relay = relayHubEvents(this, store);
    this.#relay = relay;
    const ctx: ServiceContext = { store, now: this.now, emit: (event, payload) => { relay.publish?.(event, payload); this.emit(event, payload); } };
    this.projects = new ProjectService(ctx);
    this.accounts = new AccountService(ctx, this.projects, opts);
    this.devices = new DeviceService(ctx, this.projects);
    this.events = new EventService(ctx, this.devices);
    this.notes = new NoteService(ctx, this.events);
    this.env = new EnvironmentService(ctx, this.devices);
    this.firmware = new FirmwareService(ctx, this.devices, this.env);
    this.routes = new RouteService(ctx, this.projects);
    this.deviceSync = new DeviceSyncService(ctx, this.devices, this.events);
    this.publishing = new PublishingService(ctx);
  }

  /**
   * Tell the other hub processes on a shared store (nothing alone): they emit it as a hub event,
   * this one does not.
   */
  announce(event: string, payload: unknown): void { this.#relay.publish?.(event, payload); }

  async close(): Promise<void> { this.#relay.stop(); await this.store.close(); }
}
