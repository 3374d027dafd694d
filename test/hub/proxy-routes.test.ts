// Proxy routes through the HTTP API and the CLI (Notehub's shape and notehub-js's), and the device
// signal endpoint, on an in-process hub.
import { startHub, type RunningHub } from '../../hub/server';
import { call, cli, removeDir, tempDir } from './helpers';

type Data = Record<string, unknown>;
const quiet = { log: (): void => undefined };

let h: RunningHub;
let dir: string;
let base: string;
let tok: string;

beforeAll(async () => {
  dir = tempDir('proxy-routes');
  h = await startHub({ dataDir: dir, port: 0, ...quiet, delivery: { pollMs: 50, baseDelayMs: 50 } });
  tok = h.bootstrap!.token;
  base = `${h.url}/v1/projects/${h.bootstrap!.projectUID}`;
  await h.hub.devices.provisionDevice(h.bootstrap!.productUID, 'dev:1', { sn: 'one' });
});
afterAll(async () => {
  await h.close();
  removeDir(dir);
});

it('creates, reads, changes and deletes a proxy route in Notehub\'s shape', async () => {
  const fleet = (await call(`${base}/fleets`, tok, 'POST', { label: 'f' })).body.uid as string;
  const made = await call(`${base}/routes`, tok, 'POST', {
    label: 'weather', type: 'proxy', proxy: { url: 'https://api.example.com/v1', alias: 'wx', http_headers: { 'x-key': 'k' }, timeout: 30, fleets: [fleet] },
  });
  expect(made.status).toBe(200);
  expect(made.body).toMatchObject({
    label: 'weather', type: 'proxy', route_type: 'proxy',
    proxy: { url: 'https://api.example.com/v1', alias: 'wx', http_headers: { 'x-key': 'k' }, timeout: 30, fleets: [fleet] },
  });
  const uid = made.body.uid as string;
  expect((await call(`${base}/routes/${uid}`, tok)).body).toMatchObject({ proxy: { alias: 'wx' } });
  // notehub-js sends route_type and schema
  const changed = await call(`${base}/routes/${uid}`, tok, 'PUT', { route_type: 'proxy', schema: { timeout: 10 } });
  expect(changed.body).toMatchObject({ proxy: { alias: 'wx', timeout: 10, url: 'https://api.example.com/v1' } });
  // a proxy route never receives the project's events
  await h.hub.events.ingestNotes('dev:1', 'x.qo', [{ body: { n: 1 } }]);
  expect(await h.hub.store.deliveryStats()).toEqual({ pending: 0, failed: 0 });
  // the device of another fleet does not see it; one in the fleet does
  expect(await h.hub.routes.proxyRoute(h.bootstrap!.projectUID, 'wx', [])).toBeNull();
  expect((await h.hub.routes.proxyRoute(h.bootstrap!.projectUID, 'wx', [fleet]))?.uid).toBe(uid);
  await call(`${base}/routes/${uid}`, tok, 'DELETE');
  expect((await call(`${base}/routes`, tok)).body).toEqual([]);
});

it('refuses a proxy route without an alias or url, a duplicate alias, a bad timeout, and changing a route\'s type', async () => {
  const post = (b: Data) => call(`${base}/routes`, tok, 'POST', b);
  expect(await post({ type: 'proxy', proxy: { url: 'https://x.example' } })).toMatchObject({ status: 400, body: { err: expect.stringContaining('alias') } });
  expect(await post({ type: 'proxy', proxy: { alias: 'a' } })).toMatchObject({ status: 400, body: { err: 'proxy.url is required' } });
  expect(await post({ type: 'proxy', proxy: { alias: 'a', url: 'https://x.example', timeout: -1 } })).toMatchObject({ status: 400 });
  expect(await post({ type: 'proxy', proxy: { alias: 'a', url: 'ftp://x.example' } })).toMatchObject({ status: 400 });
  const first = await post({ type: 'proxy', proxy: { alias: 'a', url: 'https://x.example' } });
  expect(first.status).toBe(200);
  expect(await post({ type: 'proxy', proxy: { alias: 'a', url: 'https://y.example' } })).toMatchObject({ status: 409 });
  expect(await call(`${base}/routes/${first.body.uid as string}`, tok, 'PUT', { type: 'http', http: { url: 'https://x.example' } })).toMatchObject({ status: 400 });
  await call(`${base}/routes/${first.body.uid as string}`, tok, 'DELETE');
});

it('a signal to a device without a live session answers connected:false and is not stored', async () => {
  const sent = await call(`${base}/devices/dev:1/signal`, tok, 'POST', { body: { led: 'on' } });
  expect(sent).toMatchObject({ status: 200, body: { connected: false } });
  expect((await call(`${base}/devices/dev:1/notes/data.qi`, tok)).body).toMatchObject({ total: 0 });
  expect(JSON.stringify((await call(`${base}/events`, tok)).body)).not.toContain('led');
  expect(await call(`${base}/devices/dev:9/signal`, tok, 'POST', { body: { a: 1 } })).toMatchObject({ status: 404 });
  expect(await call(`${base}/devices/dev:1/signal`, tok, 'POST', {})).toMatchObject({ status: 400 });
  expect(await call(`${base}/devices/dev:1/signal`, tok, 'POST', { body: { big: 'x'.repeat(9000) } })).toMatchObject({ status: 400 });
});

it('the CLI creates a proxy route', async () => {
  const d = tempDir('proxy-cli');
  try {
    await cli(['user', 'create', '--data', d, '--user', 'u', '--password', 'pw-123456789']);
    const project = await cli(['project', 'create', '--data', d, '--user', 'u', '--label', 'p']);
    const uid = await cli(['route', 'create', '--data', d, '--project', project, '--type', 'proxy', '--alias', 'svc', '--url', 'https://svc.example/api',
      '--timeout', '20', '--headers', 'x-key=abc,x-other=1']);
    await expect(cli(['route', 'create', '--data', d, '--project', project, '--type', 'proxy', '--url', 'https://svc.example/api'])).rejects.toThrow('--alias is required');
    await expect(cli(['serve', '--data', d, '--proxy-allow', '10.0.0.0/99'])).rejects.toThrow('--proxy-allow');
    const { openStore } = await import('../../hub/server');
    const store = openStore(d);
    try {
      expect(await store.route(uid)).toMatchObject({ type: 'proxy', url: 'https://svc.example/api', headers: { 'x-key': 'abc', 'x-other': '1' }, proxy: { alias: 'svc', timeout: 20, fleets: [] } });
    } finally {
      await store.close();
    }
  } finally {
    removeDir(d);
  }
});
