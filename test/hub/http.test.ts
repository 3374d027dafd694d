/**
 * The HTTP layer on Fastify: request schemas answer 400 in the documented shape, what Fastify
 * answers itself keeps that shape (415), the access log (pino JSON, or text lines), and HTTPS
 * with --tls-cert/--tls-key (a self-signed certificate made here with openssl).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startHub, type RunningHub } from '../../hub/server';
import { call, CLI, removeDir, tempDir } from './helpers';

type Data = Record<string, unknown>;

describe('schemas and framework answers', () => {
  let h: RunningHub;
  let dir: string;
  let base: string;
  let tok: string;
  const records: Data[] = [];
  beforeAll(async () => {
    dir = tempDir('http');
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) records.push(JSON.parse(l) as Data); done(); } });
    h = await startHub({ dataDir: dir, port: 0, logger: pino(sink), log: () => undefined });
    tok = h.bootstrap!.token;
    base = `${h.url}/v1/projects/${h.bootstrap!.projectUID}`;
  });
  afterAll(async () => { await h.close(); removeDir(dir); });

  it('checks bodies against the route schema: 400 naming the field', async () => {
    const r = await call(`${base}/products`, tok, 'POST', { product_uid: 'com.example.x:y', disable_devices_by_default: 'yes' });
    expect(r.body).toEqual({ err: expect.stringContaining('disable_devices_by_default'), code: 400, status: 'Bad Request', error: expect.any(String) });
    expect((await call(`${base}/products`, tok)).body.products).toHaveLength(1);
    const f = await call(`${base}/fleets`, tok, 'POST', { label: 7 });
    expect(f.body).toEqual({ err: expect.stringContaining('label'), code: 400, status: 'Bad Request', error: expect.any(String) });
  });

  it('checks query arguments: types, ranges, one value where one is meant', async () => {
    for (const q of ['pageSize=abc', 'pageSize=0', 'sortOrder=sideways', 'startDate=yesterday', 'sortOrder=asc&sortOrder=desc']) {
      const r = await call(`${base}/events?${q}`, tok);
      expect([q, r.status, r.body]).toEqual([q, 400, { err: expect.any(String), code: 400, status: 'Bad Request', error: expect.any(String) }]);
    }
    expect((await call(`${base}/events?pageSize=5&deviceUID=a&deviceUID=b&sortOrder=desc&pageSize=6`, tok)).status).toBe(400);
    // an empty value reads as absent
    expect((await call(`${base}/events?pageSize=5&deviceUID=a&deviceUID=b&sortOrder=desc&startDate=`, tok)).status).toBe(200);
  });

  it('answers 415 to a Content-Type it cannot read, in the documented shape', async () => {
    const r = await call(`${base}/environment_variables`, tok, 'PUT', '{"environment_variables":{}}', { 'Content-Type': 'not a media type' });
    expect(r.body).toEqual({ err: expect.any(String), code: 415, status: 'Unsupported Media Type', error: expect.any(String) });
  });

  it('answers 401 before 404 and 405 under /v1', async () => {
    expect((await call(`${h.url}/v1/nothing/here`, null)).status).toBe(401);
    expect((await call(`${base}/events`, null, 'DELETE')).status).toBe(401);
  });

  it('logs one access record per request (pino JSON)', async () => {
    await call(`${h.url}/v1/projects?x=1`, tok);
    await call(`${h.url}/nothing`, null);
    const access = records.filter((r) => r.msg === 'request');
    expect(access).toEqual(expect.arrayContaining([
      expect.objectContaining({ level: 30, method: 'GET', url: '/v1/projects?x=1', status: 200, ms: expect.any(Number) }),
      expect.objectContaining({ method: 'GET', url: '/nothing', status: 404 }),
    ]));
    // never a secret in the log
    expect(JSON.stringify(records)).not.toContain(tok);
  });
});

it('renders the log as text lines for a `log` option', async () => {
  const dir = tempDir('http-lines');
  const lines: string[] = [];
  const h = await startHub({ dataDir: dir, port: 0, log: (l) => lines.push(l) });
  try {
    expect((await call(`${h.url}/v1/projects`, h.bootstrap!.token)).status).toBe(200);
    expect(lines).toContainEqual(expect.stringMatching(/^request method=GET url=\/v1\/projects status=200 ms=[\d.]+$/));
  } finally {
    await h.close();
    removeDir(dir);
  }
});

describe('HTTPS', () => {
  let dir: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    dir = tempDir('https');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
  });
  afterAll(() => removeDir(dir));

  /** GET over TLS, trusting only the test's certificate. */
  const get = (url: string, token: string): Promise<{ status: number; body: Data }> => new Promise((ok, fail) => {
    const req = httpsRequest(url, { ca: cert, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(text) as Data }));
    });
    req.on('error', fail);
    req.end();
  });

  it('startHub serves the API over TLS when given a certificate', async () => {
    const d = tempDir('https-api');
    const h = await startHub({ dataDir: d, port: 0, tls: { cert, key }, log: () => undefined });
    try {
      expect(h.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const r = await get(`${h.url}/v1/projects`, h.bootstrap!.token);
      expect(r.status).toBe(200);
      expect((r.body.projects as Data[]).map((p) => p.uid)).toEqual([h.bootstrap!.projectUID]);
      expect((await get(`${h.url}/v1/projects`, 'nhl_wrong')).body).toMatchObject({ code: 401, status: 'Unauthorized' });
    } finally {
      await h.close();
      removeDir(d);
    }
  });

  it('notehub-lite serve --tls-cert/--tls-key listens on https', async () => {
    const d = tempDir('https-cli');
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--device-port', '0', '--tls-port', '0', '--data', d,
      '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem'), '--admin-password', 'admin-password-1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const out = await new Promise<string>((ok, fail) => {
        let text = '';
        child.on('exit', (code) => fail(new Error(`exited ${code}: ${text}`)));
        child.stdout!.on('data', (b: Buffer) => { text += b.toString(); if (/listening on \S+\n/.test(text)) ok(text); });
      });
      const url = /listening on (\S+)/.exec(out)![1];
      expect(url).toMatch(/^https:\/\//);
      const token = /token:\s+(\S+)/.exec(out)![1];
      expect((await get(`${url}/v1/projects`, token)).status).toBe(200);
    } finally {
      child.removeAllListeners('exit');
      await new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); });
      removeDir(d);
    }
  });
});
