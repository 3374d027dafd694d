/**
 * Hostile-testing regressions of the HTTP API (issue 10, hub defects 6-8): noisy neighbours
 * (event reads off the event loop, bounded page depth, indexes, per-route delivery), login
 * throttling, private data files, and Notehub-shaped JSON on every error.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startHub, openStore, DATABASE_FILE, type RunningHub } from '../../hub/server';
import { Hub } from '../../hub/hub';
import { LoginThrottle } from '../../hub/auth';
import { FileFlash } from '../../hosts/node/file-flash';
import { Simulator } from '../../hosts/node/simulator';
import { call, removeDir, spawnHub, tempDir, type Res } from './helpers';
import { waitFor } from '../support/wait';

type Data = Record<string, unknown>;
const quiet = { log: (): void => undefined };
const mode = (p: string): number => statSync(p).mode & 0o777;

/** Bytes in, bytes out on a raw socket: what Node's HTTP server answers before any handler runs. */
function rawExchange(url: string, write: (put: (b: string | Buffer) => boolean) => void): Promise<string> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const s = connect(Number(u.port), u.hostname);
    let got = '';
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    s.on('end', () => ok(got));
    s.on('close', () => ok(got));
    s.on('error', (e) => (got ? ok(got) : fail(e)));
    s.on('connect', () => write((b) => s.write(b)));
  });
}

/** Split a raw HTTP/1.1 answer into status, headers and JSON body. */
function parseRaw(text: string): { status: number; headers: string; body: Data | null } {
  const at = text.indexOf('\r\n\r\n');
  const head = at < 0 ? text : text.slice(0, at);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  let body: Data | null = null;
  try { body = JSON.parse(text.slice(at + 4)) as Data; } catch { /* not JSON */ }
  return { status, headers: head, body };
}

// ------------------------------------------------------------------ 6. noisy neighbours

