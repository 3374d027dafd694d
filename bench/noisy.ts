/**
 * Noisy neighbours (docs/PERFORMANCE.md, "Noisy neighbours"): what one tenant's load costs another.
 * Run: `npx tsc -p tsconfig.json && node dist/bench/noisy.js` (NOISY_SECONDS sets each load phase, default 5).
 *
 * 1. Tenant A (300,000 events) keeps ten event queries in flight: the deep date-range pages of
 *    the hostile test (pageNum=1000), then legal but heavy ones (a filter no index serves).
 *    Meanwhile tenant B asks GET /v1/projects and GET .../events one after another: their latency.
 * 2. Tenant A has 5 routes whose URL never answers (delivery timeout 10 s) and 10 new events;
 *    then tenant B stores one event for its own route: the time until B's receiver has it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Hub } from '../hub/hub';
import { openStore, startHub, DATABASE_FILE } from '../hub/server';
import { spawnHub } from '../test/hub/helpers';

const SECONDS = Number(process.env.NOISY_SECONDS ?? 5);
const EVENTS = 300_000;

async function get(url: string, token: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  return { status: r.status, ms: performance.now() - t0 };
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const fmt = (xs: number[]): string => `p50 ${pct(xs, 0.5).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.length} requests)`;

/** B's requests, one after another, while `load` keeps ten of A's queries in flight. */
async function underLoad(url: string, t: Record<string, string>, load: string | null): Promise<string> {
  let stop = false;
  const statuses = new Map<number, number>();
  const loops = load === null ? [] : Array.from({ length: 10 }, async () => {
    while (!stop) {
      const r = await get(`${url}/v1/projects/${t.pa}/${load}`, t.a);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
  });
  const projects: number[] = [];
  const events: number[] = [];
  const dated: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    projects.push((await get(`${url}/v1/projects`, t.b)).ms);
    events.push((await get(`${url}/v1/projects/${t.pb}/events`, t.b)).ms);
    dated.push((await get(`${url}/v1/projects/${t.pb}/events?startDate=1`, t.b)).ms);
  }
  stop = true;
  await Promise.all(loops);
  const a = [...statuses].map(([s, n]) => `${n}x${s}`).join(' ');
  return `\n    B GET /v1/projects ${fmt(projects)}\n    B GET events ${fmt(events)}\n    B GET events?startDate=1 ${fmt(dated)}${load ? `\n    A's answers: ${a}` : ''}`;
}

async function reads(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-noisy-'));
  try {
    const hub = new Hub(openStore(dir));
    await hub.accounts.createUser('alice', 'alice-password');
    await hub.accounts.createUser('bob', 'bob-password');
    const t: Record<string, string> = {
      pa: (await hub.projects.createProject('alice', 'A')).uid, pb: (await hub.projects.createProject('bob', 'B')).uid,
      a: (await hub.accounts.createToken('alice')).token, b: (await hub.accounts.createToken('bob')).token,
    };
    await hub.devices.provisionDevice((await hub.projects.createProduct(t.pb, 'com.example.bob:b')).uid, 'dev:b1', { sn: 'b1' });
    await hub.events.ingestNotes('dev:b1', 'b.qo', [{ body: { mine: true } }]);
    await hub.close();
    const db = new Database(join(dir, DATABASE_FILE));
    const ins = db.prepare('INSERT INTO events (uid, project_uid, device_uid, sn, file, captured, received, json) VALUES (?,?,?,?,?,?,?,?)');
    db.transaction(() => {
      for (let i = 0; i < EVENTS; i++) {
        ins.run(`e${i}`, t.pa, `dev:a${i % 50}`, `a${i % 50}`, 'a.qo', 1700000000 + i, 1700000000 + i, JSON.stringify({ event: `e${i}`, body: { temp: 20 + (i % 100) / 10, seq: i } }));
      }
    })();
    db.close();
    const server = await spawnHub(dir, ['--device-port', 'off']);
    try {
      console.log(`reads: tenant A ${EVENTS} events, 10 of A's queries always in flight, ${SECONDS} s per phase`);
      console.log(`  idle:                                ${await underLoad(server.url, t, null)}`);
      console.log(`  A: events?pageNum=1000&startDate&endDate: ${await underLoad(server.url, t, `events?pageNum=1000&startDate=1700100000&endDate=1700290000`)}`);
      console.log(`  A: events?pageSize=1000&pageNum=10&startDate&endDate: ${await underLoad(server.url, t, `events?pageSize=1000&pageNum=10&startDate=1700100000&endDate=1700290000`)}`);
      console.log(`  A: events-cursor?serialNumber=nobody&limit=1000: ${await underLoad(server.url, t, 'events-cursor?serialNumber=nobody&limit=1000')}`);
    } finally { await server.stop(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

async function routes(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-noisy-routes-'));
  const hung: Server = createServer(() => { /* never answers */ });
  let got: (() => void) | null = null;
  const sink: Server = createServer((req, res) => { req.resume(); req.on('end', () => { res.end(); got?.(); }); });
  const listen = async (s: Server): Promise<string> => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
  };
  const h = await startHub({ dataDir: dir, port: 0, log: () => undefined });
  try {
    const hungUrl = await listen(hung);
    const sinkUrl = await listen(sink);
    const hub = h.hub;
    const pa = h.bootstrap!.projectUID;
    await hub.devices.provisionDevice(h.bootstrap!.productUID, 'dev:a', { sn: 'a' });
    for (let i = 0; i < 5; i++) await hub.routes.putRoute(pa, { url: `${hungUrl}${i}` });
    await hub.accounts.createUser('bob', 'bob-password');
    const pb = (await hub.projects.createProject('bob', 'B')).uid;
    await hub.devices.provisionDevice((await hub.projects.createProduct(pb, 'com.example.bob:b')).uid, 'dev:b', { sn: 'b' });
    await hub.routes.putRoute(pb, { url: sinkUrl });
    await hub.events.ingestNotes('dev:a', 'a.qo', Array.from({ length: 10 }, (_, i) => ({ body: { i } })));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    const arrived = new Promise<void>((r) => { got = r; });
    await hub.events.ingestNotes('dev:b', 'b.qo', [{ body: { b: 1 } }]);
    const limit = new Promise<'gave up'>((r) => setTimeout(() => r('gave up'), 120_000).unref());
    const res = await Promise.race([arrived, limit]);
    console.log(`routes: A has 5 hung routes and 10 new events (50 deliveries, 10 s timeout); B's delivery arrived after ${res === 'gave up' ? '> 120 s (gave up)' : `${(performance.now() - t0).toFixed(0)} ms`}`);
  } finally {
    hung.closeAllConnections(); hung.close(); sink.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await reads();
  await routes();
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
