/**
 * The hub on SQLite, on PostgreSQL with one hub process, and with two hub processes on one
 * PostgreSQL, side by side in one run: HTTP ingest (events/s, batches of 1, 10 and 100 notes per
 * request, 50 connections spread over 100 devices) and the events API (first page of 50 on a
 * database of 100,000 events, 50 connections: p50/p99). Two hubs: the 50 connections are split
 * 25 + 25 between them (two autocannon runs at once); events/s are summed, latencies are the
 * worse of the two. Each configuration gets a second of each load first, unmeasured.
 *
 * Where the CPU went is printed per request (hubs, PostgreSQL, this process: the load
 * generator): on a machine whose cores the hubs, the database and the load generator share, two
 * hubs cannot do twice the work of one. So the PostgreSQL configurations are run again with each
 * hub process held to HUB_BENCH_BUDGET of a core (default 0.3; cgroups, as root on Linux): each
 * hub then has a fixed machine of its own, as in a deployment, and what two of them do against
 * one does is what the shared database lets them do.
 *
 * Run: `npx tsc -p tsconfig.json && node dist/bench/cluster.js` (HUB_BENCH_SECONDS=N sets each
 * run's length, default 5). PostgreSQL is the tests' own server (test/support/postgres.ts) with
 * fsync on and synchronous_commit off, as SQLite's WAL with synchronous=NORMAL: a commit is not
 * waited for on disk, a crash loses no more than the last.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hub } from '../hub/hub';
import { openStore } from '../hub/server';
import { PostgresStore } from '../hub/store/postgres';
import type { Store } from '../hub/store/types';
import { startPostgres } from '../test/support/postgres';
import { confine, cpuSeconds, pidsNamed, type Budget } from './cpu';
import { autocannon, benchProject, CONNECTIONS, DEVICES, note, spawnHub, type HubProcess } from './hub-load';

const SECONDS = Number(process.env.HUB_BENCH_SECONDS ?? 5);
const BUDGET = Number(process.env.HUB_BENCH_BUDGET ?? 0.3);
const WARM_UP = 1;
const FILL = 100_000;

/** The bench project and 100,000 events, straight through the Hub. */
async function fill(store: Store): Promise<{ project: string; token: string }> {
  const hub = new Hub(store);
  const made = await benchProject(hub);
  for (let i = 0; i < FILL; i += 250) await hub.events.ingestNotes(`dev:${(i / 250) % DEVICES}`, 'fill.qo', Array.from({ length: 250 }, (_, j) => note(i + j)));
  await hub.close();
  return made;
}

/** CPU ms per request: the hub processes together, PostgreSQL (server and backends), this process. */
interface Cpu { hubs: number; db: number; load: number }

/**
 * What the hubs' database connections were doing, sampled every 10 ms (pg_stat_activity): busy
 * running a statement, or waiting for a lock another holds (a heavyweight lock: a row, the
 * notification queue; or a lightweight one: a buffer, the WAL). A database that serialised the
 * hubs would show as waits.
 */
interface Waits { busy: number; lock: number; lwlock: number; samples: number }
async function sampleWaits(db: string): Promise<() => Promise<Waits>> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  const w: Waits = { busy: 0, lock: 0, lwlock: 0, samples: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await c.query(`SELECT count(*) FILTER (WHERE state = 'active') busy, count(*) FILTER (WHERE wait_event_type = 'Lock') lock,
        count(*) FILTER (WHERE wait_event_type = 'LWLock') lwlock FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`);
      w.busy += Number(r.rows[0].busy); w.lock += Number(r.rows[0].lock); w.lwlock += Number(r.rows[0].lwlock); w.samples++;
      await new Promise((ok) => setTimeout(ok, 10));
    }
  })();
  return async () => { running = false; await loop; await c.end(); return w; };
}

/** The same load on every hub at once, the connections split between them. */
async function load(hubs: HubProcess[], token: string, path: (n: number) => string, body?: (n: number) => string, seconds = SECONDS, db?: string): Promise<{ rps: number; p50: number; p99: number; bad: number; cpu: Cpu; waits?: Waits }> {
  let n = 0;
  const used = (): Cpu => ({
    hubs: hubs.reduce((s, h) => s + cpuSeconds(h.child.pid!), 0),
    db: pidsNamed('postgres').reduce((s, pid) => s + cpuSeconds(pid), 0),
    load: cpuSeconds(process.pid),
  });
  const waits = db ? await sampleWaits(db) : undefined;
  const before = used();
  const rs = await Promise.all(hubs.map((h) => autocannon({
    url: h.url, connections: CONNECTIONS / hubs.length, duration: seconds, method: body ? 'POST' : 'GET',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    requests: [{ setupRequest: (req: Record<string, unknown>) => { const i = n++; return { ...req, path: path(i), ...(body ? { body: body(i) } : {}) }; } }],
  })));
  const after = used();
  const w = await waits?.();
  const total = rs.reduce((s, r) => s + r.requests.total, 0);
  const per = (k: keyof Cpu): number => ((after[k] - before[k]) * 1000) / Math.max(1, total);
  return {
    rps: rs.reduce((s, r) => s + r.requests.average, 0),
    p50: Math.max(...rs.map((r) => r.latency.p50)), p99: Math.max(...rs.map((r) => r.latency.p99)),
    bad: rs.reduce((s, r) => s + r.non2xx + r.errors, 0),
    cpu: { hubs: per('hubs'), db: per('db'), load: per('load') }, waits: w,
  };
}

