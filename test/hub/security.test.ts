/**
 * Security of the HTTP API, route by route from the live route table: authentication,
 * project isolation, hostile path and query strings, body limits, rate limiting.
 * The hub runs in this process on loopback (these are HTTP semantics; notehubjs.test spawns one).
 */
import { request } from 'node:http';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startHub, DATABASE_FILE, type RunningHub } from '../../hub/server';
import { apiRouter } from '../../hub/api';
import { hashToken, RateLimiter } from '../../hub/auth';
import { parseRateLimit } from '../../hub/cli';
import { call, removeDir, tempDir } from './helpers';

type Data = Record<string, unknown>;

/** A request with the path sent exactly as given (fetch would normalise "../"). */
function raw(base: string, method: string, path: string, token: string | null, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const h: Record<string, string> = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined && !h['Transfer-Encoding']) h['Content-Length'] = String(Buffer.byteLength(body));
    const req = request({ host: u.hostname, port: u.port, method, path, headers: h }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => ok({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on('error', fail);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

let hub: RunningHub;
let dir: string;
const T: Record<'admin' | 'expired' | 'revoked' | 'bob' | 'clientB', string> = { admin: '', expired: '', revoked: '', bob: '', clientB: '' };
const ids: Record<string, string> = {};

beforeAll(async () => {
  dir = tempDir('sec');
  hub = await startHub({ dataDir: dir, port: 0, log: () => undefined, adminPassword: 'admin-password-1' });
  const h = hub.hub;
  const boot = hub.bootstrap!;
  T.admin = boot.token;
  ids.project = boot.projectUID;
  ids.device = 'dev:sec1';
  await h.devices.provisionDevice(boot.productUID, ids.device, { sn: 's1' });
  ids.fleet = (await h.projects.createFleet(ids.project, 'f')).uid;
  ids.route = (await h.routes.putRoute(ids.project, { url: 'http://127.0.0.1:9/never' })).uid;
  await h.events.ingestNotes(ids.device, 'data.qo', [{ body: { secret: 'A-data' } }]);
  await h.notes.dbPut(ids.device, 'x.db', 'n1', { v: 1 }, undefined, 'create');
  await h.env.envPut('project', ids.project, { k: 'v' });
  await h.firmware.putFirmware(ids.project, 'host', 'f.bin', new Uint8Array([1, 2, 3]), { version: '1' });

  const now = Date.now() / 1000;
  T.expired = 'nhl_expired_token_for_tests_only';
  await h.store.createToken(hashToken(T.expired), { id: 'tok_expired', kind: 'pat', userId: 1, clientId: null, name: '', created: now - 100, expires: now - 1, revoked: false });
  T.revoked = (await h.accounts.createToken('admin')).token;
  await h.accounts.revokeToken(T.revoked);

  await h.accounts.createUser('bob', 'bob-password');
  const projB = await h.projects.createProject('bob', 'Bob project');
  ids.projectB = projB.uid;
  T.bob = (await h.accounts.createToken('bob')).token;
  const c = await h.accounts.createClient(projB.uid);
  T.clientB = (await h.accounts.clientToken(c.clientId, c.clientSecret)).access_token;
});
afterAll(async () => {
  await hub?.close();
  removeDir(dir);
});

const routes = apiRouter().list();
const fill = (pattern: string, over: Record<string, string> = {}): string =>
  pattern.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(over[name] ?? ({
    project: ids.project, device: ids.device, fleet: ids.fleet, file: 'x.db', note: 'n1', key: 'k', type: 'host', filename: 'f.bin', route: ids.route,
  } as Record<string, string>)[name] ?? name));

describe('every /v1 route', () => {
  const v1 = routes.filter((r) => r.pattern.startsWith('/v1'));

  it('covers the table (sanity)', () => {
    expect(v1.length).toBeGreaterThan(40);
    expect(v1.every((r) => r.access !== 'none')).toBe(true);
  });

  it.each(v1.map((r) => [r.method, r.pattern]))('%s %s refuses missing, garbage, expired and revoked tokens (401)', async (method, pattern) => {
    const path = fill(pattern);
    for (const token of [null, 'nhl_garbage', T.expired, T.revoked]) {
      const r = await raw(hub.url, method, path, token, method === 'GET' || method === 'DELETE' ? undefined : '{}');
      expect([r.status, token]).toEqual([401, token]);
      expect(JSON.parse(r.text)).toMatchObject({ code: 401, status: 'Unauthorized' });
    }
    // X-Session-Token is checked the same way
    const s = await raw(hub.url, method, path, null, undefined, { 'X-Session-Token': T.revoked });
    expect(s.status).toBe(401);
  });

  it.each(v1.filter((r) => r.access === 'project').map((r) => [r.method, r.pattern]))('%s %s refuses tokens of other projects (403)', async (method, pattern) => {
    const path = fill(pattern);
    for (const token of [T.bob, T.clientB]) {
      const r = await raw(hub.url, method, path, token, method === 'GET' || method === 'DELETE' ? undefined : '{}');
      expect(r.status).toBe(403);
      expect(r.text).not.toContain('A-data');
    }
  });

  it('project listing shows only reachable projects', async () => {
    expect(((await call(`${hub.url}/v1/projects`, T.bob)).body.projects as Data[]).map((p) => p.uid)).toEqual([ids.projectB]);
    expect(((await call(`${hub.url}/v1/projects`, T.clientB)).body.projects as Data[]).map((p) => p.uid)).toEqual([ids.projectB]);
    expect((await call(`${hub.url}/v1/projects`, T.clientB, 'POST', { label: 'x' })).status).toBe(403);
  });
});

const HOSTILE = [
  "' OR '1'='1", "'; DROP TABLE events; --", '" OR 1=1 --', "x' UNION SELECT hash, id, kind FROM tokens --",
  '../../../../etc/passwd', '..', '.', '%00', '\u0000', 'app:*', '%', '*', '?', 'a/b', '../hub.sqlite',
];
/** Sent unencoded as well: they would change the path's shape if anything normalised it. */
const TRAVERSAL = ['../../../../etc/passwd', '..', '.', '../hub.sqlite'];
const HOSTILE_QUERY = ["' OR '1'='1", "'; DROP TABLE events; --", "x' UNION SELECT hash, id, kind FROM tokens --", '../../../../etc/passwd', '\u0000'];

describe('hostile path and query strings', () => {
  let before: { events: number; tables: string[] };
  const snapshot = (): { events: number; tables: string[] } => {
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    try {
      return {
        events: Number((db.prepare('SELECT count(*) n FROM events').get() as Data).n),
        tables: (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Data[]).map((r) => String(r.name)),
      };
    } finally { db.close(); }
  };
  beforeAll(() => { before = snapshot(); });

  it.each(routes.filter((r) => r.pattern.includes(':')).map((r) => [r.method, r.pattern]))('%s %s: every path parameter', async (method, pattern) => {
    for (const name of [...pattern.matchAll(/:(\w+)/g)].map((m) => m[1])) {
      for (const evil of HOSTILE) {
        for (const encoded of TRAVERSAL.includes(evil) ? [encodeURIComponent(evil), evil] : [encodeURIComponent(evil)]) {
          const path = fill(pattern, { [name]: '\u0001' }).replace(encodeURIComponent('\u0001'), encoded);
          const r = await raw(hub.url, method, path, T.admin, method === 'GET' || method === 'DELETE' ? undefined : '{}');
          expect([r.status < 500, name, evil, r.text]).toEqual([true, name, evil, r.text]);
          if (name === 'project') expect([400, 403, 404]).toContain(r.status);
          expect(r.text).not.toMatch(/root:|SQLITE|nhl_|scrypt\$/);
        }
      }
    }
  });

  // the event stream takes no query and never ends by itself (its access checks: test/e2e/dashboard)
  it.each(routes.filter((r) => r.method === 'GET' && r.pattern.startsWith('/v1') && !r.pattern.endsWith('/events/stream')).map((r) => [r.pattern]))('GET %s: every query parameter', async (pattern) => {
    const names = ['pageSize', 'pageNum', 'deviceUID', 'deviceUIDs', 'tag', 'fleetUID', 'files', 'sortOrder', 'cursor', 'limit', 'startDate',
      'endDate', 'serialNumber', 'sessionUID', 'eventUID', 'productUID', 'sku', 'type', 'firmwareType', 'filename', 'version', 'delete', 'deleted'];
    for (const name of names) {
      for (const evil of HOSTILE_QUERY) {
        const r = await raw(hub.url, 'GET', `${fill(pattern)}?${name}=${encodeURIComponent(evil)}&${name}=${encodeURIComponent(evil)}`, T.admin);
        expect([r.status < 500, name, evil]).toEqual([true, name, evil]);
        expect(r.text).not.toMatch(/SQLITE|nhl_|scrypt\$/);
      }
    }
  });

  it('filters bind values: an injected filter matches nothing rather than everything', async () => {
    const q = encodeURIComponent("' OR 1=1 --");
    const ev = await call(`${hub.url}/v1/projects/${ids.project}/events?deviceUID=${q}`, T.admin);
    expect(ev.body.events).toEqual([]);
    const dv = await call(`${hub.url}/v1/projects/${ids.project}/devices?tag=${q}`, T.admin);
    expect(dv.body.devices).toEqual([]);
  });

  it('a traversal firmware name cannot be stored or read', async () => {
    const put = await raw(hub.url, 'PUT', `/v1/projects/${ids.project}/firmware/host/${encodeURIComponent('../../evil.bin')}`, T.admin, Buffer.from([1]));
    expect(put.status).toBe(400);
    const get = await raw(hub.url, 'GET', `/v1/projects/${ids.project}/firmware/host/..%2F..%2Fhub.sqlite`, T.admin);
    expect(get.status).toBe(404);
  });

  it('the database is intact afterwards', async () => {
    const after = snapshot();
    expect(after.tables).toEqual(before.tables);
    expect(after.events).toBeGreaterThanOrEqual(before.events);
    expect((await call(`${hub.url}/v1/projects/${ids.project}/events`, T.admin)).status).toBe(200);
  });
});

describe('HTTP semantics', () => {
  it('unknown routes 404, wrong methods 405 with Allow, bad JSON 400, bad escapes 400', async () => {
    expect((await call(`${hub.url}/v1/nothing/here`, T.admin)).status).toBe(404);
    expect((await call(`${hub.url}/nothing`, null)).status).toBe(404);
    const m = await call(`${hub.url}/v1/projects/${ids.project}/events`, T.admin, 'DELETE');
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('GET');
    expect(m.body).toEqual({ err: expect.any(String), code: 405, status: 'Method Not Allowed', error: expect.any(String) });
    const j = await call(`${hub.url}/v1/projects/${ids.project}/environment_variables`, T.admin, 'PUT', '{"environment_variables":', { 'Content-Type': 'application/json' });
    expect(j.body).toMatchObject({ code: 400, status: 'Bad Request' });
    expect((await raw(hub.url, 'GET', '/v1/projects/%E0%A4%A', T.admin)).status).toBe(400);
  });

  it('decodes percent-encoded path segments', async () => {
    const r = await raw(hub.url, 'GET', `/v1/projects/${encodeURIComponent(ids.project)}/devices/${encodeURIComponent(ids.device)}`, T.admin);
    expect(JSON.parse(r.text).uid).toBe(ids.device);
  });

  it('answers 413 to bodies over the limit (1 MiB JSON, 16 MiB firmware), declared or chunked', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    expect((await raw(hub.url, 'POST', '/auth/login', null, big)).status).toBe(413);
    const env = `/v1/projects/${ids.project}/environment_variables`;
    const chunked = await raw(hub.url, 'PUT', env, T.admin, big, { 'Transfer-Encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.text)).toMatchObject({ code: 413, status: 'Payload Too Large' });
    // just under the limit is fine
    const ok = JSON.stringify({ environment_variables: { big: 'x'.repeat(1000 * 1000) } });
    expect((await raw(hub.url, 'PUT', env, T.admin, ok)).status).toBe(200);
    const fw = await raw(hub.url, 'PUT', `/v1/projects/${ids.project}/firmware/host/huge.bin`, T.admin, Buffer.alloc(16 * 1024 * 1024 + 1));
    expect(fw.status).toBe(413);
  });
});

describe('rate limiting', () => {
  it('is off by default', async () => {
    for (let i = 0; i < 20; i++) expect((await call(`${hub.url}/v1/projects`, T.admin)).status).toBe(200);
  });

  it('answers 429 with Retry-After past 7/minute per billing account when on', async () => {
    const d = tempDir('rate');
    const h = await startHub({ dataDir: d, port: 0, log: () => undefined, rateLimit: { perMinute: 7, perDay: 10200 } });
    try {
      await h.hub.accounts.createUser('carol', 'carol-password');
      const carol = (await h.hub.accounts.createToken('carol')).token;
      const admin = h.bootstrap!.token;
      // keep the 8 requests inside one minute window
      const intoMinute = Date.now() % 60000;
      if (intoMinute > 55000) await new Promise((r) => setTimeout(r, 60000 - intoMinute + 50));
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof call>> | undefined;
      for (let i = 0; i < 8; i++) { last = await call(`${h.url}/v1/projects`, admin); statuses.push(last.status); }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 429]);
      const wait = Number(last!.headers.get('retry-after'));
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(60);
      expect(last!.body).toMatchObject({ code: 429, status: 'Too Many Requests' });
      // another billing account is not affected
      expect((await call(`${h.url}/v1/projects`, carol)).status).toBe(200);
    } finally {
      await h.close();
      removeDir(d);
    }
  });

  it('reads --rate-limit', () => {
    expect(parseRateLimit(undefined)).toBeUndefined();
    expect(parseRateLimit('off')).toBeUndefined();
    expect(parseRateLimit('notehub')).toEqual({ perMinute: 7, perDay: 10200 });
    expect(parseRateLimit('100/min,5000/day')).toEqual({ perMinute: 100, perDay: 5000 });
    expect(() => parseRateLimit('lots')).toThrow(/rate-limit/);
  });

  it('counts minute and day windows', () => {
    const lim = new RateLimiter({ perMinute: 7, perDay: 10 });
    const t0 = Date.UTC(2030, 0, 1, 10, 0, 0);
    for (let i = 0; i < 7; i++) expect(lim.take('a', t0 + i)).toBe(0);
    expect(lim.take('a', t0 + 10)).toBe(60);
    expect(lim.take('a', t0 + 30_000)).toBe(30);
    expect(lim.take('b', t0)).toBe(0);
    for (let i = 0; i < 3; i++) expect(lim.take('a', t0 + 60_000 + i)).toBe(0);
    // the daily cap (10) is reached: wait until the next UTC day
    expect(lim.take('a', t0 + 60_010)).toBe(14 * 3600 - 60);
  });
});
