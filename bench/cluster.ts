/**
 * The hub on SQLite, on PostgreSQL with one hub process, and with two hub processes on one
 * PostgreSQL, side by side in one run: HTTP ingest (events/s, batches of 1, 10 and 100 notes per
 * request, 50 connections spread over 100 devices) and the events API (first page of 50 on a
 * database of 100,000 events, 50 connections: p50/p99). Two hubs: the 50 connections are split
 * 25 + 25 between them (two autocannon runs at once); events/s are summed, latencies are the
 * worse of the two. Run: `npx tsc -p tsconfig.json && node dist/bench/cluster.js`
 * (HUB_BENCH_SECONDS=N sets each run's length, default 5). PostgreSQL is the tests' own server
 * (test/support/postgres.ts) with fsync on and synchronous_commit off, as SQLite's WAL with
 * synchronous=NORMAL: a commit is not waited for on disk, a crash loses no more than the last.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Hub } from '../hub/hub';
import { openStore } from '../hub/server';
import { PostgresStore } from '../hub/store/postgres';
import type { Store } from '../hub/store/types';
import { startPostgres } from '../test/support/postgres';

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number; errors: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<CannonResult>;

const SECONDS = Number(process.env.HUB_BENCH_SECONDS ?? 5);
const CONNECTIONS = 50;
const DEVICES = 100;
const FILL = 100_000;
const PRODUCT = 'com.opencard.bench:bench';

const note = (i: number): { body: Record<string, number | string>; when: number } =>
  ({ body: { temp: 20 + (i % 100) / 10, humidity: 40 + (i % 37), seq: i, status: 'ok' }, when: 1700000000 + i });

/** Users, project, product, 100 devices and 100,000 events, straight through the Hub. */
async function fill(store: Store): Promise<{ project: string; token: string }> {
  const hub = new Hub(store);
  await hub.accounts.createUser('bench', 'bench-password');
  const project = (await hub.projects.createProject('bench', 'bench')).uid;
  await hub.projects.createProduct(project, PRODUCT);
  for (let d = 0; d < DEVICES; d++) await hub.devices.provisionDevice(PRODUCT, `dev:${d}`, { sn: `sn${d}` });
  const { token } = await hub.accounts.createToken('bench');
  for (let i = 0; i < FILL; i += 250) await hub.events.ingestNotes(`dev:${(i / 250) % DEVICES}`, 'fill.qo', Array.from({ length: 250 }, (_, j) => note(i + j)));
  await hub.close();
  return { project, token };
}

function spawnHub(args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const cli = resolve(__dirname, '../hub/cli.js');
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--device-port', 'off', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok, fail) => {
    let out = '';
    child.on('exit', (c) => fail(new Error(`hub exited ${c}`)));
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        // the access log that follows is drained, not kept (keeping it cost this process time under load)
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        ok({ url: m[1], stop: () => new Promise<void>((r) => { child.removeAllListeners('exit'); child.once('exit', () => r()); child.kill('SIGTERM'); }) });
      }
    };
    child.stdout!.on('data', onData);
  });
}

/** The same load on every hub at once, the connections split between them. */
async function load(urls: string[], token: string, path: (n: number) => string, body?: (n: number) => string): Promise<{ rps: number; p50: number; p99: number; bad: number }> {
  let n = 0;
  const rs = await Promise.all(urls.map((url) => autocannon({
    url, connections: CONNECTIONS / urls.length, duration: SECONDS, method: body ? 'POST' : 'GET',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    requests: [{ setupRequest: (req: Record<string, unknown>) => { const i = n++; return { ...req, path: path(i), ...(body ? { body: body(i) } : {}) }; } }],
  })));
  return {
    rps: rs.reduce((s, r) => s + r.requests.average, 0),
    p50: Math.max(...rs.map((r) => r.latency.p50)), p99: Math.max(...rs.map((r) => r.latency.p99)),
    bad: rs.reduce((s, r) => s + r.non2xx + r.errors, 0),
  };
}

interface Row { config: string; ingest: number[]; p50: number; p99: number; apiRps: number }

async function measure(config: string, urls: string[], project: string, token: string): Promise<Row> {
  const base = `/v1/projects/${project}`;
  const api = await load(urls, token, () => `${base}/events?pageSize=50&pageNum=1`);
  const ingest: number[] = [];
  for (const batch of [1, 10, 100]) {
    const r = await load(urls, token, (i) => `${base}/devices/dev:${i % DEVICES}/events`,
      (i) => JSON.stringify({ file: 'http.qo', notes: Array.from({ length: batch }, (_, j) => note(i * batch + j)) }));
    if (r.bad) console.error(`${config}: ${r.bad} failed ingest requests (batch ${batch})`);
    ingest.push(r.rps * batch);
  }
  if (api.bad) console.error(`${config}: ${api.bad} failed API requests`);
  return { config, ingest, p50: api.p50, p99: api.p99, apiRps: api.rps };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hub-cluster-bench-'));
  const pg = await startPostgres({ fsync: true });
  try {
    {
      const { project, token } = await fill(openStore(dir));
      const h = await spawnHub(['--data', dir]);
      try { rows.push(await measure('SQLite, one hub', [h.url], project, token)); } finally { await h.stop(); }
    }
    for (const hubs of [1, 2]) {
      const db = await pg.createDatabase();
      const { project, token } = await fill(await PostgresStore.open(db));
      const running = [];
      for (let i = 0; i < hubs; i++) running.push(await spawnHub(['--data', dir, '--db', db]));
      try {
        rows.push(await measure(`PostgreSQL, ${hubs} hub${hubs > 1 ? 's' : ''}`, running.map((h) => h.url), project, token));
      } finally { for (const h of running) await h.stop(); }
    }
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`| Configuration | ingest, 1/request | 10/request | 100/request | events API req/s | p50 | p99 |`);
  console.log('|---|---|---|---|---|---|---|');
  const k = (v: number): string => Math.round(v).toLocaleString('en-US');
  for (const r of rows) console.log(`| ${r.config} | ${r.ingest.map(k).join(' | ')} | ${k(r.apiRps)} | ${r.p50} ms | ${r.p99} ms |`);
  const one = rows[1];
  const two = rows[2];
  console.log(`\ntwo PostgreSQL hubs / one: ingest ${two.ingest.map((v, i) => (v / one.ingest[i]).toFixed(2)).join(', ')} (batches 1, 10, 100)`);
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
