/**
 * The Hub service: everything the HTTP API and the device-sync listener do to hub state, with no
 * HTTP in it. Both call the same methods in the same process.
 */
import { EventEmitter } from 'node:events';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  hashPassword, hashToken, LoginThrottle, newId, newToken, parseExpiry, RateLimiter, shortId, uuid7, verifyPassword, type RateLimit,
} from './auth';
import type {
  DeviceFilter, DeviceRecord, DeviceUpdate, DfuRecord, EnvScope, EventRecord, FirmwareRecord, FleetRecord, JsonObject,
  NoteInput, NoteRecord, ProductRecord, ProjectRecord, RouteRecord, Store, TokenRecord,
} from './store/types';
import { deviceUidError, notefileExt, notefileNameError, noteIdError, productUidError, MAX_NOTE_ID } from '../src/rules/names';
import { noteFrameError } from '../src/sync/messages';

/** A failure with the HTTP status it maps to. */
export class HubError extends Error {
  override name = 'HubError';
  readonly status: number;
  /** seconds, sent as Retry-After (429, 503) */
  readonly retryAfter?: number;
  constructor(status: number, message: string, retryAfter?: number) { super(message); this.status = status; this.retryAfter = retryAfter; }
}

export type Principal =
  | { kind: 'user'; userId: number; username: string; account: string; tokenId: string }
  | { kind: 'client'; clientId: string; projectUID: string; account: string; tokenId: string };

/** A note as a card uploads it (already expanded from any template by the sync layer). */
export interface IngestNote {
  id?: string; body?: JsonObject; payload?: string; when?: number;
  lat?: number; lon?: number; ltime?: number;
  /** the card's unique key for this upload: a note re-sent with a key already seen is stored once */
  key?: string;
}

export interface HubOptions {
  /** Requests per billing account; undefined = no limit (the default for local use). */
  rateLimit?: RateLimit;
  /** Lifetime of /auth/login session tokens, seconds. */
  sessionTtl?: number;
}

/**
 * Failed logins and client-credential grants allowed per username (or client id) and per
 * address in a 15-minute window before further attempts get 429 (docs/HUB.md).
 */
export const LOGIN_FAILURES = Object.freeze({ perKey: 5, perAddress: 20, windowMs: 15 * 60_000 });

export const OAUTH_TTL = 1800;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/;

/** Notefile name check shared by every entry point: the card's rules (src/rules/names.ts), with
 * the system's own `_` names allowed; the kind by extension. */
export function notefileKind(file: string): 'qi' | 'qo' | 'db' | 'dbx' {
  const error = notefileNameError(file, true);
  if (error !== undefined) throw new HubError(400, error);
  const ext = notefileExt(file)!;
  return ext === 'dbx' ? ext : ext.slice(0, 2) as 'qi' | 'qo' | 'db';
}

/** A note the hub adds for a device must reach it: one NOTES frame, as the card's note.add checks. */
function checkDeliverable(file: string, body: JsonObject | undefined, payload: string | undefined): void {
  const error = noteFrameError(file, { id: MAX_NOTE_ID, body, payload: payload ? new Uint8Array(Buffer.from(payload, 'base64')) : undefined });
  if (error !== undefined) throw new HubError(400, `note: ${error}`);
}

/**
 * Events emitted: 'events' (EventRecord[] just stored), 'notes' ({deviceUID, file}: the hub side
 * of a device's .qi or .db changed, so a connected device should sync), 'env' ({scope, ownerUID}).
 */
export class Hub extends EventEmitter {
  readonly store: Store;
  readonly #limiter: RateLimiter | null;
  readonly #sessionTtl: number;
  readonly #logins = new LoginThrottle({ perKey: LOGIN_FAILURES.perKey, windowMs: LOGIN_FAILURES.windowMs });
  readonly #addresses = new LoginThrottle({ perKey: LOGIN_FAILURES.perAddress, windowMs: LOGIN_FAILURES.windowMs });

  constructor(store: Store, opts: HubOptions = {}) {
    super();
    this.store = store;
    this.#limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit) : null;
    this.#sessionTtl = opts.sessionTtl ?? 86400;
  }

  async close(): Promise<void> { await this.store.close(); }

