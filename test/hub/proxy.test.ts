// The proxy routes' outbound requests: the target policy (checked on resolved addresses and on every
// redirect), and the bounds on size and time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROXY_LIMITS, TargetPolicy, proxyFetch, targetURL } from '../../hub/proxy';

let server: Server;
let port: number;
let hits: string[] = [];
const hang: { end(): void }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === '/ok') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('fine'); }
    else if (req.url === '/to-other-loopback') { res.writeHead(302, { location: `http://127.0.0.2:${port}/ok` }); res.end(); }
    else if (req.url === '/to-ok') { res.writeHead(301, { location: '/ok' }); res.end(); }
    else if (req.url === '/loop') { res.writeHead(302, { location: '/loop' }); res.end(); }
    else if (req.url === '/large') { res.writeHead(200); res.end(Buffer.alloc(PROXY_LIMITS.maxResponse + 1, 65)); }
    else if (req.url === '/hang') hang.push(res);
    else { res.writeHead(404); res.end(); }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const r of hang) r.end();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => { hits = []; });

const get = (policy: TargetPolicy, url: string, timeoutMs = 5000) => proxyFetch(policy, { method: 'GET', url, headers: {}, timeoutMs });

describe('the target policy', () => {
  it('refuses loopback, private, link-local and reserved addresses by default, IPv4-mapped ones too', () => {
    const p = new TargetPolicy();
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
      '::1', '::', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1', '::FFFF:a9fe:a9fe']) {
      expect([a, p.refuses(a)]).toEqual([a, expect.stringContaining('refuses')]);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111']) expect(p.refuses(a)).toBeUndefined();
  });

  it('allows what the operator allows; a deny wins over an allow', () => {
    expect(new TargetPolicy({ allowLoopback: true }).refuses('127.0.0.1')).toBeUndefined();
    expect(new TargetPolicy({ allowLoopback: true }).refuses('::ffff:7f00:1')).toBeUndefined();
    expect(new TargetPolicy({ allowLoopback: true }).refuses('10.0.0.1')).toBeDefined();
    expect(new TargetPolicy({ allowPrivate: true }).refuses('10.0.0.1')).toBeUndefined();
    expect(new TargetPolicy({ allow: ['10.9.0.0/16'] }).refuses('10.9.1.1')).toBeUndefined();
    expect(new TargetPolicy({ allow: ['10.9.0.0/16'] }).refuses('10.8.1.1')).toBeDefined();
    expect(new TargetPolicy({ allowPrivate: true, deny: ['192.168.0.0/16'] }).refuses('192.168.3.3')).toContain('denied');
    expect(() => new TargetPolicy({ allow: ['not-a-range'] })).toThrow('not an IP range');
  });
});

describe('proxyFetch', () => {
  it('checks the address a name resolves to: localhost is refused by default, before any connection', async () => {
    const r = await get(new TargetPolicy(), `http://localhost:${port}/ok`);
    expect(r).toMatchObject({ ok: false, status: 403, error: expect.stringContaining('{forbidden}') });
    const literal = await get(new TargetPolicy(), `http://[::ffff:127.0.0.1]:${port}/ok`);
    expect(literal).toMatchObject({ ok: false, status: 403 });
    expect(hits).toEqual([]);
  });

  it('reaches an allowed target and answers its status, type and body', async () => {
    const r = await get(new TargetPolicy({ allowLoopback: true }), `http://localhost:${port}/ok`);
    expect(r).toEqual({ ok: true, status: 200, contentType: 'text/plain', body: new Uint8Array(Buffer.from('fine')) });
  });

  it('re-checks every redirect hop against the policy', async () => {
    const only = new TargetPolicy({ allow: ['127.0.0.1'] });
    expect(await get(only, `http://127.0.0.1:${port}/to-ok`)).toMatchObject({ ok: true, status: 200 });
    const r = await get(only, `http://127.0.0.1:${port}/to-other-loopback`);
    expect(r).toMatchObject({ ok: false, status: 403, error: expect.stringContaining('127.0.0.2') });
    expect(hits).toEqual(['/to-ok', '/ok', '/to-other-loopback']);
    expect(await get(only, `http://127.0.0.1:${port}/loop`)).toMatchObject({ ok: false, error: expect.stringContaining('redirects') });
  });

  it('bounds the answer and the time', async () => {
    const p = new TargetPolicy({ allowLoopback: true });
    expect(await get(p, `http://127.0.0.1:${port}/large`)).toMatchObject({ ok: false, error: expect.stringContaining('{too-big}') });
    expect(await get(p, `http://127.0.0.1:${port}/hang`, 200)).toMatchObject({ ok: false, status: 504, error: expect.stringContaining('{timeout}') });
    const big = await proxyFetch(p, { method: 'POST', url: `http://127.0.0.1:${port}/ok`, headers: {}, body: new Uint8Array(PROXY_LIMITS.maxRequest + 1), timeoutMs: 1000 });
    expect(big).toMatchObject({ ok: false, status: 413 });
  });

  it('refuses schemes other than http and https', async () => {
    expect(await get(new TargetPolicy({ allowPrivate: true }), 'file:///etc/passwd')).toMatchObject({ ok: false, status: 400 });
  });
});

it('targetURL joins the route URL and the card\'s name', () => {
  expect(targetURL('http://h/api', '/x?y=1')).toBe('http://h/api/x?y=1');
  expect(targetURL('http://h/api/', '/x')).toBe('http://h/api/x');
  expect(targetURL('http://h/api', 'x')).toBe('http://h/api/x');
  expect(targetURL('http://h/api', '')).toBe('http://h/api');
  expect(targetURL('http://h/f', '?a=1', [['offset', 0], ['max', 10]])).toBe('http://h/f?a=1&offset=0&max=10');
  expect(targetURL('http://h/f', '', [['offset', 8], ['max', 10]])).toBe('http://h/f?offset=8&max=10');
});
