// web.* through a proxy route and hub.signal, with real processes: the simulator in continuous mode,
// the hub (loopback targets allowed by its --proxy-allow flag), and a local HTTP server as the target.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, removeDir, spawnHub, tempDir as hubDir, type Spawned } from '../hub/helpers';
import type { HostClient } from '../support/host-client';
import { SimProcess, connectTcp, startSim } from '../support/sim-process';
import { cobsDecode } from '../../src/wire/cobs';
import { sleep, waitFor } from '../support/wait';

type Data = Record<string, unknown>;

let dir: string;
let hub: Spawned;
let sim: SimProcess;
let closeCard: () => void;
let card: HostClient;
let target: Server;
let targetURL: string;
const seen: { method: string; url: string; key: string | undefined; type: string | undefined; body: string }[] = [];

/** 20,000 bytes the target serves in ranges (?offset&max): larger than one reply carries. */
const BIG = new Uint8Array(20000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);

const api = (path: string, method = 'GET', body?: unknown) => call(`${hub.url}/v1/projects/${hub.projectUID}${path}`, hub.token, method, body);

beforeAll(async () => {
  target = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      seen.push({ method: req.method!, url: req.url!, key: req.headers['x-key'] as string | undefined, type: req.headers['content-type'], body });
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/hello') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ hello: 'world', x: u.searchParams.get('x') }));
      } else if (u.pathname === '/echo') {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ got: JSON.parse(body), method: req.method }));
      } else if (u.pathname === '/big') {
        const offset = Number(u.searchParams.get('offset') ?? 0);
        const max = Number(u.searchParams.get('max') ?? BIG.length);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from(BIG.subarray(offset, offset + max)));
      } else if (u.pathname === '/huge') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from(BIG));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('nothing here');
      }
    });
  });
  await new Promise<void>((ok) => target.listen(0, '127.0.0.1', ok));
  targetURL = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  dir = hubDir('e2e-web');
  hub = await spawnHub(dir, ['--proxy-allow', 'loopback']);
  sim = await startSim(['--tcp', '0', '--hub-host', `127.0.0.1:${hub.devicePort}`]);
  ({ card, close: closeCard } = await connectTcp(sim));
  const made = await api('/routes', 'POST', { label: 'test target', type: 'proxy', proxy: { alias: 'target', url: targetURL, http_headers: { 'x-key': 'k1' } } });
  expect(made.status).toBe(200);
  expect(made.body).toMatchObject({ type: 'proxy', proxy: { alias: 'target', url: targetURL } });
  // a route the hub's policy refuses: link-local (where cloud metadata services live)
  expect((await api('/routes', 'POST', { type: 'proxy', proxy: { alias: 'meta', url: 'http://169.254.169.254/latest' } })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  closeCard?.();
  await sim?.stop();
  await hub?.stop();
  await new Promise((r) => target?.close(r));
  removeDir(dir);
});

it('refuses web requests until the card is in continuous mode', async () => {
  expect(await card.transaction({ req: 'hub.set', product: hub.productUID, sn: 'web-card', mode: 'periodic' })).toEqual({});
  const r = await card.transaction({ req: 'web.get', route: 'target', name: '/hello' });
  expect(String(r.err)).toContain('{hub-mode}');
  expect(seen).toHaveLength(0);
});

it('a continuous card gets status and body of web.get and web.post through the proxy route', async () => {
  expect(await card.transaction({ req: 'hub.set', mode: 'continuous' })).toEqual({});
  await waitFor('the continuous session', async () => ((await card.transaction({ req: 'hub.status' })).connected ? true : undefined));
  expect(await card.transaction({ req: 'web.get', route: 'target', name: '/hello?x=1' })).toEqual({ result: 200, body: { hello: 'world', x: '1' } });
  expect(seen[seen.length - 1]).toMatchObject({ method: 'GET', url: '/hello?x=1', key: 'k1' });
  expect(await card.transaction({ req: 'web.post', route: 'target', name: '/echo', body: { temp: 21.5 } })).toEqual({ result: 201, body: { got: { temp: 21.5 }, method: 'POST' } });
  expect(seen[seen.length - 1]).toMatchObject({ method: 'POST', type: 'application/json', body: '{"temp":21.5}' });
  expect(await card.transaction({ req: 'web', method: 'PUT', route: 'target', name: 'echo', body: { a: 1 } })).toEqual({ result: 201, body: { got: { a: 1 }, method: 'PUT' } });
  // an HTTP error is an answer, not a failure: its status and body come back
  const missing = await card.transaction({ req: 'web.get', route: 'target', name: '/nope' });
  expect(missing).toMatchObject({ result: 404, payload: Buffer.from('nothing here').toString('base64') });
  // a route the project does not have
  expect(String((await card.transaction({ req: 'web.get', route: 'nosuch' })).err)).toContain('no proxy route "nosuch"');
});

