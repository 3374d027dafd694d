/**
 * What the device listener (hub/sync/connection.ts) does to hub state: identity at the handshake,
 * the session record, templates, uploads, and the hub-side changes a device receives.
 */
import { randomUUID } from 'node:crypto';
import type { DeviceLookup } from '../../src/sync/session';
import type { HelloMessage } from '../../src/sync/messages';
import { deviceUidError } from '../../src/rules/names';
import type { DeviceRecord, EventRecord, NoteInput, NoteRecord, SyncSessionRecord } from '../store/types';
import { WEB_MAX_REPLY } from '../../src/sync/web';
import { HubError, notefileKind, seconds, type ServiceContext, type SignalDelivery } from './common';
import type { DeviceService } from './devices';
import type { EventService, IngestNote } from './events';

/** How long a signal waits for the hub process that holds the device's session to answer. */
const SIGNAL_WAIT_MS = 1000;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** How long a session ticket may be resumed (a week): then a full handshake. */
export const TICKET_SECONDS = 7 * 24 * 3600;

export class DeviceSyncService {
  readonly #ctx: ServiceContext;
  readonly #devices: DeviceService;
  readonly #events: EventService;

  constructor(ctx: ServiceContext, devices: DeviceService, events: EventService) {
    this.#ctx = ctx;
    this.#devices = devices;
    this.#events = events;
  }

  /**
   * A signal for a device (POST .../devices/{D}/signal): handed to its live session, if it has one
   * (continuous mode), never stored. True when a session took it.
   */
  async signal(projectUID: string, deviceUID: string, signal: { body?: object; payload?: string }): Promise<boolean> {
    const d = await this.#devices.deviceIn(projectUID, deviceUID);
    const text = JSON.stringify(signal);
    if (Buffer.byteLength(text) > WEB_MAX_REPLY) throw new HubError(400, `a signal carries at most ${WEB_MAX_REPLY} bytes`);
    const e: SignalDelivery = { deviceUID: d.uid, text, delivered: false };
    this.#ctx.emit('signal', e);
    const bus = this.#ctx.store.bus;
    if (e.held || !bus) return e.delivered;
    // a session on another hub process, if any: ask them, and wait for the one that holds it
    const [last] = await this.#ctx.store.syncSessions(d.uid, 1);
    if (!last || last.ended !== null) return false;
    const id = randomUUID();
    return new Promise<boolean>((resolve) => {
      const done = (delivered: boolean): void => { clearTimeout(timer); stop(); resolve(delivered); };
      const stop = bus.subscribe((event, p) => {
        const ack = p as { id?: string; delivered?: boolean } | null;
        if (event === 'signal-ack' && ack?.id === id) done(ack.delivered === true);
      });
      const timer = setTimeout(() => done(false), SIGNAL_WAIT_MS);
      bus.publish('signal', { id, deviceUID: d.uid, text });
    });
  }

