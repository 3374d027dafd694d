/**
 * The hub's storage contract. Every method is one atomic operation (a batch method is one
 * transaction) and returns a Promise, so a networked database (PostgreSQL) can implement the
 * same interface; the SQLite implementation answers synchronously inside resolved promises.
 * Records are plain JSON-able objects; times are unix seconds (float where sub-second matters).
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface UserRecord { id: number; username: string; created: number }
export interface ProjectRecord { uid: string; label: string; created: number; ownerId: number }
export interface ProductRecord {
  uid: string; projectUID: string; label: string; created: number;
  disableDevicesByDefault: boolean; autoProvisionFleets: string[];
}
export interface FleetRecord { uid: string; projectUID: string; label: string; created: number }

export interface DeviceRecord {
  uid: string; projectUID: string; productUID: string; sn: string; sku: string;
  tags: string[]; fleetUIDs: string[]; provisioned: number; lastActivity: number | null;
  disabled: boolean; lat: number | null; lon: number | null; locationWhen: number | null;
  voltage: number | null; temperature: number | null;
}
export interface DeviceFilter {
  tags?: string[]; serialNumbers?: string[]; fleetUIDs?: string[]; deviceUIDs?: string[];
  productUIDs?: string[]; skus?: string[];
}
export interface DeviceUpdate {
  sn?: string; sku?: string; tags?: string[]; disabled?: boolean; lastActivity?: number;
  lat?: number; lon?: number; locationWhen?: number; voltage?: number; temperature?: number;
}

/** A note as the hub holds it on a device's behalf. `change` orders every edit per device. */
export interface NoteRecord {
  file: string; id: string; body: JsonObject | null; payload: string | null; time: number;
  deleted: boolean; change: number; origin: 'hub' | 'device'; delivered: boolean;
}
export interface NoteInput { id: string; body?: JsonObject | null; payload?: string | null; time?: number; deleted?: boolean }

export interface EventRecord {
  event: string; device: string; sn: string; product: string; app: string; file: string;
  note?: string; req?: string; body?: JsonObject; payload?: string; when: number; received: number;
  session?: string; best_lat?: number; best_lon?: number; best_location_when?: number;
}
export interface EventQuery {
  projectUID: string; deviceUIDs?: string[]; files?: string[]; fleetUIDs?: string[];
  sessionUIDs?: string[]; eventUIDs?: string[]; serialNumbers?: string[];
  startDate?: number; endDate?: number; descending?: boolean;
  /** cursor mode: events strictly after (or before, descending) this sequence number; a forward
   * walk starts at 0 and never passes an event still to commit (PostgreSQL: in commit-safe order) */
  afterSeq?: number; limit: number; offset?: number;
}
/** Events come back as stored JSON text, so the API can answer without re-serialising. */
export interface EventPage { seqs: number[]; json: string[]; hasMore: boolean }

export type EnvScope = 'project' | 'fleet' | 'device' | 'device_default';

export interface FirmwareRecord {
  projectUID: string; type: 'host' | 'notecard';
  /** The stored name, timestamped as the Notecard reports it: `name$YYYYMMDDhhmmss.bin`. */
  filename: string; version: string;
  notes: string; md5: string; length: number; created: number;
  /** The name it was uploaded as; CRC-32 of the bytes; last change (unix s). */
  source: string; crc32: number; modified: number;
}
/** One phase of a device's firmware update, as the hub saw it. */
export interface DfuPhase { when: number; status: string; text: string }
export interface DfuRecord {
  deviceUID: string; projectUID: string; type: 'host' | 'notecard'; filename: string;
  /** pending/canceled: the hub's; the rest: what the card reported (its dfu.status modes). */
  status: 'pending' | 'downloading' | 'ready' | 'error' | 'completed' | 'failed' | 'canceled'; text: string;
  requested: number; updated: number;
  /** Bytes the card holds, the image's length, the host firmware version the card reported, every phase (last 50). */
  read?: number; length?: number; version?: string; history?: DfuPhase[];
}

export type TokenKind = 'pat' | 'session' | 'oauth';
export interface TokenRecord {
  id: string; kind: TokenKind; userId: number | null; clientId: string | null; name: string;
  created: number; expires: number | null; revoked: boolean;
}
export interface ClientRecord { clientId: string; projectUID: string; created: number; revoked: boolean }