describe('noisy neighbours: event reads', () => {
  let h: RunningHub;
  let dir: string;
  let base: string;
  let tok: string;
  beforeAll(async () => {
    dir = tempDir('deep');
    h = await startHub({ dataDir: dir, port: 0, ...quiet });
    tok = h.bootstrap!.token;
    base = `${h.url}/v1/projects/${h.bootstrap!.projectUID}`;
    await h.hub.devices.provisionDevice(h.bootstrap!.productUID, 'dev:deep', { sn: 'deep' });
    await h.hub.events.ingestNotes('dev:deep', 'a.qo', Array.from({ length: 30 }, (_, i) => ({ body: { i }, when: 1700000000 + i })));
  });
  afterAll(async () => { await h.close(); removeDir(dir); });

  it('refuses event pages deeper than 10,000 events (400, pointing at events-cursor)', async () => {
    const deep = await call(`${base}/events?pageNum=1000&startDate=1&endDate=1800000000`, tok);
    expect(deep.status).toBe(400);
    expect(deep.body).toEqual({ err: expect.stringContaining('events-cursor'), code: 400, status: 'Bad Request', error: expect.any(String) });
    expect((await call(`${base}/events?pageSize=1000&pageNum=11`, tok)).status).toBe(400);
    expect((await call(`${h.url}/v1/projects/${h.bootstrap!.projectUID}/fleets/${encodeURIComponent('fleet:x')}/events?pageNum=1000`, tok)).status).toBe(404);
    // the deepest page allowed still answers
    const last = await call(`${base}/events?pageSize=1000&pageNum=10`, tok);
    expect([last.status, last.body.events]).toEqual([200, []]);
    const page = await call(`${base}/events?pageSize=10&pageNum=3&startDate=1700000005&endDate=1700000100`, tok);
    expect((page.body.events as Data[]).map((e) => (e.body as Data).i)).toEqual([25, 26, 27, 28, 29]);
  });

  it('answers date ranges and the device order from indexes (EXPLAIN QUERY PLAN)', () => {
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    try {
      const plan = (sql: string, ...args: unknown[]): string => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Data[]).map((r) => r.detail).join(' | ');
      // the statement SqliteStore.events() builds for a date range
      const events = plan('SELECT e.seq, e.json FROM events e WHERE e.project_uid = ? AND e.captured >= ? AND e.captured <= ? ORDER BY e.seq ASC LIMIT ? OFFSET ?',
        'app:x', 1, 2, 51, 0);
      expect(events).toMatch(/USING INDEX \w+ \(project_uid=\? AND captured>\? AND captured<\?\)/);
      const devices = plan('SELECT d.* FROM devices d WHERE d.project_uid = ? ORDER BY d.provisioned, d.uid LIMIT ? OFFSET ?', 'app:x', 51, 0);
      expect(devices).toMatch(/USING INDEX/);
      expect(devices).not.toMatch(/TEMP B-TREE/);
      // one route's due deliveries, and the routes with any due (SqliteStore.dueDeliveries, dueRoutes)
      const due = plan(`SELECT q.id, q.route_uid, q.event_uid, q.attempts, q.next_at, e.json, r.url, r.headers
        FROM deliveries q JOIN routes r ON r.uid = q.route_uid JOIN events e ON e.uid = q.event_uid
        WHERE q.route_uid = ? AND q.dead = 0 AND q.next_at <= ? AND r.disabled = 0 ORDER BY q.next_at, q.id LIMIT ?`, 'r', 1, 4);
      expect(due).toMatch(/SEARCH q USING (COVERING )?INDEX \w+ \(route_uid=\? AND dead=\? AND next_at<\?\)/);
      const routes = plan(`SELECT uid, project_uid, (SELECT min(q.next_at) FROM deliveries q WHERE q.route_uid = r.uid AND q.dead = 0) due
        FROM routes r WHERE r.disabled = 0 AND due <= ? ORDER BY due`, 1);
      expect(routes).toMatch(/SEARCH q USING (COVERING )?INDEX \w+ \(route_uid=\? AND dead=\?\)/);
    } finally { db.close(); }
  });
});

describe('noisy neighbours: one tenant\'s heavy reads do not hold up another tenant', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof spawnHub>>;
  const t = { a: '', b: '', pa: '', pb: '' };
  beforeAll(async () => {
    dir = tempDir('noisy');
    const hub = new Hub(openStore(dir));
    await hub.accounts.createUser('alice', 'alice-password');
    await hub.accounts.createUser('bob', 'bob-password');
    t.pa = (await hub.projects.createProject('alice', 'A')).uid;
    t.pb = (await hub.projects.createProject('bob', 'B')).uid;
    t.a = (await hub.accounts.createToken('alice')).token;
    t.b = (await hub.accounts.createToken('bob')).token;
    const prodB = await hub.projects.createProduct(t.pb, 'com.example.bob:b');
    await hub.devices.provisionDevice(prodB.uid, 'dev:b1', { sn: 'b1' });
    await hub.events.ingestNotes('dev:b1', 'b.qo', [{ body: { mine: true } }]);
    await hub.close();
    // tenant A: 300,000 events, written straight into the table (the API would take minutes)
    const db = new Database(join(dir, DATABASE_FILE));
    const ins = db.prepare('INSERT INTO events (uid, project_uid, device_uid, sn, file, captured, received, json) VALUES (?,?,?,?,?,?,?,?)');
    db.transaction(() => {
      for (let i = 0; i < 300_000; i++) ins.run(`e${i}`, t.pa, `dev:a${i % 50}`, `a${i % 50}`, 'a.qo', 1700000000 + i, 1700000000 + i, `{"event":"e${i}","body":{"i":${i}}}`);
    })();
    db.close();
    server = await spawnHub(dir, ['--device-port', 'off']);
  }, 120_000);
  afterAll(async () => { await server?.stop(); removeDir(dir); });

  it('the other tenant\'s requests complete while ten heavy event queries are in flight', async () => {
    const order: string[] = [];
    const track = (name: string, p: Promise<Res>): Promise<Res> => p.then((r) => { order.push(name); return r; });
    // each scans all of A's events: a filter no index serves, matching nothing
    const heavy = Array.from({ length: 10 }, (_, i) =>
      track(`A${i}`, call(`${server.url}/v1/projects/${t.pa}/events-cursor?serialNumber=nobody&limit=1000`, t.a)));
    const projects = track('B projects', call(`${server.url}/v1/projects`, t.b));
    // a date range: B's query also goes to a reader thread, where A's queries wait their turn
    const events = track('B events', call(`${server.url}/v1/projects/${t.pb}/events?startDate=1`, t.b));
    const [p, e] = await Promise.all([projects, events]);
    const done = await Promise.all(heavy);
    expect(done.map((r) => r.status)).toEqual(new Array(10).fill(200));
    expect([p.status, (p.body.projects as Data[]).map((x) => x.uid)]).toEqual([200, [t.pb]]);
    expect([e.status, (e.body.events as Data[]).length]).toEqual([200, 1]);
    // B's answers came back before most of A's queries finished (by order, not by the clock)
    const before = (name: string): number => order.slice(0, order.indexOf(name)).filter((n) => n.startsWith('A')).length;
    expect({ projects: before('B projects') <= 4, events: before('B events') <= 4, order }).toMatchObject({ projects: true, events: true });
  });
});

