// The Moddable-built card in mcsim (npm run moddable -- --instrument) within the manifest's fixed
// XS budget: boot, a 1,000-request workload (templated and JSON adds, .db updates, a sync round
// with a local hub), card.restart, card.restore delete:true, 3,000 notes with never-seen field names. Prints the instrumentation's peaks
// (sampled, garbage included) and the live heap after a collection at each sync step (debug log).
// Needs MODDABLE (a Moddable SDK with built Linux tools). Run: npm run build && node dist/bench/moddable.js
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SerialPort } from 'serialport';
import { spawnHub, tempDir } from '../test/hub/helpers';
import { HostClient } from '../test/support/host-client';

const RUNNER = path.resolve(__dirname, '../hosts/node/moddable-lin.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'opencard-moddable-'));
  const link = path.join(data, 'notecard');
  const hub = await spawnHub(tempDir('moddable-bench'));
  const runner: ChildProcess = spawn(process.execPath, [RUNNER, '--pty', link, '--data', path.join(data, 'card'), ...(process.env.BENCH_RELEASE ? [] : ['--instrument']), '--log-level', process.env.BENCH_LOG ?? (process.env.BENCH_RELEASE ? 'warn' : 'debug')], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let err = '';
  const live = { slots: 0, chunk: 0, atSession: '', atBoot: '', atRestart: '', last: '' };
  let partial = '';
  runner.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const m = /live: slots (\d+) B, chunk (\d+) B/.exec(line);
      if (m) {
        live.slots = Math.max(live.slots, Number(m[1]));
        live.chunk = Math.max(live.chunk, Number(m[2]));
        if (line.includes('sync: session with') && !live.atSession) live.atSession = `slots ${m[1]} B, chunk ${m[2]} B`;
        // The first restart's new card against the power-on one (issue 12: they should match).
        if (line.includes('card: booted')) live.atBoot = `slots ${m[1]} B, chunk ${m[2]} B`;
        if (line.includes('card: restarted') && !live.atRestart) live.atRestart = `slots ${m[1]} B, chunk ${m[2]} B`;
        live.last = `slots ${m[1]} B, chunk ${m[2]} B`;
      }
      if (!line.includes('[debug]')) process.stderr.write(line + '\n');
    }
  });
  while (!err.includes('notecard-sim ready')) {
    if (runner.exitCode !== null) throw new Error(`runner exited: ${err}`);
    await sleep(200);
  }
  const port = new SerialPort({ path: link, baudRate: 9600 });
  let received: Buffer[] = [];
  port.on('data', (d: Buffer) => received.push(d));
  const card = new HostClient({
    write: (b) => void port.write(b),
    take: () => {
      const all = Buffer.concat(received);
      received = [];
      return all;
    },
  });
  card.segmentDelayMs = 0;
  let done = 0;
  const req = async (r: object) => {
    const reply = await card.transaction(r as Record<string, unknown>).catch((e: Error) => {
      throw new Error(`request ${done + 1} ${JSON.stringify(r)}: ${e.message}`);
    });
    done++;
    if (reply.err) throw new Error(`${JSON.stringify(r)} -> ${reply.err}`);
    return reply;
  };
  const started = Date.now();
  await card.resync();
  await req({ req: 'hub.set', product: hub.productUID, host: `127.0.0.1:${hub.devicePort}`, mode: 'minimum' });
  await req({ req: 'note.template', file: 'sensors.qo', body: { temp: 14.1, humidity: 12, voltage: 14.1, motion: true, site: '20' } });
  for (let i = 0; i < 600; i++) await req({ req: 'note.add', file: 'sensors.qo', body: { temp: 20 + (i % 50) / 10, humidity: 30 + (i % 40), voltage: 3.3, motion: i % 2 === 0, site: `s${i % 7}` } });
  for (let i = 0; i < 200; i++) await req({ req: 'note.add', file: 'events.qo', body: { event: 'door', n: i, detail: { open: i % 3 === 0 } } });
  for (let i = 0; i < 200; i++) await req({ req: i < 20 ? 'note.add' : 'note.update', file: 'state.db', note: `zone${i % 20}`, body: { level: i } });
  await req({ req: 'hub.sync' });
  for (let i = 0; ; i++) {
    const s = await req({ req: 'hub.sync.status' });
    if (String(s.status).includes('{sync-end}') && !s.sync) break;
    if (String(s.status).includes('{sync-error}') || i > 600) throw new Error(`sync: ${s.status}`);
    await sleep(100);
  }
  const pending = await req({ req: 'file.changes.pending' });
  await req({ req: 'card.restart' });
  await sleep(1500);
  await card.resync();
  const after = await req({ req: 'file.changes' });
  await req({ req: 'card.restore', delete: true });
  await sleep(1500);
  await card.resync();
  const wiped = await req({ req: 'file.changes' });
  // 3,000 notes whose bodies each name a field never seen before (a host keying fields by an id or
  // a time). XS keeps every property name it has made unless it collects keys
  // (mxKeysGarbageCollection, set in manifest.json): without that the card aborted, memory full,
  // after about 1,300.
  await req({ req: 'hub.set', outbound: 61 }); // a debug line: the live heap after a collection
  await sleep(200);
  const keysBefore = live.last;
  for (let i = 0; i < 3000; i++) await req({ req: 'note.add', file: 'keys.qo', body: { [`field_${i}`]: i } });
  await req({ req: 'hub.set', outbound: 62 });
  await sleep(200);
  if (live.chunk) console.log(`live heap after a collection: at the sync's start ${live.atSession}; at most slots ${live.slots} B, chunk ${live.chunk} B`);
  if (live.atBoot) console.log(`live heap with a fresh card: at power-on ${live.atBoot}; after card.restart ${live.atRestart}`);
  if (live.last) console.log(`live heap around 3,000 never-seen body field names: before ${keysBefore}; after ${live.last}`);
  console.log(`workload done in ${((Date.now() - started) / 1000).toFixed(1)} s; pending after sync ${JSON.stringify(pending)}; after restart ${JSON.stringify(after)}; after restore ${JSON.stringify(wiped)}`);
  port.close();
  runner.kill('SIGTERM');
  await new Promise((r) => runner.once('exit', r));
  await hub.stop();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