export interface RouteRecord {
  uid: string; projectUID: string; label: string; type: 'http' | 'proxy' | 'notehub'; url: string;
  headers: { [k: string]: string }; files: string[]; disabled: boolean; created: number; modified: number;
  /** type 'proxy' (the card's web.* requests): its alias, time limit and fleets (none = every device). */
  proxy?: ProxySettings;
  /** type 'notehub': events are published as notes to a NoteHub API server (url: its /api/note) as this publisher. */
  publisher?: PublisherSettings;
}
export interface PublisherSettings { pid: string; psk: string }
export interface ProxySettings { alias: string; timeout: number; fleets: string[] }
export interface DeliveryRecord {
  id: number; routeUID: string; eventUID: string; eventJSON: string; url: string;
  headers: { [k: string]: string }; attempts: number; nextAt: number;
}

/** One delivery attempt of an event to a route, as the route's log keeps it (GET .../route-logs). */
export interface RouteLogRecord {
  projectUID: string; routeUID: string; eventUID: string; deviceUID: string; file: string;
  /** the event's capture time and the attempt's, unix seconds */
  captured: number; when: number;
  attempt: number;
  /** the answer's HTTP status; null when none came (refused, timed out) */
  status: number | null;
  /** what went wrong; null: delivered */
  error: string | null;
  /** the start of the answer's body */
  text: string;
  url: string;
  /** the last attempt: no more will be made */
  dead: boolean;
}
export interface RouteLogQuery {
  projectUID: string; routeUID?: string; eventUID?: string; deviceUIDs?: string[]; files?: string[];
  /** only notefiles whose name starts with '_' (the card's own: _session.qo, _health.qo...) */
  systemFilesOnly?: boolean;
  /** attempts of events captured in [startDate, endDate], unix seconds */
  startDate?: number; endDate?: number;
  /** by the event's capture time or the attempt's; ties in the order logged */
  sortBy: 'captured' | 'date'; descending: boolean; limit: number; offset: number;
}

/** A publisher of the NoteHub publishing API (/api/note): its PSK signs requests, so it is kept as given. */
export interface PublisherRecord { pid: string; psk: string; description: string; created: number; revoked: boolean }
/** A note published as a page: `noteID` (date/slug) and `shortID` both name it. */
export interface PublishedNoteRecord {
  noteID: string; shortID: string; pid: string; note: string; title: string;
  /** the MD5 hex the publisher gave as `password` ('' = none: the note cannot be edited) */
  password: string; theme: string; published: number; edited: number | null; views: number;
}

/** A sync session of a device (the listener records one per authenticated connection). */
export interface SyncSessionRecord {
  uid: string; deviceUID: string; started: number; ended: number | null; remote: string; tls: boolean;
  features: number; notesUp: number; notesDown: number; reason: string | null;
}

/**
 * What one acknowledged NOTES frame from a device changes, committed in one transaction: its
 * events, its database notes (with their origin: conflict copies the device must receive are
 * 'hub'), the device's activity, and the notefile's new upUntil (only ever raised).
 */
export interface UploadCommit {
  projectUID: string; deviceUID: string; file: string; upUntil: number;
  events: EventRecord[]; dedup?: (string | undefined)[]; touch?: DeviceUpdate;
  notes: { input: NoteInput; origin: 'hub' | 'device' }[];
}

/**
 * Hub events between the processes sharing one database (PostgreSQL: LISTEN/NOTIFY). A store
 * only one process opens (SQLite) has none.
 */
export interface StoreBus {
  /** Tell the other processes (fire and forget; the payload must fit in one notification). */
  publish(event: string, payload: Json): void;
  /** What the other processes publish, never this process's own; returns the unsubscribe. */
  subscribe(fn: (event: string, payload: unknown) => void): () => void;
}

export interface Store {
  close(): Promise<void>;
  /** set when several hub processes may share the database */
  readonly bus?: StoreBus;

  // users and access
  createUser(username: string, passwordHash: string): Promise<UserRecord>;
  userByName(username: string): Promise<(UserRecord & { passwordHash: string }) | null>;
  userById(id: number): Promise<UserRecord | null>;
  countUsers(): Promise<number>;
  isMember(projectUID: string, userId: number): Promise<boolean>;
  addMember(projectUID: string, userId: number, role: string): Promise<void>;
  /** the project's members and their roles, by username */
  members(projectUID: string): Promise<{ username: string; role: string }[]>;