describe('noisy neighbours: route delivery', () => {
  /** An HTTP endpoint that accepts requests and never answers them. */
  class Hung {
    server: Server;
    held: ServerResponse[] = [];
    max = 0;
    #waiters: (() => void)[] = [];
    constructor() {
      this.server = createServer((req, res) => {
        req.resume();
        this.held.push(res);
        const open = this.held.filter((r) => !r.writableEnded && !r.destroyed && !r.socket?.destroyed).length;
        this.max = Math.max(this.max, open);
        for (const w of this.#waiters.splice(0)) w();
      });
    }
    async listen(): Promise<string> {
      await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hang`;
    }
    async requests(n: number): Promise<void> { while (this.held.length < n) await new Promise<void>((r) => this.#waiters.push(r)); }
    close(): void { this.server.closeAllConnections(); this.server.close(); }
  }
  /** A route endpoint that answers 200 and reports each delivery. */
  function sink(): { server: Server; got: Data[]; next: () => Promise<Data> } {
    const got: Data[] = [];
    let waiter: ((d: Data) => void) | null = null;
    const server = createServer((req: IncomingMessage, res) => {
      let s = '';
      req.on('data', (d: Buffer) => { s += d.toString(); });
      req.on('end', () => { const d = JSON.parse(s) as Data; got.push(d); res.end(); waiter?.(d); waiter = null; });
    });
    return { server, got, next: () => new Promise((r) => { waiter = r; }) };
  }
  /** Fails (instead of hanging the suite) when a delivery that must come never does. */
  const within = <T>(p: Promise<T>, what: string): Promise<T> => Promise.race([p, new Promise<T>((_, no) => setTimeout(() => no(new Error(what)), 10_000).unref())]);

  let h: RunningHub;
  let dir: string;
  let hung: Hung;
  let ok: ReturnType<typeof sink>;
  const ids = { pa: '', pb: '' };
  beforeAll(async () => {
    dir = tempDir('routes');
    // a delivery that hangs is only given up after 10 minutes here: nothing may wait for it
    h = await startHub({ dataDir: dir, port: 0, ...quiet, delivery: { pollMs: 50, timeoutMs: 600_000, perProject: 2 } });
    hung = new Hung();
    const hungUrl = await hung.listen();
    ok = sink();
    await new Promise<void>((r) => ok.server.listen(0, '127.0.0.1', r));
    const okUrl = `http://127.0.0.1:${(ok.server.address() as AddressInfo).port}/in`;
    const hub = h.hub;
    ids.pa = h.bootstrap!.projectUID;
    await hub.devices.provisionDevice(h.bootstrap!.productUID, 'dev:a', { sn: 'a' });
    for (let i = 0; i < 5; i++) await hub.routes.putRoute(ids.pa, { url: `${hungUrl}/${i}`, label: `slow ${i}` });
    await hub.accounts.createUser('bob', 'bob-password');
    ids.pb = (await hub.projects.createProject('bob', 'B')).uid;
    await hub.devices.provisionDevice((await hub.projects.createProduct(ids.pb, 'com.example.bob:b')).uid, 'dev:b', { sn: 'b' });
    await hub.routes.putRoute(ids.pb, { url: okUrl, label: 'fast' });
  });
  afterAll(async () => {
    hung.close();
    ok.server.close();
    await h.close();
    removeDir(dir);
  });

  it('a hung route delays neither another tenant\'s route nor more than its project\'s share of deliveries', async () => {
    // tenant A's five routes hang on its first events
    await h.hub.events.ingestNotes('dev:a', 'a.qo', [{ body: { n: 1 } }, { body: { n: 2 } }]);
    await within(hung.requests(2), 'tenant A\'s routes were never called');
    // tenant B's event is delivered while A's deliveries are still held open
    const got = ok.next();
    await h.hub.events.ingestNotes('dev:b', 'b.qo', [{ body: { b: 1 } }]);
    expect(await within(got, 'tenant B\'s delivery waited for tenant A\'s hung route')).toMatchObject({ device: 'dev:b', body: { b: 1 } });
    expect(hung.held.every((r) => !r.writableEnded)).toBe(true);
    // A's routes hold at most perProject (2) deliveries at once, however many are due
    expect(hung.max).toBe(2);
  });

  it('logs a delivery whose answer\'s body never ends within a second, with what came of it', async () => {
    // 200 at once, then a body that never finishes (the route log reads only its start)
    const dribble = createServer((req, res) => { req.resume(); res.writeHead(200); res.write('partial'); });
    await new Promise<void>((r) => dribble.listen(0, '127.0.0.1', r));
    try {
      const project = (await h.hub.projects.createProject('bob', 'C')).uid;
      await h.hub.devices.provisionDevice((await h.hub.projects.createProduct(project, 'com.example.bob:c')).uid, 'dev:c', { sn: 'c' });
      const route = await h.hub.routes.putRoute(project, { url: `http://127.0.0.1:${(dribble.address() as AddressInfo).port}/in`, label: 'dribble' });
      await h.hub.events.ingestNotes('dev:c', 'c.qo', [{ body: { n: 1 } }, { body: { n: 2 } }, { body: { n: 3 } }]);
      const logs = await within(waitFor('three attempts logged', async () => {
        const l = await h.hub.routes.routeLogs(project, route.uid, { sortBy: 'date', descending: false, limit: 10, offset: 0 });
        return l.length === 3 ? l : undefined;
      }), 'the deliveries waited for a body that never ends');
      expect(logs.map((l) => [l.status, l.error, l.text])).toEqual(Array(3).fill([200, null, 'partial']));
    } finally { dribble.closeAllConnections(); dribble.close(); }
  });
});

// ------------------------------------------------------------------ 7. throttling and secrets

describe('login throttling', () => {
  let h: RunningHub;
  let dir: string;
  beforeEach(async () => {
    dir = tempDir('login');
    h = await startHub({ dataDir: dir, port: 0, ...quiet, adminPassword: 'admin-password-1' });
  });
  afterEach(async () => { await h.close(); removeDir(dir); });
  const login = (username: string, password: string): Promise<Res> => call(`${h.url}/auth/login`, null, 'POST', { username, password });

  it('answers 429 with Retry-After after 5 failed logins for one user, even to the right password', async () => {
    await h.hub.accounts.createUser('bob', 'bob-password');
    for (let i = 0; i < 5; i++) expect((await login('admin', `wrong-${i}`)).status).toBe(401);
    const r = await login('admin', 'admin-password-1');
    expect(r.status).toBe(429);
    expect(r.body).toEqual({ err: expect.stringMatching(/too many failed/), code: 429, status: 'Too Many Requests', error: expect.any(String) });
    const wait = Number(r.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(15 * 60);
    // another user from the same address still logs in
    expect((await login('bob', 'bob-password')).status).toBe(200);
  });

  it('throttles one address guessing across many users, and OAuth client secrets', async () => {
    for (let i = 0; i < 20; i++) expect((await login(`user${i}`, 'guess-guess')).status).toBe(401);
    const r = await login('admin', 'admin-password-1');
    expect([r.status, r.body.code]).toEqual([429, 429]);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('throttles failed client-credential grants per client', async () => {
    const c = await h.hub.accounts.createClient(h.bootstrap!.projectUID);
    const grant = (secret: string): Promise<Res> => call(`${h.url}/oauth2/token`, null, 'POST',
      `grant_type=client_credentials&client_id=${c.clientId}&client_secret=${secret}`, { 'Content-Type': 'application/x-www-form-urlencoded' });
    for (let i = 0; i < 5; i++) expect((await grant(`nope${i}`)).status).toBe(401);
    const r = await grant(c.clientSecret);
    expect([r.status, r.body.status]).toEqual([429, 'Too Many Requests']);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('counts failures in a window per key (injected clock)', () => {
    const t = new LoginThrottle({ perKey: 3, windowMs: 60_000 });
    const t0 = 1_000_000;
    expect(t.check(['user:a', 'addr:1'], t0)).toBe(0);
    for (let i = 0; i < 3; i++) t.fail(['user:a', 'addr:1'], t0 + i);
    expect(t.check(['user:a'], t0 + 10)).toBe(60);
    expect(t.check(['user:b', 'addr:2'], t0 + 10)).toBe(0);
    expect(t.check(['user:a'], t0 + 30_000)).toBe(30);
    expect(t.check(['user:a'], t0 + 60_000)).toBe(0);
    t.fail(['user:c'], t0); t.fail(['user:c'], t0);
    t.succeed(['user:c']);
    t.fail(['user:c'], t0);
    expect(t.check(['user:c'], t0)).toBe(0);
  });
});

describe('data files are private', () => {
  it('creates hub.sqlite, its -wal and -shm 0600 in a 0700 data directory', async () => {
    const root = tempDir('perm');
    try {
      const dir = join(root, 'new', 'hub');
      const h = await startHub({ dataDir: dir, port: 0, ...quiet });
      try {
        expect(mode(dir)).toBe(0o700);
        for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]) expect([f, mode(join(dir, f))]).toEqual([f, 0o600]);
      } finally { await h.close(); }
    } finally { removeDir(root); }
  });

  it('tightens a database an older version left world-readable', async () => {
    const dir = tempDir('perm-old');
    try {
      chmodSync(dir, 0o755);
      await openStore(dir).close();
      for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]) if (existsSync(join(dir, f))) chmodSync(join(dir, f), 0o644);
      const s = openStore(dir);
      try {
        for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]) if (existsSync(join(dir, f))) expect([f, mode(join(dir, f))]).toEqual([f, 0o600]);
        // a directory the user chose is left as it is
        expect(mode(dir)).toBe(0o755);
      } finally { await s.close(); }
    } finally { removeDir(dir); }
  });

  it('creates the card\'s flash image 0600 in a 0700 directory', () => {
    const root = tempDir('perm-card');
    try {
      const dir = join(root, 'card');
      const sim = new Simulator({ dataDir: dir, flashSize: 64 * 1024, logLevel: 'silent' });
      sim.close();
      expect([mode(dir), mode(join(dir, 'flash.bin'))]).toEqual([0o700, 0o600]);
      // an image from an older version is tightened when opened
      const old = join(root, 'old.bin');
      writeFileSync(old, Buffer.alloc(64 * 1024, 0xff), { mode: 0o644 });
      chmodSync(old, 0o644);
      new FileFlash(old).close();
      expect(mode(old)).toBe(0o600);
    } finally { removeDir(root); }
  });
});

