/**
 * The hub's injected clock (startHub({now})): token expiry, the login throttle, the times it
 * records and route retries all read it; and the service layer is the only code that touches
 * the store.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { startHub, type RunningHub } from '../../hub/server';
import { removeDir, tempDir } from './helpers';

const T0 = 1_700_000_000_000; // 2023-11-14T22:13:20Z
let ms = T0;
let dir: string;
let h: RunningHub;

async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(h.url + path, {
    method, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

beforeAll(async () => {
  dir = tempDir('clock');
  h = await startHub({ dataDir: dir, port: 0, log: () => undefined, adminPassword: 'admin-password-1', now: () => ms, delivery: { pollMs: 20, baseDelayMs: 60_000 } });
});
afterAll(async () => {
  await h.close();
  removeDir(dir);
});

describe('the injected clock', () => {
  it('expires tokens on the hub clock, not the wall clock', async () => {
    ms = T0;
    const { token } = await h.hub.accounts.createToken('admin', { expires: '1h' });
    expect((await call('GET', '/v1/projects', token)).status).toBe(200);
    ms = T0 + 3600_000;
    expect(await call('GET', '/v1/projects', token)).toEqual({ status: 401, json: { err: 'token expired', code: 401, status: 'Unauthorized', error: 'token expired' } });
  });

  it('opens the login throttle window when the clock passes it', async () => {
    ms = T0;
    for (let i = 0; i < 5; i++) expect((await call('POST', '/auth/login', undefined, { username: 'admin', password: 'wrong-password' })).status).toBe(401);
    const held = await call('POST', '/auth/login', undefined, { username: 'admin', password: 'admin-password-1' });
    expect(held.status).toBe(429);
    ms = T0 + 15 * 60_000;
    expect((await call('POST', '/auth/login', undefined, { username: 'admin', password: 'admin-password-1' })).status).toBe(200);
  });

  it('stamps devices, events and environment changes with the hub clock', async () => {
    ms = T0 + 86400_000;
    const boot = h.bootstrap!;
    const d = await h.hub.devices.provisionDevice(boot.productUID, 'dev:clock');
    expect(d.provisioned).toBe(1_700_086_400);
    const [e] = await h.hub.events.ingestNotes('dev:clock', 'data.qo', [{ body: { a: 1 } }]);
    expect(e.received).toBe(1_700_086_400);
    const got = await call('GET', `/v1/projects/${boot.projectUID}/devices/dev:clock`, boot.token);
    expect(got.json.last_activity).toBe('2023-11-15T22:13:20.000Z');
    ms += 5000;
    await h.hub.env.envPut('device', 'dev:clock', { k: 'v' });
    expect(await h.hub.env.envModified('dev:clock')).toBe(1_700_086_405);
  });

  it('schedules a failed route delivery\'s retry from the hub clock', async () => {
    let hits = 0;
    const sink: Server = createServer((req, res) => { hits++; res.statusCode = 500; res.end(); });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      ms = T0 + 2 * 86400_000;
      const boot = h.bootstrap!;
      await h.hub.routes.putRoute(boot.projectUID, { url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`, files: ['retry.qo'] });
      await h.hub.events.ingestNotes('dev:clock', 'retry.qo', [{ body: { a: 1 } }]);
      for (let i = 0; i < 200 && hits < 1; i++) await new Promise((r) => setTimeout(r, 10));
      expect(hits).toBe(1);
      // due again a minute later (±10% jitter) on the hub clock: no second attempt until the clock gets there
      for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 20));
      expect(hits).toBe(1);
      ms += 70_000;
      for (let i = 0; i < 200 && hits < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(hits).toBe(2);
    } finally {
      await new Promise<void>((r) => { sink.close(() => r()); sink.closeAllConnections(); });
    }
  });
});

describe('the service layer', () => {
  it('is the only hub code outside the store that calls the store', () => {
    const root = resolve(__dirname, '../../../hub');
    const offenders: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) { if (e.name !== 'services' && e.name !== 'store') walk(p); continue; }
        if (!e.name.endsWith('.ts') || e.name === 'hub.ts') continue;
        readFileSync(p, 'utf8').split('\n').forEach((line, i) => { if (/\.store\.\w+/.test(line)) offenders.push(`${p}:${i + 1}: ${line.trim()}`); });
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });
});