  /**
   * What the hub knows of the device announcing `h`: docs/SYNC.md section 3 and 4.4 "Identity"
   * (TOFU, disabled, deleted, product). A device belongs to the project of the product it
   * announces. `hubEpoch` is the epoch drawn for this connection; the answer carries the one to
   * use (a known device keeps its recorded epoch, and one with a secret but none gets this one).
   */
  async lookup(h: HelloMessage, tofu: boolean, hubEpoch: Uint8Array): Promise<{ lookup: DeviceLookup; hubEpoch: Uint8Array }> {
    const { store } = this.#ctx;
    const as = (lookup: DeviceLookup): { lookup: DeviceLookup; hubEpoch: Uint8Array } => ({ lookup, hubEpoch });
    const product = await store.product(h.product);
    if (!product) return as({ status: 'refuse', code: 'product', text: `product not found: ${h.product}` });
    const project = product.projectUID;
    if (await store.isDeletedDevice(h.uid, project)) return as({ status: 'refuse', code: 'auth', text: 'device deleted' });
    const d = await store.device(h.uid);
    const secret = d && (await store.deviceSecret(h.uid));
    // a record without a secret made by another project is no claim on this device (it is replaced, TOFU only)
    const mine = d && (secret || d.projectUID === project) ? d : null;
    if (mine) {
      if (mine.disabled) return as({ status: 'refuse', code: 'auth', text: 'device disabled' });
      const { cardEpoch, hubEpoch: recorded } = await store.syncDevice(h.uid);
      if (recorded) hubEpoch = unhex(recorded);
      else if (secret) await store.setHubEpoch(h.uid, hex(hubEpoch));
      if (secret) {
        const t = await store.syncTicket(h.uid);
        // a ticket lives TICKET_SECONDS from its session; an older one means a full handshake
        const ticket = t && seconds(this.#ctx) - t.issued < TICKET_SECONDS ? { id: unhex(t.ticket), secret: unhex(t.secret) } : undefined;
        return as({ status: 'known', secret: unhex(secret), project, ...(cardEpoch ? { cardEpoch: unhex(cardEpoch) } : {}), ...(ticket ? { ticket } : {}) });
      }
      // created through the API (an operator admitted it) without a secret: its first connection
      // provisions it, TOFU or not; this is how devices join a hub that runs with TOFU off
      return as({ status: 'provision', project });
    }
    if (!tofu) return as({ status: 'refuse', code: 'auth', text: 'unknown device and provisioning is off' });
    const uidError = deviceUidError(h.uid);
    if (uidError !== undefined) return as({ status: 'refuse', code: 'auth', text: uidError });
    return as({ status: 'provision', project });
  }

  /**
   * Authenticated (the device admitted or following its product already): its hub epoch when
   * just provisioned, and its activity. Returns the device as it is now.
   */
  async connected(h: HelloMessage, o: { provisioned: boolean; hubEpoch: Uint8Array }): Promise<DeviceRecord> {
    if (o.provisioned) await this.#ctx.store.setHubEpoch(h.uid, hex(o.hubEpoch));
    await this.#ctx.store.updateDevice(h.uid, { sn: h.sn || undefined, lastActivity: seconds(this.#ctx) });
    return this.#devices.device(h.uid);
  }

  /** The session begins: the card's epoch (and whether it was reset) and the session record. */
  async begin(device: DeviceRecord, cardEpoch: Uint8Array, cardReset: boolean, rec: SyncSessionRecord): Promise<void> {
    await this.#ctx.store.setCardEpoch(device.uid, hex(cardEpoch), cardReset);
    await this.#ctx.store.putSyncSession(rec);
  }

  /** The ticket a session derived for the next one (docs/SYNC.md 3.1): the device's only one. */
  putTicket(deviceUID: string, t: { id: Uint8Array; secret: Uint8Array }): Promise<void> {
    return this.#ctx.store.putSyncTicket(deviceUID, { ticket: hex(t.id), secret: hex(t.secret), issued: seconds(this.#ctx) });
  }

  /** The session record, as it ended (or as far as it got). */
  end(rec: SyncSessionRecord): Promise<void> { return this.#ctx.store.putSyncSession(rec); }

  /** Per notefile, the highest card counter the hub has stored. */
  async upUntil(deviceUID: string): Promise<{ [file: string]: number }> { return (await this.#ctx.store.syncDevice(deviceUID)).upUntil; }

  notefiles(deviceUID: string): Promise<{ file: string }[]> { return this.#ctx.store.notefiles(deviceUID); }

  putTemplate(deviceUID: string, file: string, version: number, definition: string): Promise<void> {
    return this.#ctx.store.putTemplate(deviceUID, file, version, definition);
  }
  template(deviceUID: string, file: string, version: number): Promise<string | null> { return this.#ctx.store.template(deviceUID, file, version); }

  /** The hub's copy of a database note (null: none), for the conflict rule. */
  note(deviceUID: string, file: string, id: string): Promise<NoteRecord | null> { return this.#ctx.store.note(deviceUID, file, id); }

  /**
   * One acknowledged NOTES frame, committed in one transaction with the notefile's new upUntil.
   * `events` become events (req note.add, or note.update for databases); `notes` are database
   * changes (origin 'device' for the card's own, 'hub' for conflict copies the card must receive).
   * Returns the events stored (upload keys already seen are skipped).
   */
  async commitUpload(d: DeviceRecord, file: string, upUntil: number, events: IngestNote[], notes: { input: NoteInput; origin: 'hub' | 'device' }[], opts: { session?: string } = {}): Promise<EventRecord[]> {
    const kind = notefileKind(file);
    const built = this.#events.build(d, file, events, { session: opts.session, req: kind === 'db' ? 'note.update' : 'note.add' });
    const stored = await this.#ctx.store.commitUpload({
      projectUID: d.projectUID, deviceUID: d.uid, file, upUntil, events: built.events, touch: built.touch, notes,
      dedup: events.some((n) => n.key !== undefined) ? events.map((n) => n.key) : undefined,
    });
    if (stored.length) this.#ctx.emit('events', stored);
    return stored;
  }

  /** Hub changes of a down notefile after `since` (the card's own edits are never echoed; a .qi's deletions are not sent). */
  async pending(deviceUID: string, file: string, since: number): Promise<NoteRecord[]> {
    const notes = await this.#ctx.store.changesSince(deviceUID, since, { file, origin: 'hub' });
    return notefileKind(file) === 'qi' ? notes.filter((n) => !n.deleted) : notes;
  }

  /** The card committed the .qi notes up to `until`: they leave the hub. */
  async delivered(deviceUID: string, file: string, until: number): Promise<void> {
    const done = (await this.#ctx.store.changesSince(deviceUID, 0, { file, origin: 'hub' })).filter((n) => n.change <= until);
    if (done.length) await this.#ctx.store.markDelivered(deviceUID, done.map((n) => ({ file, id: n.id })));
  }
}