it('an upload in fragments (offset, total, status) is put together on the hub and sent once whole', async () => {
  const before = seen.length;
  const text = Buffer.from('{"parts":[1,2,3]}');
  const first = text.subarray(0, 8);
  const rest = text.subarray(8);
  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
  expect(await card.transaction({ req: 'web.post', route: 'target', name: '/echo', payload: first.toString('base64'), offset: 0, total: text.length, status: md5(first) }))
    .toEqual({ result: 100 });
  expect(seen.length).toBe(before);
  expect(await card.transaction({ req: 'web.post', route: 'target', name: '/echo', payload: rest.toString('base64'), offset: 8, total: text.length, verify: true }))
    .toEqual({ result: 201, body: { got: { parts: [1, 2, 3] }, method: 'POST' } });
  expect(seen.length).toBe(before + 1);
});

it('async:true answers at once; the answer is kept in the .dbx note named', async () => {
  expect(await card.transaction({ req: 'web.get', route: 'target', name: '/hello?x=2', async: true, file: 'answers.dbx', note: 'last' })).toEqual({});
  const kept = await waitFor('the kept answer', async () => {
    const r = await card.transaction({ req: 'note.get', file: 'answers.dbx', note: 'last' });
    return r.body ? r : undefined;
  });
  expect(kept.body).toEqual({ result: 200, body: { hello: 'world', x: '2' } });
});

it('a body larger than one reply comes in fragments through the binary buffer (offset, max, status md5)', async () => {
  const got: Buffer[] = [];
  for (let offset = 0; offset < BIG.length; offset += 8192) {
    const r = await card.transaction({ req: 'web.get', route: 'target', name: '/big', binary: true, offset, max: 8192 });
    const want = BIG.subarray(offset, offset + 8192);
    expect(r).toMatchObject({ result: 200, length: want.length, status: createHash('md5').update(want).digest('hex') });
    const line = await getBinary(Number(r.length));
    expect(createHash('md5').update(line).digest('hex')).toBe(r.status);
    got.push(line);
  }
  expect(Buffer.concat(got).equals(Buffer.from(BIG))).toBe(true);
  expect(seen[seen.length - 1].url).toBe('/big?offset=16384&max=8192');
  // without fragments the answer does not fit a reply: the card says so
  expect(String((await card.transaction({ req: 'web.get', route: 'target', name: '/huge' })).err)).toContain('{too-big}');
});

it('the hub refuses a proxy route to a link-local target (SSRF policy)', async () => {
  const before = seen.length;
  const r = await card.transaction({ req: 'web.get', route: 'meta', name: '/' });
  expect(String(r.err)).toContain("proxy policy refuses");
  expect(String(r.err)).toContain('{forbidden}');
  expect(seen.length).toBe(before);
});

it('a signal sent through the API reaches hub.signal on the card, and is not stored as a note', async () => {
  expect(await card.transaction({ req: 'hub.signal' })).toEqual({ connected: true });
  const sent = await api(`/devices/${sim.device}/signal`, 'POST', { body: { led: 'on' } });
  expect(sent).toMatchObject({ status: 200, body: { connected: true } });
  await api(`/devices/${sim.device}/signal`, 'POST', { body: { led: 'off' } });
  const first = await waitFor('the signal', async () => {
    const r = await card.transaction({ req: 'hub.signal' });
    return r.body ? r : undefined;
  });
  expect(first).toEqual({ body: { led: 'on' }, connected: true, signals: 1 });
  expect(await card.transaction({ req: 'hub.signal' })).toEqual({ body: { led: 'off' }, connected: true });
  expect(await card.transaction({ req: 'hub.signal' })).toEqual({ connected: true });
  // with seconds, hub.signal waits for the next one
  const waiting = card.transaction({ req: 'hub.signal', seconds: 20 });
  await sleep(200);
  expect(await api(`/devices/${sim.device}/signal`, 'POST', { payload: 'AQID' })).toMatchObject({ body: { connected: true } });
  expect(await waiting).toEqual({ payload: 'AQID', connected: true });
  const events = await api(`/events?deviceUID=${encodeURIComponent(sim.device)}`);
  expect(JSON.stringify(events.body)).not.toContain('led');
});

/** card.binary.get of the whole buffer: the reply line, then the COBS line. */
async function getBinary(length: number): Promise<Buffer> {
  const reply = await card.transaction({ req: 'card.binary.get', offset: 0, length });
  expect(reply.status).toBeDefined();
  const line = await card.readLine();
  const decoded = cobsDecode(new Uint8Array(line.subarray(0, line.length - 1)));
  expect(decoded).toBeDefined();
  return Buffer.from(decoded!);
}
