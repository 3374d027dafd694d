/**
 * Hub benchmark: events ingested per second into SQLite, and latency of the events API under
 * 50 concurrent clients (autocannon). Run: `npx tsc -p tsconfig.json && node dist/bench/hub.js`
 * (HUB_BENCH_SECONDS=N sets each HTTP run's length, default 10).
 *
 * 1. Hub.ingestNotes() in this process: the function the device-sync listener calls.
 * 2. HTTP ingest: POST /v1/projects/{P}/devices/{D}/events against a hub child process.
 * 3. GET /v1/projects/{P}/events (and events-cursor, device-filtered) on a database of 100k events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hub } from '../hub/hub';
import { openStore } from '../hub/server';
import { autocannon, benchProject, CONNECTIONS, DEVICES, note, spawnHub, type CannonResult } from './hub-load';

const SECONDS = Number(process.env.HUB_BENCH_SECONDS ?? 10);

async function ingestDirect(hub: Hub, total: number, batch: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < total; i += batch) {
    const notes = [];
    for (let j = 0; j < batch; j++) notes.push(note(i + j));
    await hub.events.ingestNotes(`dev:${(i / batch) % DEVICES}`, 'sensors.qo', notes);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return total / s;
}

const fmt = (r: CannonResult): string =>
  `${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p90 ${r.latency.p90} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms` +
  (r.non2xx || r.errors ? ` (non-2xx ${r.non2xx}, errors ${r.errors})` : '');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-bench-'));
  const lines: string[] = [];
  const say = (l: string): void => { console.log(l); lines.push(l); };
  try {
    const hub = new Hub(openStore(dir));
    const { project, token } = await benchProject(hub);
    say(`hub benchmark: ${DEVICES} devices, SQLite WAL in ${dir}, ${CONNECTIONS} connections, ${SECONDS} s per HTTP run`);

    // 1. the ingest function, as the sync listener calls it
    say(`ingestNotes, batches of 100: ${Math.round(await ingestDirect(hub, 50_000, 100))} events/s`);
    say(`ingestNotes, batches of 10:  ${Math.round(await ingestDirect(hub, 20_000, 10))} events/s`);
    say(`ingestNotes, one per call:   ${Math.round(await ingestDirect(hub, 5_000, 1))} events/s`);
    // fill to 100k events for the read benchmarks
    await ingestDirect(hub, 25_000, 250);
    await hub.close();

    const server = await spawnHub(['--device-port', '0', '--data', dir], join(dir, 'hub.log'));
    try {
      const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
      const base = `${server.url}/v1/projects/${project}`;
      // 2. HTTP ingest (each request is one transaction)
      let n = 0;
      const one = await autocannon({
        url: `${base}/devices/dev:0/events`, connections: CONNECTIONS, duration: SECONDS, method: 'POST', headers: auth,
        setupClient: (c: { setBody: (b: string) => void }) => c.setBody(JSON.stringify({ file: 'http.qo', notes: [note(n++)] })),
      });
      say(`HTTP ingest, 1 note/request:   ${Math.round(one.requests.average)} events/s (${fmt(one)})`);
      const ten = await autocannon({
        url: `${base}/devices/dev:1/events`, connections: CONNECTIONS, duration: SECONDS, method: 'POST', headers: auth,
        body: JSON.stringify({ file: 'http.qo', notes: Array.from({ length: 10 }, (_, i) => note(i)) }),
      });
      say(`HTTP ingest, 10 notes/request: ${Math.round(ten.requests.average * 10)} events/s (${fmt(ten)})`);

      // 3. the events API
      const page = await autocannon({ url: `${base}/events?pageSize=50&pageNum=1`, connections: CONNECTIONS, duration: SECONDS, headers: auth });
      say(`GET events?pageSize=50:                    ${fmt(page)}`);
      const deep = await autocannon({ url: `${base}/events?pageSize=50&pageNum=200&deviceUID=dev:7`, connections: CONNECTIONS, duration: SECONDS, headers: auth });
      say(`GET events?deviceUID=dev:7&pageNum=200:   ${fmt(deep)}`);
      const cursor = await autocannon({ url: `${base}/events-cursor?limit=50&cursor=${Buffer.from('50000').toString('base64url')}`, connections: CONNECTIONS, duration: SECONDS, headers: auth });
      say(`GET events-cursor?limit=50 (mid-table):   ${fmt(cursor)}`);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