interface Row { config: string; ingest: number[]; p50: number; p99: number; apiRps: number; apiCpu: Cpu; ingestCpu: Cpu; waits?: Waits }

async function measure(config: string, hubs: HubProcess[], project: string, token: string, db?: string): Promise<Row> {
  const base = `/v1/projects/${project}`;
  const events = (): string => `${base}/events?pageSize=50&pageNum=1`;
  const upload = (i: number): string => `${base}/devices/dev:${i % DEVICES}/events`;
  const notes = (batch: number) => (i: number): string => JSON.stringify({ file: 'http.qo', notes: Array.from({ length: batch }, (_, j) => note(i * batch + j)) });
  // a second of each kind first, unmeasured: the hubs' code compiled and their connections open
  await load(hubs, token, events, undefined, WARM_UP);
  await load(hubs, token, upload, notes(10), WARM_UP);
  const api = await load(hubs, token, events);
  if (api.bad) console.error(`${config}: ${api.bad} failed API requests`);
  const ingest: number[] = [];
  let first: Awaited<ReturnType<typeof load>> | undefined;
  for (const batch of [1, 10, 100]) {
    const r = await load(hubs, token, upload, notes(batch), SECONDS, batch === 1 ? db : undefined);
    if (r.bad) console.error(`${config}: ${r.bad} failed ingest requests (batch ${batch})`);
    ingest.push(r.rps * batch);
    first ??= r;
  }
  return { config, ingest, p50: api.p50, p99: api.p99, apiRps: api.rps, apiCpu: api.cpu, ingestCpu: first!.cpu, waits: first!.waits };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hub-cluster-bench-'));
  const pg = await startPostgres({ fsync: true });
  let budgets = true;
  try {
    {
      const { project, token } = await fill(openStore(dir));
      const h = await spawnHub(['--device-port', 'off', '--data', dir], join(dir, 'sqlite-hub.log'));
      try { rows.push(await measure('SQLite, 1 hub', [h], project, token)); } finally { await h.stop(); }
    }
    for (const budget of [0, BUDGET]) {
      for (const n of [1, 2]) {
        const db = await pg.createDatabase();
        const { project, token } = await fill(await PostgresStore.open(db));
        const hubs: HubProcess[] = [];
        const held: Budget[] = [];
        try {
          for (let i = 0; i < n; i++) {
            const h = await spawnHub(['--device-port', 'off', '--data', dir, '--db', db], join(dir, `pg-${budget}-${n}-${i}.log`));
            hubs.push(h);
            if (!budget) continue;
            const b = confine(h.child.pid!, budget, `opencard-bench-hub${i}`);
            if (b) held.push(b);
            else budgets = false;
          }
          if (!budgets) break;
          const label = `PostgreSQL, ${n} hub${n > 1 ? 's' : ''}${budget ? `, ${budget} CPU each` : ''}`;
          rows.push(await measure(label, hubs, project, token, db));
        } finally {
          for (const h of hubs) await h.stop();
          for (const b of held) b.release();
        }
      }
    }
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const k = (v: number): string => Math.round(v).toLocaleString('en-US');
  const ms = (c: Cpu): string => `${c.hubs.toFixed(2)} / ${c.db.toFixed(2)} / ${c.load.toFixed(2)}`;
  console.log('| Configuration | ingest, 1/request | 10/request | 100/request | events API req/s | p50 | p99 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.config} | ${r.ingest.map(k).join(' | ')} | ${k(r.apiRps)} | ${r.p50} ms | ${r.p99} ms |`);
  const avg = (r: Row, k: keyof Waits): string => (r.waits ? (r.waits[k] / Math.max(1, r.waits.samples)).toFixed(2) : '-');
  console.log('\nCPU ms per request, hubs / PostgreSQL / load generator; the hubs\' database connections during ingest of 1/request (mean per sample):\n');
  console.log('| Configuration | events API | ingest, 1/request | running a statement | waiting on a lock | on a lightweight lock |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.config} | ${ms(r.apiCpu)} | ${ms(r.ingestCpu)} | ${avg(r, 'busy')} | ${avg(r, 'lock')} | ${avg(r, 'lwlock')} |`);
  const ratio = (one: Row, two: Row): string => two.ingest.map((v, i) => (v / one.ingest[i]).toFixed(2)).join(', ');
  console.log(`\ntwo PostgreSQL hubs / one, ingest (batches 1, 10, 100): ${ratio(rows[1], rows[2])}`);
  if (rows.length > 3) console.log(`the same, each hub held to ${BUDGET} CPU: ${ratio(rows[3], rows[4])}`);
  else console.log('(hub CPU budgets skipped: this process may not create cgroups)');
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