  // ---------------------------------------------------------------- accounts and credentials

  async createUser(username: string, password: string): Promise<{ id: number; username: string }> {
    if (!/^[A-Za-z0-9_.@+-]{1,64}$/.test(username)) throw new HubError(400, 'username: 1-64 letters, digits or _ . @ + -');
    if (password.length < 8) throw new HubError(400, 'password: at least 8 characters');
    if (await this.store.userByName(username)) throw new HubError(409, `user ${username} exists`);
    return this.store.createUser(username, await hashPassword(password));
  }

  async #userId(username: string): Promise<number> {
    const u = await this.store.userByName(username);
    if (!u) throw new HubError(404, `no user ${username}`);
    return u.id;
  }

  /** A personal access token; the token text is returned once and only its hash is kept. */
  async createToken(username: string, opts: { expires?: string; name?: string } = {}): Promise<{ token: string; id: string; expires: number | null }> {
    const userId = await this.#userId(username);
    const token = newToken('nhl');
    const expires = parseExpiry(opts.expires);
    const rec: TokenRecord = { id: shortId('tok'), kind: 'pat', userId, clientId: null, name: opts.name ?? '', created: Date.now() / 1000, expires, revoked: false };
    await this.store.createToken(hashToken(token), rec);
    return { token, id: rec.id, expires };
  }

  /** Revoke by token id (tok_...) or by the token text itself. */
  async revokeToken(idOrToken: string): Promise<boolean> {
    return (await this.store.revokeToken(idOrToken)) || this.store.revokeToken(hashToken(idOrToken));
  }

  /**
   * Throttled guessing: past LOGIN_FAILURES for the account or the address (`from`, the peer's IP
   * when called over HTTP), every attempt gets 429 without its secret being checked; a success
   * clears the account's count and takes back only its own count from the address.
   */
  async #guarded<T>(account: string, from: string | undefined, attempt: () => Promise<T | null>): Promise<T | null> {
    const addr = from === undefined ? [] : [`addr:${from}`];
    const wait = Math.max(this.#logins.check([account]), this.#addresses.check(addr));
    if (wait > 0) throw new HubError(429, `too many failed attempts; try again in ${wait} s`, wait);
    // counted before the check, so guesses sent in parallel cannot all slip through
    this.#logins.fail([account]);
    this.#addresses.fail(addr);
    const ok = await attempt();
    if (ok !== null) {
      this.#logins.succeed([account]);
      this.#addresses.forgive(addr);
    }
    return ok;
  }

  async login(username: string, password: string, from?: string): Promise<string> {
    const u = await this.#guarded(`user:${username}`, from, async () => {
      const u = await this.store.userByName(username);
      // verify against a dummy hash when the user is unknown, so timing does not reveal which usernames exist
      const ok = await verifyPassword(password, u?.passwordHash ?? DUMMY_HASH);
      return u && ok ? u : null;
    });
    if (!u) throw new HubError(401, 'invalid username or password');
    const token = newToken('nhs');
    const now = Date.now() / 1000;
    await this.store.createToken(hashToken(token), { id: shortId('ses'), kind: 'session', userId: u.id, clientId: null, name: 'login', created: now, expires: now + this.#sessionTtl, revoked: false });
    return token;
  }

  async createClient(projectUID: string): Promise<{ clientId: string; clientSecret: string }> {
    const p = await this.project(projectUID);
    const clientId = randomUUID();
    const clientSecret = newToken('nhc');
    await this.store.createClient({ clientId, projectUID: p.uid, created: Date.now() / 1000, revoked: false }, hashToken(clientSecret));
    return { clientId, clientSecret };
  }

  /** OAuth2 client credentials grant: a bearer token for the client's project, 30 minutes. */
  async clientToken(clientId: string, clientSecret: string, from?: string): Promise<{ access_token: string; token_type: 'bearer'; expires_in: number; scope: string }> {
    const c = await this.#guarded(`client:${clientId}`, from, async () => {
      const c = await this.store.clientById(clientId);
      const given = Buffer.from(hashToken(clientSecret));
      return !c || c.revoked || !timingEqual(given, Buffer.from(c.secretHash)) ? null : c;
    });
    if (!c) throw new HubError(401, 'invalid client credentials');
    const token = newToken('nho');
    const now = Date.now() / 1000;
    await this.store.createToken(hashToken(token), { id: shortId('oat'), kind: 'oauth', userId: null, clientId, name: 'oauth', created: now, expires: now + OAUTH_TTL, revoked: false });
    return { access_token: token, token_type: 'bearer', expires_in: OAUTH_TTL, scope: '' };
  }

  /** Who presents this token; 401 for unknown, expired or revoked tokens. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new HubError(401, 'authentication required');
    const t = await this.store.tokenByHash(hashToken(token));
    if (!t) throw new HubError(401, 'invalid token');
    if (t.revoked) throw new HubError(401, 'token revoked');
    if (t.expires !== null && t.expires <= Date.now() / 1000) throw new HubError(401, 'token expired');
    if (t.clientId !== null) {
      const c = await this.store.clientById(t.clientId);
      if (!c || c.revoked) throw new HubError(401, 'client revoked');
      const p = await this.store.project(c.projectUID);
      if (!p) throw new HubError(401, 'client project deleted');
      return { kind: 'client', clientId: c.clientId, projectUID: c.projectUID, account: `user:${p.ownerId}`, tokenId: t.id };
    }
    const u = t.userId === null ? null : await this.store.userById(t.userId);
    if (!u) throw new HubError(401, 'token user deleted');
    return { kind: 'user', userId: u.id, username: u.username, account: `user:${u.id}`, tokenId: t.id };
  }

  /** 0 when the principal's billing account may make another request, else seconds to wait. */
  rateLimit(p: Principal): number { return this.#limiter ? this.#limiter.take(p.account) : 0; }

  // ---------------------------------------------------------------- projects, products, fleets

  async project(uid: string): Promise<ProjectRecord> {
    const p = await this.store.project(uid);
    if (!p) throw new HubError(404, `project not found: ${uid}`);
    return p;
  }

  /** `{P}` in a path may name a project or one of its products. */
  async resolveProject(projectOrProduct: string): Promise<ProjectRecord> {
    if (projectOrProduct.startsWith('app:')) return this.project(projectOrProduct);
    const prod = await this.store.product(projectOrProduct);
    if (!prod) throw new HubError(404, `project not found: ${projectOrProduct}`);
    return this.project(prod.projectUID);
  }

  /** The project if the principal may reach it (404 unknown, 403 not theirs). */
  async authorize(p: Principal, projectOrProduct: string): Promise<ProjectRecord> {
    const proj = await this.resolveProject(projectOrProduct);
    const ok = p.kind === 'client' ? p.projectUID === proj.uid : await this.store.isMember(proj.uid, p.userId);
    if (!ok) throw new HubError(403, 'this token does not give access to that project');
    return proj;
  }

  async projectsOf(p: Principal): Promise<ProjectRecord[]> {
    if (p.kind === 'client') return [await this.project(p.projectUID)];
    return this.store.projectsOfUser(p.userId);
  }

  async createProject(username: string, label: string): Promise<ProjectRecord> {
    return this.createProjectFor(await this.#userId(username), label);
  }
  async createProjectFor(userId: number, label: string): Promise<ProjectRecord> {
    if (!label || label.length > 256) throw new HubError(400, 'a project label is 1-256 characters');
    const rec: ProjectRecord = { uid: newId('app:'), label, created: Date.now() / 1000, ownerId: userId };
    await this.store.createProject(rec);
    return rec;
  }

  async createProduct(projectUID: string, productUID: string, label = '', opts: { disableDevicesByDefault?: boolean; autoProvisionFleets?: string[] } = {}): Promise<ProductRecord> {
    const p = await this.project(projectUID);
    if (productUidError(productUID) !== undefined) {
      throw new HubError(400, 'product UID looks like com.example.user:product');
    }
    if (await this.store.product(productUID)) throw new HubError(409, `product ${productUID} exists`);
    // default fleets must be this project's (another project's fleet would hand its environment out)
    for (const f of opts.autoProvisionFleets ?? []) await this.fleetIn(p.uid, f);
    const rec: ProductRecord = { uid: productUID, projectUID: p.uid, label: label || productUID, created: Date.now() / 1000,
      disableDevicesByDefault: !!opts.disableDevicesByDefault, autoProvisionFleets: opts.autoProvisionFleets ?? [] };
    await this.store.createProduct(rec);
    return rec;
  }

  async createFleet(projectUID: string, label: string): Promise<FleetRecord> {
    const rec: FleetRecord = { uid: newId('fleet:'), projectUID, label, created: Date.now() / 1000 };
    await this.store.createFleet(rec);
    return rec;
  }

  async fleetIn(projectUID: string, fleetUID: string): Promise<FleetRecord> {
    const f = await this.store.fleet(fleetUID);
    if (!f || f.projectUID !== projectUID) throw new HubError(404, `fleet not found: ${fleetUID}`);
    return f;
  }

  // ---------------------------------------------------------------- devices

  async device(deviceUID: string): Promise<DeviceRecord> {
    const d = await this.store.device(deviceUID);
    if (!d) throw new HubError(404, `device not found: ${deviceUID}`);
    return d;
  }

  async deviceIn(projectUID: string, deviceUID: string): Promise<DeviceRecord> {
    const d = await this.store.device(deviceUID);
    if (!d || d.projectUID !== projectUID) throw new HubError(404, `device not found: ${deviceUID}`);
    return d;
  }

  /**
   * A device admitted ahead of its first contact (API, CLI): created in the product's project
   * (with the product's default fleets), otherwise refreshed. Throws 404 for an unknown product,
   * 409 when the UID belongs to another project. A `secret` is recorded only with a new device.
   */
  async provisionDevice(productUID: string, deviceUID: string, info: { sn?: string; sku?: string; secret?: string } = {}): Promise<DeviceRecord> {
    const rec = await this.#newDevice(productUID, deviceUID, info);
    const existing = await this.store.device(deviceUID);
    if (existing) {
      if (existing.projectUID !== rec.projectUID) throw new HubError(409, 'device belongs to another project');
      await this.store.updateDevice(deviceUID, { sn: info.sn, sku: info.sku, lastActivity: rec.provisioned });
      return this.device(deviceUID);
    }
    if (info.secret === undefined) await this.store.createDevice(rec);
    else await this.store.admitDevice(rec, info.secret, false);
    return this.device(deviceUID);
  }

  async #newDevice(productUID: string, deviceUID: string, info: { sn?: string; sku?: string }): Promise<DeviceRecord> {
    const uidError = deviceUidError(deviceUID);
    if (uidError !== undefined) throw new HubError(400, uidError);
    const prod = await this.store.product(productUID);
    if (!prod) throw new HubError(404, `product not found: ${productUID}`);
    const now = Date.now() / 1000;
    return {
      uid: deviceUID, projectUID: prod.projectUID, productUID: prod.uid, sn: info.sn ?? '', sku: info.sku ?? '', tags: [],
      fleetUIDs: prod.autoProvisionFleets, provisioned: now, lastActivity: now, disabled: prod.disableDevicesByDefault,
      lat: null, lon: null, locationWhen: null, voltage: null, temperature: null,
    };
  }

  /**
   * For the sync listener, once a first contact has authenticated: the device recorded with its
   * secret in one step (docs/SYNC.md 4.4 "Identity"). A device that has a secret keeps it (409);
   * deleted from the product's project: 403. A record without a secret in another project was no
   * claim on the device: it is replaced when `replaceForeign` (TOFU on), else 403.
   */
  async admitDevice(productUID: string, deviceUID: string, info: { sn?: string; secret: string; replaceForeign: boolean }): Promise<DeviceRecord> {
    const rec = await this.#newDevice(productUID, deviceUID, info);
    switch (await this.store.admitDevice(rec, info.secret, info.replaceForeign)) {
      case 'taken': throw new HubError(409, 'device already provisioned');
      case 'deleted': throw new HubError(403, 'device deleted');
      case 'foreign': throw new HubError(403, 'device admitted by another project than its product\'s');
      default: return this.device(deviceUID);
    }
  }

  /**
   * For the sync listener: a known device announced `productUID`. A device belongs to the project
   * of its product, so a product of another project moves it there (its events stay where they were).
   */
  async followProduct(deviceUID: string, productUID: string): Promise<DeviceRecord> {
    const d = await this.store.device(deviceUID);
    if (!d) throw new HubError(403, 'device deleted');
    if (d.productUID === productUID) return d;
    const prod = await this.store.product(productUID);
    if (!prod) throw new HubError(404, `product not found: ${productUID}`);
    await this.store.moveDevice(deviceUID, prod.projectUID, prod.uid);
    return this.device(deviceUID);
  }

  /** For the sync listener: the secret recorded at first contact (null if none yet). */
  deviceSecret(deviceUID: string): Promise<string | null> { return this.store.deviceSecret(deviceUID); }

  devices(projectUID: string, filter: DeviceFilter, pageSize: number, pageNum: number): Promise<{ devices: DeviceRecord[]; hasMore: boolean }> {
    return this.store.devices(projectUID, filter, pageSize, (pageNum - 1) * pageSize);
  }

  /** Record that the device was heard from (and where it was, when known). */
  async touchDevice(deviceUID: string, info: { lat?: number; lon?: number; locationWhen?: number; voltage?: number; temperature?: number } = {}): Promise<void> {
    await this.store.updateDevice(deviceUID, { lastActivity: Date.now() / 1000, ...info });
  }

  // ---------------------------------------------------------------- events

  /**
   * Every note a card uploaded becomes one event. One call is one transaction, so the sync
   * listener should hand over a whole batch (a session's worth of a notefile) at once. Pass the
   * DeviceRecord instead of its UID when the caller already holds it (saves a lookup).
   * Returns the events stored (notes whose `key` was already seen are left out).
   */
  async ingestNotes(device: string | DeviceRecord, file: string, notes: IngestNote[], opts: { session?: string; req?: string; fromHub?: boolean } = {}): Promise<EventRecord[]> {
    notefileKind(file);
    const d = typeof device === 'string' ? await this.device(device) : device;
    const { events, touch } = this.#events(d, file, notes, opts);
    const stored = await this.store.insertEvents(d.projectUID, events, {
      // a note added on the hub side is not a sign of life from the device
      touch: opts.fromHub ? undefined : { deviceUID: d.uid, update: touch },
      dedup: notes.some((n) => n.key !== undefined) ? notes.map((n) => n.key) : undefined,
    });
    if (stored.length) this.emit('events', stored);
    return stored;
  }

  /** One event per note, in order, and the device update (activity, best location) they imply. */
  #events(d: DeviceRecord, file: string, notes: IngestNote[], opts: { session?: string; req?: string }): { events: EventRecord[]; touch: DeviceUpdate } {
    const received = Date.now() / 1000;
    let lat = d.lat, lon = d.lon, locWhen = d.locationWhen;
    const events: EventRecord[] = notes.map((n) => {
      if (typeof n.lat === 'number' && typeof n.lon === 'number') { lat = n.lat; lon = n.lon; locWhen = n.ltime ?? n.when ?? received; }
      const e: EventRecord = {
        event: uuid7(), session: opts.session, device: d.uid, sn: d.sn, product: d.productUID, app: d.projectUID,
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

  /**
   * For the device listener: one acknowledged NOTES frame, committed in one transaction with the
   * notefile's new upUntil. `events` become events (req note.add, or note.update for databases);
   * `notes` are database changes (origin 'device' for the card's own, 'hub' for conflict copies
   * the card must receive). Returns the events stored (upload keys already seen are skipped).
   */
  async commitUpload(d: DeviceRecord, file: string, upUntil: number, events: IngestNote[], notes: { input: NoteInput; origin: 'hub' | 'device' }[], opts: { session?: string } = {}): Promise<EventRecord[]> {
    const kind = notefileKind(file);
    const built = this.#events(d, file, events, { session: opts.session, req: kind === 'db' ? 'note.update' : 'note.add' });
    const stored = await this.store.commitUpload({
      projectUID: d.projectUID, deviceUID: d.uid, file, upUntil, events: built.events, touch: built.touch, notes,
      dedup: events.some((n) => n.key !== undefined) ? events.map((n) => n.key) : undefined,
    });
    if (stored.length) this.emit('events', stored);
    return stored;
  }

  // ---------------------------------------------------------------- notes on the hub side

  /** Queue a note for the device's inbound queue (.qi); it also shows as an event. */
  async addInbound(deviceUID: string, file: string, body: JsonObject | undefined, payload: string | undefined): Promise<NoteRecord> {
    if (notefileKind(file) !== 'qi') throw new HubError(400, `notes can only be added to inbound queues (.qi): ${file}`);
    checkDeliverable(file, body, payload);
    const [rec] = await this.store.addNotes(deviceUID, file, [{ id: randomUUID(), body: body ?? null, payload: payload ?? null }], 'hub');
    await this.ingestNotes(deviceUID, file, [{ id: rec.id, body, payload }], { req: 'note.add', fromHub: true });
    this.emit('notes', { deviceUID, file });
    return rec;
  }

  async #dbFile(file: string): Promise<void> {
    if (notefileKind(file) !== 'db') throw new HubError(400, `this operation needs a database notefile (.db): ${file}`);
  }

  async dbPut(deviceUID: string, file: string, id: string, body: JsonObject | undefined, payload: string | undefined, mode: 'create' | 'update'): Promise<NoteRecord> {
    await this.#dbFile(file);
    const old = await this.store.note(deviceUID, file, id);
    // a new note's ID is the application's choice (no reserved !, room for a conflict suffix)
    const idError = noteIdError(id, !old || old.deleted);
    if (idError !== undefined) throw new HubError(400, `invalid note ID: ${idError}`);
    checkDeliverable(file, body, payload);
    if (mode === 'create' && old && !old.deleted) throw new HubError(409, `note already exists: ${id}`);
    const [rec] = await this.store.addNotes(deviceUID, file, [{ id, body: body ?? null, payload: payload ?? null }], 'hub');
    this.emit('notes', { deviceUID, file });
    return rec;
  }

  async dbGet(deviceUID: string, file: string, id: string, opts: { deleted?: boolean; delete?: boolean } = {}): Promise<NoteRecord> {
    await this.#dbFile(file);
    const n = await this.store.note(deviceUID, file, id);
    if (!n || (n.deleted && !opts.deleted)) throw new HubError(404, `note not found: ${id}`);
    if (opts.delete && !n.deleted) await this.dbDelete(deviceUID, file, id);
    return n;
  }

  /** Deleting leaves a tombstone with a new change number, so the device learns of it. */
  async dbDelete(deviceUID: string, file: string, id: string): Promise<void> {
    await this.#dbFile(file);
    const n = await this.store.note(deviceUID, file, id);
    if (!n || n.deleted) throw new HubError(404, `note not found: ${id}`);
    await this.store.addNotes(deviceUID, file, [{ id, deleted: true }], 'hub');
    this.emit('notes', { deviceUID, file });
  }

  /**
   * note.changes for API clients, on the hub's copy of a device notefile. Without a tracker
   * nothing advances; `start` rewinds; `stop` forgets the tracker after this read; `delete`
   * deletes the notes returned; `deleted` includes tombstones; `max` bounds the batch.
   * `changes` counts the changes pending before this read, `total` the live notes.
   */
  async noteChanges(deviceUID: string, file: string, o: { tracker?: string; max?: number; start?: boolean; stop?: boolean; deleted?: boolean; delete?: boolean }): Promise<{ changes: number; total: number; notes: NoteRecord[] }> {
    notefileKind(file);
    if (o.tracker !== undefined && (!o.tracker || o.tracker.length > 128)) throw new HubError(400, 'tracker names are 1-128 characters');
    const since = o.tracker === undefined || o.start ? 0 : (await this.store.tracker(deviceUID, file, o.tracker)) ?? 0;
    const pending = await this.store.changesSince(deviceUID, since, { file });
    const notes: NoteRecord[] = [];
    let through = since;
    for (const n of pending) {
      if (o.max !== undefined && notes.length >= o.max) break;
      through = n.change; // tombstones left out of the answer are still passed
      if (o.deleted || !n.deleted) notes.push(n);
    }
    const changes = pending.filter((n) => o.deleted || !n.deleted).length;
    const total = (await this.store.notes(deviceUID, file, false)).length;
    if (o.tracker !== undefined) await this.store.setTracker(deviceUID, file, o.tracker, o.stop ? null : through);
    if (o.delete) {
      const live = notes.filter((n) => !n.deleted);
      if (notefileKind(file) === 'db') for (const n of live) await this.dbDelete(deviceUID, file, n.id);
      else await this.store.removeNotes(deviceUID, live.map((n) => ({ file, id: n.id })));
    }
    return { changes, total, notes };
  }

  /** For the sync engine: hub-side .qi notes the device has not received yet. */
  pendingInbound(deviceUID: string): Promise<NoteRecord[]> { return this.store.pendingInbound(deviceUID); }
  markDelivered(deviceUID: string, keys: { file: string; id: string }[]): Promise<void> { return this.store.markDelivered(deviceUID, keys); }

  /**
   * For the sync engine: database notes changed after `since` (the per-device change number the
   * engine last saw). `origin:'hub'` leaves out the device's own edits so they are not echoed back.
   */
  async dbChangesSince(deviceUID: string, since: number, opts: { origin?: 'hub' | 'device'; limit?: number } = {}): Promise<{ notes: NoteRecord[]; through: number }> {
    const notes = (await this.store.changesSince(deviceUID, since, opts)).filter((n) => n.file.endsWith('.db') || n.file.endsWith('.dbs'));
    return { notes, through: notes.length ? notes[notes.length - 1].change : since };
  }

  /** For the sync engine: database edits made on the device; each becomes an event too. */
  async applyDeviceDbChanges(deviceUID: string, file: string, notes: { id: string; body?: JsonObject; payload?: string; time?: number; deleted?: boolean }[], opts: { session?: string } = {}): Promise<void> {
    await this.#dbFile(file);
    await this.store.addNotes(deviceUID, file, notes.map((n) => ({ id: n.id, body: n.body ?? null, payload: n.payload ?? null, time: n.time, deleted: n.deleted })), 'device');
    const live = notes.filter((n) => !n.deleted).map((n) => ({ id: n.id, body: n.body, payload: n.payload, when: n.time }));
    if (live.length) await this.ingestNotes(deviceUID, file, live, { session: opts.session, req: 'note.update' });
  }

  // ---------------------------------------------------------------- environment variables

  async envPut(scope: EnvScope, ownerUID: string, vars: unknown, replace = false): Promise<{ [k: string]: string }> {
    if (!vars || typeof vars !== 'object' || Array.isArray(vars)) throw new HubError(400, 'environment_variables must be an object of strings');
    const clean: { [k: string]: string } = {};
    for (const [k, v] of Object.entries(vars)) {
      if (typeof v !== 'string') throw new HubError(400, `environment variable ${k} must be a string`);
      if (!k || k.length > 128) throw new HubError(400, 'environment variable names are 1-128 characters');
      // JSON.parse makes "__proto__" a plain key, but assigned to an object it sets the prototype
      // instead of storing a value (how it used to vanish): refuse it rather than lose it
      if (k === '__proto__') throw new HubError(400, 'environment variable name __proto__ is not allowed');
      clean[k] = v;
    }
    await this.store.envPut(scope, ownerUID, clean, replace);
    this.emit('env', { scope, ownerUID });
    return this.store.envGet(scope, ownerUID);
  }

  async envDelete(scope: EnvScope, ownerUID: string, key: string): Promise<{ [k: string]: string }> {
    if (await this.store.envDelete(scope, ownerUID, key)) this.emit('env', { scope, ownerUID });
    return this.store.envGet(scope, ownerUID);
  }

  /** When anything in the device's hub-side environment (project, fleets, device) last changed; 0 if never. */
  async envModified(deviceUID: string): Promise<number> {
    const d = await this.device(deviceUID);
    const times = await Promise.all([
      this.store.envModified('project', d.projectUID), this.store.envModified('device', d.uid),
      ...d.fleetUIDs.map((f) => this.store.envModified('fleet', f)),
    ]);
    return Math.max(0, ...times.map((t) => t ?? 0));
  }

  /** What the device sees: card defaults < project < fleets < device. */
  async effectiveEnv(deviceUID: string): Promise<{ [k: string]: string }> {
    const d = await this.device(deviceUID);
    const out = { ...(await this.store.envGet('device_default', d.uid)), ...(await this.store.envGet('project', d.projectUID)) };
    for (const f of d.fleetUIDs) Object.assign(out, await this.store.envGet('fleet', f));
    return Object.assign(out, await this.store.envGet('device', d.uid));
  }

  // ---------------------------------------------------------------- firmware and DFU

  async putFirmware(projectUID: string, type: string, filename: string, data: Uint8Array, info: { version?: string; notes?: string }): Promise<FirmwareRecord> {
    if (type !== 'host' && type !== 'notecard') throw new HubError(400, 'firmware type is host or notecard');
    if (!FILE_NAME.test(filename) || filename.length > 128) throw new HubError(400, `invalid firmware filename: ${filename}`);
    const rec: FirmwareRecord = { projectUID, type, filename, version: info.version ?? '', notes: info.notes ?? '',
      md5: createHash('md5').update(data).digest('hex'), length: data.length, created: Date.now() / 1000 };
    await this.store.putFirmware(rec, data);
    return rec;
  }

  async requestDfu(projectUID: string, type: string, deviceUIDs: string[], filename: string | null): Promise<DfuRecord[]> {
    if (type !== 'host' && type !== 'notecard') throw new HubError(400, 'firmware type is host or notecard');
    if (filename !== null && !(await this.store.firmware(projectUID, { type, filename })).length) throw new HubError(404, `firmware not found: ${filename}`);
    const now = Date.now() / 1000;
    const out: DfuRecord[] = [];
    for (const uid of deviceUIDs) {
      await this.deviceIn(projectUID, uid);
      const old = await this.store.dfu(uid, type);
      if (filename === null && !old) continue;
      const rec: DfuRecord = filename === null
        ? { ...old!, status: 'canceled', text: 'canceled by request', updated: now }
        : { deviceUID: uid, projectUID, type, filename, status: 'pending', text: 'requested', requested: now, updated: now };
      await this.store.putDfu(rec);
      out.push(rec);
    }
    return out;
  }

  /** For the sync engine: the firmware a device should fetch, if an update is pending. */
  async pendingDfu(deviceUID: string, type: 'host' | 'notecard'): Promise<{ dfu: DfuRecord; firmware: FirmwareRecord } | null> {
    const dfu = await this.store.dfu(deviceUID, type);
    if (!dfu || (dfu.status !== 'pending' && dfu.status !== 'downloading')) return null;
    const [firmware] = await this.store.firmware(dfu.projectUID, { type, filename: dfu.filename });
    return firmware ? { dfu, firmware } : null;
  }

  async setDfuStatus(deviceUID: string, type: 'host' | 'notecard', status: DfuRecord['status'], text: string): Promise<void> {
    const dfu = await this.store.dfu(deviceUID, type);
    if (dfu) await this.store.putDfu({ ...dfu, status, text, updated: Date.now() / 1000 });
  }

  // ---------------------------------------------------------------- routes

  async putRoute(projectUID: string, spec: { uid?: string; label?: string; url: string; headers?: { [k: string]: string }; files?: string[]; disabled?: boolean }): Promise<RouteRecord> {
    await this.project(projectUID);
    let u: URL;
    try { u = new URL(spec.url); } catch { throw new HubError(400, 'route url is not a URL'); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HubError(400, 'route url must be http or https');
    const old = spec.uid ? await this.store.route(spec.uid) : null;
    if (spec.uid && (!old || old.projectUID !== projectUID)) throw new HubError(404, `route not found: ${spec.uid}`);
    const now = Date.now() / 1000;
    const rec: RouteRecord = {
      uid: old?.uid ?? randomUUID(), projectUID, label: spec.label ?? old?.label ?? 'route', type: 'http', url: spec.url,
      headers: spec.headers ?? old?.headers ?? {}, files: spec.files ?? old?.files ?? [], disabled: spec.disabled ?? old?.disabled ?? false,
      created: old?.created ?? now, modified: now,
    };
    await this.store.putRoute(rec);
    return rec;
  }

  async routeIn(projectUID: string, uid: string): Promise<RouteRecord> {
    const r = await this.store.route(uid);
    if (!r || r.projectUID !== projectUID) throw new HubError(404, `route not found: ${uid}`);
    return r;
  }
}

const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function timingEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
