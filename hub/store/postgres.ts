/**
 * The Store on PostgreSQL (`pg`), for several hub processes on one database. Same contract and
 * semantics as the SQLite store (hub/store/types.ts); what differs is concurrency: other
 * processes write at the same time, so per-device work is serialised on the device row (its
 * change counter), first contact on an advisory lock, and route deliveries are claimed with
 * FOR UPDATE SKIP LOCKED. `bus` carries hub events between the processes (LISTEN/NOTIFY).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_MIGRATIONS } from './pg-migrations';
import type {
  ClientRecord, DeliveryRecord, DeviceFilter, DeviceRecord, DeviceUpdate, DfuRecord, EnvScope,
  EventPage, EventQuery, EventRecord, FirmwareRecord, FleetRecord, JsonObject, NoteInput, NoteRecord,
  ProductRecord, ProjectRecord, ProxySettings, PublishedNoteRecord, PublisherRecord, PublisherSettings, RouteLogQuery, RouteLogRecord, RouteRecord, Store, StoreBus, SyncSessionRecord, TokenRecord, UploadCommit, UserRecord,
} from './types';
import type { SyncTicket } from './types';
import { dfuFromRow, firmwareFromRow, num, parse, ROUTE_LOG_KEEP, routeFromRow, routeLogFromRow, routeLogSql, str, syncSessionFromRow, type Row } from './rows';


/** The NOTIFY channel the hub processes share. */
const CHANNEL = 'opencard_hub';
/** NOTIFY payloads must stay under 8000 bytes. */
const NOTIFY_MAX = 7900;
/** The store's own notice on the channel (not a hub event): a token was revoked. */
const TOKEN_REVOKED = 'store:token-revoked';
/** A kept token is read again after this long, whatever was heard. */
const TOKEN_TTL_MS = 60_000;
/** How long a notification waits for others to go with it, ms. */
const NOTIFY_GATHER_MS = 5;
/** Advisory lock keys: migrations, and first contact of a device (with the UID's hash). */
const LOCK_MIGRATE = 0x6f70656e;

/** Bounded caches: at the limit the oldest entry goes. */
const CACHE_MAX = 10_000;
function remember<K, V>(m: Map<K, V>, k: K, v: V): void {
  if (m.size >= CACHE_MAX) m.delete(m.keys().next().value as K);
  m.set(k, v);
}

/**
 * Runs one statement; `?` marks are numbered ($1, $2...) so the SQL reads like the SQLite store's.
 * A statement with arguments is prepared once per connection (named after its text) and then
 * only bound and run: parsing and planning were half the server's time on the API's queries.
 */
type Query = (sql: string, ...args: unknown[]) => Promise<Row[]>;
const numbered = new Map<string, { text: string; name?: string }>();
function pgSql(sql: string): { text: string; name?: string } {
  let s = numbered.get(sql);
  if (s === undefined) {
    let n = 0;
    s = { text: sql.replace(/\?/g, () => `$${++n}`) };
    if (numbered.size < 512) { s.name = `s${numbered.size}`; numbered.set(sql, s); }
  }
  return s;
}

export interface PostgresStoreOptions {
  /** The clock, ms since the epoch (default Date.now): the hub's, so stored times agree with it. */
  now?: () => number;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long a claimed route delivery stays this process's before another may take it, s (default 300). */
  claimSeconds?: number;
  /** Where the bus reports a lost LISTEN connection. */
  log?: (line: string) => void;
}

