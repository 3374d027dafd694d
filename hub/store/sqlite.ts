/** The Store on one SQLite file (better-sqlite3, WAL). Every query is a prepared statement. */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations';
import { ReaderPool } from './reader';
import type {
  ClientRecord, DeliveryRecord, DeviceFilter, DeviceRecord, DeviceUpdate, DfuRecord, EnvScope,
  EventPage, EventQuery, EventRecord, FirmwareRecord, FleetRecord, JsonObject, NoteInput, NoteRecord,
  ProductRecord, ProjectRecord, ProxySettings, PublishedNoteRecord, PublisherRecord, PublisherSettings, RouteLogQuery, RouteLogRecord, RouteRecord, Store, SyncSessionRecord, TokenRecord, UploadCommit, UserRecord,
} from './types';
import type { SyncTicket } from './types';
import { dfuFromRow, firmwareFromRow, num, parse, ROUTE_LOG_KEEP, routeFromRow, routeLogFromRow, routeLogSql, str, syncSessionFromRow, type Row } from './rows';


/** Deepest event page offset answered on the calling thread (the API allows no deeper pages). */
const LIGHT_OFFSET = 10_000;

/** SQL "IN (?,?,?)" for a list of bound values. */
const marks = (n: number): string => new Array(n).fill('?').join(',');

/**
 * Device secrets and route headers live in the database: a directory we create is 0700, the
 * database file 0600 (SQLite gives its -wal and -shm the database file's mode). A directory the
 * user already had is left alone; our own files in it are tightened if an older version left
 * them readable by others.
 */
function privateFiles(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f) && statSync(f).mode & 0o077) chmodSync(f, 0o600);
}