  createToken(hash: string, rec: TokenRecord): Promise<void>;
  tokenByHash(hash: string): Promise<TokenRecord | null>;
  revokeToken(idOrHash: string): Promise<boolean>;
  createClient(rec: ClientRecord, secretHash: string): Promise<void>;
  clientById(clientId: string): Promise<(ClientRecord & { secretHash: string }) | null>;

  // projects, products, fleets
  createProject(rec: ProjectRecord): Promise<void>;
  project(uid: string): Promise<ProjectRecord | null>;
  projectsOfUser(userId: number): Promise<ProjectRecord[]>;
  createProduct(rec: ProductRecord): Promise<void>;
  product(uid: string): Promise<ProductRecord | null>;
  productsOf(projectUID: string): Promise<ProductRecord[]>;
  createFleet(rec: FleetRecord): Promise<void>;
  fleet(uid: string): Promise<FleetRecord | null>;
  fleetsOf(projectUID: string): Promise<FleetRecord[]>;
  updateFleet(uid: string, label: string): Promise<void>;
  deleteFleet(uid: string): Promise<void>;

  // devices
  createDevice(rec: DeviceRecord): Promise<void>;
  device(uid: string): Promise<DeviceRecord | null>;
  devices(projectUID: string, filter: DeviceFilter, limit: number, offset: number): Promise<{ devices: DeviceRecord[]; hasMore: boolean }>;
  updateDevice(uid: string, upd: DeviceUpdate): Promise<void>;
  setDeviceFleets(uid: string, fleetUIDs: string[]): Promise<void>;
  deleteDevice(uid: string): Promise<void>;
  /** The device's shared secret (never in API output); set once at first contact. */
  deviceSecret(uid: string): Promise<string | null>;
  /**
   * First contact through the sync, in one transaction: create the device with its secret, or set
   * the secret of a record created through the API in the same project (its product set to
   * rec's). 'taken': the device has a secret (it is never replaced); 'deleted': deleted from that
   * project; 'foreign': a record without a secret in another project (replaced when `replaceForeign`).
   */
  admitDevice(rec: DeviceRecord, secret: string, replaceForeign: boolean): Promise<'created' | 'claimed' | 'taken' | 'deleted' | 'foreign'>;
  /** The device now belongs to this product; another project: the old fleets are left, the product's default fleets joined. */
  moveDevice(uid: string, projectUID: string, productUID: string): Promise<void>;

  // notes: the hub's side of each device notefile
  addNotes(deviceUID: string, file: string, notes: NoteInput[], origin: 'hub' | 'device'): Promise<NoteRecord[]>;
  note(deviceUID: string, file: string, id: string): Promise<NoteRecord | null>;
  notes(deviceUID: string, file: string, includeDeleted: boolean): Promise<NoteRecord[]>;
  /** notes of the device changed after `since` (its per-device change number), in order */
  changesSince(deviceUID: string, since: number, opts: { file?: string; origin?: 'hub' | 'device'; limit?: number }): Promise<NoteRecord[]>;
  pendingInbound(deviceUID: string): Promise<NoteRecord[]>;
  markDelivered(deviceUID: string, keys: { file: string; id: string }[]): Promise<void>;
  notefiles(deviceUID: string): Promise<{ file: string; total: number; change: number }[]>;
  /** the change number a named tracker has read up to (null: no such tracker) */
  tracker(deviceUID: string, file: string, tracker: string): Promise<number | null>;
  setTracker(deviceUID: string, file: string, tracker: string, seen: number | null): Promise<void>;
  /** removes notes outright (delivered or cancelled queue notes, purged tombstones) */
  removeNotes(deviceUID: string, keys: { file: string; id: string }[]): Promise<void>;
  deleteNotefiles(deviceUID: string, files: string[]): Promise<void>;

  // device sync (the listener)
  /** The device's epochs (hex; null until set) and the upUntil of each of its notefiles. */
  syncDevice(deviceUID: string): Promise<{ hubEpoch: string | null; cardEpoch: string | null; upUntil: { [file: string]: number } }>;
  setHubEpoch(deviceUID: string, epoch: string): Promise<void>;
  /**
   * Record the card epoch. `reset` (the card's store was reset): forget every upUntil of the device
   * and offer its whole databases again (the device's own .db notes become hub changes to send down).
   */
  setCardEpoch(deviceUID: string, epoch: string, reset: boolean): Promise<void>;
  putTemplate(deviceUID: string, file: string, version: number, definition: string): Promise<void>;
  template(deviceUID: string, file: string, version: number): Promise<string | null>;
  /** The device's session ticket (hex; issued in unix seconds), null: none. One per device. */
  syncTicket(deviceUID: string): Promise<SyncTicket | null>;
  putSyncTicket(deviceUID: string, t: SyncTicket): Promise<void>;
  /** One transaction: see UploadCommit. Returns the events actually stored. */
  commitUpload(c: UploadCommit): Promise<EventRecord[]>;
  putSyncSession(rec: SyncSessionRecord): Promise<void>;
  /** a device's sessions, newest first */
  syncSessions(deviceUID: string, limit: number, offset?: number): Promise<SyncSessionRecord[]>;
  /** Deleted devices are remembered (per project) so trust on first use cannot bring them back. */
  isDeletedDevice(uid: string, projectUID: string): Promise<boolean>;