export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #now: () => number;
  readonly #claim: number;
  readonly #log: (line: string) => void;
  readonly #origin = randomBytes(8).toString('hex');
  readonly #subscribers = new Set<(event: string, payload: unknown) => void>();
  #listener: pg.Client | null = null;
  /**
   * Every API request reads its token, user, project and membership: the last three are never
   * changed or removed through the store (a method that ever does must forget them here), so
   * they are read once, not once per request (each read is a round trip).
   */
  readonly #users = new Map<number, UserRecord>();
  readonly #projects = new Map<string, ProjectRecord>();
  readonly #members = new Map<string, true>();
  /**
   * Tokens are read per request too, but can be revoked: a revocation notifies every process in
   * its own statement (NOTIFY is sent at commit), each forgets the token, and the cache is used
   * only while this process's LISTEN connection is up. A read that overlapped a revocation is
   * not kept (#tokenGen), and an entry is read again after TOKEN_TTL_MS in any case.
   */
  readonly #tokens = new Map<string, { t: TokenRecord; at: number }>();
  #tokenGen = 0;
  /** notifications gathered for the next NOTIFY statement */
  readonly #outbox: string[] = [];
  #closed = false;
  readonly #q: Query;
  readonly bus: StoreBus;

  private constructor(url: string, opts: PostgresStoreOptions) {
    this.#url = url;
    this.#now = opts.now ?? Date.now;
    this.#claim = opts.claimSeconds ?? 300;
    this.#log = opts.log ?? (() => undefined);
    this.#pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
    // an idle connection the server dropped must not take the process down
    this.#pool.on('error', (e) => this.#log(`hub: database connection lost: ${e.message}`));
    this.#q = this.#query(this.#pool);
    this.bus = {
      publish: (event, payload) => this.#publish(event, payload),
      subscribe: (fn) => { this.#subscribers.add(fn); return () => this.#subscribers.delete(fn); },
    };
  }

  /** Connects, migrates the schema and starts listening for the other processes' events. */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const s = new PostgresStore(url, opts);
    try {
      await s.#migrate();
      await s.#listen();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  async #migrate(): Promise<void> {
    await this.#tx(async (q) => {
      await q('SELECT pg_advisory_xact_lock(?)', LOCK_MIGRATE);
      await q('CREATE TABLE IF NOT EXISTS opencard_schema (version INTEGER NOT NULL)');
      const r = await q('SELECT version FROM opencard_schema');
      if (!r.length) await q('INSERT INTO opencard_schema (version) VALUES (0)');
      for (let v = r.length ? Number(r[0].version) : 0; v < PG_MIGRATIONS.length; v++) {
        await q(PG_MIGRATIONS[v]);
        await q('UPDATE opencard_schema SET version = ?', v + 1);
      }
    });
  }

  // ---- the bus: LISTEN on a connection of its own, NOTIFY through the pool
  async #listen(): Promise<void> {
    const c = new pg.Client({ connectionString: this.#url });
    c.on('notification', (m) => {
      if (m.channel !== CHANNEL || !m.payload) return;
      let msg: { o: string; e: string; p: unknown };
      try { msg = JSON.parse(m.payload) as typeof msg; } catch { return; }
      if (msg.o === this.#origin) return; // our own, already emitted here
      if (msg.e === TOKEN_REVOKED) return this.#forgetToken(String(msg.p));
      for (const fn of this.#subscribers) fn(msg.e, msg.p);
    });
    const lost = (e?: Error): void => {
      if (this.#closed || this.#listener !== c) return;
      this.#listener = null;
      this.#forgetToken(); // revocations are not heard until it is back
      this.#log(`hub: database event connection lost${e ? `: ${e.message}` : ''}; reconnecting`);
      const retry = (): void => {
        if (this.#closed) return;
        this.#listen().then(() => {
          // changes made meanwhile were not heard: let every connected device look again
          for (const fn of this.#subscribers) fn('env', { scope: 'project', ownerUID: '' });
        }, () => setTimeout(retry, 1000).unref());
      };
      setTimeout(retry, 1000).unref();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    await c.connect();
    await c.query(`LISTEN ${CHANNEL}`);
    this.#listener = c;
  }

  /**
   * Notifications are gathered for a few ms and go in one statement: each NOTIFY transaction
   * takes the server's one notification-queue lock at commit, so one per event would serialise
   * every process's ingest on it (and cost a round trip each).
   */
  #publish(event: string, payload: unknown): void {
    if (this.#closed) return;
    const text = JSON.stringify({ o: this.#origin, e: event, p: payload });
    if (Buffer.byteLength(text) > NOTIFY_MAX) return this.#log(`hub: event ${event} too large for NOTIFY; not sent to the other processes`);
    this.#outbox.push(text);
    if (this.#outbox.length === 1) setTimeout(() => void this.#flush(), NOTIFY_GATHER_MS);
  }
  async #flush(): Promise<void> {
    const texts = this.#outbox.splice(0);
    if (!texts.length) return;
    await this.#pool.query('SELECT pg_notify($1, m) FROM unnest($2::text[]) WITH ORDINALITY x(m, n) ORDER BY n', [CHANNEL, texts])
      .then(() => undefined, (e: Error) => this.#log(`hub: NOTIFY failed: ${e.message}`));
  }

  // ---- queries
  #query(client: pg.Pool | pg.PoolClient): Query {
    return async (sql, ...args) => {
      const stmt = pgSql(sql);
      if (!args.length || !stmt.name) return (await client.query({ text: stmt.text, values: args })).rows as Row[];
      try {
        return (await client.query({ text: stmt.text, name: stmt.name, values: args })).rows as Row[];
      } catch (e) {
        // "cached plan must not change result type": a table's columns changed under a prepared
        // `SELECT *` (another process migrated the schema); from now on this SQL goes unprepared
        if ((e as { code?: string }).code !== '0A000') throw e;
        stmt.name = undefined;
        return (await client.query({ text: stmt.text, values: args })).rows as Row[];
      }
    };
  }

  /** One transaction on one pooled connection. */
  async #tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const r = await fn(this.#query(c));
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch((re: Error) => { broken = re; });
      throw e;
    } finally {
      c.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flush(); // what was published just before
    const l = this.#listener;
    this.#listener = null;
    await l?.end().catch(() => undefined);
    await this.#pool.end();
  }

  // ---- users and access
  async createUser(username: string, passwordHash: string): Promise<UserRecord> {
    const created = this.#now() / 1000;
    const r = await this.#q('INSERT INTO users (username, password_hash, created) VALUES (?,?,?) RETURNING id', username, passwordHash, created);
    return { id: Number(r[0].id), username, created };
  }
  async userByName(username: string): Promise<(UserRecord & { passwordHash: string }) | null> {
    const [r] = await this.#q('SELECT * FROM users WHERE username = ?', username);
    return r ? { id: Number(r.id), username: str(r.username), created: Number(r.created), passwordHash: str(r.password_hash) } : null;
  }
  async userById(id: number): Promise<UserRecord | null> {
    const hit = this.#users.get(id);
    if (hit) return { ...hit };
    const [r] = await this.#q('SELECT * FROM users WHERE id = ?', id);
    if (!r) return null;
    const u = { id: Number(r.id), username: str(r.username), created: Number(r.created) };
    remember(this.#users, id, u);
    return { ...u };
  }
  async countUsers(): Promise<number> { return Number((await this.#q('SELECT count(*) n FROM users'))[0].n); }
  async members(projectUID: string): Promise<{ username: string; role: string }[]> {
    return (await this.#q('SELECT u.username, m.role FROM members m JOIN users u ON u.id = m.user_id WHERE m.project_uid = ? ORDER BY u.username COLLATE "C"', projectUID))
      .map((r) => ({ username: str(r.username), role: str(r.role) }));
  }
  async isMember(projectUID: string, userId: number): Promise<boolean> {
    const key = `${userId} ${projectUID}`;
    if (this.#members.has(key)) return true;
    const yes = (await this.#q('SELECT 1 FROM members WHERE project_uid = ? AND user_id = ?', projectUID, userId)).length > 0;
    if (yes) remember(this.#members, key, true);
    return yes;
  }
  async addMember(projectUID: string, userId: number, role: string): Promise<void> {
    await this.#q(`INSERT INTO members (project_uid, user_id, role) VALUES (?,?,?)
      ON CONFLICT (project_uid, user_id) DO UPDATE SET role = excluded.role`, projectUID, userId, role);
  }

  async createToken(hash: string, t: TokenRecord): Promise<void> {
    await this.#q('INSERT INTO tokens (hash, id, kind, user_id, client_id, name, created, expires, revoked) VALUES (?,?,?,?,?,?,?,?,false)',
      hash, t.id, t.kind, t.userId, t.clientId, t.name, t.created, t.expires);
  }
  async tokenByHash(hash: string): Promise<TokenRecord | null> {
    const hit = this.#tokens.get(hash);
    if (hit && this.#listener && Date.now() - hit.at < TOKEN_TTL_MS) return { ...hit.t };
    const gen = this.#tokenGen;
    const [r] = await this.#q('SELECT * FROM tokens WHERE hash = ?', hash);
    if (!r) return null;
    const t: TokenRecord = {
      id: str(r.id), kind: str(r.kind) as TokenRecord['kind'], userId: num(r.user_id), clientId: r.client_id === null ? null : str(r.client_id),
      name: str(r.name), created: Number(r.created), expires: num(r.expires), revoked: !!r.revoked,
    };
    if (gen === this.#tokenGen && this.#listener) remember(this.#tokens, hash, { t: { ...t }, at: Date.now() });
    return t;
  }
  async revokeToken(idOrHash: string): Promise<boolean> {
    const rows = await this.#q(`WITH r AS (UPDATE tokens SET revoked = true WHERE id = ? OR hash = ? RETURNING hash)
      SELECT hash, pg_notify(?, json_build_object('o', ?::text, 'e', ?::text, 'p', hash)::text) FROM r`, idOrHash, idOrHash, CHANNEL, this.#origin, TOKEN_REVOKED);
    for (const r of rows) this.#forgetToken(str(r.hash));
    return rows.length > 0;
  }
  #forgetToken(hash?: string): void {
    this.#tokenGen++;
    if (hash === undefined) this.#tokens.clear();
    else this.#tokens.delete(hash);
  }
  async createClient(c: ClientRecord, secretHash: string): Promise<void> {
    await this.#q('INSERT INTO clients (client_id, secret_hash, project_uid, created) VALUES (?,?,?,?)', c.clientId, secretHash, c.projectUID, c.created);
  }
  async clientById(clientId: string): Promise<(ClientRecord & { secretHash: string }) | null> {
    const [r] = await this.#q('SELECT * FROM clients WHERE client_id = ?', clientId);
    return r ? { clientId: str(r.client_id), projectUID: str(r.project_uid), created: Number(r.created), revoked: !!r.revoked, secretHash: str(r.secret_hash) } : null;
  }

  // ---- projects, products, fleets
  async createProject(p: ProjectRecord): Promise<void> {
    await this.#tx(async (q) => {
      await q('INSERT INTO projects (uid, label, created, owner_id) VALUES (?,?,?,?)', p.uid, p.label, p.created, p.ownerId);
      await q('INSERT INTO members (project_uid, user_id, role) VALUES (?,?,?)', p.uid, p.ownerId, 'owner');
    });
  }
  static #project(r: Row): ProjectRecord { return { uid: str(r.uid), label: str(r.label), created: Number(r.created), ownerId: Number(r.owner_id) }; }
  async project(uid: string): Promise<ProjectRecord | null> {
    const hit = this.#projects.get(uid);
    if (hit) return { ...hit };
    const [r] = await this.#q('SELECT * FROM projects WHERE uid = ?', uid);
    if (!r) return null;
    const p = PostgresStore.#project(r);
    remember(this.#projects, uid, p);
    return { ...p };
  }
  async projectsOfUser(userId: number): Promise<ProjectRecord[]> {
    return (await this.#q('SELECT p.* FROM projects p JOIN members m ON m.project_uid = p.uid WHERE m.user_id = ? ORDER BY p.created', userId)).map(PostgresStore.#project);
  }
  async createProduct(p: ProductRecord): Promise<void> {
    await this.#q('INSERT INTO products (uid, project_uid, label, created, disable_by_default, auto_fleets) VALUES (?,?,?,?,?,?)',
      p.uid, p.projectUID, p.label, p.created, p.disableDevicesByDefault, JSON.stringify(p.autoProvisionFleets));
  }
  static #product(r: Row): ProductRecord {
    return { uid: str(r.uid), projectUID: str(r.project_uid), label: str(r.label), created: Number(r.created),
      disableDevicesByDefault: !!r.disable_by_default, autoProvisionFleets: parse<string[]>(r.auto_fleets, []) };
  }
  async product(uid: string): Promise<ProductRecord | null> {
    const [r] = await this.#q('SELECT * FROM products WHERE uid = ?', uid);
    return r ? PostgresStore.#product(r) : null;
  }
  async productsOf(projectUID: string): Promise<ProductRecord[]> {
    return (await this.#q('SELECT * FROM products WHERE project_uid = ? ORDER BY created', projectUID)).map(PostgresStore.#product);
  }
  async createFleet(f: FleetRecord): Promise<void> {
    await this.#q('INSERT INTO fleets (uid, project_uid, label, created) VALUES (?,?,?,?)', f.uid, f.projectUID, f.label, f.created);
  }
  static #fleet(r: Row): FleetRecord { return { uid: str(r.uid), projectUID: str(r.project_uid), label: str(r.label), created: Number(r.created) }; }
  async fleet(uid: string): Promise<FleetRecord | null> {
    const [r] = await this.#q('SELECT * FROM fleets WHERE uid = ?', uid);
    return r ? PostgresStore.#fleet(r) : null;
  }
  async fleetsOf(projectUID: string): Promise<FleetRecord[]> {
    return (await this.#q('SELECT * FROM fleets WHERE project_uid = ? ORDER BY created', projectUID)).map(PostgresStore.#fleet);
  }
  async updateFleet(uid: string, label: string): Promise<void> { await this.#q('UPDATE fleets SET label = ? WHERE uid = ?', label, uid); }
  async deleteFleet(uid: string): Promise<void> {
    await this.#tx(async (q) => {
      await q('DELETE FROM env_vars WHERE scope = ? AND owner_uid = ?', 'fleet', uid);
      await q('DELETE FROM env_meta WHERE scope = ? AND owner_uid = ?', 'fleet', uid);
      await q('DELETE FROM fleets WHERE uid = ?', uid);
      // and from every product's auto-provisioning list
      await q(`UPDATE products SET auto_fleets = auto_fleets - ?::text WHERE auto_fleets @> jsonb_build_array(?::text)`, uid, uid);
    });
  }

  // ---- devices
  async createDevice(d: DeviceRecord): Promise<void> {
    await this.#tx((q) => this.#insertDevice(q, d, null));
  }
  async #insertDevice(q: Query, d: DeviceRecord, secret: string | null): Promise<void> {
    await q(`INSERT INTO devices (uid, project_uid, product_uid, sn, sku, tags, provisioned, last_activity, disabled, secret)
      VALUES (?,?,?,?,?,?,?,?,?,?)`, d.uid, d.projectUID, d.productUID, d.sn, d.sku, JSON.stringify(d.tags),
    d.provisioned, d.lastActivity, d.disabled, secret);
    await q(`DELETE FROM deleted_devices WHERE uid = ? AND project_uid IN ('', ?)`, d.uid, d.projectUID);
    await this.#joinFleets(q, d.uid, d.projectUID, d.fleetUIDs);
  }
  /** Only fleets that exist in the device's project: a product's list may name a fleet deleted since. */
  async #joinFleets(q: Query, uid: string, projectUID: string, fleetUIDs: string[]): Promise<void> {
    if (!fleetUIDs.length) return;
    await q(`INSERT INTO device_fleets (device_uid, fleet_uid) SELECT ?, uid FROM fleets WHERE uid = ANY(?) AND project_uid = ?
      ON CONFLICT DO NOTHING`, uid, fleetUIDs, projectUID);
  }
  async admitDevice(d: DeviceRecord, secret: string, replaceForeign: boolean): Promise<'created' | 'claimed' | 'taken' | 'deleted' | 'foreign'> {
    return this.#tx(async (q) => {
      // two processes admitting the same new device: the second waits, then finds it taken
      await q('SELECT pg_advisory_xact_lock(hashtext(?))', d.uid);
      if (await this.#deleted(q, d.uid, d.projectUID)) return 'deleted';
      const [old] = await q('SELECT project_uid, secret FROM devices WHERE uid = ? FOR UPDATE', d.uid);
      if (old && old.secret !== null) return 'taken';
      if (old && old.project_uid === d.projectUID) {
        await q('UPDATE devices SET secret = ?, product_uid = ? WHERE uid = ?', secret, d.productUID, d.uid);
        return 'claimed';
      }
      if (old) {
        if (!replaceForeign) return 'foreign';
        await this.#purgeDevice(q, d.uid);
      }
      await this.#insertDevice(q, d, secret);
      return 'created';
    });
  }
  async moveDevice(uid: string, projectUID: string, productUID: string): Promise<void> {
    await this.#tx(async (q) => {
      const [old] = await q('SELECT project_uid FROM devices WHERE uid = ? FOR UPDATE', uid);
      if (!old) return;
      await q('UPDATE devices SET project_uid = ?, product_uid = ? WHERE uid = ?', projectUID, productUID, uid);
      if (old.project_uid === projectUID) return;
      // fleets belong to a project: the old ones are left, the new product's defaults joined
      await q('DELETE FROM device_fleets WHERE device_uid = ?', uid);
      const [prod] = await q('SELECT auto_fleets FROM products WHERE uid = ?', productUID);
      await this.#joinFleets(q, uid, projectUID, parse<string[]>(prod?.auto_fleets, []));
    });
  }
  static #device(r: Row): DeviceRecord {
    return {
      uid: str(r.uid), projectUID: str(r.project_uid), productUID: str(r.product_uid), sn: str(r.sn), sku: str(r.sku),
      tags: parse<string[]>(r.tags, []), fleetUIDs: (r.fleets as string[] | null) ?? [], provisioned: Number(r.provisioned), lastActivity: num(r.last_activity),
      disabled: !!r.disabled, lat: num(r.lat), lon: num(r.lon), locationWhen: num(r.location_when),
      voltage: num(r.voltage), temperature: num(r.temperature),
    };
  }
  /** A device row with its fleets, in one statement. */
  static readonly #DEVICE = `SELECT d.*, ARRAY(SELECT fleet_uid FROM device_fleets WHERE device_uid = d.uid ORDER BY fleet_uid COLLATE "C") fleets FROM devices d`;
  async device(uid: string): Promise<DeviceRecord | null> {
    const [r] = await this.#q(`${PostgresStore.#DEVICE} WHERE d.uid = ?`, uid);
    return r ? PostgresStore.#device(r) : null;
  }
  async devices(projectUID: string, f: DeviceFilter, limit: number, offset: number): Promise<{ devices: DeviceRecord[]; hasMore: boolean }> {
    // Values within one filter are OR-ed, different filters AND-ed; every value is bound, never spliced.
    const where = ['d.project_uid = ?'];
    const args: unknown[] = [projectUID];
    const list = (cond: string, vals?: string[]): void => {
      if (vals?.length) { where.push(cond); args.push(vals); }
    };
    list('d.uid = ANY(?)', f.deviceUIDs);
    list('d.sn = ANY(?)', f.serialNumbers);
    list('d.product_uid = ANY(?)', f.productUIDs);
    list('d.sku = ANY(?)', f.skus);
    list('jsonb_exists_any(d.tags, ?::text[])', f.tags);
    list('EXISTS (SELECT 1 FROM device_fleets df WHERE df.device_uid = d.uid AND df.fleet_uid = ANY(?))', f.fleetUIDs);
    const rows = await this.#q(`${PostgresStore.#DEVICE} WHERE ${where.join(' AND ')} ORDER BY d.provisioned, d.uid COLLATE "C" LIMIT ? OFFSET ?`,
      ...args, limit + 1, offset);
    const hasMore = rows.length > limit;
    return { devices: rows.slice(0, limit).map(PostgresStore.#device), hasMore };
  }
  async updateDevice(uid: string, u: DeviceUpdate): Promise<void> { await this.#updateDevice(this.#q, uid, u); }
  async #updateDevice(q: Query, uid: string, u: DeviceUpdate): Promise<void> {
    const { set, args } = PostgresStore.#deviceSet(u);
    if (set.length) await q(`UPDATE devices SET ${set.join(', ')} WHERE uid = ?`, ...args, uid);
  }
  /** The SET list of a device update (columns named in code, values bound). */
  static #deviceSet(u: DeviceUpdate): { set: string[]; args: unknown[] } {
    const cols: Record<string, unknown> = {
      sn: u.sn, sku: u.sku, tags: u.tags && JSON.stringify(u.tags), disabled: u.disabled,
      last_activity: u.lastActivity, lat: u.lat, lon: u.lon, location_when: u.locationWhen, voltage: u.voltage, temperature: u.temperature,
    };
    const keys = Object.keys(cols).filter((k) => cols[k] !== undefined);
    return { set: keys.map((k) => `${k} = ?`), args: keys.map((k) => cols[k]) };
  }
  async setDeviceFleets(uid: string, fleetUIDs: string[]): Promise<void> {
    await this.#tx(async (q) => {
      await q('DELETE FROM device_fleets WHERE device_uid = ?', uid);
      if (fleetUIDs.length) await q('INSERT INTO device_fleets (device_uid, fleet_uid) SELECT ?, unnest(?::text[]) ON CONFLICT DO NOTHING', uid, fleetUIDs);
    });
  }
  async deleteDevice(uid: string): Promise<void> {
    await this.#tx(async (q) => {
      await q(`INSERT INTO deleted_devices (uid, project_uid, deleted) SELECT uid, project_uid, ? FROM devices WHERE uid = ?
        ON CONFLICT (uid, project_uid) DO UPDATE SET deleted = excluded.deleted`, this.#now() / 1000, uid);
      await this.#purgeDevice(q, uid);
    });
  }
  /** The device and everything of it but its events (those stay with the project that received them). */
  async #purgeDevice(q: Query, uid: string): Promise<void> {
    await q('DELETE FROM env_vars WHERE scope IN (?,?) AND owner_uid = ?', 'device', 'device_default', uid);
    await q('DELETE FROM env_meta WHERE scope IN (?,?) AND owner_uid = ?', 'device', 'device_default', uid);
    await q('DELETE FROM dfu WHERE device_uid = ?', uid);
    await q('DELETE FROM devices WHERE uid = ?', uid);
  }

  async deviceSecret(uid: string): Promise<string | null> {
    const [r] = await this.#q('SELECT secret FROM devices WHERE uid = ?', uid);
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
    return this.#tx(async (q) => {
      const out: NoteRecord[] = [];
      for (const n of notes) out.push(await this.#addNote(q, deviceUID, file, n, origin));
      return out;
    });
  }
  /** The device row's change counter is the per-device lock: edits of one device commit in change order. */
  async #addNote(q: Query, deviceUID: string, file: string, n: NoteInput, origin: 'hub' | 'device'): Promise<NoteRecord> {
    const [r] = await q('UPDATE devices SET change = change + 1 WHERE uid = ? RETURNING change', deviceUID);
    if (!r) throw new Error(`no device ${deviceUID}`);
    const rec: NoteRecord = {
      file, id: n.id, body: n.deleted ? null : n.body ?? null, payload: n.deleted ? null : n.payload ?? null,
      time: n.time ?? this.#now() / 1000, deleted: !!n.deleted, change: Number(r.change), origin, delivered: false,
    };
    await q(`INSERT INTO notes (device_uid, file, id, body, payload, time, deleted, change, origin, delivered)
      VALUES (?,?,?,?,?,?,?,?,?,false) ON CONFLICT (device_uid, file, id) DO UPDATE SET body = excluded.body, payload = excluded.payload,
      time = excluded.time, deleted = excluded.deleted, change = excluded.change, origin = excluded.origin, delivered = false`,
    deviceUID, file, rec.id, rec.body === null ? null : JSON.stringify(rec.body), rec.payload, rec.time, rec.deleted, rec.change, origin);
    return rec;
  }
  async note(deviceUID: string, file: string, id: string): Promise<NoteRecord | null> {
    const [r] = await this.#q('SELECT * FROM notes WHERE device_uid = ? AND file = ? AND id = ?', deviceUID, file, id);
    return r ? PostgresStore.#note(r) : null;
  }
  async notes(deviceUID: string, file: string, includeDeleted: boolean): Promise<NoteRecord[]> {
    return (await this.#q(`SELECT * FROM notes WHERE device_uid = ? AND file = ? ${includeDeleted ? '' : 'AND NOT deleted'} ORDER BY change`,
      deviceUID, file)).map(PostgresStore.#note);
  }
  async changesSince(deviceUID: string, since: number, o: { file?: string; origin?: 'hub' | 'device'; limit?: number }): Promise<NoteRecord[]> {
    const where = ['device_uid = ?', 'change > ?'];
    const args: unknown[] = [deviceUID, since];
    if (o.file !== undefined) { where.push('file = ?'); args.push(o.file); }
    if (o.origin !== undefined) { where.push('origin = ?'); args.push(o.origin); }
    return (await this.#q(`SELECT * FROM notes WHERE ${where.join(' AND ')} ORDER BY change LIMIT ?`, ...args, o.limit ?? null)).map(PostgresStore.#note);
  }
  async pendingInbound(deviceUID: string): Promise<NoteRecord[]> {
    return (await this.#q(`SELECT * FROM notes WHERE device_uid = ? AND NOT delivered AND NOT deleted AND origin = 'hub'
      AND (file LIKE '%.qi' OR file LIKE '%.qis') ORDER BY change`, deviceUID)).map(PostgresStore.#note);
  }
  async markDelivered(deviceUID: string, keys: { file: string; id: string }[]): Promise<void> {
    // a delivered inbound-queue note has left the hub: it now lives on the device
    return this.removeNotes(deviceUID, keys);
  }
  async removeNotes(deviceUID: string, keys: { file: string; id: string }[]): Promise<void> {
    if (!keys.length) return;
    await this.#q(`DELETE FROM notes n USING unnest(?::text[], ?::text[]) k(file, id) WHERE n.device_uid = ? AND n.file = k.file AND n.id = k.id`,
      keys.map((k) => k.file), keys.map((k) => k.id), deviceUID);
  }
  async tracker(deviceUID: string, file: string, tracker: string): Promise<number | null> {
    const [r] = await this.#q('SELECT seen FROM trackers WHERE device_uid = ? AND file = ? AND tracker = ?', deviceUID, file, tracker);
    return r ? Number(r.seen) : null;
  }
  async setTracker(deviceUID: string, file: string, tracker: string, seen: number | null): Promise<void> {
    if (seen === null) await this.#q('DELETE FROM trackers WHERE device_uid = ? AND file = ? AND tracker = ?', deviceUID, file, tracker);
    else {
      await this.#q(`INSERT INTO trackers (device_uid, file, tracker, seen) VALUES (?,?,?,?)
        ON CONFLICT (device_uid, file, tracker) DO UPDATE SET seen = excluded.seen`, deviceUID, file, tracker, seen);
    }
  }
  async notefiles(deviceUID: string): Promise<{ file: string; total: number; change: number }[]> {
    return (await this.#q(`SELECT file, count(*) FILTER (WHERE NOT deleted) total, max(change) change FROM notes WHERE device_uid = ?
      GROUP BY file ORDER BY file COLLATE "C"`, deviceUID))
      .map((r) => ({ file: str(r.file), total: Number(r.total), change: Number(r.change) }));
  }
  async deleteNotefiles(deviceUID: string, files: string[]): Promise<void> {
    if (files.length) await this.#q('DELETE FROM notes WHERE device_uid = ? AND file = ANY(?)', deviceUID, files);
  }

  // ---- events
  async insertEvents(projectUID: string, events: EventRecord[], opts: { touch?: { deviceUID: string; update: DeviceUpdate }; dedup?: (string | undefined)[] } = {}): Promise<EventRecord[]> {
    // one statement is its own transaction: no BEGIN/COMMIT round trips
    return this.#insertEvents(this.#q, projectUID, events, opts);
  }
  /**
   * The batch, its route deliveries and the device's touch in one statement (one round trip:
   * the hub's time per ingest is mostly its round trips to the database).
   */
  async #insertEvents(q: Query, projectUID: string, events: EventRecord[], opts: { touch?: { deviceUID: string; update: DeviceUpdate }; dedup?: (string | undefined)[] }): Promise<EventRecord[]> {
    const touch = opts.touch ? PostgresStore.#deviceSet(opts.touch.update) : { set: [], args: [] };
    const touchSql = touch.set.length ? `, touch AS (UPDATE devices SET ${touch.set.join(', ')} WHERE uid = ?)` : '';
    if (!events.length) {
      if (touch.set.length) await q(`UPDATE devices SET ${touch.set.join(', ')} WHERE uid = ?`, ...touch.args, opts.touch!.deviceUID);
      return [];
    }
    const col = <T>(f: (e: EventRecord, i: number) => T): T[] => events.map(f);
    const rows = await q(`WITH ins AS (INSERT INTO events (uid, project_uid, device_uid, sn, file, session, captured, received, json, dedup)
        SELECT t.uid, ?, t.device, t.sn, t.file, t.session, t.captured, t.received, t.json, t.dedup
        FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::float8[], ?::float8[], ?::text[], ?::text[])
          WITH ORDINALITY t(uid, device, sn, file, session, captured, received, json, dedup, n)
        ORDER BY t.n ON CONFLICT DO NOTHING RETURNING seq, uid, file),
      routed AS (INSERT INTO deliveries (route_uid, event_uid, next_at)
        SELECT r.uid, ins.uid, ? FROM ins JOIN routes r ON r.project_uid = ? AND NOT r.disabled AND r.type IN ('http', 'notehub')
          AND (jsonb_array_length(r.files) = 0 OR jsonb_exists(r.files, ins.file))
        ORDER BY ins.seq, r.uid)${touchSql}
      SELECT uid FROM ins`, projectUID,
    col((e) => e.event), col((e) => e.device), col((e) => e.sn), col((e) => e.file), col((e) => e.session ?? null),
    col((e) => e.when), col((e) => e.received), col((e) => JSON.stringify(e)), col((_, i) => opts.dedup?.[i] ?? null),
    this.#now() / 1000, projectUID, ...(touch.set.length ? [...touch.args, opts.touch!.deviceUID] : []));
    const got = new Set(rows.map((r) => str(r.uid)));
    return events.filter((e) => got.has(e.event));
  }
  async events(qy: EventQuery): Promise<EventPage> {
    const where = ['e.project_uid = ?'];
    const args: unknown[] = [qy.projectUID];
    const list = (cond: string, vals?: string[]): void => {
      if (vals?.length) { where.push(cond); args.push(vals); }
    };
    list('e.device_uid = ANY(?)', qy.deviceUIDs);
    list('e.file = ANY(?)', qy.files);
    list('e.session = ANY(?)', qy.sessionUIDs);
    list('e.uid = ANY(?)', qy.eventUIDs);
    list('e.sn = ANY(?)', qy.serialNumbers);
    list('e.device_uid IN (SELECT device_uid FROM device_fleets WHERE fleet_uid = ANY(?))', qy.fleetUIDs);
    if (qy.startDate !== undefined) { where.push('e.captured >= ?'); args.push(qy.startDate); }
    if (qy.endDate !== undefined) { where.push('e.captured <= ?'); args.push(qy.endDate); }
    let order = `e.seq ${qy.descending ? 'DESC' : 'ASC'}`;
    if (qy.afterSeq !== undefined && qy.descending) { where.push('e.seq < ?'); args.push(qy.afterSeq); }
    if (qy.afterSeq !== undefined && !qy.descending) {
      // A cursor walking forward must never pass an event still to commit. Sequence numbers are
      // taken in one order and committed in another (a transaction may take n, another n+1 and
      // commit first), so the walk is in (transaction, seq) order and stops below the oldest
      // transaction still in flight: every event below that line is final, none can appear there.
      where.push('e.tx < pg_snapshot_xmin(pg_current_snapshot())');
      if (qy.afterSeq > 0) {
        where.push(`(e.tx, e.seq) > (coalesce((SELECT tx FROM events WHERE seq = ?), '0'::xid8), ?)`);
        args.push(qy.afterSeq, qy.afterSeq);
      }
      order = 'e.tx, e.seq';
    }
    const rows = await this.#q(`SELECT e.seq, e.json FROM events e WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ? OFFSET ?`,
      ...args, qy.limit + 1, qy.offset ?? 0);
    const hasMore = rows.length > qy.limit;
    const page = rows.slice(0, qy.limit);
    return { seqs: page.map((r) => Number(r.seq)), json: page.map((r) => str(r.json)), hasMore };
  }

  async latestEvents(projectUID: string, deviceUID: string): Promise<string[]> {
    const rows = await this.#q('SELECT DISTINCT ON (file) file, json FROM events WHERE project_uid = ? AND device_uid = ? ORDER BY file, seq DESC',
      projectUID, deviceUID);
    // by code point, as SQLite orders them (the database's collation may not)
    return rows.map((r) => [str(r.file), str(r.json)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((r) => r[1]);
  }

  // ---- device sync
  async syncDevice(deviceUID: string): Promise<{ hubEpoch: string | null; cardEpoch: string | null; upUntil: { [file: string]: number } }> {
    const [d] = await this.#q('SELECT hub_epoch, card_epoch FROM devices WHERE uid = ?', deviceUID);
    const upUntil: { [file: string]: number } = {};
    for (const r of await this.#q('SELECT file, up_until FROM sync_files WHERE device_uid = ?', deviceUID)) upUntil[str(r.file)] = Number(r.up_until);
    const hex = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
    return { hubEpoch: hex(d?.hub_epoch), cardEpoch: hex(d?.card_epoch), upUntil };
  }
  async setHubEpoch(deviceUID: string, epoch: string): Promise<void> {
    await this.#q('UPDATE devices SET hub_epoch = ? WHERE uid = ?', epoch, deviceUID);
  }
  async setCardEpoch(deviceUID: string, epoch: string, reset: boolean): Promise<void> {
    await this.#tx(async (q) => {
      await q('UPDATE devices SET card_epoch = ? WHERE uid = ?', epoch, deviceUID);
      if (!reset) return;
      await q('UPDATE sync_files SET up_until = 0 WHERE device_uid = ?', deviceUID);
      const own = await q(`SELECT file, id FROM notes WHERE device_uid = ? AND origin = 'device' AND (file LIKE '%.db' OR file LIKE '%.dbs') ORDER BY change`, deviceUID);
      for (const r of own) {
        const [c] = await q('UPDATE devices SET change = change + 1 WHERE uid = ? RETURNING change', deviceUID);
        await q(`UPDATE notes SET origin = 'hub', change = ? WHERE device_uid = ? AND file = ? AND id = ?`, c.change, deviceUID, r.file, r.id);
      }
    });
  }
  async putTemplate(deviceUID: string, file: string, version: number, definition: string): Promise<void> {
    await this.#q(`INSERT INTO sync_templates (device_uid, file, version, definition) VALUES (?,?,?,?)
      ON CONFLICT (device_uid, file, version) DO UPDATE SET definition = excluded.definition`, deviceUID, file, version, definition);
  }
  async template(deviceUID: string, file: string, version: number): Promise<string | null> {
    const [r] = await this.#q('SELECT definition FROM sync_templates WHERE device_uid = ? AND file = ? AND version = ?', deviceUID, file, version);
    return r ? str(r.definition) : null;
  }
  async syncTicket(deviceUID: string): Promise<SyncTicket | null> {
    const [r] = await this.#q('SELECT ticket, secret, issued FROM sync_tickets WHERE device_uid = ?', deviceUID);
    return r ? { ticket: str(r.ticket), secret: str(r.secret), issued: Number(r.issued) } : null;
  }
  async putSyncTicket(deviceUID: string, t: SyncTicket): Promise<void> {
    await this.#q(`INSERT INTO sync_tickets (device_uid, ticket, secret, issued) VALUES (?,?,?,?)
      ON CONFLICT (device_uid) DO UPDATE SET ticket = excluded.ticket, secret = excluded.secret, issued = excluded.issued`, deviceUID, t.ticket, t.secret, t.issued);
  }
  async commitUpload(c: UploadCommit): Promise<EventRecord[]> {
    return this.#tx(async (q) => {
      for (const n of c.notes) await this.#addNote(q, c.deviceUID, c.file, n.input, n.origin);
      const stored = await this.#insertEvents(q, c.projectUID, c.events, { dedup: c.dedup, touch: c.touch ? { deviceUID: c.deviceUID, update: c.touch } : undefined });
      await q(`INSERT INTO sync_files (device_uid, file, up_until) VALUES (?,?,?)
        ON CONFLICT (device_uid, file) DO UPDATE SET up_until = greatest(sync_files.up_until, excluded.up_until)`, c.deviceUID, c.file, c.upUntil);
      return stored;
    });
  }
  async putSyncSession(s: SyncSessionRecord): Promise<void> {
    await this.#q(`INSERT INTO sync_sessions (uid, device_uid, started, ended, remote, tls, features, notes_up, notes_down, reason)
      VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (uid) DO UPDATE SET device_uid = excluded.device_uid, started = excluded.started,
      ended = excluded.ended, remote = excluded.remote, tls = excluded.tls, features = excluded.features, notes_up = excluded.notes_up,
      notes_down = excluded.notes_down, reason = excluded.reason`,
    s.uid, s.deviceUID, s.started, s.ended, s.remote, s.tls, s.features, s.notesUp, s.notesDown, s.reason);
  }
  async syncSessions(deviceUID: string, limit: number, offset = 0): Promise<SyncSessionRecord[]> {
    return (await this.#q('SELECT * FROM sync_sessions WHERE device_uid = ? ORDER BY started DESC, uid LIMIT ? OFFSET ?', deviceUID, limit, offset)).map(syncSessionFromRow);
  }
  async isDeletedDevice(uid: string, projectUID: string): Promise<boolean> { return this.#deleted(this.#q, uid, projectUID); }
  async #deleted(q: Query, uid: string, projectUID: string): Promise<boolean> {
    // project '' marks a deletion that holds everywhere (kept for parity with the SQLite store)
    return (await q(`SELECT 1 FROM deleted_devices WHERE uid = ? AND project_uid IN ('', ?)`, uid, projectUID)).length > 0;
  }

  // ---- environment variables
  async envGet(scope: EnvScope, ownerUID: string): Promise<{ [k: string]: string }> {
    const out: { [k: string]: string } = {};
    for (const r of await this.#q('SELECT key, value FROM env_vars WHERE scope = ? AND owner_uid = ? ORDER BY key COLLATE "C"', scope, ownerUID)) out[str(r.key)] = str(r.value);
    return out;
  }
  async envPut(scope: EnvScope, ownerUID: string, vars: { [k: string]: string }, replace: boolean): Promise<void> {
    await this.#tx(async (q) => {
      if (replace) await q('DELETE FROM env_vars WHERE scope = ? AND owner_uid = ?', scope, ownerUID);
      const keys = Object.keys(vars);
      if (keys.length) {
        await q(`INSERT INTO env_vars (scope, owner_uid, key, value) SELECT ?, ?, k, v FROM unnest(?::text[], ?::text[]) t(k, v)
          ON CONFLICT (scope, owner_uid, key) DO UPDATE SET value = excluded.value`, scope, ownerUID, keys, keys.map((k) => vars[k]));
      }
      await this.#envTouched(q, scope, ownerUID);
    });
  }
  async envDelete(scope: EnvScope, ownerUID: string, key: string): Promise<boolean> {
    return this.#tx(async (q) => {
      const gone = (await q('DELETE FROM env_vars WHERE scope = ? AND owner_uid = ? AND key = ? RETURNING 1', scope, ownerUID, key)).length > 0;
      if (gone) await this.#envTouched(q, scope, ownerUID);
      return gone;
    });
  }
  async #envTouched(q: Query, scope: EnvScope, ownerUID: string): Promise<void> {
    await q(`INSERT INTO env_meta (scope, owner_uid, modified) VALUES (?,?,?)
      ON CONFLICT (scope, owner_uid) DO UPDATE SET modified = excluded.modified`, scope, ownerUID, this.#now() / 1000);
  }
  async envModified(scope: EnvScope, ownerUID: string): Promise<number | null> {
    const [r] = await this.#q('SELECT modified FROM env_meta WHERE scope = ? AND owner_uid = ?', scope, ownerUID);
    return r ? Number(r.modified) : null;
  }

  // ---- firmware and DFU
  async putFirmware(f: FirmwareRecord, data: Uint8Array): Promise<void> {
    await this.#q(`INSERT INTO firmware (project_uid, type, filename, version, notes, md5, length, created, data, info)
      VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (project_uid, type, filename) DO UPDATE SET version = excluded.version, notes = excluded.notes,
      md5 = excluded.md5, length = excluded.length, created = excluded.created, data = excluded.data, info = excluded.info`,
    f.projectUID, f.type, f.filename, f.version, f.notes, f.md5, f.length, f.created, Buffer.from(data),
    JSON.stringify({ source: f.source, crc32: f.crc32, modified: f.modified }));
  }
  async firmware(projectUID: string, f: { type?: string; filename?: string; version?: string }): Promise<FirmwareRecord[]> {
    return (await this.#q(`SELECT project_uid, type, filename, version, notes, md5, length, created, info FROM firmware WHERE project_uid = ?
      AND (?::text IS NULL OR type = ?) AND (?::text IS NULL OR filename = ?) AND (?::text IS NULL OR version = ?) ORDER BY created`,
    projectUID, f.type ?? null, f.type ?? null, f.filename ?? null, f.filename ?? null, f.version ?? null, f.version ?? null)).map(firmwareFromRow);
  }
  async firmwareData(projectUID: string, type: string, filename: string): Promise<Uint8Array | null> {
    const [r] = await this.#q('SELECT data FROM firmware WHERE project_uid = ? AND type = ? AND filename = ?', projectUID, type, filename);
    return r ? new Uint8Array(r.data as Buffer) : null;
  }
  async firmwareChunk(projectUID: string, type: string, filename: string, offset: number, length: number): Promise<Uint8Array | null> {
    // substring of a bytea counts bytes from 1: only the chunk leaves the database
    const [r] = await this.#q('SELECT substring(data from ?::int for ?::int) AS chunk FROM firmware WHERE project_uid = ? AND type = ? AND filename = ?',
      offset + 1, length, projectUID, type, filename);
    return r ? new Uint8Array((r.chunk as Buffer | null) ?? []) : null;
  }
  async putDfu(d: DfuRecord): Promise<void> {
    await this.#q(`INSERT INTO dfu (device_uid, type, project_uid, filename, status, text, requested, updated, info) VALUES (?,?,?,?,?,?,?,?,?)
      ON CONFLICT (device_uid, type) DO UPDATE SET project_uid = excluded.project_uid, filename = excluded.filename, status = excluded.status,
      text = excluded.text, requested = excluded.requested, updated = excluded.updated, info = excluded.info`,
    d.deviceUID, d.type, d.projectUID, d.filename, d.status, d.text, d.requested, d.updated,
    JSON.stringify({ read: d.read, length: d.length, version: d.version, history: d.history }));
  }
  async dfu(deviceUID: string, type: string): Promise<DfuRecord | null> {
    const [r] = await this.#q('SELECT * FROM dfu WHERE device_uid = ? AND type = ?', deviceUID, type);
    if (!r) return null;
    return dfuFromRow(r);
  }

  // ---- routes and deliveries
  async putRoute(r: RouteRecord): Promise<void> {
    await this.#q(`INSERT INTO routes (uid, project_uid, label, type, url, headers, files, disabled, created, modified, proxy)
      VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (uid) DO UPDATE SET project_uid = excluded.project_uid, label = excluded.label,
      type = excluded.type, url = excluded.url, headers = excluded.headers, files = excluded.files, disabled = excluded.disabled,
      created = excluded.created, modified = excluded.modified, proxy = excluded.proxy`,
    r.uid, r.projectUID, r.label, r.type, r.url, JSON.stringify(r.headers), JSON.stringify(r.files), r.disabled, r.created, r.modified,
    r.proxy ? JSON.stringify(r.proxy) : r.publisher ? JSON.stringify(r.publisher) : null);
  }

  // ---- the NoteHub publishing API
  async putPublisher(p: PublisherRecord): Promise<void> {
    await this.#q(`INSERT INTO publishers (pid, psk, description, created, revoked) VALUES (?,?,?,?,?)
      ON CONFLICT (pid) DO UPDATE SET psk = excluded.psk, description = excluded.description, created = excluded.created, revoked = excluded.revoked`,
    p.pid, p.psk, p.description, p.created, p.revoked);
  }
  async publisher(pid: string): Promise<PublisherRecord | null> {
    const [r] = await this.#q('SELECT * FROM publishers WHERE pid = ?', pid);
    return r ? { pid: str(r.pid), psk: str(r.psk), description: str(r.description), created: Number(r.created), revoked: !!r.revoked } : null;
  }
  async createPublishedNote(n: PublishedNoteRecord): Promise<boolean> {
    const rows = await this.#q(`INSERT INTO published_notes (note_id, short_id, pid, note, title, password, theme, published, edited, views)
      VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING note_id`,
    n.noteID, n.shortID, n.pid, n.note, n.title, n.password, n.theme, n.published, n.edited, n.views);
    return rows.length > 0;
  }
  async publishedNote(id: string): Promise<PublishedNoteRecord | null> {
    const [r] = await this.#q('SELECT * FROM published_notes WHERE note_id = ? OR short_id = ?', id, id);
    return r ? {
      noteID: str(r.note_id), shortID: str(r.short_id), pid: str(r.pid), note: str(r.note), title: str(r.title), password: str(r.password),
      theme: str(r.theme), published: Number(r.published), edited: r.edited === null || r.edited === undefined ? null : Number(r.edited), views: Number(r.views),
    } : null;
  }
  async updatePublishedNote(noteID: string, note: string, title: string, edited: number): Promise<void> {
    await this.#q('UPDATE published_notes SET note = ?, title = ?, edited = ? WHERE note_id = ?', note, title, edited, noteID);
  }
  async countNoteView(noteID: string): Promise<void> {
    await this.#q('UPDATE published_notes SET views = views + 1 WHERE note_id = ?', noteID);
  }
  async route(uid: string): Promise<RouteRecord | null> {
    const [r] = await this.#q('SELECT * FROM routes WHERE uid = ?', uid);
    return r ? routeFromRow(r) : null;
  }
  async routesOf(projectUID: string): Promise<RouteRecord[]> {
    return (await this.#q('SELECT * FROM routes WHERE project_uid = ? ORDER BY created', projectUID)).map(routeFromRow);
  }
  async deleteRoute(uid: string): Promise<void> {
    await this.#tx(async (q) => {
      await q('DELETE FROM deliveries WHERE route_uid = ?', uid);
      await q('DELETE FROM route_logs WHERE route_uid = ?', uid);
      await q('DELETE FROM routes WHERE uid = ?', uid);
    });
  }
  async dueRoutes(now: number): Promise<{ routeUID: string; projectUID: string }[]> {
    // one index probe per route: the routes table is small, the queue may not be
    return (await this.#q(`SELECT uid, project_uid FROM (SELECT uid, project_uid,
      (SELECT min(q.next_at) FROM deliveries q WHERE q.route_uid = r.uid AND NOT q.dead) due FROM routes r WHERE NOT r.disabled) x
      WHERE due <= ? ORDER BY due`, now)).map((r) => ({ routeUID: str(r.uid), projectUID: str(r.project_uid) }));
  }
  /**
   * Due deliveries are claimed: rows another process holds are skipped, and the ones returned are
   * not due again for claimSeconds (deliveryDone or deliveryRetry settles them first, or a process
   * that died with them lets them fall due again).
   */
  async dueDeliveries(now: number, limit: number, routeUID?: string): Promise<DeliveryRecord[]> {
    const rows = await this.#q(`WITH c AS (
        SELECT q.id, q.next_at FROM deliveries q JOIN routes r ON r.uid = q.route_uid
        WHERE (?::text IS NULL OR q.route_uid = ?) AND NOT q.dead AND q.next_at <= ? AND NOT r.disabled
        ORDER BY q.next_at, q.id LIMIT ? FOR UPDATE OF q SKIP LOCKED),
      u AS (UPDATE deliveries d SET next_at = ? FROM c WHERE d.id = c.id RETURNING d.id, d.route_uid, d.event_uid, d.attempts, c.next_at)
      SELECT u.*, e.json, r.url, r.headers FROM u JOIN routes r ON r.uid = u.route_uid JOIN events e ON e.uid = u.event_uid
      ORDER BY u.next_at, u.id`, routeUID ?? null, routeUID ?? null, now, limit, now + this.#claim);
    return rows.map((r) => ({ id: Number(r.id), routeUID: str(r.route_uid), eventUID: str(r.event_uid), eventJSON: str(r.json), url: str(r.url),
      headers: parse(r.headers, {}), attempts: Number(r.attempts), nextAt: Number(r.next_at) }));
  }
  async deliveryDone(id: number): Promise<void> { await this.#q('DELETE FROM deliveries WHERE id = ?', id); }
  async deliveryRetry(id: number, nextAt: number, error: string, dead: boolean): Promise<void> {
    await this.#q('UPDATE deliveries SET attempts = attempts + 1, next_at = ?, last_error = ?, dead = ? WHERE id = ?', nextAt, error, dead, id);
  }
  async deliveryStats(): Promise<{ pending: number; failed: number }> {
    const [r] = await this.#q('SELECT count(*) FILTER (WHERE NOT dead) pending, count(*) FILTER (WHERE dead) failed FROM deliveries');
    return { pending: Number(r.pending ?? 0), failed: Number(r.failed ?? 0) };
  }
  async addRouteLog(l: RouteLogRecord): Promise<void> {
    // one statement: the attempt, and what falls out of the route's newest ROUTE_LOG_KEEP
    await this.#q(`WITH ins AS (INSERT INTO route_logs (route_uid, project_uid, event_uid, device_uid, file, captured, logged, attempt, status, error, text, url, dead)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?))
      DELETE FROM route_logs WHERE route_uid = ? AND id <= (SELECT id FROM route_logs WHERE route_uid = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    l.routeUID, l.projectUID, l.eventUID, l.deviceUID, l.file, l.captured, l.when, l.attempt, l.status, l.error, l.text, l.url, l.dead,
    l.routeUID, l.routeUID, ROUTE_LOG_KEEP - 1);
  }
  async routeLogs(q: RouteLogQuery): Promise<RouteLogRecord[]> {
    const { where, order, args } = routeLogSql(q, (col, vals) => [`${col} = ANY(?)`, [vals]]);
    return (await this.#q(`SELECT * FROM route_logs WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?`, ...args, q.limit, q.offset)).map(routeLogFromRow);
  }
}