export interface SqliteStoreOptions {
  /** Reader threads for event queries (default 2); 0 runs them on the calling thread. */
  readers?: number;
  /** The clock, ms since the epoch (default Date.now): the hub's, so stored times agree with it. */
  now?: () => number;
}

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();
  /** event queries run here, off the event loop (not for ':memory:', which only this connection sees) */
  readonly #reader: ReaderPool | null;
  readonly #now: () => number;

  constructor(file: string, opts: SqliteStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
    if (file !== ':memory:') privateFiles(file);
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    this.#migrate();
    const readers = opts.readers ?? 2;
    this.#reader = file === ':memory:' || readers <= 0 ? null : new ReaderPool(file, { size: readers });
  }

  #migrate(): void {
    const have = Number(this.#db.pragma('user_version', { simple: true }));
    for (let v = have; v < MIGRATIONS.length; v++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[v]);
        this.#db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** Prepared statements are cached by their SQL text. */
  #q(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      if (this.#stmts.size >= 512) this.#stmts.clear(); // filter lists vary the SQL text: bound the cache
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }
  #get(sql: string, ...args: unknown[]): Row | undefined { return this.#q(sql).get(...args) as Row | undefined; }
  #all(sql: string, ...args: unknown[]): Row[] { return this.#q(sql).all(...args) as Row[]; }
  #run(sql: string, ...args: unknown[]): Database.RunResult { return this.#q(sql).run(...args); }

  async close(): Promise<void> {
    await this.#reader?.close();
    if (this.#db.open) this.#db.close();
  }

  // ---- users and access
  async createUser(username: string, passwordHash: string): Promise<UserRecord> {
    const created = this.#now() / 1000;
    const r = this.#run('INSERT INTO users (username, password_hash, created) VALUES (?,?,?)', username, passwordHash, created);
    return { id: Number(r.lastInsertRowid), username, created };
  }
  async userByName(username: string): Promise<(UserRecord & { passwordHash: string }) | null> {
    const r = this.#get('SELECT * FROM users WHERE username = ?', username);
    return r ? { id: Number(r.id), username: str(r.username), created: Number(r.created), passwordHash: str(r.password_hash) } : null;
  }
  async userById(id: number): Promise<UserRecord | null> {
    const r = this.#get('SELECT * FROM users WHERE id = ?', id);
    return r ? { id: Number(r.id), username: str(r.username), created: Number(r.created) } : null;
  }
  async countUsers(): Promise<number> { return Number(this.#get('SELECT count(*) n FROM users')!.n); }
  async isMember(projectUID: string, userId: number): Promise<boolean> {
    return !!this.#get('SELECT 1 FROM members WHERE project_uid = ? AND user_id = ?', projectUID, userId);
  }
  async members(projectUID: string): Promise<{ username: string; role: string }[]> {
    return this.#all('SELECT u.username, m.role FROM members m JOIN users u ON u.id = m.user_id WHERE m.project_uid = ? ORDER BY u.username', projectUID)
      .map((r) => ({ username: str(r.username), role: str(r.role) }));
  }
  async addMember(projectUID: string, userId: number, role: string): Promise<void> {
    this.#run('INSERT OR REPLACE INTO members (project_uid, user_id, role) VALUES (?,?,?)', projectUID, userId, role);
  }

  async createToken(hash: string, t: TokenRecord): Promise<void> {
    this.#run('INSERT INTO tokens (hash, id, kind, user_id, client_id, name, created, expires, revoked) VALUES (?,?,?,?,?,?,?,?,0)',
      hash, t.id, t.kind, t.userId, t.clientId, t.name, t.created, t.expires);
  }
  async tokenByHash(hash: string): Promise<TokenRecord | null> {
    const r = this.#get('SELECT * FROM tokens WHERE hash = ?', hash);
    if (!r) return null;
    return {
      id: str(r.id), kind: str(r.kind) as TokenRecord['kind'], userId: num(r.user_id), clientId: r.client_id === null ? null : str(r.client_id),
      name: str(r.name), created: Number(r.created), expires: num(r.expires), revoked: !!r.revoked,
    };
  }
  async revokeToken(idOrHash: string): Promise<boolean> {
    return this.#run('UPDATE tokens SET revoked = 1 WHERE id = ? OR hash = ?', idOrHash, idOrHash).changes > 0;
  }
  async createClient(c: ClientRecord, secretHash: string): Promise<void> {
    this.#run('INSERT INTO clients (client_id, secret_hash, project_uid, created) VALUES (?,?,?,?)', c.clientId, secretHash, c.projectUID, c.created);
  }
  async clientById(clientId: string): Promise<(ClientRecord & { secretHash: string }) | null> {
    const r = this.#get('SELECT * FROM clients WHERE client_id = ?', clientId);
    return r ? { clientId: str(r.client_id), projectUID: str(r.project_uid), created: Number(r.created), revoked: !!r.revoked, secretHash: str(r.secret_hash) } : null;
  }

  // ---- projects, products, fleets
  async createProject(p: ProjectRecord): Promise<void> {
    this.#db.transaction(() => {
      this.#run('INSERT INTO projects (uid, label, created, owner_id) VALUES (?,?,?,?)', p.uid, p.label, p.created, p.ownerId);
      this.#run('INSERT INTO members (project_uid, user_id, role) VALUES (?,?,?)', p.uid, p.ownerId, 'owner');
    })();
  }
  static #project(r: Row): ProjectRecord { return { uid: str(r.uid), label: str(r.label), created: Number(r.created), ownerId: Number(r.owner_id) }; }
  async project(uid: string): Promise<ProjectRecord | null> {
    const r = this.#get('SELECT * FROM projects WHERE uid = ?', uid);
    return r ? SqliteStore.#project(r) : null;
  }
  async projectsOfUser(userId: number): Promise<ProjectRecord[]> {
    return this.#all('SELECT p.* FROM projects p JOIN members m ON m.project_uid = p.uid WHERE m.user_id = ? ORDER BY p.created', userId).map(SqliteStore.#project);
  }
  async createProduct(p: ProductRecord): Promise<void> {
    this.#run('INSERT INTO products (uid, project_uid, label, created, disable_by_default, auto_fleets) VALUES (?,?,?,?,?,?)',
      p.uid, p.projectUID, p.label, p.created, p.disableDevicesByDefault ? 1 : 0, JSON.stringify(p.autoProvisionFleets));
  }
  static #product(r: Row): ProductRecord {
    return { uid: str(r.uid), projectUID: str(r.project_uid), label: str(r.label), created: Number(r.created),
      disableDevicesByDefault: !!r.disable_by_default, autoProvisionFleets: parse<string[]>(r.auto_fleets, []) };
  }
  async product(uid: string): Promise<ProductRecord | null> {
    const r = this.#get('SELECT * FROM products WHERE uid = ?', uid);
    return r ? SqliteStore.#product(r) : null;
  }
  async productsOf(projectUID: string): Promise<ProductRecord[]> {
    return this.#all('SELECT * FROM products WHERE project_uid = ? ORDER BY created', projectUID).map(SqliteStore.#product);
  }
  async createFleet(f: FleetRecord): Promise<void> {
    this.#run('INSERT INTO fleets (uid, project_uid, label, created) VALUES (?,?,?,?)', f.uid, f.projectUID, f.label, f.created);
  }
  static #fleet(r: Row): FleetRecord { return { uid: str(r.uid), projectUID: str(r.project_uid), label: str(r.label), created: Number(r.created) }; }
  async fleet(uid: string): Promise<FleetRecord | null> {
    const r = this.#get('SELECT * FROM fleets WHERE uid = ?', uid);
    return r ? SqliteStore.#fleet(r) : null;
  }
  async fleetsOf(projectUID: string): Promise<FleetRecord[]> {
    return this.#all('SELECT * FROM fleets WHERE project_uid = ? ORDER BY created', projectUID).map(SqliteStore.#fleet);
  }
  async updateFleet(uid: string, label: string): Promise<void> { this.#run('UPDATE fleets SET label = ? WHERE uid = ?', label, uid); }
  async deleteFleet(uid: string): Promise<void> {
    this.#db.transaction(() => {
      this.#run('DELETE FROM env_vars WHERE scope = ? AND owner_uid = ?', 'fleet', uid);
      this.#run('DELETE FROM env_meta WHERE scope = ? AND owner_uid = ?', 'fleet', uid);
      this.#run('DELETE FROM fleets WHERE uid = ?', uid);
      // and from every product's auto-provisioning list
      this.#run(`UPDATE products SET auto_fleets = (SELECT json_group_array(value) FROM json_each(auto_fleets) WHERE value != ?)
        WHERE EXISTS (SELECT 1 FROM json_each(auto_fleets) WHERE value = ?)`, uid, uid);
    })();
  }

  // ---- devices
  async createDevice(d: DeviceRecord): Promise<void> {
    this.#db.transaction(() => this.#insertDevice(d, null))();
  }
  #insertDevice(d: DeviceRecord, secret: string | null): void {
    this.#run(`INSERT INTO devices (uid, project_uid, product_uid, sn, sku, tags, provisioned, last_activity, disabled, secret)
      VALUES (?,?,?,?,?,?,?,?,?,?)`, d.uid, d.projectUID, d.productUID, d.sn, d.sku, JSON.stringify(d.tags),
      d.provisioned, d.lastActivity, d.disabled ? 1 : 0, secret);
    this.#run(`DELETE FROM deleted_devices WHERE uid = ? AND project_uid IN ('', ?)`, d.uid, d.projectUID);
    this.#joinFleets(d.uid, d.projectUID, d.fleetUIDs);
  }
  /** Only fleets that exist in the device's project: a product's list may name a fleet deleted since. */
  #joinFleets(uid: string, projectUID: string, fleetUIDs: string[]): void {
    for (const f of fleetUIDs) {
      this.#run('INSERT OR IGNORE INTO device_fleets (device_uid, fleet_uid) SELECT ?, uid FROM fleets WHERE uid = ? AND project_uid = ?', uid, f, projectUID);
    }
  }
  async admitDevice(d: DeviceRecord, secret: string, replaceForeign: boolean): Promise<'created' | 'claimed' | 'taken' | 'deleted' | 'foreign'> {
    return this.#db.transaction(() => {
      if (this.#deleted(d.uid, d.projectUID)) return 'deleted';
      const old = this.#get('SELECT project_uid, secret FROM devices WHERE uid = ?', d.uid);
      if (old && old.secret !== null) return 'taken';
      if (old && old.project_uid === d.projectUID) {
        this.#run('UPDATE devices SET secret = ?, product_uid = ? WHERE uid = ?', secret, d.productUID, d.uid);
        return 'claimed';
      }
      if (old) {
        if (!replaceForeign) return 'foreign';
        this.#purgeDevice(d.uid);
      }
      this.#insertDevice(d, secret);
      return 'created';
    })();
  }
  async moveDevice(uid: string, projectUID: string, productUID: string): Promise<void> {
    this.#db.transaction(() => {
      const old = this.#get('SELECT project_uid FROM devices WHERE uid = ?', uid);
      if (!old) return;
      this.#run('UPDATE devices SET project_uid = ?, product_uid = ? WHERE uid = ?', projectUID, productUID, uid);
      if (old.project_uid === projectUID) return;
      // fleets belong to a project: the old ones are left, the new product's defaults joined
      this.#run('DELETE FROM device_fleets WHERE device_uid = ?', uid);
      const prod = this.#get('SELECT auto_fleets FROM products WHERE uid = ?', productUID);
      this.#joinFleets(uid, projectUID, parse<string[]>(prod?.auto_fleets, []));
    })();
  }
  #device(r: Row): DeviceRecord {
    const fleets = this.#all('SELECT fleet_uid FROM device_fleets WHERE device_uid = ? ORDER BY fleet_uid', r.uid).map((f) => str(f.fleet_uid));
    return {
      uid: str(r.uid), projectUID: str(r.project_uid), productUID: str(r.product_uid), sn: str(r.sn), sku: str(r.sku),
      tags: parse<string[]>(r.tags, []), fleetUIDs: fleets, provisioned: Number(r.provisioned), lastActivity: num(r.last_activity),
      disabled: !!r.disabled, lat: num(r.lat), lon: num(r.lon), locationWhen: num(r.location_when),
      voltage: num(r.voltage), temperature: num(r.temperature),
    };
  }
  async device(uid: string): Promise<DeviceRecord | null> {
    const r = this.#get('SELECT * FROM devices WHERE uid = ?', uid);
    return r ? this.#device(r) : null;
  }
  async devices(projectUID: string, f: DeviceFilter, limit: number, offset: number): Promise<{ devices: DeviceRecord[]; hasMore: boolean }> {
    // Values within one filter are OR-ed, different filters AND-ed; every value is bound, never spliced.
    const where = ['d.project_uid = ?'];
    const args: unknown[] = [projectUID];
    const list = (col: string, vals?: string[]): void => {
      if (vals?.length) { where.push(`${col} IN (${marks(vals.length)})`); args.push(...vals); }
    };
    list('d.uid', f.deviceUIDs);
    list('d.sn', f.serialNumbers);
    list('d.product_uid', f.productUIDs);
    list('d.sku', f.skus);
    if (f.tags?.length) {
      where.push(`EXISTS (SELECT 1 FROM json_each(d.tags) t WHERE t.value IN (${marks(f.tags.length)}))`);
      args.push(...f.tags);
    }
    if (f.fleetUIDs?.length) {
      where.push(`EXISTS (SELECT 1 FROM device_fleets df WHERE df.device_uid = d.uid AND df.fleet_uid IN (${marks(f.fleetUIDs.length)}))`);
      args.push(...f.fleetUIDs);
    }
    const rows = this.#q(`SELECT d.* FROM devices d WHERE ${where.join(' AND ')} ORDER BY d.provisioned, d.uid LIMIT ? OFFSET ?`)
      .all(...args, limit + 1, offset) as Row[];
    const hasMore = rows.length > limit;
    return { devices: rows.slice(0, limit).map((r) => this.#device(r)), hasMore };
  }
  async updateDevice(uid: string, u: DeviceUpdate): Promise<void> { this.#updateDevice(uid, u); }
  #updateDevice(uid: string, u: DeviceUpdate): void {
    const cols: Record<string, unknown> = {
      sn: u.sn, sku: u.sku, tags: u.tags && JSON.stringify(u.tags), disabled: u.disabled === undefined ? undefined : u.disabled ? 1 : 0,
      last_activity: u.lastActivity, lat: u.lat, lon: u.lon, location_when: u.locationWhen, voltage: u.voltage, temperature: u.temperature,
    };
    const set = Object.keys(cols).filter((k) => cols[k] !== undefined);
    if (!set.length) return;
    this.#q(`UPDATE devices SET ${set.map((k) => `${k} = ?`).join(', ')} WHERE uid = ?`).run(...set.map((k) => cols[k]), uid);
  }
  async setDeviceFleets(uid: string, fleetUIDs: string[]): Promise<void> {
    this.#db.transaction(() => {
      this.#run('DELETE FROM device_fleets WHERE device_uid = ?', uid);
      for (const f of fleetUIDs) this.#run('INSERT OR IGNORE INTO device_fleets (device_uid, fleet_uid) VALUES (?,?)', uid, f);
    })();
  }
  async deleteDevice(uid: string): Promise<void> {
    this.#db.transaction(() => {
      this.#run('INSERT OR REPLACE INTO deleted_devices (uid, project_uid, deleted) SELECT uid, project_uid, ? FROM devices WHERE uid = ?', this.#now() / 1000, uid);
      this.#purgeDevice(uid);
    })();
  }
  /** The device and everything of it but its events (those stay with the project that received them). */
  #purgeDevice(uid: string): void {
    this.#run('DELETE FROM env_vars WHERE scope IN (?,?) AND owner_uid = ?', 'device', 'device_default', uid);
    this.#run('DELETE FROM env_meta WHERE scope IN (?,?) AND owner_uid = ?', 'device', 'device_default', uid);
    this.#run('DELETE FROM dfu WHERE device_uid = ?', uid);
    this.#run('DELETE FROM devices WHERE uid = ?', uid);
  }

  async deviceSecret(uid: string): Promise<string | null> {
    const r = this.#get('SELECT secret FROM devices WHERE uid = ?', uid);
    return r && r.secret !== null ? str(r.secret) : null;
  }

  // ---- notes
  static #note(r: Row): NoteRecord {
    return {
      file: str(r.file), id: str(r.id), body: parse<JsonObject | null>(r.body, null), payload: r.payload === null ? null : str(r.payload),
      time: Number(r.time), deleted: !!r.deleted, change: Number(r.change), origin: str(r.origin) as NoteRecord['origin'], delivered: !!r.delivered,
    };
  }
  async addNotes(deviceUID: string, file: string, notes: NoteInput[], origin: 'hub' | 'device'): Promise<NoteRecord[]> {
    return this.#db.transaction(() => notes.map((n) => this.#addNote(deviceUID, file, n, origin)))();
  }
  #addNote(deviceUID: string, file: string, n: NoteInput, origin: 'hub' | 'device'): NoteRecord {
    const r = this.#get('UPDATE devices SET change = change + 1 WHERE uid = ? RETURNING change', deviceUID);
    if (!r) throw new Error(`no device ${deviceUID}`);
    const rec: NoteRecord = {
      file, id: n.id, body: n.deleted ? null : n.body ?? null, payload: n.deleted ? null : n.payload ?? null,
      time: n.time ?? this.#now() / 1000, deleted: !!n.deleted, change: Number(r.change), origin, delivered: false,
    };
    this.#run(`INSERT OR REPLACE INTO notes (device_uid, file, id, body, payload, time, deleted, change, origin, delivered)
      VALUES (?,?,?,?,?,?,?,?,?,0)`, deviceUID, file, rec.id, rec.body === null ? null : JSON.stringify(rec.body),
      rec.payload, rec.time, rec.deleted ? 1 : 0, rec.change, origin);
    return rec;
  }
  async note(deviceUID: string, file: string, id: string): Promise<NoteRecord | null> {
    const r = this.#get('SELECT * FROM notes WHERE device_uid = ? AND file = ? AND id = ?', deviceUID, file, id);
    return r ? SqliteStore.#note(r) : null;
  }
  async notes(deviceUID: string, file: string, includeDeleted: boolean): Promise<NoteRecord[]> {
    return this.#all(`SELECT * FROM notes WHERE device_uid = ? AND file = ? ${includeDeleted ? '' : 'AND deleted = 0'} ORDER BY change`,
      deviceUID, file).map(SqliteStore.#note);
  }
  async changesSince(deviceUID: string, since: number, o: { file?: string; origin?: 'hub' | 'device'; limit?: number }): Promise<NoteRecord[]> {
    const where = ['device_uid = ?', 'change > ?'];
    const args: unknown[] = [deviceUID, since];
    if (o.file !== undefined) { where.push('file = ?'); args.push(o.file); }
    if (o.origin !== undefined) { where.push('origin = ?'); args.push(o.origin); }
    return this.#all(`SELECT * FROM notes WHERE ${where.join(' AND ')} ORDER BY change LIMIT ?`, ...args, o.limit ?? -1).map(SqliteStore.#note);
  }
  async pendingInbound(deviceUID: string): Promise<NoteRecord[]> {
    return this.#all(`SELECT * FROM notes WHERE device_uid = ? AND delivered = 0 AND deleted = 0 AND origin = 'hub'
      AND (file LIKE '%.qi' OR file LIKE '%.qis') ORDER BY change`, deviceUID).map(SqliteStore.#note);
  }
  async markDelivered(deviceUID: string, keys: { file: string; id: string }[]): Promise<void> {
    // a delivered inbound-queue note has left the hub: it now lives on the device
    return this.removeNotes(deviceUID, keys);
  }
  async removeNotes(deviceUID: string, keys: { file: string; id: string }[]): Promise<void> {
    this.#db.transaction(() => {
      for (const k of keys) this.#run('DELETE FROM notes WHERE device_uid = ? AND file = ? AND id = ?', deviceUID, k.file, k.id);
    })();
  }
  async tracker(deviceUID: string, file: string, tracker: string): Promise<number | null> {
    const r = this.#get('SELECT seen FROM trackers WHERE device_uid = ? AND file = ? AND tracker = ?', deviceUID, file, tracker);
    return r ? Number(r.seen) : null;
  }
  async setTracker(deviceUID: string, file: string, tracker: string, seen: number | null): Promise<void> {
    if (seen === null) this.#run('DELETE FROM trackers WHERE device_uid = ? AND file = ? AND tracker = ?', deviceUID, file, tracker);
    else this.#run('INSERT OR REPLACE INTO trackers (device_uid, file, tracker, seen) VALUES (?,?,?,?)', deviceUID, file, tracker, seen);
  }
  async notefiles(deviceUID: string): Promise<{ file: string; total: number; change: number }[]> {
    return this.#all(`SELECT file, sum(deleted = 0) total, max(change) change FROM notes WHERE device_uid = ? GROUP BY file ORDER BY file`, deviceUID)
      .map((r) => ({ file: str(r.file), total: Number(r.total), change: Number(r.change) }));
  }
  async deleteNotefiles(deviceUID: string, files: string[]): Promise<void> {
    this.#db.transaction(() => { for (const f of files) this.#run('DELETE FROM notes WHERE device_uid = ? AND file = ?', deviceUID, f); })();
  }

  // ---- events
  async insertEvents(projectUID: string, events: EventRecord[], opts: { touch?: { deviceUID: string; update: DeviceUpdate }; dedup?: (string | undefined)[] } = {}): Promise<EventRecord[]> {
    return this.#db.transaction(() => this.#insertEvents(projectUID, events, opts))();
  }
  #insertEvents(projectUID: string, events: EventRecord[], opts: { touch?: { deviceUID: string; update: DeviceUpdate }; dedup?: (string | undefined)[] }): EventRecord[] {
    const routes = this.#all("SELECT uid, files FROM routes WHERE project_uid = ? AND disabled = 0 AND type IN ('http', 'notehub')", projectUID)
      .map((r) => ({ uid: str(r.uid), files: parse<string[]>(r.files, []) }));
    const now = this.#now() / 1000;
    const ins = this.#q(`INSERT INTO events (uid, project_uid, device_uid, sn, file, session, captured, received, json, dedup)
      VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`);
    const enq = this.#q('INSERT INTO deliveries (route_uid, event_uid, next_at) VALUES (?,?,?)');
    const stored: EventRecord[] = [];
    events.forEach((e, i) => {
      const r = ins.run(e.event, projectUID, e.device, e.sn, e.file, e.session ?? null, e.when, e.received, JSON.stringify(e), opts.dedup?.[i] ?? null);
      if (!r.changes) return;
      stored.push(e);
      for (const route of routes) if (!route.files.length || route.files.includes(e.file)) enq.run(route.uid, e.event, now);
    });
    if (opts.touch) this.#updateDevice(opts.touch.deviceUID, opts.touch.update);
    return stored;
  }
  async events(q: EventQuery): Promise<EventPage> {
    const where = ['e.project_uid = ?'];
    const args: unknown[] = [q.projectUID];
    const list = (col: string, vals?: string[]): void => {
      if (vals?.length) { where.push(`${col} IN (${marks(vals.length)})`); args.push(...vals); }
    };
    list('e.device_uid', q.deviceUIDs);
    list('e.file', q.files);
    list('e.session', q.sessionUIDs);
    list('e.uid', q.eventUIDs);
    list('e.sn', q.serialNumbers);
    if (q.fleetUIDs?.length) {
      where.push(`e.device_uid IN (SELECT device_uid FROM device_fleets WHERE fleet_uid IN (${marks(q.fleetUIDs.length)}))`);
      args.push(...q.fleetUIDs);
    }
    if (q.startDate !== undefined) { where.push('e.captured >= ?'); args.push(q.startDate); }
    if (q.endDate !== undefined) { where.push('e.captured <= ?'); args.push(q.endDate); }
    if (q.afterSeq !== undefined) { where.push(q.descending ? 'e.seq < ?' : 'e.seq > ?'); args.push(q.afterSeq); }
    const sql = `SELECT e.seq, e.json FROM events e WHERE ${where.join(' AND ')} ORDER BY e.seq ${q.descending ? 'DESC' : 'ASC'} LIMIT ? OFFSET ?`;
    args.push(q.limit + 1, q.offset ?? 0);
    // A page walked straight off one index in seq order (the project's, or one device's or one
    // file's; cursor or bounded offset) costs at most offset + limit index steps: answered here.
    // Anything else may scan or sort: queued per project on a reader thread, so it holds up
    // neither the event loop nor other projects.
    const n = (v?: unknown[]): number => v?.length ?? 0;
    const light = n(q.sessionUIDs) + n(q.eventUIDs) + n(q.serialNumbers) + n(q.fleetUIDs) === 0 && n(q.deviceUIDs) + n(q.files) <= 1
      && q.startDate === undefined && q.endDate === undefined && (q.offset ?? 0) <= LIGHT_OFFSET;
    const rows = (this.#reader && !light ? await this.#reader.read(q.projectUID, sql, args) : this.#q(sql).raw(true).all(...args)) as [number, string][];
    const hasMore = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    return { seqs: page.map((r) => r[0]), json: page.map((r) => r[1]), hasMore };
  }

  async latestEvents(projectUID: string, deviceUID: string): Promise<string[]> {
    // walks the device's events once (SQLite takes the bare column from the row with the max)
    const sql = `SELECT json, max(seq) FROM events WHERE project_uid = ? AND device_uid = ? GROUP BY file ORDER BY file`;
    const rows = (this.#reader ? await this.#reader.read(projectUID, sql, [projectUID, deviceUID]) : this.#q(sql).raw(true).all(projectUID, deviceUID)) as [string, number][];
    return rows.map((r) => r[0]);
  }

  // ---- device sync
  async syncDevice(deviceUID: string): Promise<{ hubEpoch: string | null; cardEpoch: string | null; upUntil: { [file: string]: number } }> {
    const d = this.#get('SELECT hub_epoch, card_epoch FROM devices WHERE uid = ?', deviceUID);
    const upUntil: { [file: string]: number } = {};
    for (const r of this.#all('SELECT file, up_until FROM sync_files WHERE device_uid = ?', deviceUID)) upUntil[str(r.file)] = Number(r.up_until);
    const hex = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
    return { hubEpoch: hex(d?.hub_epoch), cardEpoch: hex(d?.card_epoch), upUntil };
  }
  async setHubEpoch(deviceUID: string, epoch: string): Promise<void> {
    this.#run('UPDATE devices SET hub_epoch = ? WHERE uid = ?', epoch, deviceUID);
  }
  async setCardEpoch(deviceUID: string, epoch: string, reset: boolean): Promise<void> {
    this.#db.transaction(() => {
      this.#run('UPDATE devices SET card_epoch = ? WHERE uid = ?', epoch, deviceUID);
      if (!reset) return;
      this.#run('UPDATE sync_files SET up_until = 0 WHERE device_uid = ?', deviceUID);
      const own = this.#all(`SELECT file, id FROM notes WHERE device_uid = ? AND origin = 'device' AND (file LIKE '%.db' OR file LIKE '%.dbs') ORDER BY change`, deviceUID);
      for (const r of own) {
        const c = this.#get('UPDATE devices SET change = change + 1 WHERE uid = ? RETURNING change', deviceUID)!;
        this.#run(`UPDATE notes SET origin = 'hub', change = ? WHERE device_uid = ? AND file = ? AND id = ?`, c.change, deviceUID, r.file, r.id);
      }
    })();
  }
  async putTemplate(deviceUID: string, file: string, version: number, definition: string): Promise<void> {
    this.#run('INSERT OR REPLACE INTO sync_templates (device_uid, file, version, definition) VALUES (?,?,?,?)', deviceUID, file, version, definition);
  }
  async template(deviceUID: string, file: string, version: number): Promise<string | null> {
    const r = this.#get('SELECT definition FROM sync_templates WHERE device_uid = ? AND file = ? AND version = ?', deviceUID, file, version);
    return r ? str(r.definition) : null;
  }
  async syncTicket(deviceUID: string): Promise<SyncTicket | null> {
    const r = this.#get('SELECT ticket, secret, issued FROM sync_tickets WHERE device_uid = ?', deviceUID);
    return r ? { ticket: str(r.ticket), secret: str(r.secret), issued: Number(r.issued) } : null;
  }
  async putSyncTicket(deviceUID: string, t: SyncTicket): Promise<void> {
    this.#run('INSERT OR REPLACE INTO sync_tickets (device_uid, ticket, secret, issued) VALUES (?,?,?,?)', deviceUID, t.ticket, t.secret, t.issued);
  }
  async commitUpload(c: UploadCommit): Promise<EventRecord[]> {
    return this.#db.transaction(() => {
      for (const n of c.notes) this.#addNote(c.deviceUID, c.file, n.input, n.origin);
      const stored = this.#insertEvents(c.projectUID, c.events, { dedup: c.dedup, touch: c.touch ? { deviceUID: c.deviceUID, update: c.touch } : undefined });
      this.#run(`INSERT INTO sync_files (device_uid, file, up_until) VALUES (?,?,?)
        ON CONFLICT (device_uid, file) DO UPDATE SET up_until = max(up_until, excluded.up_until)`, c.deviceUID, c.file, c.upUntil);
      return stored;
    })();
  }
  async putSyncSession(s: SyncSessionRecord): Promise<void> {
    this.#run(`INSERT OR REPLACE INTO sync_sessions (uid, device_uid, started, ended, remote, tls, features, notes_up, notes_down, reason)
      VALUES (?,?,?,?,?,?,?,?,?,?)`, s.uid, s.deviceUID, s.started, s.ended, s.remote, s.tls ? 1 : 0, s.features, s.notesUp, s.notesDown, s.reason);
  }
  async syncSessions(deviceUID: string, limit: number, offset = 0): Promise<SyncSessionRecord[]> {
    return this.#all('SELECT * FROM sync_sessions WHERE device_uid = ? ORDER BY started DESC, uid LIMIT ? OFFSET ?', deviceUID, limit, offset).map(syncSessionFromRow);
  }
  async isDeletedDevice(uid: string, projectUID: string): Promise<boolean> { return this.#deleted(uid, projectUID); }
  #deleted(uid: string, projectUID: string): boolean {
    // project '' marks a deletion recorded before deletions were per project: it holds everywhere
    return !!this.#get(`SELECT 1 FROM deleted_devices WHERE uid = ? AND project_uid IN ('', ?)`, uid, projectUID);
  }

  // ---- environment variables
  async envGet(scope: EnvScope, ownerUID: string): Promise<{ [k: string]: string }> {
    const out: { [k: string]: string } = {};
    for (const r of this.#all('SELECT key, value FROM env_vars WHERE scope = ? AND owner_uid = ? ORDER BY key', scope, ownerUID)) out[str(r.key)] = str(r.value);
    return out;
  }
  async envPut(scope: EnvScope, ownerUID: string, vars: { [k: string]: string }, replace: boolean): Promise<void> {
    this.#db.transaction(() => {
      if (replace) this.#run('DELETE FROM env_vars WHERE scope = ? AND owner_uid = ?', scope, ownerUID);
      for (const [k, v] of Object.entries(vars)) this.#run('INSERT OR REPLACE INTO env_vars (scope, owner_uid, key, value) VALUES (?,?,?,?)', scope, ownerUID, k, v);
      this.#envTouched(scope, ownerUID);
    })();
  }
  async envDelete(scope: EnvScope, ownerUID: string, key: string): Promise<boolean> {
    return this.#db.transaction(() => {
      const gone = this.#run('DELETE FROM env_vars WHERE scope = ? AND owner_uid = ? AND key = ?', scope, ownerUID, key).changes > 0;
      if (gone) this.#envTouched(scope, ownerUID);
      return gone;
    })();
  }
  #envTouched(scope: EnvScope, ownerUID: string): void {
    this.#run('INSERT OR REPLACE INTO env_meta (scope, owner_uid, modified) VALUES (?,?,?)', scope, ownerUID, this.#now() / 1000);
  }
  async envModified(scope: EnvScope, ownerUID: string): Promise<number | null> {
    const r = this.#get('SELECT modified FROM env_meta WHERE scope = ? AND owner_uid = ?', scope, ownerUID);
    return r ? Number(r.modified) : null;
  }

  // ---- firmware and DFU
  async putFirmware(f: FirmwareRecord, data: Uint8Array): Promise<void> {
    this.#run(`INSERT OR REPLACE INTO firmware (project_uid, type, filename, version, notes, md5, length, created, data, info)
      VALUES (?,?,?,?,?,?,?,?,?,?)`, f.projectUID, f.type, f.filename, f.version, f.notes, f.md5, f.length, f.created, Buffer.from(data),
    JSON.stringify({ source: f.source, crc32: f.crc32, modified: f.modified }));
  }
  async firmware(projectUID: string, f: { type?: string; filename?: string; version?: string }): Promise<FirmwareRecord[]> {
    return this.#all(`SELECT project_uid, type, filename, version, notes, md5, length, created, info FROM firmware WHERE project_uid = ?
      AND (? IS NULL OR type = ?) AND (? IS NULL OR filename = ?) AND (? IS NULL OR version = ?) ORDER BY created`,
    projectUID, f.type ?? null, f.type ?? null, f.filename ?? null, f.filename ?? null, f.version ?? null, f.version ?? null).map(firmwareFromRow);
  }
  async firmwareData(projectUID: string, type: string, filename: string): Promise<Uint8Array | null> {
    const r = this.#get('SELECT data FROM firmware WHERE project_uid = ? AND type = ? AND filename = ?', projectUID, type, filename);
    return r ? new Uint8Array(r.data as Buffer) : null;
  }
  async firmwareChunk(projectUID: string, type: string, filename: string, offset: number, length: number): Promise<Uint8Array | null> {
    // substr counts from 1 and, on a BLOB, in bytes: only the chunk leaves the database
    const r = this.#get('SELECT substr(data, ?, ?) AS chunk FROM firmware WHERE project_uid = ? AND type = ? AND filename = ?',
      offset + 1, length, projectUID, type, filename);
    return r ? new Uint8Array((r.chunk as Buffer | null) ?? []) : null;
  }
  async putDfu(d: DfuRecord): Promise<void> {
    this.#run(`INSERT OR REPLACE INTO dfu (device_uid, type, project_uid, filename, status, text, requested, updated, info) VALUES (?,?,?,?,?,?,?,?,?)`,
      d.deviceUID, d.type, d.projectUID, d.filename, d.status, d.text, d.requested, d.updated,
      JSON.stringify({ read: d.read, length: d.length, version: d.version, history: d.history }));
  }
  async dfu(deviceUID: string, type: string): Promise<DfuRecord | null> {
    const r = this.#get('SELECT * FROM dfu WHERE device_uid = ? AND type = ?', deviceUID, type);
    if (!r) return null;
    return dfuFromRow(r);
  }

  // ---- routes and deliveries
  async putRoute(r: RouteRecord): Promise<void> {
    this.#run(`INSERT OR REPLACE INTO routes (uid, project_uid, label, type, url, headers, files, disabled, created, modified, proxy)
      VALUES (?,?,?,?,?,?,?,?,?,?,?)`, r.uid, r.projectUID, r.label, r.type, r.url, JSON.stringify(r.headers), JSON.stringify(r.files),
    r.disabled ? 1 : 0, r.created, r.modified, r.proxy ? JSON.stringify(r.proxy) : r.publisher ? JSON.stringify(r.publisher) : null);
  }
  async route(uid: string): Promise<RouteRecord | null> {
    const r = this.#get('SELECT * FROM routes WHERE uid = ?', uid);
    return r ? routeFromRow(r) : null;
  }
  async routesOf(projectUID: string): Promise<RouteRecord[]> {
    return this.#all('SELECT * FROM routes WHERE project_uid = ? ORDER BY created', projectUID).map(routeFromRow);
  }
  async deleteRoute(uid: string): Promise<void> {
    this.#db.transaction(() => {
      this.#run('DELETE FROM deliveries WHERE route_uid = ?', uid);
      this.#run('DELETE FROM route_logs WHERE route_uid = ?', uid);
      this.#run('DELETE FROM routes WHERE uid = ?', uid);
    })();
  }
  async dueRoutes(now: number): Promise<{ routeUID: string; projectUID: string }[]> {
    // one index probe per route: the routes table is small, the queue may not be
    return this.#all(`SELECT uid, project_uid, (SELECT min(q.next_at) FROM deliveries q WHERE q.route_uid = r.uid AND q.dead = 0) due
      FROM routes r WHERE r.disabled = 0 AND due <= ? ORDER BY due`, now).map((r) => ({ routeUID: str(r.uid), projectUID: str(r.project_uid) }));
  }
  async dueDeliveries(now: number, limit: number, routeUID?: string): Promise<DeliveryRecord[]> {
    return this.#all(`SELECT q.id, q.route_uid, q.event_uid, q.attempts, q.next_at, e.json, r.url, r.headers
      FROM deliveries q JOIN routes r ON r.uid = q.route_uid JOIN events e ON e.uid = q.event_uid
      WHERE ${routeUID === undefined ? '' : 'q.route_uid = ? AND '}q.dead = 0 AND q.next_at <= ? AND r.disabled = 0 ORDER BY q.next_at, q.id LIMIT ?`,
    ...(routeUID === undefined ? [] : [routeUID]), now, limit)
      .map((r) => ({ id: Number(r.id), routeUID: str(r.route_uid), eventUID: str(r.event_uid), eventJSON: str(r.json), url: str(r.url),
        headers: parse(r.headers, {}), attempts: Number(r.attempts), nextAt: Number(r.next_at) }));
  }
  async deliveryDone(id: number): Promise<void> { this.#run('DELETE FROM deliveries WHERE id = ?', id); }
  async deliveryRetry(id: number, nextAt: number, error: string, dead: boolean): Promise<void> {
    this.#run('UPDATE deliveries SET attempts = attempts + 1, next_at = ?, last_error = ?, dead = ? WHERE id = ?', nextAt, error, dead ? 1 : 0, id);
  }
  async deliveryStats(): Promise<{ pending: number; failed: number }> {
    const r = this.#get('SELECT sum(dead = 0) pending, sum(dead = 1) failed FROM deliveries')!;
    return { pending: Number(r.pending ?? 0), failed: Number(r.failed ?? 0) };
  }
  async addRouteLog(l: RouteLogRecord): Promise<void> {
    this.#db.transaction(() => {
      this.#run(`INSERT INTO route_logs (route_uid, project_uid, event_uid, device_uid, file, captured, logged, attempt, status, error, text, url, dead)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`, l.routeUID, l.projectUID, l.eventUID, l.deviceUID, l.file, l.captured, l.when, l.attempt, l.status,
      l.error, l.text, l.url, l.dead ? 1 : 0);
      this.#run(`DELETE FROM route_logs WHERE route_uid = ? AND id <= (SELECT id FROM route_logs WHERE route_uid = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
        l.routeUID, l.routeUID, ROUTE_LOG_KEEP);
    })();
  }
  async routeLogs(q: RouteLogQuery): Promise<RouteLogRecord[]> {
    const { where, order, args } = routeLogSql(q, (col, vals) => [`${col} IN (${marks(vals.length)})`, vals]);
    return this.#all(`SELECT * FROM route_logs WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?`, ...args, q.limit, q.offset).map(routeLogFromRow);
  }

  // ---- the NoteHub publishing API
  async putPublisher(p: PublisherRecord): Promise<void> {
    this.#run('INSERT OR REPLACE INTO publishers (pid, psk, description, created, revoked) VALUES (?,?,?,?,?)',
      p.pid, p.psk, p.description, p.created, p.revoked ? 1 : 0);
  }
  async publisher(pid: string): Promise<PublisherRecord | null> {
    const r = this.#get('SELECT * FROM publishers WHERE pid = ?', pid);
    return r ? { pid: str(r.pid), psk: str(r.psk), description: str(r.description), created: Number(r.created), revoked: !!r.revoked } : null;
  }
  async createPublishedNote(n: PublishedNoteRecord): Promise<boolean> {
    return this.#run(`INSERT OR IGNORE INTO published_notes (note_id, short_id, pid, note, title, password, theme, published, edited, views)
      VALUES (?,?,?,?,?,?,?,?,?,?)`, n.noteID, n.shortID, n.pid, n.note, n.title, n.password, n.theme, n.published, n.edited, n.views).changes > 0;
  }
  async publishedNote(id: string): Promise<PublishedNoteRecord | null> {
    const r = this.#get('SELECT * FROM published_notes WHERE note_id = ? OR short_id = ?', id, id);
    return r ? {
      noteID: str(r.note_id), shortID: str(r.short_id), pid: str(r.pid), note: str(r.note), title: str(r.title), password: str(r.password),
      theme: str(r.theme), published: Number(r.published), edited: num(r.edited), views: Number(r.views),
    } : null;
  }
  async updatePublishedNote(noteID: string, note: string, title: string, edited: number): Promise<void> {
    this.#run('UPDATE published_notes SET note = ?, title = ?, edited = ? WHERE note_id = ?', note, title, edited, noteID);
  }
  async countNoteView(noteID: string): Promise<void> {
    this.#run('UPDATE published_notes SET views = views + 1 WHERE note_id = ?', noteID);
  }
}
