/** Events: every note a card (or the hub side) adds becomes one; the API pages through them. */
import { uuid7 } from '../auth';
import type { DeviceRecord, DeviceUpdate, EventPage, EventQuery, EventRecord, JsonObject } from '../store/types';
import { HEALTH_FILE, HEALTH_LOG_FILE } from '../../src/rules/names';
import { notefileKind, type ServiceContext } from './common';
import type { DeviceService } from './devices';

/** A note as a card uploads it (already expanded from any template by the sync layer). */
export interface IngestNote {
  id?: string; body?: JsonObject; payload?: string; when?: number;
  lat?: number; lon?: number; ltime?: number;
  /** the card's unique key for this upload: a note re-sent with a key already seen is stored once */
  key?: string;
}

/** Entries a health log answers with (the newest). */
const HEALTH_LOG_MAX = 1000;

export class EventService {
  readonly #ctx: ServiceContext;
  readonly #devices: DeviceService;

  constructor(ctx: ServiceContext, devices: DeviceService) { this.#ctx = ctx; this.#devices = devices; }

  query(q: EventQuery): Promise<EventPage> { return this.#ctx.store.events(q); }

  /** The newest event of each of a device's notefiles (Notehub's "latest"). */
  async latest(projectUID: string, deviceUID: string): Promise<string[]> {
    const d = await this.#devices.deviceIn(projectUID, deviceUID);
    return this.#ctx.store.latestEvents(projectUID, d.uid);
  }

  /**
   * A device's health log, newest first: the card's own health notes (power alerts) and its
   * host's hub.log messages, each `{when, alert, text}`.
   */
  async healthLog(projectUID: string, deviceUID: string): Promise<{ when: number; alert: boolean; text: string }[]> {
    const d = await this.#devices.deviceIn(projectUID, deviceUID);
    const page = await this.#ctx.store.events({ projectUID, deviceUIDs: [d.uid], files: [HEALTH_FILE, HEALTH_LOG_FILE], descending: true, limit: HEALTH_LOG_MAX });
    return page.json.map((j) => {
      const e = JSON.parse(j) as EventRecord;
      const body = e.body ?? {};
      return { when: e.when, alert: body.alert === true, text: typeof body.text === 'string' ? body.text : JSON.stringify(body) };
    });
  }

  /**
   * Every note a card uploaded becomes one event. One call is one transaction, so the sync
   * listener should hand over a whole batch (a session's worth of a notefile) at once. Pass the
   * DeviceRecord instead of its UID when the caller already holds it (saves a lookup).
   * Returns the events stored (notes whose `key` was already seen are left out).
   */
  async ingestNotes(device: string | DeviceRecord, file: string, notes: IngestNote[], opts: { session?: string; req?: string; fromHub?: boolean } = {}): Promise<EventRecord[]> {
    notefileKind(file);
    const d = typeof device === 'string' ? await this.#devices.device(device) : device;
    const { events, touch } = this.build(d, file, notes, opts);
    const stored = await this.#ctx.store.insertEvents(d.projectUID, events, {
      // a note added on the hub side is not a sign of life from the device
      touch: opts.fromHub ? undefined : { deviceUID: d.uid, update: touch },
      dedup: notes.some((n) => n.key !== undefined) ? notes.map((n) => n.key) : undefined,
    });
    if (stored.length) this.#ctx.emit('events', stored);
    return stored;
  }

  /** One event per note, in order, and the device update (activity, best location) they imply. */
  build(d: DeviceRecord, file: string, notes: IngestNote[], opts: { session?: string; req?: string }): { events: EventRecord[]; touch: DeviceUpdate } {
    const nowMs = this.#ctx.now();
    const received = nowMs / 1000;
    let lat = d.lat, lon = d.lon, locWhen = d.locationWhen;
    const events: EventRecord[] = notes.map((n) => {
      if (typeof n.lat === 'number' && typeof n.lon === 'number') { lat = n.lat; lon = n.lon; locWhen = n.ltime ?? n.when ?? received; }
      const e: EventRecord = {
        event: uuid7(nowMs), session: opts.session, device: d.uid, sn: d.sn, product: d.productUID, app: d.projectUID,
        received, req: opts.req ?? 'note.add', when: Math.floor(n.when ?? received), file,
      };
      if (n.id !== undefined) e.note = n.id;
      if (n.body !== undefined) e.body = n.body;
      if (n.payload !== undefined) e.payload = n.payload;
      if (lat !== null && lon !== null) { e.best_lat = lat; e.best_lon = lon; e.best_location_when = Math.floor(locWhen ?? received); }
      return e;
    });
    const moved = lat !== d.lat || lon !== d.lon;
    return { events, touch: { lastActivity: received, ...(moved ? { lat: lat ?? undefined, lon: lon ?? undefined, locationWhen: locWhen ?? undefined } : {}) } };
  }
}