  // events and their routing queue
  /**
   * Stores the events, queues them for the project's routes and applies `touch` to the device, in
   * one transaction. `dedup[i]` (optional) is an upload key of event i: an event whose
   * (device, key) is already stored is skipped. Returns the events actually stored.
   */
  insertEvents(projectUID: string, events: EventRecord[], opts?: { touch?: { deviceUID: string; update: DeviceUpdate }; dedup?: (string | undefined)[] }): Promise<EventRecord[]>;
  events(q: EventQuery): Promise<EventPage>;
  /** the newest event (JSON) of each notefile of a device, by notefile name */
  latestEvents(projectUID: string, deviceUID: string): Promise<string[]>;

  // environment variables
  envGet(scope: EnvScope, ownerUID: string): Promise<{ [k: string]: string }>;
  envPut(scope: EnvScope, ownerUID: string, vars: { [k: string]: string }, replace: boolean): Promise<void>;
  envDelete(scope: EnvScope, ownerUID: string, key: string): Promise<boolean>;
  /** When the variables of this scope and owner last changed (unix s), null if never. */
  envModified(scope: EnvScope, ownerUID: string): Promise<number | null>;

  // firmware and DFU
  putFirmware(rec: FirmwareRecord, data: Uint8Array): Promise<void>;
  firmware(projectUID: string, filter: { type?: string; filename?: string; version?: string }): Promise<FirmwareRecord[]>;
  firmwareData(projectUID: string, type: string, filename: string): Promise<Uint8Array | null>;
  /** Bytes [offset, offset+length) of an image (fewer at its end; null: no such image). */
  firmwareChunk(projectUID: string, type: string, filename: string, offset: number, length: number): Promise<Uint8Array | null>;
  putDfu(rec: DfuRecord): Promise<void>;
  dfu(deviceUID: string, type: string): Promise<DfuRecord | null>;

  // routes
  putRoute(rec: RouteRecord): Promise<void>;
  route(uid: string): Promise<RouteRecord | null>;
  routesOf(projectUID: string): Promise<RouteRecord[]>;
  deleteRoute(uid: string): Promise<void>;
  /** Enabled routes with a delivery due at `now`, the longest-waiting first. */
  dueRoutes(now: number): Promise<{ routeUID: string; projectUID: string }[]>;
  /** Due deliveries, oldest first; of one route when `routeUID` is given. */
  dueDeliveries(now: number, limit: number, routeUID?: string): Promise<DeliveryRecord[]>;
  deliveryDone(id: number): Promise<void>;
  deliveryRetry(id: number, nextAt: number, error: string, dead: boolean): Promise<void>;
  deliveryStats(): Promise<{ pending: number; failed: number }>;
  /** Logs an attempt; a route keeps its newest ROUTE_LOG_KEEP. */
  addRouteLog(l: RouteLogRecord): Promise<void>;
  routeLogs(q: RouteLogQuery): Promise<RouteLogRecord[]>;

  // the NoteHub publishing API (/api/note) and its pages
  putPublisher(rec: PublisherRecord): Promise<void>;
  publisher(pid: string): Promise<PublisherRecord | null>;
  /** false when a note already has this noteID or shortID */
  createPublishedNote(rec: PublishedNoteRecord): Promise<boolean>;
  /** by noteID or by shortID */
  publishedNote(id: string): Promise<PublishedNoteRecord | null>;
  updatePublishedNote(noteID: string, note: string, title: string, edited: number): Promise<void>;
  /** one more view of the page */
  countNoteView(noteID: string): Promise<void>;
}

/** A session ticket (docs/SYNC.md section 3.1): its name and resumption secret (hex), when issued. */
export interface SyncTicket { ticket: string; secret: string; issued: number }