// ------------------------------------------------------------------ 8. every error is the documented JSON

describe('every error is {err, code, status}', () => {
  let h: RunningHub;
  let dir: string;
  let base: string;
  let tok: string;
  beforeAll(async () => {
    dir = tempDir('errors');
    h = await startHub({ dataDir: dir, port: 0, ...quiet });
    tok = h.bootstrap!.token;
    base = `${h.url}/v1/projects/${h.bootstrap!.projectUID}`;
  });
  afterAll(async () => { await h.close(); removeDir(dir); });

  it('a malformed request line gets a JSON 400 from the server itself', async () => {
    const r = parseRaw(await rawExchange(h.url, (put) => put('NOT AN HTTP REQUEST\r\n\r\n')));
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ err: expect.any(String), code: 400, status: 'Bad Request', error: expect.any(String) });
    expect(r.headers).toMatch(/content-type: application\/json/i);
  });

  it('oversized headers get a JSON 431', async () => {
    const r = parseRaw(await rawExchange(h.url, (put) => put(`GET /v1/projects HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)));
    expect(r.status).toBe(431);
    expect(r.body).toEqual({ err: expect.any(String), code: 431, status: 'Request Header Fields Too Large', error: expect.any(String) });
  });

  it('a declared body far over the limit gets a JSON 413 at once, not a reset', async () => {
    const text = await rawExchange(h.url, (put) => {
      put(`POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`);
      // keep sending, as a client would, until the answer arrives (or the connection is cut)
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const more = (): void => { while (sent < 100 && put(chunk)) sent++; };
      more();
      const timer = setInterval(more, 5);
      setTimeout(() => clearInterval(timer), 20_000).unref();
      timer.unref();
    });
    const r = parseRaw(text);
    expect(r.status).toBe(413);
    expect(r.body).toEqual({ err: expect.any(String), code: 413, status: 'Payload Too Large', error: expect.any(String) });
  });

  it('refuses malformed percent-encoding in query strings (400)', async () => {
    for (const q of ['pageSize=%ZZ', 'deviceUID=%E0%A4%A', 'files=%FF', 'sortOrder=a%']) {
      const r = await call(`${base}/events?${q}`, tok);
      expect([q, r.status, r.body]).toEqual([q, 400, { err: expect.stringContaining('percent-encoding'), code: 400, status: 'Bad Request', error: expect.any(String) }]);
    }
    expect((await call(`${base}/events?deviceUID=${encodeURIComponent('dev:é%')}`, tok)).status).toBe(200);
  });

  it('refuses an environment variable named __proto__ instead of dropping it', async () => {
    const put = await call(`${base}/environment_variables`, tok, 'PUT', '{"environment_variables":{"__proto__":"x","ok":"1"}}', { 'Content-Type': 'application/json' });
    expect(put.status).toBe(400);
    expect(put.body).toEqual({ err: expect.stringContaining('__proto__'), code: 400, status: 'Bad Request', error: expect.any(String) });
    expect((await call(`${base}/environment_variables`, tok)).body.environment_variables).toEqual({});
    // names that are Object.prototype members are ordinary names
    const other = await call(`${base}/environment_variables`, tok, 'PUT', { environment_variables: { constructor: 'c', toString: 't' } });
    expect(other.body.environment_variables).toEqual({ constructor: 'c', toString: 't' });
  });
});
